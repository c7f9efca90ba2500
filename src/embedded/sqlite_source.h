// SqliteSource: the Source contract (contracts/source.h) on a SQLite file: the queue the relay
// reads when no MQ is configured, with MQ get-under-syncpoint semantics.
//
// Schema: source_messages(sequence INTEGER PRIMARY KEY AUTOINCREMENT, message_id,
// enqueued_at_ms, headers, body, consumer, ack_handle, invisible_until_ms, receive_count).
// A message is available when consumer IS NULL or invisible_until_ms <= now (the consumer's
// visibility timeout passed). receive() hands it to this consumer with the handle
// "<sequence>-<receive count>", unique per delivery; ack() deletes it only while that handle
// is the message's current one and the message is still invisible. ack() of a batch is all or
// nothing (one transaction): one stale handle acks none of them.
// One database holds one source queue; many consumers (by name) compete on it. Opening a
// consumer makes what its earlier incarnation had in flight visible again at once.
// source_ref is "<database file name>@<sequence>".
//
// Time: store time (store_clock.h: the host's monotonic clock, continued across reboots), read in
// one place (store_now_ms); a wall-clock step expires nothing.
// Ownership: owns its connection; borrows the clock, which must outlive the source.
// Thread-safety: safe from several threads (one mutex) and processes (SQLite locks).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "contracts/source.h"
#include "embedded/sqlite_connection.h"
#include "embedded/store_clock.h"

namespace hadr {

class SqliteSource final : public Source {
 public:
  // Visibility timeouts: 1 ms .. 1 day (a consumer that holds a message longer is dead).
  static constexpr Milliseconds kMaxVisibilityTimeout = std::chrono::hours(24);

  // Opens consumer `consumer` (1..128 printable ASCII) of the source in the database at `path`.
  static Result<std::unique_ptr<SqliteSource>> open(const std::string& path, std::string_view consumer,
                                                    Milliseconds visibility_timeout, const Clock& clock,
                                                    const SqliteOptions& options = {});

  Status put(std::span<const SourceMessage> batch) override;
  Result<std::vector<SourceMessage>> receive(std::size_t max) override;
  Status ack(std::span<const std::string> ack_handles) override;
  Result<std::uint64_t> depth() override;

 private:
  SqliteSource(std::unique_ptr<SqliteConnection> connection, std::string consumer, Milliseconds visibility_timeout,
               const Clock& clock, StoreClock store_clock);
  // The one place this source reads the time.
  std::int64_t store_now_ms();
  Status ack_one(const std::string& ack_handle, std::int64_t now_ms);

  std::mutex mutex_;
  std::unique_ptr<SqliteConnection> connection_;
  const std::string consumer_;
  const Milliseconds visibility_timeout_;
  const std::string source_name_;  // the database file name, for source_ref
  const Clock& clock_;
  StoreClock store_clock_;  // every TTL decision (store_clock.h)
};

}  // namespace hadr
