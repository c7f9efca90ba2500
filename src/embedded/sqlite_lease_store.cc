#include "embedded/sqlite_lease_store.h"

#include "contracts/validation.h"

namespace hadr {
namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS leases (
  name TEXT PRIMARY KEY NOT NULL,
  holder TEXT NOT NULL,
  epoch INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

using Mode = SqliteConnection::TransactionMode;

Status validate_name_and_holder(std::string_view name, std::string_view holder) {
  HADR_TRY(validate_printable("lease name", name, kMaxNameBytes));
  return validate_printable("lease holder", holder, kMaxNameBytes);
}

}  // namespace

Result<std::unique_ptr<SqliteLeaseStore>> SqliteLeaseStore::open(const std::string& path, const Clock& clock,
                                                                  const SqliteOptions& options) {
  HADR_ASSIGN_OR_RETURN(auto connection, SqliteConnection::open(path, options));
  HADR_TRY(connection->transaction(Mode::kWrite, [&] { return connection->execute(kSchema); }));
  HADR_ASSIGN_OR_RETURN(StoreClock store_clock, StoreClock::open(*connection, clock, options.boot_id));
  return std::unique_ptr<SqliteLeaseStore>(new SqliteLeaseStore(std::move(connection), std::move(store_clock)));
}

SqliteLeaseStore::SqliteLeaseStore(std::unique_ptr<SqliteConnection> connection, StoreClock store_clock)
    : connection_(std::move(connection)), store_clock_(std::move(store_clock)) {}

std::int64_t SqliteLeaseStore::store_now_ms() { return store_clock_.now_ms(*connection_); }

Result<SqliteLeaseStore::LeaseRow> SqliteLeaseStore::read_row(std::string_view name) {
  HADR_ASSIGN_OR_RETURN(auto query,
                        connection_->query("SELECT holder, epoch, expires_at_ms FROM leases WHERE name = ?"));
  query.bind_text(1, name);
  HADR_ASSIGN_OR_RETURN(const bool found, query.next_row());
  LeaseRow row;
  if (!found) return row;
  row.holder = query.column_text(0);
  row.epoch = static_cast<std::uint64_t>(query.column_int64(1));
  row.expires_at_ms = query.column_int64(2);
  return row;
}

Status SqliteLeaseStore::write_row(std::string_view name, const LeaseRow& row) {
  HADR_ASSIGN_OR_RETURN(auto query, connection_->query(
                                        "INSERT INTO leases (name, holder, epoch, expires_at_ms) VALUES (?, ?, ?, ?) "
                                        "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                                        "epoch = excluded.epoch, expires_at_ms = excluded.expires_at_ms"));
  query.bind_text(1, name).bind_text(2, row.holder).bind(3, static_cast<std::int64_t>(row.epoch));
  query.bind(4, row.expires_at_ms);
  return query.run();
}

Status SqliteLeaseStore::check_holder(std::string_view name, const LeaseRow& row, std::string_view holder,
                                      Epoch epoch, std::int64_t now_ms) const {
  if (row.live(now_ms) && row.holder == holder && row.epoch == epoch.value) return ok_status();
  std::string detail = "lease '" + std::string(name) + "' is not held by '" + std::string(holder) + "' at epoch " +
                       std::to_string(epoch.value) + ": ";
  if (row.live(now_ms)) {
    detail += "held by '" + row.holder + "' at epoch " + std::to_string(row.epoch);
  } else {
    detail += "not held (highest epoch " + std::to_string(row.epoch) + ")";
  }
  return aborted(detail + "; the lease was lost: step down");
}

Result<LeaseAcquireOutcome> SqliteLeaseStore::acquire(std::string_view name, std::string_view holder,
                                                      Milliseconds ttl) {
  HADR_TRY(validate_name_and_holder(name, holder));
  HADR_TRY(validate_ttl("lease ttl", ttl, kMaxLeaseTtl));
  std::lock_guard lock(mutex_);
  const std::int64_t now_ms = store_now_ms();
  LeaseAcquireOutcome outcome;
  HADR_TRY(connection_->transaction(Mode::kWrite, [&]() -> Status {
    HADR_ASSIGN_OR_RETURN(const LeaseRow current, read_row(name));
    if (current.live(now_ms)) {
      outcome = {false, Epoch{current.epoch}, current.holder, Milliseconds(current.expires_at_ms - now_ms)};
      return ok_status();
    }
    const LeaseRow granted{std::string(holder), current.epoch + 1, now_ms + ttl.count()};
    HADR_ASSERT(granted.epoch > current.epoch);
    HADR_TRY(write_row(name, granted));
    outcome = {true, Epoch{granted.epoch}, granted.holder, ttl};
    return ok_status();
  }));
  HADR_ASSERT(outcome.epoch.value > 0);
  return outcome;
}

Status SqliteLeaseStore::renew(std::string_view name, std::string_view holder, Epoch epoch, Milliseconds ttl) {
  HADR_TRY(validate_name_and_holder(name, holder));
  HADR_TRY(validate_ttl("lease ttl", ttl, kMaxLeaseTtl));
  std::lock_guard lock(mutex_);
  const std::int64_t now_ms = store_now_ms();
  return connection_->transaction(Mode::kWrite, [&]() -> Status {
    HADR_ASSIGN_OR_RETURN(LeaseRow row, read_row(name));
    HADR_TRY(check_holder(name, row, holder, epoch, now_ms));
    row.expires_at_ms = now_ms + ttl.count();
    return write_row(name, row);
  });
}

Status SqliteLeaseStore::release(std::string_view name, std::string_view holder, Epoch epoch) {
  HADR_TRY(validate_name_and_holder(name, holder));
  std::lock_guard lock(mutex_);
  const std::int64_t now_ms = store_now_ms();
  return connection_->transaction(Mode::kWrite, [&]() -> Status {
    HADR_ASSIGN_OR_RETURN(LeaseRow row, read_row(name));
    HADR_TRY(check_holder(name, row, holder, epoch, now_ms));
    // The row stays: its epoch is the counter the next grant continues from.
    row.holder.clear();
    row.expires_at_ms = 0;
    return write_row(name, row);
  });
}

Result<LeaseState> SqliteLeaseStore::read(std::string_view name) {
  HADR_TRY(validate_printable("lease name", name, kMaxNameBytes));
  std::lock_guard lock(mutex_);
  const std::int64_t now_ms = store_now_ms();
  HADR_ASSIGN_OR_RETURN(const LeaseRow row, read_row(name));
  LeaseState state;
  state.highest_epoch = Epoch{row.epoch};
  if (row.live(now_ms)) {
    state.held = true;
    state.holder = row.holder;
    state.epoch = Epoch{row.epoch};
    state.remaining = Milliseconds(row.expires_at_ms - now_ms);
  }
  return state;
}

}  // namespace hadr
