// AmqpOptions: where an AMQP 1.0 broker is (RabbitMQ with its AMQP 1.0 plugin, or an Azure
// Service Bus namespace), how to authenticate, how queue names become broker addresses, and
// the bounds of every wait, window and retry of a connection made from them.
//
// Authentication is SASL PLAIN: `user` + `password` (RabbitMQ), or the shared access key name
// + the key (Service Bus: user = "RootManageSharedAccessKey", password = its key). The
// password is a Secret whose only printable form is "***": it never reaches an error, a log or
// describe(). Empty user: SASL ANONYMOUS. (Service Bus CBS token auth: see docs/amqp.md.)
//
// Ownership: plain values. Thread-safety: none needed (copied into each connection).
// Invariant after validate(): every field is in range, so the connection never re-checks.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "core/secret.h"

namespace hadr::amqp {

// One Secret type for every backend (core/secret.h: one "***" rule).
using hadr::Secret;

// How queue names become AMQP addresses, and which settlement the broker honours.
enum class BrokerStyle {
  // RabbitMQ 3.x AMQP 1.0 plugin: queues are declared through "/queue/NAME" with a durable
  // target and addressed as "/amq/queue/NAME"; hadr keeps delivery counts, lock expiry and
  // dead letters itself (docs/amqp.md).
  kRabbitMq,
  // Azure Service Bus: the address is the queue name; locks, delivery counts and the
  // "<queue>/$deadletterqueue" sub-queue are the broker's. Untested here (no namespace).
  kServiceBus,
};

std::string_view broker_style_name(BrokerStyle style);
// "rabbitmq" or "servicebus".
Result<BrokerStyle> parse_broker_style(std::string_view text);

struct AmqpOptions {
  static constexpr std::size_t kMaxQueuePrefixBytes = 64;
  static constexpr std::size_t kMaxSendWindow = 10'000;
  static constexpr std::size_t kMaxDepthCount = 100'000;
  static constexpr int kMaxReconnectAttemptsLimit = 100;
  static constexpr Milliseconds kMaxTimeout = std::chrono::minutes(10);

  // amqp://HOST:PORT or amqps://HOST[:PORT] (amqps needs tls = true, amqp needs tls = false).
  std::string url = "amqp://127.0.0.1:5672";
  std::string user;  // SASL PLAIN user or SAS key name; empty: ANONYMOUS
  Secret password;   // SASL PLAIN password or SAS key
  bool tls = false;
  // With tls: a PEM file of the certificate authorities to trust instead of the system's
  // (a private CA, or the one a test makes). The server's name is always verified.
  std::string tls_ca_file;
  // A password sent in plain text (SASL PLAIN without TLS) to a host that is not loopback is
  // refused unless this is set: the operator's explicit "the network is trusted".
  bool allow_plaintext_password = false;
  BrokerStyle broker = BrokerStyle::kRabbitMq;
  // Prepended to every queue name on the broker, so that several hadr clusters (or tests)
  // share one broker without sharing queues. Letters, digits, '.', '_', '-'; may be empty.
  std::string queue_prefix;
  Milliseconds connect_timeout{5'000};
  // Bound of every other wait: send confirms, link attach, settle.
  Milliseconds operation_timeout{10'000};
  // receive() returns once `max` messages arrived or none arrived for this long (RabbitMQ
  // 3.10 cannot drain a classic queue, so "no more messages" is a quiet period).
  Milliseconds receive_wait{50};
  // Messages of one send() in flight (sent, not yet accepted) at most.
  std::size_t send_window = 500;
  // Connect attempts per call after a lost connection before the call gives up (kUnavailable).
  int max_reconnect_attempts = 3;
  Milliseconds reconnect_backoff_initial{100};
  Milliseconds reconnect_backoff_max{2'000};
  // depth() counts at most this many messages per queue (it browses; docs/amqp.md).
  std::size_t depth_count_max = 1'000;

  // kInvalidArgument naming the bad field and its allowed range; never echoes the password.
  Status validate() const;
  // "amqp://127.0.0.1:5672 user=guest password=*** broker=rabbitmq tls=off prefix=...".
  std::string describe() const;
  // Worst-case time one call spends reconnecting: every connect timeout plus every backoff.
  Milliseconds reconnect_budget() const;
};

using hadr::is_loopback_host;

// The HOST of amqp[s]://HOST[:PORT] ("" when the URL has no such form).
std::string_view url_host(std::string_view url);

// Letters, digits, '.', '_', '-', at most kMaxQueuePrefixBytes; used by validate().
Status validate_queue_prefix(std::string_view prefix);

}  // namespace hadr::amqp
