// SqliteLeaseStore: the LeaseStore contract (contracts/lease_store.h) on a SQLite file, so that
// several processes on one machine share one `active_dc` lease.
//
// Schema: leases(name PRIMARY KEY, holder, epoch, expires_at_ms). One row per name, kept
// forever: `epoch` is the epoch of the latest grant, which is also the highest ever granted,
// so a new grant is epoch + 1 and epochs survive expiry, release and reopening. The lease is
// live when holder is not empty and expires_at_ms > now; release empties holder.
// Every call is one transaction (BEGIN IMMEDIATE for changes), so acquire races between
// threads and processes have exactly one winner.
//
// Time: TTLs are absolute expiry times in ms of store time (store_clock.h: the host's monotonic
// clock, continued across reboots), read in one place (store_now_ms). A wall-clock step expires
// no lease (issue 12, hole 6). Processes sharing a file must share one host.
// Ownership: owns its connection; borrows the clock, which must outlive the store.
// Thread-safety: safe from several threads (one mutex around the connection).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "contracts/lease_store.h"
#include "embedded/sqlite_connection.h"
#include "embedded/store_clock.h"

namespace hadr {

class SqliteLeaseStore final : public LeaseStore {
 public:
  static Result<std::unique_ptr<SqliteLeaseStore>> open(const std::string& path, const Clock& clock,
                                                        const SqliteOptions& options = {});

  Result<LeaseAcquireOutcome> acquire(std::string_view name, std::string_view holder, Milliseconds ttl) override;
  Status renew(std::string_view name, std::string_view holder, Epoch epoch, Milliseconds ttl) override;
  Status release(std::string_view name, std::string_view holder, Epoch epoch) override;
  Result<LeaseState> read(std::string_view name) override;

 private:
  struct LeaseRow {
    std::string holder;  // empty when released or never granted
    std::uint64_t epoch = 0;
    std::int64_t expires_at_ms = 0;

    bool live(std::int64_t now_ms) const { return !holder.empty() && expires_at_ms > now_ms; }
  };

  SqliteLeaseStore(std::unique_ptr<SqliteConnection> connection, StoreClock store_clock);
  // The one place this store reads the time.
  std::int64_t store_now_ms();
  Result<LeaseRow> read_row(std::string_view name);
  Status write_row(std::string_view name, const LeaseRow& row);
  // kAborted naming what the live grant is, when holder/epoch is not it.
  Status check_holder(std::string_view name, const LeaseRow& row, std::string_view holder, Epoch epoch,
                      std::int64_t now_ms) const;

  std::mutex mutex_;
  std::unique_ptr<SqliteConnection> connection_;
  StoreClock store_clock_;  // every TTL decision (store_clock.h)
};

}  // namespace hadr
