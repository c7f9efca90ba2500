#include "gateway/idempotency_store.h"

namespace hadr {
namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS idempotency_keys (
  key TEXT PRIMARY KEY,
  body_hash TEXT NOT NULL,
  status INTEGER NOT NULL,
  response BLOB NOT NULL,
  expires_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_keys_by_expiry ON idempotency_keys (expires_at_ms);
)sql";

using Mode = SqliteConnection::TransactionMode;

WallTime wall_time_from_millis(std::int64_t millis) {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(Milliseconds(millis)));
}

}  // namespace

Result<std::unique_ptr<SqliteIdempotencyStore>> SqliteIdempotencyStore::open(const std::string& path) {
  SqliteOptions options;
  options.durable_commits = false;  // see the header: a lost record costs one deduped re-put
  HADR_ASSIGN_OR_RETURN(auto connection, SqliteConnection::open(path, options));
  HADR_TRY(connection->transaction(Mode::kWrite, [&]() -> Status { return connection->execute(kSchema); }));
  return std::unique_ptr<SqliteIdempotencyStore>(new SqliteIdempotencyStore(std::move(connection)));
}

SqliteIdempotencyStore::SqliteIdempotencyStore(std::unique_ptr<SqliteConnection> connection)
    : connection_(std::move(connection)) {
  HADR_ASSERT(connection_ != nullptr);
}

Result<std::optional<IdempotencyRecord>> SqliteIdempotencyStore::find(std::string_view key, WallTime now) {
  HADR_ASSERT(!key.empty());
  std::lock_guard lock(mutex_);
  HADR_ASSIGN_OR_RETURN(auto query, connection_->query("SELECT body_hash, status, response, expires_at_ms "
                                                       "FROM idempotency_keys WHERE key = ? AND expires_at_ms > ?"));
  query.bind_text(1, key).bind(2, unix_millis(now));
  HADR_ASSIGN_OR_RETURN(const bool found, query.next_row());
  if (!found) return std::optional<IdempotencyRecord>();
  IdempotencyRecord record{query.column_text(0), static_cast<int>(query.column_int64(1)), query.column_blob(2),
                           wall_time_from_millis(query.column_int64(3))};
  HADR_ASSERT(record.expires_at > now);
  return std::optional<IdempotencyRecord>(std::move(record));
}

Status SqliteIdempotencyStore::save(std::string_view key, const IdempotencyRecord& record, WallTime now) {
  HADR_ASSERT(!key.empty() && !record.body_hash.empty());
  HADR_ASSERT(record.expires_at > now);
  std::lock_guard lock(mutex_);
  return connection_->transaction(Mode::kWrite, [&]() -> Status {
    HADR_ASSIGN_OR_RETURN(auto insert, connection_->query("INSERT OR REPLACE INTO idempotency_keys "
                                                          "(key, body_hash, status, response, expires_at_ms) "
                                                          "VALUES (?, ?, ?, ?, ?)"));
    insert.bind_text(1, key).bind_text(2, record.body_hash).bind(3, record.status);
    insert.bind_blob(4, record.response_body).bind(5, unix_millis(record.expires_at));
    HADR_TRY(insert.run());
    HADR_ASSIGN_OR_RETURN(const std::size_t purged, purge_locked(now, kPurgeBatch));
    (void)purged;
    return ok_status();
  });
}

Result<std::size_t> SqliteIdempotencyStore::purge_expired(WallTime now, std::size_t max) {
  std::lock_guard lock(mutex_);
  return purge_locked(now, max);
}

Result<std::size_t> SqliteIdempotencyStore::purge_locked(WallTime now, std::size_t max) {
  HADR_ASSERT(max >= 1);
  HADR_ASSIGN_OR_RETURN(auto purge, connection_->query("DELETE FROM idempotency_keys WHERE key IN (SELECT key FROM "
                                                       "idempotency_keys WHERE expires_at_ms <= ? LIMIT ?)"));
  purge.bind(1, unix_millis(now)).bind(2, static_cast<std::int64_t>(max));
  HADR_TRY(purge.run());
  const auto purged = static_cast<std::size_t>(connection_->changes());
  HADR_ASSERT(purged <= max);
  return purged;
}

Result<std::size_t> SqliteIdempotencyStore::count() {
  std::lock_guard lock(mutex_);
  HADR_ASSIGN_OR_RETURN(auto query, connection_->query("SELECT COUNT(*) FROM idempotency_keys"));
  HADR_ASSIGN_OR_RETURN(const bool found, query.next_row());
  HADR_ASSERT(found);
  return static_cast<std::size_t>(query.column_int64(0));
}

}  // namespace hadr
