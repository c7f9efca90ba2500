// Bus: one messaging namespace with named queues and Service Bus peek-lock semantics.
// Two namespaces (primary, secondary) sit behind the bus alias (see Coord).
//
// Contract (docs/backends.md, "Bus"):
//   - create_queue() declares a queue (idempotent; options of an existing queue are kept).
//     Sending to a queue that was never created is kNotFound, never a silent success.
//   - send(queue, batch) returns ok only once every message of the batch is durably accepted.
//     An error means some, none or all may have been accepted: the caller resends with the
//     same message ids and the dedupe store absorbs the repeats. At most kMaxSendBatch messages.
//   - receive(queue, max, lock_duration) returns up to `max` available messages, each locked
//     for lock_duration (by the bus's clock) under a fresh lock token. delivery_count is 1 on
//     the first delivery and +1 on each later one. It never blocks: no message = empty vector.
//   - complete(token) removes the message; abandon(token) makes it available again at once;
//     dead_letter(token, reason) moves it to dead_letter_queue(queue); renew_lock(token, d)
//     extends the lock. All four answer kAborted "lock lost" when the token's lock expired or
//     the token is unknown — the message may already be with another receiver.
//   - A lock that expires makes the message available again. When a message that was delivered
//     max_delivery_count times is abandoned or its lock expires, it moves to the dead-letter
//     queue with reason "MaxDeliveryCountExceeded" instead.
//   - The dead-letter queue is a queue like the others (receive, complete) whose messages carry
//     dead_letter_reason. depth() reports available, locked and dead-lettered counts.
//   - Message id, epoch, source region, LSN, properties and body travel unchanged.
// Thread-safety: implementations are safe to call from several threads.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/result.h"

namespace hadr {

using Properties = std::vector<std::pair<std::string, std::string>>;

struct BusMessage {
  MessageId id;
  Epoch epoch;             // epoch of the region that published it (fencing)
  RegionId source_region;  // region whose WAL holds it
  Lsn lsn;                 // its position in that WAL
  Properties properties;   // application properties (the source's headers)
  std::string body;
};

struct ReceivedMessage {
  BusMessage message;
  std::string lock_token;
  std::uint32_t delivery_count = 0;  // 1 on the first delivery
  WallTime locked_until;             // by the bus's clock
  std::string dead_letter_reason;    // set only on messages received from a dead-letter queue
};

struct QueueOptions {
  std::uint32_t max_delivery_count = 10;
};

struct QueueDepth {
  std::uint64_t available = 0;
  std::uint64_t locked = 0;
  std::uint64_t dead_lettered = 0;
};

// "main" -> "main/$deadletterqueue", as Service Bus names it.
std::string dead_letter_queue(std::string_view queue);

class Bus {
 public:
  static constexpr std::size_t kMaxSendBatch = 1000;
  static constexpr std::size_t kMaxReceiveBatch = 1000;
  static constexpr std::size_t kMaxBodyBytes = 1 << 20;  // Service Bus premium's 1 MiB

  virtual ~Bus() = default;

  virtual Status create_queue(std::string_view queue, const QueueOptions& options) = 0;
  virtual Status send(std::string_view queue, std::span<const BusMessage> batch) = 0;
  virtual Result<std::vector<ReceivedMessage>> receive(std::string_view queue, std::size_t max,
                                                       Milliseconds lock_duration) = 0;
  virtual Status complete(std::string_view queue, std::string_view lock_token) = 0;
  virtual Status abandon(std::string_view queue, std::string_view lock_token) = 0;
  virtual Status dead_letter(std::string_view queue, std::string_view lock_token, std::string_view reason) = 0;
  // Returns the new locked_until.
  virtual Result<WallTime> renew_lock(std::string_view queue, std::string_view lock_token,
                                      Milliseconds lock_duration) = 0;
  virtual Result<QueueDepth> depth(std::string_view queue) = 0;
};

}  // namespace hadr
