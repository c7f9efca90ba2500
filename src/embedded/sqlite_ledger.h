// The EffectLedger and EffectLedgerReader (contracts/effect_ledger.h) on the embedded dedupe
// store's SQLite file: each effect is one row of the `ledger` table, inserted in the SAME
// transaction as the done mark (SqliteDedupeStore::mark_done_with_effect), so the row exists if
// and only if the mark does.
//
// Schema (created on first use, inside the first effect's transaction):
//   ledger(seq INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL, region TEXT,
//          epoch INTEGER, source_region TEXT, lsn INTEGER, body_bytes INTEGER,
//          body_xxh3_64 INTEGER, applied_at_ms INTEGER)
//   plus an index on message_id. message_id is deliberately NOT unique: a duplicate effect
//   must show up in verify, never be hidden by a constraint.
//
// Ownership: SqliteEffectLedger borrows the store (which must outlive it). LedgerReader owns
// its own connection.
// Thread-safety: SqliteEffectLedger is safe from any thread (the store serializes); LedgerReader
// is not thread-safe (one connection).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "contracts/effect_ledger.h"
#include "embedded/sqlite_connection.h"

namespace hadr {

class SqliteDedupeStore;

class SqliteEffectLedger final : public EffectLedger {
 public:
  explicit SqliteEffectLedger(SqliteDedupeStore& store) : store_(store) {}

  Status mark_done_with_effect(const MessageId& id, std::string_view claim_token, Milliseconds record_ttl,
                               const LedgerEntry& entry) override;

 private:
  Status insert_entry(SqliteConnection& connection, const LedgerEntry& entry) const;

  SqliteDedupeStore& store_;
  // The CREATE TABLE committed once through this ledger; until then every effect's
  // transaction runs it (IF NOT EXISTS), so a rolled-back first effect leaves no half state.
  std::atomic<bool> schema_ready_ = false;
};

// The SQLite EffectLedgerReader. The runtime may hold it as std::unique_ptr<EffectLedgerReader>.
class LedgerReader final : public EffectLedgerReader {
 public:
  // Opens the database at `path` (the dedupe store's file). A missing ledger table reads as
  // empty: no effect has been applied yet.
  static Result<std::unique_ptr<LedgerReader>> open(const std::string& path);

  // summarize() reads one snapshot: the counts agree with each other even while workers write.
  Result<LedgerSummary> summarize() override;
  // A sorted scan of the message_id index: memory stays bounded by one row.
  Status for_each_effect_count(std::uint64_t ids_max,
                               const std::function<Status(const std::string& id, std::uint64_t count)>& visit) override;
  Result<std::uint64_t> effect_count(std::string_view message_id) override;
  Result<std::uint64_t> effect_rows() override;
  Result<std::optional<std::int64_t>> first_effect_at_ms(const RegionId& region, std::int64_t since_ms) override;

 private:
  explicit LedgerReader(std::unique_ptr<SqliteConnection> connection);
  Result<bool> table_exists();

  std::unique_ptr<SqliteConnection> connection_;
};

}  // namespace hadr
