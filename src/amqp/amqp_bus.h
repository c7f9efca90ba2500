// AmqpBus: the Bus contract (contracts/bus.h) over AMQP 1.0 — RabbitMQ's AMQP 1.0 plugin
// here, Azure Service Bus in production (docs/amqp.md).
//
// What the broker does and what this object adds (RabbitMQ style):
//   - Queues: create_queue() declares the queue and its dead-letter queue durable (a sender
//     with a durable target to "/queue/NAME"); everything else uses "/amq/queue/NAME", which
//     never auto-creates. RabbitMQ silently drops a send to a missing queue, so send() only
//     goes to queues this object created or has seen exist (a receiver attach the broker
//     refuses with amqp:not-found when the queue is missing): else kNotFound.
//   - Locks: a received message stays unsettled on its link; the lock table (token ->
//     delivery, deadline by the injected Clock) is this object's. Expired locks are handled
//     at the start of every call (no timer thread): the message is made available again.
//   - Delivery count: RabbitMQ's delivery-count header stays 0, so hadr counts itself. A
//     message carries hadr-delivery-count = deliveries before this copy; abandon and lock
//     expiry publish a copy with the count + 1 (confirmed) and then accept the original. So the
//     count holds across receivers, processes and restarts. Limit: a delivery ended by a lost
//     connection or a crash (the broker redelivers the original) is not counted.
//   - Max deliveries: the copy whose count reached the queue's max_delivery_count goes to the
//     dead-letter queue with reason "MaxDeliveryCountExceeded" instead. The option travels in
//     each message (hadr-max-delivery-count, from the sender's create_queue); a sender that
//     did not create the queue stamps the default (10).
//   - dead_letter(): publishes a copy to dead_letter_queue(queue) (hadr-dead-letter-reason),
//     then accepts the original. A crash between the two leaves both: at-least-once, the
//     dedupe store absorbs it.
//   - depth(): available and dead_lettered are counted by browsing (receive up to
//     depth_count_max, then release); locked counts this object's locks only.
// Service Bus style: the broker's own locks, delivery count (header + 1), abandon (release),
// dead-letter (reject) and "<queue>/$deadletterqueue"; create_queue only checks existence.
//
// Ownership: owns its AmqpConnection. Thread-safety: every method is safe from any thread;
// the lock table is guarded by a mutex that is never held across a network call.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "amqp/amqp_codec.h"
#include "amqp/amqp_connection.h"
#include "amqp/amqp_options.h"
#include "contracts/bus.h"
#include "core/clock.h"

namespace hadr::amqp {

class AmqpBus final : public Bus {
 public:
  static inline constexpr std::string_view kMaxDeliveryCountExceeded = "MaxDeliveryCountExceeded";
  // Locks held by one object at most; receive() past it is kResourceExhausted.
  static constexpr std::size_t kMaxLocks = 100'000;

  // Connects (kUnavailable when the broker is unreachable). The clock measures locks.
  static Result<std::unique_ptr<AmqpBus>> open(AmqpOptions options, const Clock& clock = RealClock::instance());
  ~AmqpBus() override;

  Status create_queue(std::string_view queue, const QueueOptions& options) override;
  Status send(std::string_view queue, std::span<const BusMessage> batch) override;
  Result<std::vector<ReceivedMessage>> receive(std::string_view queue, std::size_t max,
                                               Milliseconds lock_duration) override;
  Status complete(std::string_view queue, std::string_view lock_token) override;
  Status abandon(std::string_view queue, std::string_view lock_token) override;
  Status dead_letter(std::string_view queue, std::string_view lock_token, std::string_view reason) override;
  Result<WallTime> renew_lock(std::string_view queue, std::string_view lock_token,
                              Milliseconds lock_duration) override;
  Result<QueueDepth> depth(std::string_view queue) override;

  // The broker address of a hadr queue name under these options ("/amq/queue/<prefix>main").
  static std::string queue_address(const AmqpOptions& options, std::string_view queue);

 private:
  struct Lock {
    std::string queue;
    DeliveryHandle handle;
    BusMessage message;
    DeliveryStamps stamps;  // as received
    std::uint32_t delivery_count = 0;
    MonoTime expires_at;
    WallTime locked_until;
  };

  AmqpBus(std::unique_ptr<AmqpConnection> connection, const Clock& clock);

  bool rabbitmq() const;
  std::string address_of(std::string_view queue) const;
  Status ensure_queue_exists(const std::string& queue);
  std::uint32_t max_delivery_count_for(const std::string& queue) const;
  Status send_encoded(const std::string& queue, std::vector<proton::message> messages);
  Result<std::vector<ReceivedMessage>> take_deliveries(const std::string& queue,
                                                       std::vector<ReceivedDelivery> deliveries,
                                                       Milliseconds lock_duration);
  // Removes the lock of `token` on `queue`: kAborted "lock lost" when unknown or expired
  // (an expired one is made available again first).
  Result<Lock> take_lock(std::string_view queue, std::string_view token);
  // Makes the message of a lock available again, or dead-letters it past max deliveries.
  Status requeue(Lock lock);
  Status publish_copy_then_accept(const Lock& lock, const std::string& target_queue, DeliveryStamps stamps);
  void expire_locks();

  std::unique_ptr<AmqpConnection> connection_;
  const Clock& clock_;
  const std::uint64_t instance_;
  std::mutex mutex_;
  // Guarded by mutex_:
  std::unordered_map<std::string, Lock> locks_;
  std::unordered_map<std::string, QueueOptions> created_queues_;
  std::unordered_set<std::string> existing_queues_;
  std::uint64_t tokens_made_ = 0;
  // No lock expires before this (it may be earlier than the true minimum after a renew): lets
  // every call skip the scan of the lock table in the common case.
  MonoTime earliest_expiry_ = MonoTime::max();
};

}  // namespace hadr::amqp
