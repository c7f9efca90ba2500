// Bus benchmark (`hadr bench bus --backend amqp`): messages per second published through
// AmqpBus::send in batches of the relay's size, and in the same run, to the same broker, a raw
// Proton publisher with a window of W unsettled messages (the best this client and broker can
// do) — and their ratio (bus ÷ raw). Both publish persistent messages to a fresh durable queue
// and count a message only when the broker accepted it. The raw side runs first, then the bus
// side; afterwards both queues are drained so the broker is left as found (RabbitMQ's AMQP 1.0
// plugin cannot delete a queue; the empty queues, named "<prefix>bench-raw" and
// "<prefix>bench-bus" under a per-run prefix, remain).
// Uses real clocks and a real broker: this is a measurement, not role logic.
// Thread-safety: one run at a time per queue prefix.
#pragma once

#include <cstddef>
#include <string>

#include "amqp/amqp_options.h"
#include "core/result.h"

namespace hadr::amqp {

struct AmqpBusBenchOptions {
  static constexpr std::size_t kMaxMessages = 10'000'000;
  static constexpr std::size_t kMaxBodyBytes = 1 << 20;

  // Broker and credentials; queue_prefix is used as given (make it unique per run).
  AmqpOptions amqp;
  std::size_t messages = 20'000;
  std::size_t body_bytes = 256;
  std::size_t raw_window = 1'000;  // W: unsettled messages in flight for the raw publisher
  std::size_t batch = 256;         // AmqpBus::send batch size (the relay's batch_max)

  // kInvalidArgument naming the field and its range.
  Status validate() const;
};

struct AmqpBusBenchReport {
  std::size_t messages = 0;
  double raw_messages_per_second = 0;
  double bus_messages_per_second = 0;
  double ratio = 0;  // bus ÷ raw
};

Result<AmqpBusBenchReport> run_amqp_bus_bench(const AmqpBusBenchOptions& options);

}  // namespace hadr::amqp
