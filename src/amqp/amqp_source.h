// AmqpSource: the Source contract (contracts/source.h, MQ get under syncpoint) on one durable
// AMQP 1.0 queue — RabbitMQ's AMQP 1.0 plugin here; the same shape as an IBM MQ queue read
// under syncpoint or a Service Bus queue read in peek-lock mode (docs/amqp.md, "Source").
//
//   - open() declares the queue durable first (RabbitMQ accepts and silently drops a send to a
//     missing queue), or on Service Bus checks that it exists. Everything else uses the queue's
//     "/amq/queue/" address, which never auto-creates.
//   - put(batch): AmqpConnection::send — unsettled transfers, at most send_window in flight,
//     ok only when the broker accepted every message. Message id = the SourceMessage id, body
//     in one data section (binary-safe), headers as application properties in their order,
//     enqueued_at (the clock's wall time at put) as creation-time. A failed put may have stored
//     some of the batch: an MQ does not dedupe, hadr does downstream.
//   - receive(max): a receiver link with `max` credit; returns what arrived until `max` came or
//     none came for receive_wait. Each delivery stays unsettled under an ack handle
//     "amqp-<object>-<n>", unique per delivery.
//   - ack(handles): all handles are checked first — one unknown, expired or from before a
//     reconnect makes the answer kAborted and acks none. Then every delivery is accepted in one
//     call that waits for the broker's answer to the detach of the link it emptied (a settled
//     link is detached before anything else happens on the connection).
//   - Visibility: a delivery held longer than visibility_timeout (on the injected Clock's
//     monotonic time) is released at the start of the next call on this object, and its handle
//     dies (kAborted). RabbitMQ has no lock expiry, so this object is the timer. A consumer
//     that restarts (this object destroyed, or its process dead: the broker requeues every
//     unsettled delivery of a closed connection) gives its messages back at once.
//   - depth(): available messages counted by browsing (at most depth_count_max: receive,
//     then release) plus the deliveries this object holds. Messages held by *other*
//     consumers are not seen. Best effort: for `hadr status` and tests, not flow control.
//   - Reconnect: AmqpConnection's, bounded backoff; handles from before it answer kAborted
//     (the broker already requeued those messages).
// The consumer name identifies the consumer in errors and in source_ref; the broker does not
// know it (AMQP has no named consumers on a queue).
//
// Ownership: owns its AmqpConnection; borrows the clock, which must outlive the source.
// Thread-safety: every method is safe from any thread; the handle table is guarded by a
// mutex that is never held across a network call.
// Invariants: the table holds at most kMaxHeld handles; a handle is in the table only while
// its delivery is unsettled and not past its deadline (expired ones leave at the next call).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "amqp/amqp_connection.h"
#include "amqp/amqp_options.h"
#include "contracts/source.h"
#include "core/clock.h"

namespace hadr::amqp {

class AmqpSource final : public Source {
 public:
  // Deliveries one object holds at most; receive() past it is kResourceExhausted.
  static constexpr std::size_t kMaxHeld = 100'000;
  // Visibility timeouts: 1 ms .. 1 day (as SqliteSource).
  static constexpr Milliseconds kMaxVisibilityTimeout = std::chrono::hours(24);

  // `queue`: a hadr queue name (validate_queue_name); `consumer`: 1..128 printable ASCII.
  // Connects (kUnavailable when the broker is unreachable) and declares the queue.
  static Result<std::unique_ptr<AmqpSource>> open(const AmqpOptions& options, std::string queue, std::string consumer,
                                                  Milliseconds visibility_timeout,
                                                  const Clock& clock = RealClock::instance());
  ~AmqpSource() override;

  Status put(std::span<const SourceMessage> batch) override;
  Result<std::vector<SourceMessage>> receive(std::size_t max) override;
  Status ack(std::span<const std::string> ack_handles) override;
  Result<std::uint64_t> depth() override;

  const std::string& queue() const { return queue_; }

 private:
  struct Held {
    DeliveryHandle delivery;
    MonoTime expires_at;
  };

  AmqpSource(std::unique_ptr<AmqpConnection> connection, std::string queue, std::string consumer,
             Milliseconds visibility_timeout, const Clock& clock);

  // Releases every delivery held past its deadline (their handles die).
  void release_expired();
  Result<std::vector<SourceMessage>> take_deliveries(std::vector<ReceivedDelivery> deliveries);
  // Removes the handles from the table if every one is live, else kAborted and removes none.
  Result<std::vector<DeliveryHandle>> take_handles(std::span<const std::string> ack_handles);

  std::unique_ptr<AmqpConnection> connection_;
  const std::string queue_;
  const std::string address_;
  const std::string consumer_;
  const Milliseconds visibility_timeout_;
  const Clock& clock_;
  const std::uint64_t instance_;
  std::mutex mutex_;
  // Guarded by mutex_:
  std::unordered_map<std::string, Held> held_;
  std::uint64_t handles_made_ = 0;
  MonoTime earliest_expiry_ = MonoTime::max();  // no held delivery expires before this
};

}  // namespace hadr::amqp
