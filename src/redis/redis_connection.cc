#include "redis/redis_connection.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

namespace hadr::redis {

// ---- replies ----

ReplyView::ReplyView(const redisReply* reply) : reply_(reply) { HADR_ASSERT(reply != nullptr); }

bool ReplyView::is_nil() const { return reply_->type == REDIS_REPLY_NIL; }
bool ReplyView::is_integer() const { return reply_->type == REDIS_REPLY_INTEGER; }
bool ReplyView::is_text() const { return reply_->type == REDIS_REPLY_STRING || reply_->type == REDIS_REPLY_STATUS; }
bool ReplyView::is_array() const { return reply_->type == REDIS_REPLY_ARRAY; }
bool ReplyView::is_error() const { return reply_->type == REDIS_REPLY_ERROR; }

long long ReplyView::integer() const {
  HADR_ASSERT(is_integer());
  return reply_->integer;
}

std::string_view ReplyView::text() const {
  HADR_ASSERT(is_text() || is_error());
  return std::string_view(reply_->str, reply_->len);
}

std::size_t ReplyView::size() const {
  HADR_ASSERT(is_array());
  return reply_->elements;
}

ReplyView ReplyView::at(std::size_t index) const {
  HADR_ASSERT(is_array());
  HADR_ASSERT(index < reply_->elements);
  return ReplyView(reply_->element[index]);
}

Result<long long> ReplyView::expect_integer(std::string_view what) const {
  if (!is_integer()) {
    return internal_error("redis answered reply type " + std::to_string(reply_->type) + " where " +
                          std::string(what) + " (an integer) was expected");
  }
  return reply_->integer;
}

Result<std::string_view> ReplyView::expect_text(std::string_view what) const {
  if (!is_text()) {
    return internal_error("redis answered reply type " + std::to_string(reply_->type) + " where " +
                          std::string(what) + " (a string) was expected");
  }
  return text();
}

Status ReplyView::expect_array(std::string_view what, std::size_t size_min) const {
  if (!is_array() || reply_->elements < size_min) {
    return internal_error("redis answered reply type " + std::to_string(reply_->type) + " where " +
                          std::string(what) + " (an array of at least " + std::to_string(size_min) +
                          " elements) was expected");
  }
  return ok_status();
}

RedisReply::RedisReply(redisReply* reply) : reply_(reply) { HADR_ASSERT(reply != nullptr); }
RedisReply::RedisReply(RedisReply&& other) noexcept : reply_(std::exchange(other.reply_, nullptr)) {}
RedisReply& RedisReply::operator=(RedisReply&& other) noexcept {
  if (this != &other) {
    if (reply_ != nullptr) freeReplyObject(reply_);
    reply_ = std::exchange(other.reply_, nullptr);
  }
  return *this;
}
RedisReply::~RedisReply() {
  if (reply_ != nullptr) freeReplyObject(reply_);
}

// ---- connection ----

namespace {

timeval to_timeval(Milliseconds duration) {
  timeval value{};
  value.tv_sec = static_cast<time_t>(duration.count() / 1000);
  value.tv_usec = static_cast<suseconds_t>((duration.count() % 1000) * 1000);
  return value;
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// Maps an error reply to how the caller must react. The reply text is quoted except for
// AUTH failures, which are classified without echoing anything.
Error error_from_reply(std::string_view text, const std::string& address) {
  const std::string where = "redis at " + address;
  if (starts_with(text, "NOAUTH")) {
    return failed_precondition(where + " requires a password (NOAUTH); set password_env or password_file");
  }
  if (starts_with(text, "WRONGPASS")) {
    return failed_precondition(where + " refused the password (WRONGPASS); check password_env or password_file");
  }
  if (starts_with(text, "LOADING") || starts_with(text, "BUSY") || starts_with(text, "MASTERDOWN") ||
      starts_with(text, "TRYAGAIN") || starts_with(text, "CLUSTERDOWN") || starts_with(text, "READONLY")) {
    return unavailable(where + " cannot serve now: " + std::string(text));
  }
  if (starts_with(text, "OOM")) return resource_exhausted(where + " is out of memory: " + std::string(text));
  if (starts_with(text, "MOVED") || starts_with(text, "ASK")) {
    return failed_precondition(where + " is a Redis Cluster node that redirected a key (" + std::string(text) +
                               "); point hadr at the node that owns the cluster's hash tag");
  }
  return internal_error(where + " refused a command: " + std::string(text));
}

}  // namespace

RedisConnection::RedisConnection(RedisOptions options) : options_(std::move(options)) {}

RedisConnection::~RedisConnection() { drop_context(); }

Result<std::unique_ptr<RedisConnection>> RedisConnection::open(const RedisOptions& options) {
  HADR_TRY(options.validate());
  // resolve_password() turns password_env/password_file into password before any connection.
  HADR_ASSERT((options.password_env.empty() && options.password_file.empty()) || !options.password.empty());
  std::unique_ptr<RedisConnection> connection(new RedisConnection(options));
  HADR_TRY(connection->ensure_connected());
  return connection;
}

void RedisConnection::drop_context() {
  if (context_ != nullptr) {
    redisFree(context_);
    context_ = nullptr;
  }
}

bool RedisConnection::idle_connection_was_closed() const {
  HADR_ASSERT(context_ != nullptr);
  // Redis never speaks unasked on a plain connection: readable-while-idle means it closed the
  // connection (restart, client timeout, kill). Checked without blocking.
  pollfd descriptor{};
  descriptor.fd = context_->fd;
  descriptor.events = POLLIN | POLLRDHUP;
  const int ready = ::poll(&descriptor, 1, 0);
  return ready != 0;
}

Status RedisConnection::ensure_connected() {
  if (context_ != nullptr && context_->err == 0 && !idle_connection_was_closed()) return ok_status();
  drop_context();
  Milliseconds backoff = options_.reconnect_backoff_initial;
  Status last_failure = ok_status();
  for (int attempt = 1; attempt <= options_.max_reconnect_attempts; ++attempt) {
    last_failure = connect_once();
    if (last_failure.ok()) return last_failure;
    // Only an unreachable server is worth another attempt; a refused password is not.
    if (last_failure.code() != ErrorCode::kUnavailable) return last_failure;
    if (attempt == options_.max_reconnect_attempts) break;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, options_.reconnect_backoff_max);
  }
  return unavailable(last_failure.error().detail + " (gave up after " +
                     std::to_string(options_.max_reconnect_attempts) + " connect attempts)");
}

Status RedisConnection::connect_once() {
  HADR_ASSERT(context_ == nullptr);
  redisContext* context =
      redisConnectWithTimeout(options_.host.c_str(), options_.port, to_timeval(options_.connect_timeout));
  if (context == nullptr) return resource_exhausted("cannot allocate a redis connection");
  if (context->err != 0) {
    const std::string reason = context->errstr;
    redisFree(context);
    return unavailable("cannot connect to redis at " + options_.address() + ": " + reason +
                       "; check that redis-server runs there");
  }
  if (redisSetTimeout(context, to_timeval(options_.command_timeout)) != REDIS_OK) {
    const std::string reason = context->errstr;
    redisFree(context);
    return internal_error("cannot set the command timeout on the redis connection: " + reason);
  }
  Status ready = authenticate_and_ping(context);
  if (!ready.ok()) {
    redisFree(context);
    return ready;
  }
  context_ = context;
  ++connects_;
  return ok_status();
}

Status RedisConnection::authenticate_and_ping(redisContext* context) {
  const std::string where = "redis at " + options_.address();
  if (!options_.password.empty()) {
    const std::string& password = options_.password.reveal();
    const char* argv[] = {"AUTH", password.data()};
    const std::size_t lengths[] = {4, password.size()};
    void* raw = redisCommandArgv(context, 2, argv, lengths);
    if (raw == nullptr) return unavailable(where + " did not answer AUTH: " + std::string(context->errstr));
    const RedisReply reply(static_cast<redisReply*>(raw));
    if (reply.view().is_error()) {
      // Classified, never quoted: an AUTH error must not risk echoing what was sent.
      const std::string_view text = reply.view().text();
      if (text.find("without any password configured") != std::string_view::npos) {
        return failed_precondition(where + " has no password set but hadr was given one; remove "
                                   "password_env/password_file or set requirepass on the server");
      }
      if (starts_with(text, "WRONGPASS") || starts_with(text, "ERR invalid password")) {
        return error_from_reply("WRONGPASS", options_.address());
      }
      return failed_precondition(where + " refused AUTH; check the password and the server's ACL");
    }
  }
  void* raw = redisCommand(context, "PING");
  if (raw == nullptr) return unavailable(where + " did not answer PING: " + std::string(context->errstr));
  const RedisReply reply(static_cast<redisReply*>(raw));
  if (reply.view().is_error()) return error_from_reply(reply.view().text(), options_.address());
  return ok_status();
}

Error RedisConnection::broken_connection_error(CommandKind kind) {
  HADR_ASSERT(context_ != nullptr);
  const bool timed_out = context_->err == REDIS_ERR_IO &&
                         std::strstr(context_->errstr, std::strerror(EAGAIN)) != nullptr;
  const std::string reason = timed_out ? "did not answer within " + std::to_string(options_.command_timeout.count()) +
                                             " ms"
                                       : "broke the connection (" + std::string(context_->errstr) + ")";
  drop_context();  // the stream is out of step with the replies: never reuse it
  const std::string where = "redis at " + options_.address() + " " + reason;
  if (kind == CommandKind::kMutating) return deadline_exceeded(where + "; the command may have run");
  return unavailable(where);
}

Result<std::vector<RedisReply>> RedisConnection::exchange(std::span<const RedisCommand> commands, CommandKind kind) {
  HADR_ASSERT(!commands.empty());
  HADR_ASSERT(commands.size() <= kMaxPipelineCommands);
  HADR_TRY(ensure_connected());
  std::vector<const char*> arguments;
  std::vector<std::size_t> lengths;
  for (const RedisCommand& command : commands) {
    HADR_ASSERT(!command.empty());
    arguments.clear();
    lengths.clear();
    for (std::string_view argument : command) {
      arguments.push_back(argument.data());
      lengths.push_back(argument.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(arguments.size()), arguments.data(), lengths.data()) !=
        REDIS_OK) {
      drop_context();  // a half-built output buffer must never be sent
      return resource_exhausted("cannot buffer a redis command (out of memory)");
    }
  }
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) return broken_connection_error(kind);
    replies.emplace_back(static_cast<redisReply*>(raw));
  }
  return replies;
}

Status RedisConnection::check_reply(ReplyView reply) const {
  if (reply.is_error()) return error_from_reply(reply.text(), options_.address());
  return ok_status();
}

Result<RedisReply> RedisConnection::command(const RedisCommand& command, CommandKind kind) {
  HADR_ASSIGN_OR_RETURN(std::vector<RedisReply> replies, pipeline(std::span(&command, 1), kind));
  HADR_ASSERT(replies.size() == 1);
  return std::move(replies.front());
}

Result<std::vector<RedisReply>> RedisConnection::pipeline(std::span<const RedisCommand> commands, CommandKind kind) {
  HADR_ASSIGN_OR_RETURN(std::vector<RedisReply> replies, exchange(commands, kind));
  HADR_ASSERT(replies.size() == commands.size());
  for (const RedisReply& reply : replies) HADR_TRY(check_reply(reply.view()));
  return replies;
}

Result<std::string> RedisConnection::script_sha(const RedisScript& script, bool reload) {
  auto cached = std::find_if(script_shas_.begin(), script_shas_.end(),
                             [&](const auto& entry) { return entry.first == script.name; });
  if (cached != script_shas_.end() && !reload) return cached->second;
  const RedisCommand load = {"SCRIPT", "LOAD", script.source};
  HADR_ASSIGN_OR_RETURN(const std::vector<RedisReply> replies, pipeline(std::span(&load, 1), CommandKind::kReadOnly));
  HADR_ASSIGN_OR_RETURN(const std::string_view sha, replies.front().view().expect_text("SCRIPT LOAD's SHA1"));
  if (cached != script_shas_.end()) {
    cached->second = std::string(sha);
  } else {
    script_shas_.emplace_back(script.name, std::string(sha));
  }
  return std::string(sha);
}

Result<std::vector<RedisReply>> RedisConnection::eval_pipeline_once(std::string_view sha,
                                                                    std::span<const ScriptCall> calls,
                                                                    CommandKind kind) {
  std::vector<std::string> key_counts;
  key_counts.reserve(calls.size());
  std::vector<RedisCommand> commands;
  commands.reserve(calls.size());
  for (const ScriptCall& call : calls) {
    key_counts.push_back(std::to_string(call.keys.size()));
    RedisCommand& command = commands.emplace_back();
    command.reserve(3 + call.keys.size() + call.arguments.size());
    command.push_back("EVALSHA");
    command.push_back(sha);
    command.push_back(key_counts.back());
    command.insert(command.end(), call.keys.begin(), call.keys.end());
    command.insert(command.end(), call.arguments.begin(), call.arguments.end());
  }
  return exchange(commands, kind);
}

Result<std::vector<RedisReply>> RedisConnection::eval_pipeline(const RedisScript& script,
                                                               std::span<const ScriptCall> calls, CommandKind kind) {
  HADR_ASSERT(!calls.empty());
  HADR_ASSIGN_OR_RETURN(std::string sha, script_sha(script, /*reload=*/false));
  HADR_ASSIGN_OR_RETURN(std::vector<RedisReply> replies, eval_pipeline_once(sha, calls, kind));
  const auto is_noscript = [](const RedisReply& reply) {
    return reply.view().is_error() && starts_with(reply.view().text(), "NOSCRIPT");
  };
  // NOSCRIPT means the script did not run (the server lost its script cache, e.g. on restart):
  // load it and run the calls once more. Only when every call was refused, so none ran.
  if (std::all_of(replies.begin(), replies.end(), is_noscript)) {
    HADR_ASSIGN_OR_RETURN(sha, script_sha(script, /*reload=*/true));
    HADR_ASSIGN_OR_RETURN(replies, eval_pipeline_once(sha, calls, kind));
  }
  for (const RedisReply& reply : replies) {
    Status status = check_reply(reply.view());
    if (!status.ok()) {
      Error error = std::move(status).take_error();
      error.detail = "script " + std::string(script.name) + ": " + error.detail;
      return error;
    }
  }
  return replies;
}

Result<RedisReply> RedisConnection::eval(const RedisScript& script, std::span<const std::string_view> keys,
                                         std::span<const std::string_view> arguments, CommandKind kind) {
  const ScriptCall call{{keys.begin(), keys.end()}, {arguments.begin(), arguments.end()}};
  HADR_ASSIGN_OR_RETURN(std::vector<RedisReply> replies, eval_pipeline(script, std::span(&call, 1), kind));
  HADR_ASSERT(replies.size() == 1);
  return std::move(replies.front());
}

}  // namespace hadr::redis
