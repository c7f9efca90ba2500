#include "embedded/sqlite_ledger.h"

#include "embedded/sqlite_dedupe_store.h"

namespace hadr {
namespace {

constexpr std::string_view kLedgerSchema =
    "CREATE TABLE IF NOT EXISTS ledger ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " message_id TEXT NOT NULL,"
    " region TEXT NOT NULL,"
    " epoch INTEGER NOT NULL,"
    " source_region TEXT NOT NULL,"
    " lsn INTEGER NOT NULL,"
    " body_bytes INTEGER NOT NULL,"
    " body_xxh3_64 INTEGER NOT NULL,"
    " applied_at_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS ledger_by_message_id ON ledger(message_id);";

// SQLite integers are signed 64-bit: unsigned values are stored bit for bit.
std::int64_t as_stored(std::uint64_t value) { return static_cast<std::int64_t>(value); }

}  // namespace

Status SqliteEffectLedger::insert_entry(SqliteConnection& connection, const LedgerEntry& entry) const {
  HADR_ASSERT(connection.in_transaction());
  // DDL inside the transaction: it commits (or rolls back) with the first row.
  if (!schema_ready_.load(std::memory_order_acquire)) HADR_TRY(connection.execute(kLedgerSchema));
  HADR_ASSIGN_OR_RETURN(auto insert,
                        connection.query("INSERT INTO ledger (message_id, region, epoch, source_region, lsn, "
                                         "body_bytes, body_xxh3_64, applied_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  insert.bind_text(1, entry.message_id.str())
      .bind_text(2, entry.region.str())
      .bind(3, as_stored(entry.epoch.value))
      .bind_text(4, entry.source_region.str())
      .bind(5, as_stored(entry.lsn.value))
      .bind(6, as_stored(entry.body_bytes))
      .bind(7, as_stored(entry.body_xxh3_64))
      .bind(8, entry.applied_at_ms);
  HADR_TRY(insert.run());
  HADR_ASSERT(connection.changes() == 1);
  return ok_status();
}

Status SqliteEffectLedger::mark_done_with_effect(const MessageId& id, std::string_view claim_token,
                                                 Milliseconds record_ttl, const LedgerEntry& entry) {
  HADR_ASSERT(entry.message_id == id);
  HADR_ASSERT(!entry.region.empty());
  bool inserted = false;
  HADR_TRY(store_.mark_done_with_effect(id, claim_token, record_ttl, [&](SqliteConnection& connection) -> Status {
    HADR_TRY(insert_entry(connection, entry));
    inserted = true;
    return ok_status();
  }));
  // Only a committed insert proves the table exists (an idempotent repeat inserts nothing).
  if (inserted) schema_ready_.store(true, std::memory_order_release);
  return ok_status();
}

LedgerReader::LedgerReader(std::unique_ptr<SqliteConnection> connection) : connection_(std::move(connection)) {
  HADR_ASSERT(connection_ != nullptr);
}

Result<std::unique_ptr<LedgerReader>> LedgerReader::open(const std::string& path) {
  if (path.empty()) return invalid_argument("ledger database path is empty; pass the dedupe store's file");
  // A reader never commits anything that matters: no fsync per (absent) commit.
  HADR_ASSIGN_OR_RETURN(auto connection, SqliteConnection::open(path, SqliteOptions{.durable_commits = false}));
  return std::unique_ptr<LedgerReader>(new LedgerReader(std::move(connection)));
}

Result<bool> LedgerReader::table_exists() {
  HADR_ASSIGN_OR_RETURN(auto query,
                        connection_->query("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'ledger'"));
  HADR_ASSIGN_OR_RETURN(const bool has_row, query.next_row());
  HADR_ASSERT(has_row);
  return query.column_int64(0) > 0;
}

namespace {

Result<std::uint64_t> count_query(SqliteConnection& connection, std::string_view sql) {
  HADR_ASSIGN_OR_RETURN(auto query, connection.query(sql));
  HADR_ASSIGN_OR_RETURN(const bool has_row, query.next_row());
  HADR_ASSERT(has_row);
  const std::int64_t count = query.column_int64(0);
  HADR_ASSERT(count >= 0);
  return static_cast<std::uint64_t>(count);
}

}  // namespace

Result<LedgerSummary> LedgerReader::summarize() {
  LedgerSummary summary;
  // One read snapshot: the counts agree with each other even while workers write.
  HADR_TRY(connection_->transaction(SqliteConnection::TransactionMode::kRead, [&]() -> Status {
    HADR_ASSIGN_OR_RETURN(const bool exists, table_exists());
    if (!exists) return ok_status();
    HADR_ASSIGN_OR_RETURN(summary.effects, count_query(*connection_, "SELECT COUNT(*) FROM ledger"));
    HADR_ASSIGN_OR_RETURN(summary.distinct_ids,
                          count_query(*connection_, "SELECT COUNT(DISTINCT message_id) FROM ledger"));
    HADR_ASSIGN_OR_RETURN(summary.duplicated_ids,
                          count_query(*connection_, "SELECT COUNT(*) FROM (SELECT message_id FROM ledger "
                                                    "GROUP BY message_id HAVING COUNT(*) > 1)"));
    HADR_ASSIGN_OR_RETURN(auto query, connection_->query("SELECT message_id, COUNT(*) FROM ledger GROUP BY message_id "
                                                         "HAVING COUNT(*) > 1 ORDER BY message_id LIMIT ?"));
    query.bind(1, static_cast<std::int64_t>(LedgerSummary::kDuplicateIdsMax));
    for (std::size_t row = 0; row < LedgerSummary::kDuplicateIdsMax; ++row) {
      HADR_ASSIGN_OR_RETURN(const bool has_row, query.next_row());
      if (!has_row) break;
      summary.duplicates.emplace_back(query.column_text(0), static_cast<std::uint64_t>(query.column_int64(1)));
    }
    return ok_status();
  }));
  HADR_ASSERT(summary.distinct_ids <= summary.effects);
  HADR_ASSERT(summary.duplicates.size() <= summary.duplicated_ids);
  return summary;
}

Status LedgerReader::for_each_effect_count(
    std::uint64_t ids_max, const std::function<Status(const std::string& id, std::uint64_t count)>& visit) {
  HADR_ASSERT(visit != nullptr);
  return connection_->transaction(SqliteConnection::TransactionMode::kRead, [&]() -> Status {
    HADR_ASSIGN_OR_RETURN(const bool exists, table_exists());
    if (!exists) return ok_status();
    // The index on message_id makes this a sorted scan: one row in memory at a time.
    HADR_ASSIGN_OR_RETURN(auto query, connection_->query("SELECT message_id, COUNT(*) FROM ledger "
                                                         "GROUP BY message_id ORDER BY message_id"));
    for (std::uint64_t visited = 0;; ++visited) {
      HADR_ASSIGN_OR_RETURN(const bool has_row, query.next_row());
      if (!has_row) return ok_status();
      if (visited == ids_max) {
        return resource_exhausted("the ledger holds more than " + std::to_string(ids_max) +
                                  " distinct message ids; raise the id limit of the verify run");
      }
      HADR_TRY(visit(query.column_text(0), static_cast<std::uint64_t>(query.column_int64(1))));
    }
  });
}

Result<std::uint64_t> LedgerReader::effect_count(std::string_view message_id) {
  HADR_ASSIGN_OR_RETURN(const bool exists, table_exists());
  if (!exists) return std::uint64_t{0};
  HADR_ASSIGN_OR_RETURN(auto query, connection_->query("SELECT COUNT(*) FROM ledger WHERE message_id = ?"));
  query.bind_text(1, message_id);
  HADR_ASSIGN_OR_RETURN(const bool has_row, query.next_row());
  HADR_ASSERT(has_row);
  return static_cast<std::uint64_t>(query.column_int64(0));
}

Result<std::uint64_t> LedgerReader::effect_rows() {
  HADR_ASSIGN_OR_RETURN(const bool exists, table_exists());
  if (!exists) return std::uint64_t{0};
  return count_query(*connection_, "SELECT COUNT(*) FROM ledger");
}

Result<std::optional<std::int64_t>> LedgerReader::first_effect_at_ms(const RegionId& region, std::int64_t since_ms) {
  HADR_ASSIGN_OR_RETURN(const bool exists, table_exists());
  if (!exists) return std::optional<std::int64_t>();
  HADR_ASSIGN_OR_RETURN(auto query, connection_->query("SELECT MIN(applied_at_ms) FROM ledger "
                                                       "WHERE region = ? AND applied_at_ms >= ?"));
  query.bind_text(1, region.str());
  query.bind(2, since_ms);
  HADR_ASSIGN_OR_RETURN(const bool has_row, query.next_row());
  HADR_ASSERT(has_row);
  if (query.column_is_null(0)) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(query.column_int64(0));
}

}  // namespace hadr
