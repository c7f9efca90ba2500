// SqliteBus: the Bus contract (contracts/bus.h) on a SQLite file — one database per
// namespace — with Service Bus peek-lock semantics, so `hadr demo` needs no broker.
//
// Schema:
//   bus_queues(name PRIMARY KEY, max_delivery_count)
//   bus_messages(sequence INTEGER PRIMARY KEY AUTOINCREMENT, queue, message_id, epoch,
//                source_region, lsn, properties, body, delivery_count, lock_token,
//                locked_until_ms, dead_letter_reason)
//   A dead-lettered message stays the same row with queue = dead_letter_queue(queue).
//   A message is available when lock_token IS NULL, or its lock expired and it has been
//   delivered fewer than max_delivery_count times. A message whose lock expired at the
//   maximum is dead-lettered: it is counted as such at once (depth) and moved to the
//   dead-letter queue lazily, at most kSweepBatch per receive.
//   Lock tokens are "<sequence>-<delivery count>": deterministic and unique per delivery,
//   since every delivery raises the count. A token is honoured only while it is the row's
//   lock_token and locked_until_ms is in the future.
// Every change is one BEGIN IMMEDIATE transaction, so competing receivers (threads or
// processes) never get the same message under two live locks; synchronous=FULL makes a send
// durable when it returns.
//
// Time: store time (store_clock.h: the host's monotonic clock, continued across reboots), read in
// one place (store_now_ms); a wall-clock step expires nothing.
// Ownership: owns its connection; borrows the clock, which must outlive the bus.
// Thread-safety: safe from several threads (one mutex) and processes (SQLite locks).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "contracts/bus.h"
#include "embedded/sqlite_connection.h"
#include "embedded/store_clock.h"

namespace hadr {

class SqliteBus final : public Bus {
 public:
  static constexpr std::int64_t kSweepBatch = 1000;
  static constexpr std::uint32_t kMaxDeliveryCountLimit = 10'000;
  static constexpr std::string_view kMaxDeliveryCountExceeded = "MaxDeliveryCountExceeded";

  static Result<std::unique_ptr<SqliteBus>> open(const std::string& path, const Clock& clock,
                                                 const SqliteOptions& options = {});

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
  // A queue as named by the caller, and the queue it belongs to.
  struct QueueRef {
    std::string name;              // as given: "main" or "main/$deadletterqueue"
    std::string base_name;         // "main" in both cases
    std::string dead_letter_name;  // "main/$deadletterqueue" in both cases
    bool is_dead_letter = false;
    std::int64_t base_max_delivery_count = 0;  // the base queue's option
    // Deliveries after which a message of `name` is dead-lettered: unlimited in a dead-letter queue.
    std::int64_t max_delivery_count() const;
  };
  struct LockedMessage {
    std::int64_t sequence = 0;
    std::int64_t delivery_count = 0;
  };

  SqliteBus(std::unique_ptr<SqliteConnection> connection, const Clock& clock, StoreClock store_clock);
  // The one place this bus reads the time.
  std::int64_t store_now_ms();

  // Helpers run inside a transaction.
  Result<QueueRef> find_queue(std::string_view queue);
  Result<LockedMessage> find_locked(const QueueRef& queue, std::string_view lock_token, std::int64_t now_ms);
  Status move_to_dead_letter(const QueueRef& queue, std::int64_t sequence, std::string_view reason);
  Status sweep_expired_at_maximum(const QueueRef& queue, std::int64_t now_ms);
  Result<std::vector<ReceivedMessage>> receive_in_transaction(const QueueRef& queue, std::size_t max,
                                                              Milliseconds lock_duration, std::int64_t now_ms);
  // Runs `action` on the live lock `lock_token` in `queue`, in one write transaction.
  Status settle(std::string_view queue, std::string_view lock_token,
                const std::function<Status(const QueueRef&, const LockedMessage&, std::int64_t now_ms)>& action);

  std::mutex mutex_;
  std::unique_ptr<SqliteConnection> connection_;
  const Clock& clock_;
  StoreClock store_clock_;  // every TTL decision (store_clock.h)
};

}  // namespace hadr
