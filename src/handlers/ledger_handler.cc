#include "handlers/ledger_handler.h"

#include <xxhash.h>

#include "embedded/sqlite_dedupe_store.h"

namespace hadr {

LedgerHandler::LedgerHandler(EffectLedger& ledger, RegionId region, const Clock& clock, Milliseconds record_ttl)
    : ledger_(ledger), region_(std::move(region)), clock_(clock), record_ttl_(record_ttl) {
  HADR_ASSERT(record_ttl_ > Milliseconds(0));
  HADR_ASSERT(!region_.empty());
}

LedgerHandler::LedgerHandler(SqliteDedupeStore& store, RegionId region, const Clock& clock, Milliseconds record_ttl)
    : owned_ledger_(std::make_unique<SqliteEffectLedger>(store)),
      ledger_(*owned_ledger_),
      region_(std::move(region)),
      clock_(clock),
      record_ttl_(record_ttl) {
  HADR_ASSERT(record_ttl_ > Milliseconds(0));
  HADR_ASSERT(!region_.empty());
}

LedgerEntry LedgerHandler::entry_of(const BusMessage& message) const {
  return LedgerEntry{.message_id = message.id,
                     .region = region_,
                     .epoch = message.epoch,
                     .source_region = message.source_region,
                     .lsn = message.lsn,
                     .body_bytes = message.body.size(),
                     .body_xxh3_64 = XXH3_64bits(message.body.data(), message.body.size()),
                     .applied_at_ms = unix_millis(clock_.now_wall())};
}

HandlerResult LedgerHandler::handle(const HandlerInput& input) {
  HADR_ASSERT(!input.claim_token.empty());
  const BusMessage& message = input.message;
  const Status status = ledger_.mark_done_with_effect(message.id, input.claim_token, record_ttl_, entry_of(message));
  if (status.ok()) return HandlerResult{.verdict = HandlerVerdict::kDone, .marked_done = true};
  const ErrorCode code = status.code();
  // Past a deadline the store may have committed: a retry then answers "already done" under this
  // token, or "claim lost" with the entry absent — never a second entry.
  const std::string outcome = code == ErrorCode::kDeadlineExceeded
                                  ? "' may not have been applied (a retry applies it at most once): "
                                  : "' not applied (rolled back with its mark): ";
  const std::string reason = "ledger effect of message '" + message.id.str() + outcome + status.error().to_string();
  // Claim lost, busy or unreachable store are transient: nothing committed (or, past a deadline,
  // the retry finds it done under this token or lost), so a redelivery may succeed.
  if (code == ErrorCode::kAborted || code == ErrorCode::kUnavailable || code == ErrorCode::kDeadlineExceeded) {
    return HandlerResult{.verdict = HandlerVerdict::kRetryLater, .reason = reason};
  }
  return HandlerResult{.verdict = HandlerVerdict::kFailed, .reason = reason};
}

}  // namespace hadr
