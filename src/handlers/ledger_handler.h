// LedgerHandler: the built-in handler whose effect is one row in the `ledger` table of the
// dedupe store's own SQLite database, inserted in the SAME transaction as the done mark
// (SqliteDedupeStore::mark_done_with_effect): the row exists if and only if the mark does, so
// effects are exactly once. LedgerReader reads the table back for `hadr verify`, the drills
// and the demo.
//
// Schema (created on first use):
//   ledger(seq INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL, region TEXT,
//          epoch INTEGER, source_region TEXT, lsn INTEGER, body_bytes INTEGER,
//          body_xxh3_64 INTEGER, applied_at_ms INTEGER)
//   plus an index on message_id. message_id is deliberately NOT unique: a duplicate effect
//   must show up in verify, never be hidden by a constraint.
//
// Ownership: LedgerHandler borrows the store and the clock (both outlive it). LedgerReader
// owns its own connection.
// Thread-safety: LedgerHandler is used from one worker thread (the store itself is
// thread-safe); LedgerReader is not thread-safe (one connection).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "embedded/sqlite_connection.h"
#include "roles/handler.h"

namespace hadr {

class SqliteDedupeStore;

class LedgerHandler final : public Handler {
 public:
  LedgerHandler(SqliteDedupeStore& store, RegionId region, const Clock& clock, Milliseconds record_ttl);

  std::string_view kind() const override { return "ledger"; }
  // kDone + marked_done when row and mark committed; kRetryLater when the claim was lost or
  // the database is busy (nothing committed); kFailed on any other database error.
  HandlerResult handle(const HandlerInput& input) override;

 private:
  Status insert_effect(SqliteConnection& connection, const BusMessage& message);

  SqliteDedupeStore& store_;
  const RegionId region_;
  const Clock& clock_;
  const Milliseconds record_ttl_;
  bool schema_ready_ = false;  // the CREATE TABLE committed once through this handler
};

struct LedgerSummary {
  static constexpr std::size_t kDuplicateIdsMax = 100;  // the list is bounded; the count is not

  std::uint64_t effects = 0;        // rows
  std::uint64_t distinct_ids = 0;   // distinct message ids
  std::uint64_t duplicated_ids = 0;  // ids with more than one row
  // Up to kDuplicateIdsMax of those ids, in id order, with their row counts.
  std::vector<std::pair<std::string, std::uint64_t>> duplicates;
};

class LedgerReader {
 public:
  // Opens the database at `path` (the dedupe store's file). A missing ledger table reads as
  // empty: no effect has been applied yet.
  static Result<std::unique_ptr<LedgerReader>> open(const std::string& path);

  Result<LedgerSummary> summarize();
  // Streams (message id, effect count) for every id in id order, at most `ids_max` ids
  // (kResourceExhausted past it, naming the limit); memory stays bounded by one row. Stops
  // with the callback's error if it returns one.
  Status for_each_effect_count(std::uint64_t ids_max,
                               const std::function<Status(const std::string& id, std::uint64_t count)>& visit);
  // Effect count of one id (0 when it never ran).
  Result<std::uint64_t> effect_count(std::string_view message_id);
  // All rows (cheap: the progress of a drill).
  Result<std::uint64_t> effect_rows();
  // applied_at_ms of the first effect applied by `region` at or after `since_ms`; nullopt when
  // none yet (the drills' "first effect in the new region").
  Result<std::optional<std::int64_t>> first_effect_at_ms(const RegionId& region, std::int64_t since_ms);

 private:
  explicit LedgerReader(std::unique_ptr<SqliteConnection> connection);
  Result<bool> table_exists();

  std::unique_ptr<SqliteConnection> connection_;
};

}  // namespace hadr
