// RedisOptions: where a Redis server is, how to authenticate, which key prefix (cluster name)
// to use, and the timeouts and reconnect bounds of every connection made from them.
//
// The password is held in a Secret, whose only printable form is "***": it never reaches a
// log, an error message, a report or a command line. It comes from exactly one of: the
// `password` field (already resolved), an environment variable named by `password_env`, or
// a file named by `password_file` (trailing newline stripped). resolve_password() turns the
// last two into the first.
//
// Ownership: plain values. Thread-safety: none needed (copied into each connection).
// Invariant after validate(): every field is in range, so a connection never has to check.
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/env.h"
#include "core/result.h"
#include "core/secret.h"

namespace hadr::redis {

// Secret, EnvironmentLookup and process_environment() live in core/secret.h.
using hadr::Secret;
using hadr::EnvironmentLookup;
using hadr::process_environment;

struct RedisAddress {
  std::string host;
  int port = 0;

  // "HOST:PORT", e.g. "127.0.0.1:6379".
  static Result<RedisAddress> parse(std::string_view text);
  std::string to_string() const;
};

struct RedisOptions {
  static constexpr std::size_t kMaxKeyPrefixBytes = 64;
  static constexpr int kMaxReconnectAttemptsLimit = 100;

  std::string host = "127.0.0.1";
  int port = 6379;
  Secret password;
  std::string password_env;   // name of an environment variable that holds the password
  std::string password_file;  // path of a file that holds the password
  // hiredis 0.14 (Debian 12) has no TLS, so AUTH always crosses the connection in plain text:
  // a password to a host that is not loopback is refused unless this is set (docs/redis.md:
  // put a local stunnel in front and point host at it instead).
  bool allow_plaintext_password = false;
  // The cluster name: every key starts with "{key_prefix}:". Letters, digits, '.', '_', '-'.
  std::string key_prefix;
  Milliseconds connect_timeout{1000};
  Milliseconds command_timeout{1000};
  // Connect attempts after a broken connection before a call gives up with kUnavailable.
  int max_reconnect_attempts = 3;
  Milliseconds reconnect_backoff_initial{50};
  Milliseconds reconnect_backoff_max{1000};

  // kInvalidArgument naming the bad field and its allowed range.
  Status validate() const;
  std::string address() const;  // "host:port"
  // Worst-case time one call spends reconnecting before it gives up: every attempt's connect
  // timeout plus every backoff sleep.
  Milliseconds reconnect_budget() const;
};


// Returns `options` with `password` filled in from password_env or password_file (at most one
// of password, password_env, password_file may be set). Errors name the variable or the file,
// never the password.
Result<RedisOptions> resolve_password(RedisOptions options, Env& env, const EnvironmentLookup& environment);

// Validates a key prefix (cluster name) on its own; used by validate().
Status validate_key_prefix(std::string_view prefix);

}  // namespace hadr::redis
