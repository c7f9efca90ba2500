// SqliteCoord: the Coord contract (contracts/coord.h) on a SQLite file: the bus alias, role
// heartbeats and region checkpoints for processes on one machine.
//
// Schema: coord_records(key PRIMARY KEY, value BLOB, version, epoch, expires_at_ms), where
// expires_at_ms = 0 means no expiry. A row with 0 < expires_at_ms <= now acts as absent (a
// put over it starts again at version 1); each put deletes at most kCleanupBatch such rows.
// A put is one BEGIN IMMEDIATE transaction: read the live record, check the condition, write —
// so compare-and-set is atomic across threads and processes.
//
// Time: store time (store_clock.h: the host's monotonic clock, continued across reboots), read in
// one place (store_now_ms); a wall-clock step expires nothing.
// Ownership: owns its connection; borrows the clock, which must outlive the store.
// Thread-safety: safe from several threads (one mutex) and processes (SQLite locks).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "contracts/coord.h"
#include "embedded/sqlite_connection.h"
#include "embedded/store_clock.h"

namespace hadr {

class SqliteCoord final : public Coord {
 public:
  static constexpr std::int64_t kCleanupBatch = 16;

  static Result<std::unique_ptr<SqliteCoord>> open(const std::string& path, const Clock& clock,
                                                   const SqliteOptions& options = {});

  Result<CoordRecord> put(const CoordPut& write) override;
  Result<std::optional<CoordRecord>> get(std::string_view key) override;
  Result<std::vector<CoordRecord>> list(std::string_view prefix) override;
  Status remove(std::string_view key) override;

 private:
  SqliteCoord(std::unique_ptr<SqliteConnection> connection, StoreClock store_clock);
  // The one place this store reads the time.
  std::int64_t store_now_ms();
  Result<std::optional<CoordRecord>> read_live(std::string_view key, std::int64_t now_ms);
  // kAborted naming the current version and epoch when `write`'s condition fails.
  static Status check_condition(const CoordPut& write, const std::optional<CoordRecord>& current);

  std::mutex mutex_;
  std::unique_ptr<SqliteConnection> connection_;
  StoreClock store_clock_;  // every TTL decision (store_clock.h)
};

}  // namespace hadr
