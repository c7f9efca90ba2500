#include "embedded/store_clock.h"

#include <fstream>

namespace hadr {
namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS store_clock (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  boot_id TEXT NOT NULL,
  offset_ms INTEGER NOT NULL,
  high_water_ms INTEGER NOT NULL
);
)sql";

constexpr const char* kBootIdPath = "/proc/sys/kernel/random/boot_id";

struct ClockRow {
  bool found = false;
  std::string boot_id;
  std::int64_t offset_ms = 0;
  std::int64_t high_water_ms = 0;
};

Result<ClockRow> read_row(SqliteConnection& connection) {
  HADR_ASSIGN_OR_RETURN(auto query, connection.query("SELECT boot_id, offset_ms, high_water_ms FROM store_clock "
                                                     "WHERE id = 1"));
  HADR_ASSIGN_OR_RETURN(const bool found, query.next_row());
  ClockRow row;
  if (!found) return row;
  row = ClockRow{true, query.column_text(0), query.column_int64(1), query.column_int64(2)};
  return row;
}

Status write_row(SqliteConnection& connection, const ClockRow& row) {
  HADR_ASSIGN_OR_RETURN(auto query, connection.query("INSERT OR REPLACE INTO store_clock "
                                                     "(id, boot_id, offset_ms, high_water_ms) VALUES (1, ?, ?, ?)"));
  query.bind_text(1, row.boot_id).bind(2, row.offset_ms).bind(3, row.high_water_ms);
  return query.run();
}

}  // namespace

Result<std::string> host_boot_id() {
  std::ifstream file(kBootIdPath);
  std::string id;
  if (!file || !std::getline(file, id) || id.empty()) {
    return failed_precondition(std::string("cannot read ") + kBootIdPath +
                               ": the embedded stores need the host's boot id to keep TTLs right across reboots "
                               "(they run on Linux only)");
  }
  return id;
}

StoreClock::StoreClock(const Clock& clock, std::string boot_id, std::int64_t offset_ms)
    : clock_(&clock), boot_id_(std::move(boot_id)), offset_ms_(offset_ms) {}

std::int64_t StoreClock::monotonic_ms() const {
  return std::chrono::duration_cast<Milliseconds>(clock_->now_monotonic().time_since_epoch()).count();
}

Result<StoreClock> StoreClock::open(SqliteConnection& connection, const Clock& clock, std::string boot_id) {
  if (boot_id.empty()) {
    HADR_ASSIGN_OR_RETURN(boot_id, host_boot_id());
  }
  StoreClock store_clock(clock, boot_id, 0);
  HADR_TRY(connection.transaction(SqliteConnection::TransactionMode::kWrite, [&]() -> Status {
    HADR_TRY(connection.execute(kSchema));
    HADR_ASSIGN_OR_RETURN(ClockRow row, read_row(connection));
    const std::int64_t monotonic = store_clock.monotonic_ms();
    if (row.found && row.boot_id == boot_id) {
      store_clock.offset_ms_ = row.offset_ms;
      return ok_status();
    }
    // A new row starts at the wall clock's Unix ms, so rows written before this clock keep
    // their meaning; after a reboot, store time continues from the old boot's high water.
    const std::int64_t start_ms = row.found ? row.high_water_ms : unix_millis(clock.now_wall());
    row = ClockRow{true, boot_id, start_ms - monotonic, start_ms};
    store_clock.offset_ms_ = row.offset_ms;
    return write_row(connection, row);
  }));
  return store_clock;
}

std::int64_t StoreClock::now_ms(SqliteConnection& connection) {
  const std::int64_t now = monotonic_ms() + offset_ms_;
  if (now - high_water_written_ms_ < kHighWaterInterval.count() || connection.in_transaction()) return now;
  high_water_written_ms_ = now;
  // A failed write is not an error of the caller's operation: the high water then lags, and
  // after a reboot deadlines look a little longer — the safe direction.
  (void)connection.transaction(SqliteConnection::TransactionMode::kWrite, [&]() -> Status {
    HADR_ASSIGN_OR_RETURN(auto query, connection.query("UPDATE store_clock SET high_water_ms = MAX(high_water_ms, ?) "
                                                       "WHERE id = 1 AND boot_id = ?"));
    query.bind(1, now).bind_text(2, boot_id_);
    return query.run();
  });
  // Read again: the write may have waited for another process's lock, and the caller must not
  // decide on a time from before that wait.
  return monotonic_ms() + offset_ms_;
}

WallTime StoreClock::to_wall(std::int64_t store_ms, std::int64_t now_ms) const {
  return clock_->now_wall() + Milliseconds(store_ms - now_ms);
}

}  // namespace hadr
