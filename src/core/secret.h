// Secret: a string that is never printed — passwords, account keys, SAS tokens. reveal() only
// where the secret is used (an AUTH command, an HMAC, a request URL handed to the client
// library); to_string() and operator<< show "***". Shared by every backend that holds one
// (redis, azure, amqp), so that none depends on another.
//
// EnvironmentLookup: how options read environment variables, injected so that tests never
// touch the process environment; process_environment() is the real one.
// Thread-safety: Secret is a value type; process_environment() reads getenv.
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace hadr {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}

  bool empty() const { return value_.empty(); }
  const std::string& reveal() const { return value_; }
  // "***" when set, "" when empty: the only way a Secret appears in text.
  std::string to_string() const { return value_.empty() ? std::string() : std::string("***"); }

 private:
  std::string value_;
};

inline std::ostream& operator<<(std::ostream& stream, const Secret& secret) { return stream << secret.to_string(); }

// "localhost", 127.0.0.0/8 (four decimal parts) or ::1 (also written [::1]): a password sent
// there in plain text never leaves the machine. Other names are not resolved: they count as
// remote, so a refusal never depends on DNS.
bool is_loopback_host(std::string_view host);

using EnvironmentLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvironmentLookup process_environment();

}  // namespace hadr
