#include "embedded/sqlite_coord.h"

#include <limits>

#include "contracts/validation.h"

namespace hadr {
namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS coord_records (
  key TEXT PRIMARY KEY NOT NULL,
  value BLOB NOT NULL,
  version INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS coord_records_by_expiry ON coord_records (expires_at_ms) WHERE expires_at_ms > 0;
)sql";

// The columns every read selects, in the order record_from_row() reads them.
#define HADR_COORD_COLUMNS "key, value, version, epoch, expires_at_ms"

using Mode = SqliteConnection::TransactionMode;

Status validate_key(std::string_view key) { return validate_printable("coord key", key, kMaxCoordKeyBytes); }

CoordRecord record_from_row(const SqliteQuery& row, std::int64_t now_ms) {
  CoordRecord record;
  record.key = row.column_text(0);
  record.value = row.column_blob(1);
  record.version = static_cast<std::uint64_t>(row.column_int64(2));
  record.epoch = Epoch{static_cast<std::uint64_t>(row.column_int64(3))};
  const std::int64_t expires_at_ms = row.column_int64(4);
  record.remaining = Milliseconds(expires_at_ms == 0 ? 0 : expires_at_ms - now_ms);
  HADR_ASSERT(record.version >= 1);
  return record;
}

std::string describe(const std::optional<CoordRecord>& current) {
  if (!current) return "the record does not exist";
  return "the record is at version " + std::to_string(current->version) + " with epoch " +
         std::to_string(current->epoch.value);
}

}  // namespace

Result<std::unique_ptr<SqliteCoord>> SqliteCoord::open(const std::string& path, const Clock& clock,
                                                       const SqliteOptions& options) {
  HADR_ASSIGN_OR_RETURN(auto connection, SqliteConnection::open(path, options));
  HADR_TRY(connection->transaction(Mode::kWrite, [&] { return connection->execute(kSchema); }));
  HADR_ASSIGN_OR_RETURN(StoreClock store_clock, StoreClock::open(*connection, clock, options.boot_id));
  return std::unique_ptr<SqliteCoord>(new SqliteCoord(std::move(connection), std::move(store_clock)));
}

SqliteCoord::SqliteCoord(std::unique_ptr<SqliteConnection> connection, StoreClock store_clock)
    : connection_(std::move(connection)), store_clock_(std::move(store_clock)) {}

std::int64_t SqliteCoord::store_now_ms() { return store_clock_.now_ms(*connection_); }

Result<std::optional<CoordRecord>> SqliteCoord::read_live(std::string_view key, std::int64_t now_ms) {
  HADR_ASSIGN_OR_RETURN(auto query, connection_->query("SELECT " HADR_COORD_COLUMNS " FROM coord_records "
                                                       "WHERE key = ? AND (expires_at_ms = 0 OR expires_at_ms > ?)"));
  query.bind_text(1, key).bind(2, now_ms);
  HADR_ASSIGN_OR_RETURN(const bool found, query.next_row());
  if (!found) return std::optional<CoordRecord>();
  return std::optional<CoordRecord>(record_from_row(query, now_ms));
}

Status SqliteCoord::check_condition(const CoordPut& write, const std::optional<CoordRecord>& current) {
  switch (write.condition) {
    case CoordCondition::kNone: return ok_status();
    case CoordCondition::kVersionEquals: {
      const std::uint64_t version = current ? current->version : 0;
      if (version == write.expected_version) return ok_status();
      return aborted("coord put '" + write.key + "' expected version " + std::to_string(write.expected_version) +
                     ", but " + describe(current) + "; re-read and retry");
    }
    case CoordCondition::kEpochAtLeast:
      if (!current || current->epoch <= write.epoch) return ok_status();
      return aborted("coord put '" + write.key + "' with epoch " + std::to_string(write.epoch.value) +
                     " is fenced: " + describe(current) + "; a lower epoch never overwrites a higher one");
  }
  HADR_UNREACHABLE();
}

Result<CoordRecord> SqliteCoord::put(const CoordPut& write) {
  HADR_TRY(validate_key(write.key));
  if (write.value.size() > kMaxValueBytes) {
    return invalid_argument("coord value for '" + write.key + "' is " + std::to_string(write.value.size()) +
                            " bytes; the maximum is " + std::to_string(kMaxValueBytes));
  }
  if (write.ttl != Milliseconds(0)) HADR_TRY(validate_ttl("coord ttl", write.ttl, kMaxCoordTtl));
  if (write.epoch.value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return invalid_argument("coord put '" + write.key + "': epoch is above 2^63-1");
  }
  std::lock_guard lock(mutex_);
  const std::int64_t now_ms = store_now_ms();
  CoordRecord written;
  HADR_TRY(connection_->transaction(Mode::kWrite, [&]() -> Status {
    HADR_ASSIGN_OR_RETURN(const std::optional<CoordRecord> current, read_live(write.key, now_ms));
    HADR_TRY(check_condition(write, current));
    written = CoordRecord{write.key, write.value, current ? current->version + 1 : 1, write.epoch, write.ttl};
    HADR_ASSIGN_OR_RETURN(auto upsert, connection_->query("INSERT OR REPLACE INTO coord_records "
                                                          "(" HADR_COORD_COLUMNS ") VALUES (?, ?, ?, ?, ?)"));
    upsert.bind_text(1, write.key).bind_blob(2, write.value).bind(3, static_cast<std::int64_t>(written.version));
    upsert.bind(4, static_cast<std::int64_t>(write.epoch.value));
    upsert.bind(5, write.ttl == Milliseconds(0) ? 0 : now_ms + write.ttl.count());
    HADR_TRY(upsert.run());
    HADR_ASSIGN_OR_RETURN(auto cleanup, connection_->query("DELETE FROM coord_records WHERE key IN (SELECT key FROM "
                                                           "coord_records WHERE expires_at_ms > 0 AND "
                                                           "expires_at_ms <= ? LIMIT ?)"));
    cleanup.bind(1, now_ms).bind(2, kCleanupBatch);
    return cleanup.run();
  }));
  HADR_ASSERT(written.version >= 1);
  return written;
}

Result<std::optional<CoordRecord>> SqliteCoord::get(std::string_view key) {
  HADR_TRY(validate_key(key));
  std::lock_guard lock(mutex_);
  return read_live(key, store_now_ms());
}

Result<std::vector<CoordRecord>> SqliteCoord::list(std::string_view prefix) {
  if (!prefix.empty()) HADR_TRY(validate_key(prefix));
  std::lock_guard lock(mutex_);
  const std::int64_t now_ms = store_now_ms();
  // Keys are printable ASCII (< 0x7f), so [prefix, prefix + 0x7f) is exactly the keys that
  // start with prefix, and the primary key index serves the range in key order.
  const std::string upper = std::string(prefix) + '\x7f';
  HADR_ASSIGN_OR_RETURN(auto query, connection_->query("SELECT " HADR_COORD_COLUMNS " FROM coord_records "
                                                       "WHERE key >= ? AND key < ? AND "
                                                       "(expires_at_ms = 0 OR expires_at_ms > ?) "
                                                       "ORDER BY key LIMIT ?"));
  query.bind_text(1, prefix).bind_text(2, upper).bind(3, now_ms).bind(4, static_cast<std::int64_t>(kMaxList));
  std::vector<CoordRecord> records;
  for (std::size_t row = 0; row < kMaxList; ++row) {
    HADR_ASSIGN_OR_RETURN(const bool has_row, query.next_row());
    if (!has_row) break;
    records.push_back(record_from_row(query, now_ms));
  }
  HADR_ASSERT(records.size() <= kMaxList);
  return records;
}

Status SqliteCoord::remove(std::string_view key) {
  HADR_TRY(validate_key(key));
  std::lock_guard lock(mutex_);
  return connection_->transaction(Mode::kWrite, [&]() -> Status {
    HADR_ASSIGN_OR_RETURN(auto query, connection_->query("DELETE FROM coord_records WHERE key = ?"));
    query.bind_text(1, key);
    return query.run();
  });
}

}  // namespace hadr

#undef HADR_COORD_COLUMNS
