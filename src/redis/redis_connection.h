// RedisConnection: one hiredis connection with the timeouts, AUTH, Lua script cache and
// bounded reconnect that every Redis store in hadr shares.
//
//   - connect with `connect_timeout`; every command waits at most `command_timeout` for its
//     reply (redisSetTimeout); then AUTH (when a password is set) and PING, so a wrong or
//     missing password is reported when the store opens, not on its first write;
//   - a broken connection (server restarted, reset, timed out) is dropped, and the next call
//     reconnects: at most `max_reconnect_attempts` connects, with exponential backoff sleeps
//     (`reconnect_backoff_initial` doubling up to `reconnect_backoff_max`) between them. The
//     sleeps live here, in the adapter, never in store logic;
//   - a call never resends a command: once bytes have left for the server, a failure is
//     kDeadlineExceeded for a mutating call ("may have run") and kUnavailable for a read-only
//     one. Before sending, an idle connection is checked for a server-side close (a restarted
//     server), so the first call after a restart reconnects instead of failing;
//   - scripts run with EVALSHA; the SHA comes from SCRIPT LOAD the first time, and a NOSCRIPT
//     answer (the server restarted and lost its script cache) loads the script and runs it
//     once more — NOSCRIPT means it did not run, so that is safe.
//
// Errors: cannot connect → kUnavailable; reply timeout or broken connection after sending →
// kDeadlineExceeded (mutating) / kUnavailable (read-only); wrong or missing password →
// kFailedPrecondition, never containing the password; LOADING/BUSY/READONLY and the like →
// kUnavailable; OOM → kResourceExhausted; anything else the server refuses → kInternal.
//
// Ownership: owns its redisContext. Thread-safety: NOT thread-safe; its owner (a store)
// serializes calls with a mutex. A connection must not be used in a child after fork().
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "redis/redis_options.h"

struct redisContext;
struct redisReply;

namespace hadr::redis {

// A non-owning view of one reply or one element of an array reply.
class ReplyView {
 public:
  explicit ReplyView(const redisReply* reply);

  bool is_nil() const;
  bool is_integer() const;
  bool is_text() const;  // bulk string or status
  bool is_array() const;
  bool is_error() const;
  long long integer() const;   // is_integer() only
  std::string_view text() const;  // is_text() or is_error() only
  std::size_t size() const;       // is_array() only
  ReplyView at(std::size_t index) const;

  // Typed reads that turn an unexpected reply shape into kInternal naming `what`.
  Result<long long> expect_integer(std::string_view what) const;
  Result<std::string_view> expect_text(std::string_view what) const;
  Status expect_array(std::string_view what, std::size_t size_min) const;

 private:
  const redisReply* reply_;
};

// An owned reply.
class RedisReply {
 public:
  explicit RedisReply(redisReply* reply);
  RedisReply(RedisReply&& other) noexcept;
  RedisReply& operator=(RedisReply&& other) noexcept;
  RedisReply(const RedisReply&) = delete;
  RedisReply& operator=(const RedisReply&) = delete;
  ~RedisReply();

  ReplyView view() const { return ReplyView(reply_); }

 private:
  redisReply* reply_;
};

// One command's arguments; the strings they view must outlive the call.
using RedisCommand = std::vector<std::string_view>;

// A Lua script with a stable name (for errors and the SHA cache) and its source. Scripts are
// static constants; a connection caches their SHA by name.
struct RedisScript {
  std::string_view name;
  std::string_view source;
};

enum class CommandKind {
  kReadOnly,  // a failure after sending is kUnavailable: nothing can have changed
  kMutating,  // a failure after sending is kDeadlineExceeded: the command may have run
};

class RedisConnection {
 public:
  static constexpr std::size_t kMaxPipelineCommands = 100'000;

  // Connects, authenticates and pings. `options` must be valid and its password resolved.
  static Result<std::unique_ptr<RedisConnection>> open(const RedisOptions& options);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  Result<RedisReply> command(const RedisCommand& command, CommandKind kind);
  // Sends every command in one write and reads every reply: one round trip. An error reply
  // to any command is returned as that command's error (the others have run).
  Result<std::vector<RedisReply>> pipeline(std::span<const RedisCommand> commands, CommandKind kind);
  // EVALSHA of `script` with `keys` and `arguments`.
  Result<RedisReply> eval(const RedisScript& script, std::span<const std::string_view> keys,
                          std::span<const std::string_view> arguments, CommandKind kind);
  // Several EVALSHA calls of one script in one round trip; each call is {keys, arguments}.
  struct ScriptCall {
    std::vector<std::string_view> keys;
    std::vector<std::string_view> arguments;
  };
  Result<std::vector<RedisReply>> eval_pipeline(const RedisScript& script, std::span<const ScriptCall> calls,
                                                CommandKind kind);

  const RedisOptions& options() const { return options_; }
  // Connections made so far (1 after open); tests use it to see a reconnect happen.
  std::uint64_t connects() const { return connects_; }

 private:
  explicit RedisConnection(RedisOptions options);

  Status ensure_connected();
  Status connect_once();
  Status authenticate_and_ping(redisContext* context);
  bool idle_connection_was_closed() const;
  Result<std::vector<RedisReply>> exchange(std::span<const RedisCommand> commands, CommandKind kind);
  Error broken_connection_error(CommandKind kind);
  Result<std::string> script_sha(const RedisScript& script, bool reload);
  Result<std::vector<RedisReply>> eval_pipeline_once(std::string_view sha, std::span<const ScriptCall> calls,
                                                     CommandKind kind);
  Status check_reply(ReplyView reply) const;
  void drop_context();

  RedisOptions options_;
  redisContext* context_ = nullptr;
  std::uint64_t connects_ = 0;
  // Script name → SHA1 from SCRIPT LOAD. Bounded by the number of static scripts.
  std::vector<std::pair<std::string_view, std::string>> script_shas_;
};

}  // namespace hadr::redis
