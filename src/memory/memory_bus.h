// In-memory Bus (one messaging namespace) for the deterministic simulator and role unit tests.
//
// MemoryBusServer is one namespace ("the Service Bus namespace of region a"): named queues,
// each with its dead-letter queue, with the peek-lock semantics of contracts/bus.h exactly.
// Several MemoryBus clients share one server (relay, promoter and workers of a region, and the
// other region after an alias flip). Locks run on the server's clock and expire lazily: every
// call on a queue first applies the expiries that are due, in (locked_until, sequence) order.
//
// Determinism: messages are kept in send order under a server-wide sequence number; receive
// hands out available messages in that order; lock tokens are "<namespace>:<n>" from a
// counter (unique across queues and namespaces); no container is keyed by a pointer or a hash.
//
// For checkers: queue_counts() (depth plus totals sent, delivered, completed per queue),
// dead_letter_log() (every move to a dead-letter queue with its reason) and messages() (what
// a queue holds now). expire_lock_early() is the fault hook behind kLockExpiresEarly.
//
// Ownership: a server borrows its clock; a client borrows its server and injector.
// Thread-safety: the server is guarded by one mutex; clients follow memory_client.h.
// Invariants: a message is in exactly one of "available" and "locked" of its queue; a live
// lock token maps to exactly one locked message; a queue and its dead-letter queue together
// hold at most kMaxMessagesPerQueue messages.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "contracts/bus.h"
#include "core/clock.h"
#include "memory/memory_client.h"

namespace hadr {

struct BusQueueCounts {
  std::string queue;
  QueueDepth depth;  // as depth() answers now
  std::uint64_t sent = 0;        // accepted by send (dead-letter queues: moved in)
  std::uint64_t delivered = 0;   // handed out by receive, redeliveries included
  std::uint64_t completed = 0;
};

struct DeadLetterEvent {
  std::string queue;  // the queue the message left
  BusMessage message;
  std::string reason;                // "MaxDeliveryCountExceeded" or the dead_letter() reason
  std::uint32_t delivery_count = 0;  // deliveries before it moved
  WallTime at;                       // lock expiry time, or the time of the call that moved it
};

struct StoredBusMessage {
  BusMessage message;
  bool locked = false;
  std::uint32_t delivery_count = 0;
  std::string dead_letter_reason;
};

class MemoryBusServer {
 public:
  static constexpr std::size_t kMaxQueues = 1000;  // dead-letter queues not counted
  static constexpr std::size_t kMaxMessagesPerQueue = 1'000'000;
  static constexpr std::size_t kMaxDeadLetterLog = 100'000;

  // `namespace_name` goes into lock tokens so that a token of one namespace never works in
  // another; [A-Za-z0-9._-], 1..64 bytes.
  MemoryBusServer(const Clock& clock, std::string namespace_name);
  MemoryBusServer(const MemoryBusServer&) = delete;
  MemoryBusServer& operator=(const MemoryBusServer&) = delete;

  Status create_queue(std::string_view queue, const QueueOptions& options);
  Status send(std::string_view queue, std::span<const BusMessage> batch);
  // duplicate_delivery: the locked message whose lock expires first loses its lock now and is
  // handed out first in this batch (fault kDuplicateDelivery).
  Result<std::vector<ReceivedMessage>> receive(std::string_view queue, std::size_t max, Milliseconds lock_duration,
                                               bool duplicate_delivery = false);
  Status complete(std::string_view queue, std::string_view lock_token);
  Status abandon(std::string_view queue, std::string_view lock_token);
  Status dead_letter(std::string_view queue, std::string_view lock_token, std::string_view reason);
  Result<WallTime> renew_lock(std::string_view queue, std::string_view lock_token, Milliseconds lock_duration);
  Result<QueueDepth> depth(std::string_view queue);

  // Fault hook: if `lock_token` is a live lock in `queue`, the lock expires now (the message
  // becomes available, or moves to the dead-letter queue past max deliveries). Else nothing.
  void expire_lock_early(std::string_view queue, std::string_view lock_token);
  // Fault hooks (the simulator's bus_loss): the message at position `index` (send order, taken
  // modulo the queue's size) of `queue` vanishes, locked or not; false when the queue is empty
  // or unknown. restart_empty(): the namespace comes back with its queues but no message in
  // any of them (dead-letter queues included); the dead-letter log, a record of what
  // happened, is kept.
  bool lose_message(std::string_view queue, std::uint64_t index);
  void restart_empty();

  const std::string& namespace_name() const { return namespace_name_; }
  // Every queue (dead-letter queues included) in name order, after applying due expiries.
  std::vector<BusQueueCounts> queue_counts();
  std::vector<DeadLetterEvent> dead_letter_log() const;
  std::uint64_t dead_letter_log_dropped() const;
  // What `queue` holds now, in order, after applying due expiries.
  Result<std::vector<StoredBusMessage>> messages(std::string_view queue);

 private:
  struct Stored {
    BusMessage message;
    std::uint32_t delivery_count = 0;
    std::string lock_token;  // empty when available
    WallTime locked_until;
    std::string dead_letter_reason;
  };
  struct Queue {
    std::string name;
    QueueOptions options;
    Queue* dead_letter = nullptr;  // nullptr for a dead-letter queue itself
    std::map<std::uint64_t, Stored> messages;  // by sequence: send order
    std::set<std::uint64_t> available;
    std::set<std::pair<WallTime, std::uint64_t>> locks_by_expiry;
    std::map<std::string, std::uint64_t, std::less<>> sequence_by_token;
    std::uint64_t sent = 0;
    std::uint64_t delivered = 0;
    std::uint64_t completed = 0;
  };

  WallTime now() const { return clock_.now_wall(); }
  // The queue named `queue` (or a dead-letter queue), with its due lock expiries applied.
  Result<Queue*> open_queue(std::string_view queue, WallTime time);
  void apply_expiries(Queue& queue, WallTime time);
  // The locked message of `lock_token`, or kAborted "lock lost".
  Result<std::uint64_t> locked_message(const Queue& queue, std::string_view lock_token) const;
  ReceivedMessage deliver(Queue& queue, std::uint64_t sequence, Milliseconds lock_duration, WallTime time);
  void drop_lock(Queue& queue, Stored& stored);
  // The lock ended without a settlement: available again, or dead-lettered past max deliveries.
  void end_lock(Queue& queue, std::uint64_t sequence, WallTime at);
  void move_to_dead_letter(Queue& queue, std::uint64_t sequence, std::string_view reason, WallTime at);

  const Clock& clock_;
  const std::string namespace_name_;
  mutable std::mutex mutex_;
  std::map<std::string, Queue, std::less<>> queues_;
  std::size_t queue_count_ = 0;  // without dead-letter queues
  std::uint64_t next_sequence_ = 1;
  std::uint64_t next_lock_number_ = 1;
  std::deque<DeadLetterEvent> dead_letter_log_;
  std::uint64_t dead_letter_log_dropped_ = 0;
};

class MemoryBus final : public Bus, public MemoryClient {
 public:
  explicit MemoryBus(MemoryBusServer& server, FaultInjector* faults = nullptr)
      : MemoryClient(faults), server_(server) {}

  // Sites: every call kUnavailable; create_queue, send, receive, complete, abandon,
  // dead_letter, renew_lock kTimeoutAfterApply; receive kDuplicateDelivery; complete, abandon,
  // dead_letter, renew_lock kLockExpiresEarly.
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

 private:
  void maybe_expire_lock_early(std::string_view queue, std::string_view lock_token);

  MemoryBusServer& server_;
};

}  // namespace hadr
