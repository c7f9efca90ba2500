// Bus benchmark (`hadr bench bus --backend amqp`): hadr's relay publishing through the WAL to
// the broker, against a raw Proton publisher with the same window, in the same run, to the same
// broker — messages per second of each and their ratio (relay ÷ raw; the target is >= 0.80).
//
// Relay side, built from the real parts (only the input is in memory):
//   MemorySource pre-filled with N messages (input, not measured)
//   -> Relay (RelayOptions: batch_max = relay_batch, in_flight_max) on StaticFence(Epoch{1})
//   -> Wal on posix_env in a fresh temporary directory (append + fdatasync per batch)
//   -> AmqpBus::send to the durable queue "bench-relay" (send_window = window)
// The clock runs from the first relay step until all N are published (accepted by the broker)
// and acked to the source.
// Raw side: one Proton connection and sender, `window` unsettled messages in flight, the same
// hadr-encoded persistent messages of the same size, to the durable queue "bench-raw"; a
// message counts on the broker's accept.
// The raw side runs first, then the relay side; afterwards both queues are drained so the
// broker is left as found (RabbitMQ's AMQP 1.0 plugin cannot delete a queue: the empty queues
// remain under the per-run prefix) and the temporary WAL directory is removed.
// Uses real clocks, sleeps while the relay is idle, and a real broker: this is a measurement,
// not role logic. Thread-safety: one run at a time per queue prefix.
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
  // send_window is replaced by `window`.
  AmqpOptions amqp;
  std::size_t messages = 20'000;
  std::size_t body_bytes = 256;
  // W: unsettled messages in flight, for the raw publisher and for each AmqpBus::send.
  std::size_t window = 1'000;
  // The relay's batch_max (one source receive, one WAL append + fdatasync, one bus send):
  // 1 .. 1,000. The relay has at most min(relay_batch, window) messages in flight.
  std::size_t relay_batch = 1'000;
  // The relay's in_flight_max (records appended, not yet published): relay_batch .. 1,000,000.
  std::size_t relay_in_flight_max = 4'096;
  // Where the temporary WAL directory is made.
  std::string temp_parent = "/tmp";

  // kInvalidArgument naming the field and its range.
  Status validate() const;
};

struct AmqpBusBenchReport {
  std::size_t messages = 0;
  std::size_t body_bytes = 0;
  std::size_t window = 0;
  std::size_t relay_batch = 0;
  double raw_messages_per_second = 0;
  double relay_messages_per_second = 0;
  double ratio = 0;  // relay ÷ raw
  std::uint64_t wal_batches = 0;  // WAL appends (one fdatasync each) the relay made
  std::uint64_t relay_steps = 0;
};

Result<AmqpBusBenchReport> run_amqp_bus_bench(const AmqpBusBenchOptions& options);

}  // namespace hadr::amqp
