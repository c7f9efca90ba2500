#include "redis/redis_options.h"

#include <charconv>
#include <cstdlib>
#include <string>

namespace hadr::redis {

namespace {

constexpr std::size_t kMaxHostBytes = 253;
constexpr std::size_t kMaxPasswordBytes = 512;
constexpr Milliseconds kMaxTimeout = std::chrono::minutes(10);

Status validate_timeout(std::string_view field, Milliseconds value) {
  if (value <= Milliseconds(0) || value > kMaxTimeout) {
    return invalid_argument("redis option " + std::string(field) + " is " + std::to_string(value.count()) +
                            " ms; give 1 ms .. " + std::to_string(kMaxTimeout.count()) + " ms");
  }
  return ok_status();
}

}  // namespace

Result<RedisAddress> RedisAddress::parse(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return invalid_argument("redis address '" + std::string(text) + "' must be HOST:PORT, e.g. 127.0.0.1:6379");
  }
  RedisAddress address;
  address.host = std::string(text.substr(0, colon));
  const std::string_view port_text = text.substr(colon + 1);
  const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), address.port);
  if (error != std::errc() || end != port_text.data() + port_text.size() || address.port < 1 ||
      address.port > 65535) {
    return invalid_argument("redis address '" + std::string(text) + "' has port '" + std::string(port_text) +
                            "'; give a number 1..65535");
  }
  return address;
}

std::string RedisAddress::to_string() const { return host + ":" + std::to_string(port); }

Status validate_key_prefix(std::string_view prefix) {
  if (prefix.empty() || prefix.size() > RedisOptions::kMaxKeyPrefixBytes) {
    return invalid_argument("redis option key_prefix (the cluster name) must be 1.." +
                            std::to_string(RedisOptions::kMaxKeyPrefixBytes) + " characters, got " +
                            std::to_string(prefix.size()));
  }
  for (char c : prefix) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                         c == '_' || c == '-';
    if (!allowed) {
      return invalid_argument("redis option key_prefix '" + std::string(prefix) +
                              "' may only hold letters, digits, '.', '_' and '-'");
    }
  }
  return ok_status();
}

Status RedisOptions::validate() const {
  if (host.empty() || host.size() > kMaxHostBytes) {
    return invalid_argument("redis option host must be 1.." + std::to_string(kMaxHostBytes) + " characters");
  }
  if (port < 1 || port > 65535) {
    return invalid_argument("redis option port is " + std::to_string(port) + "; give 1..65535");
  }
  HADR_TRY(validate_key_prefix(key_prefix));
  HADR_TRY(validate_timeout("connect_timeout", connect_timeout));
  HADR_TRY(validate_timeout("command_timeout", command_timeout));
  HADR_TRY(validate_timeout("reconnect_backoff_initial", reconnect_backoff_initial));
  HADR_TRY(validate_timeout("reconnect_backoff_max", reconnect_backoff_max));
  if (max_reconnect_attempts < 1 || max_reconnect_attempts > kMaxReconnectAttemptsLimit) {
    return invalid_argument("redis option max_reconnect_attempts is " + std::to_string(max_reconnect_attempts) +
                            "; give 1.." + std::to_string(kMaxReconnectAttemptsLimit));
  }
  if (password.reveal().size() > kMaxPasswordBytes) {
    return invalid_argument("redis password is longer than " + std::to_string(kMaxPasswordBytes) + " bytes");
  }
  if (!password.empty() && !allow_plaintext_password && !is_loopback_host(host)) {
    return invalid_argument("redis host " + host + " is not loopback and hiredis has no TLS: AUTH would send the "
                            "password in plain text; run a local stunnel to the server and point the address at it "
                            "(docs/redis.md), or set allow_plaintext_password = true if that network is trusted");
  }
  return ok_status();
}

std::string RedisOptions::address() const { return host + ":" + std::to_string(port); }

Milliseconds RedisOptions::reconnect_budget() const {
  return max_reconnect_attempts * (connect_timeout + reconnect_backoff_max);
}

namespace {

Result<std::string> read_password_file(Env& env, const std::string& path) {
  auto file = env.new_random_access_file(path);
  if (!file.ok()) {
    return invalid_argument("redis option password_file '" + path + "' cannot be read (" +
                            std::string(error_code_name(file.code())) + "); give a readable file");
  }
  HADR_ASSIGN_OR_RETURN(const std::uint64_t size, (*file)->size());
  if (size > kMaxPasswordBytes + 2) {
    return invalid_argument("redis option password_file '" + path + "' is " + std::to_string(size) +
                            " bytes; a password file holds one line of at most " +
                            std::to_string(kMaxPasswordBytes) + " bytes");
  }
  std::string contents(size, '\0');
  HADR_ASSIGN_OR_RETURN(const std::size_t read, (*file)->read(0, size, contents.data()));
  contents.resize(read);
  // One trailing newline (an editor's or `echo`'s) is not part of the password.
  if (!contents.empty() && contents.back() == '\n') contents.pop_back();
  if (!contents.empty() && contents.back() == '\r') contents.pop_back();
  return contents;
}

}  // namespace

Result<RedisOptions> resolve_password(RedisOptions options, Env& env, const EnvironmentLookup& environment) {
  const int sources = (options.password.empty() ? 0 : 1) + (options.password_env.empty() ? 0 : 1) +
                      (options.password_file.empty() ? 0 : 1);
  if (sources > 1) {
    return invalid_argument("redis options password, password_env and password_file are exclusive; set one");
  }
  std::string password;
  if (!options.password_env.empty()) {
    const std::optional<std::string> value = environment(options.password_env);
    if (!value.has_value() || value->empty()) {
      return invalid_argument("redis option password_env names environment variable '" + options.password_env +
                              "', which is unset or empty; export it or use password_file");
    }
    password = *value;
  } else if (!options.password_file.empty()) {
    HADR_ASSIGN_OR_RETURN(password, read_password_file(env, options.password_file));
    if (password.empty()) {
      return invalid_argument("redis option password_file '" + options.password_file + "' is empty");
    }
  } else {
    return options;
  }
  if (password.size() > kMaxPasswordBytes) {
    return invalid_argument("redis password is longer than " + std::to_string(kMaxPasswordBytes) + " bytes");
  }
  options.password = Secret(std::move(password));
  return options;
}

}  // namespace hadr::redis
