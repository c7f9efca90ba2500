// LedgerHandler: the built-in handler whose effect is one LedgerEntry appended by an
// EffectLedger (contracts/effect_ledger.h) atomically with the done mark: the entry exists if
// and only if the mark does, so effects are exactly once. The ledger is the dedupe store's own:
// SqliteEffectLedger on the embedded store (a row in the same SQLite transaction),
// redis::RedisDedupeStore on Redis (one Lua script). Readers: LedgerReader (SQLite file,
// embedded/sqlite_ledger.h) and redis::RedisLedgerReader.
//
// Ownership: LedgerHandler borrows the ledger and the clock (both outlive it); the
// SqliteDedupeStore constructor makes and owns a SqliteEffectLedger over the borrowed store.
// Thread-safety: LedgerHandler is used from one worker thread (the ledger itself is
// thread-safe).
#pragma once

#include <memory>

#include "contracts/effect_ledger.h"
#include "core/clock.h"
#include "embedded/sqlite_ledger.h"
#include "roles/handler.h"

namespace hadr {

class SqliteDedupeStore;

class LedgerHandler final : public Handler {
 public:
  LedgerHandler(EffectLedger& ledger, RegionId region, const Clock& clock, Milliseconds record_ttl);
  // The embedded store's ledger (SqliteEffectLedger over `store`), kept for existing callers.
  LedgerHandler(SqliteDedupeStore& store, RegionId region, const Clock& clock, Milliseconds record_ttl);

  std::string_view kind() const override { return "ledger"; }
  // kDone + marked_done when entry and mark committed (or had, under this claim token);
  // kRetryLater when the claim was lost or the store is busy or unreachable (nothing
  // committed, or — deadline exceeded — a retry settles it); kFailed on any other error.
  HandlerResult handle(const HandlerInput& input) override;

 private:
  LedgerEntry entry_of(const BusMessage& message) const;

  std::unique_ptr<SqliteEffectLedger> owned_ledger_;  // set by the SqliteDedupeStore constructor only
  EffectLedger& ledger_;
  const RegionId region_;
  const Clock& clock_;
  const Milliseconds record_ttl_;
};

}  // namespace hadr
