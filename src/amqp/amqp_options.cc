#include "amqp/amqp_options.h"

#include <algorithm>

namespace hadr::amqp {

namespace {

std::string millis_text(Milliseconds value) { return std::to_string(value.count()) + " ms"; }

Status validate_timeout(std::string_view what, Milliseconds value) {
  if (value < Milliseconds(1) || value > AmqpOptions::kMaxTimeout) {
    return invalid_argument("amqp " + std::string(what) + " is " + millis_text(value) + "; it must be 1 ms .. " +
                            millis_text(AmqpOptions::kMaxTimeout));
  }
  return ok_status();
}

// "amqp://" or "amqps://", then a host, then an optional ":port". No user info: credentials
// belong in user/password, never in a URL that ends up in logs.
Status validate_url(const AmqpOptions& options) {
  const std::string_view url = options.url;
  const bool secure = url.starts_with("amqps://");
  if (!secure && !url.starts_with("amqp://")) {
    return invalid_argument("amqp url must start with amqp:// or amqps://, e.g. amqp://127.0.0.1:5672");
  }
  const std::string_view rest = url.substr(secure ? 8 : 7);
  if (rest.empty() || rest.find('@') != std::string_view::npos || rest.find('/') != std::string_view::npos) {
    return invalid_argument(
        "amqp url must be amqp[s]://HOST[:PORT] with no user, password or path; put credentials in "
        "user/password");
  }
  if (secure != options.tls) {
    return invalid_argument(secure ? "amqp url is amqps:// but tls is off; set tls = true"
                                   : "amqp url is amqp:// but tls is on; use amqps:// or set tls = false");
  }
  return ok_status();
}

}  // namespace

std::string_view url_host(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme_end + 3);
  if (rest.starts_with('[')) {
    const std::size_t close = rest.find(']');
    return close == std::string_view::npos ? std::string_view() : rest.substr(0, close + 1);
  }
  return rest.substr(0, rest.find(':'));
}

std::string_view broker_style_name(BrokerStyle style) {
  switch (style) {
    case BrokerStyle::kRabbitMq:
      return "rabbitmq";
    case BrokerStyle::kServiceBus:
      return "servicebus";
  }
  HADR_UNREACHABLE();
}

Result<BrokerStyle> parse_broker_style(std::string_view text) {
  if (text == "rabbitmq") return BrokerStyle::kRabbitMq;
  if (text == "servicebus") return BrokerStyle::kServiceBus;
  return invalid_argument("amqp broker must be 'rabbitmq' or 'servicebus'");
}

Status validate_queue_prefix(std::string_view prefix) {
  if (prefix.size() > AmqpOptions::kMaxQueuePrefixBytes) {
    return invalid_argument("amqp queue_prefix is " + std::to_string(prefix.size()) + " bytes; the maximum is " +
                            std::to_string(AmqpOptions::kMaxQueuePrefixBytes));
  }
  for (char c : prefix) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                         c == '_' || c == '-';
    if (!allowed) return invalid_argument("amqp queue_prefix may hold only letters, digits, '.', '_' and '-'");
  }
  return ok_status();
}

Status AmqpOptions::validate() const {
  HADR_TRY(validate_url(*this));
  if (broker == BrokerStyle::kServiceBus && !tls) {
    return invalid_argument("amqp broker is servicebus but tls is off; Service Bus accepts only TLS: set tls = true "
                            "and use an amqps:// url");
  }
  if (!tls && !password.empty() && !allow_plaintext_password && !is_loopback_host(url_host(url))) {
    return invalid_argument("amqp url " + url + " is not a loopback host and tls is off: the password would cross the "
                            "network in plain text; set tls = true with an amqps:// url, or allow_plaintext_password = "
                            "true if that network is trusted");
  }
  if (!tls_ca_file.empty() && !tls) {
    return invalid_argument("amqp tls_ca_file is set but tls is off; set tls = true or remove tls_ca_file");
  }
  if (user.empty() && !password.empty()) {
    return invalid_argument("amqp password is set but user is empty; set user (or the SAS key name)");
  }
  HADR_TRY(validate_queue_prefix(queue_prefix));
  HADR_TRY(validate_timeout("connect_timeout", connect_timeout));
  HADR_TRY(validate_timeout("operation_timeout", operation_timeout));
  HADR_TRY(validate_timeout("receive_wait", receive_wait));
  HADR_TRY(validate_timeout("reconnect_backoff_initial", reconnect_backoff_initial));
  HADR_TRY(validate_timeout("reconnect_backoff_max", reconnect_backoff_max));
  if (reconnect_backoff_max < reconnect_backoff_initial) {
    return invalid_argument("amqp reconnect_backoff_max must be >= reconnect_backoff_initial");
  }
  if (send_window < 1 || send_window > kMaxSendWindow) {
    return invalid_argument("amqp send_window is " + std::to_string(send_window) + "; it must be 1.." +
                            std::to_string(kMaxSendWindow));
  }
  if (max_reconnect_attempts < 1 || max_reconnect_attempts > kMaxReconnectAttemptsLimit) {
    return invalid_argument("amqp max_reconnect_attempts is " + std::to_string(max_reconnect_attempts) +
                            "; it must be 1.." + std::to_string(kMaxReconnectAttemptsLimit));
  }
  if (depth_count_max < 1 || depth_count_max > kMaxDepthCount) {
    return invalid_argument("amqp depth_count_max is " + std::to_string(depth_count_max) + "; it must be 1.." +
                            std::to_string(kMaxDepthCount));
  }
  return ok_status();
}

std::string AmqpOptions::describe() const {
  std::string text = url;
  text += " user=" + (user.empty() ? std::string("(anonymous)") : user);
  text += " password=" + (password.empty() ? std::string("(none)") : password.to_string());
  text += " broker=" + std::string(broker_style_name(broker));
  text += tls ? " tls=on" : (allow_plaintext_password && !password.empty() ? " tls=off (plaintext password allowed)" : " tls=off");
  text += " queue_prefix=" + (queue_prefix.empty() ? std::string("(none)") : queue_prefix);
  return text;
}

Milliseconds AmqpOptions::reconnect_budget() const {
  Milliseconds total{0};
  Milliseconds backoff = reconnect_backoff_initial;
  for (int attempt = 1; attempt <= max_reconnect_attempts; ++attempt) {
    total += connect_timeout;
    if (attempt < max_reconnect_attempts) {
      total += backoff;
      backoff = std::min(backoff * 2, reconnect_backoff_max);
    }
  }
  return total;
}

}  // namespace hadr::amqp
