// SqliteDedupeStore: the DedupeStore contract (contracts/dedupe_store.h) on a SQLite file, plus
// mark_done_with_effect(): a handler's effect and the dedupe mark in ONE transaction, which is
// what makes effects exactly once (DESIGN.md, "What exactly once means").
//
// Schema:
//   dedupe_records(message_id PRIMARY KEY, state, owner, claim_token, expires_at_ms, reason)
//     state 1 = claimed (expires_at_ms = claim expiry), 2 = done, 3 = dead-lettered
//     (expires_at_ms = record expiry). A row whose expires_at_ms <= now acts as absent.
//   dedupe_pins(message_id, tag, expires_at_ms; PRIMARY KEY (message_id, tag)): copy pins
//     (dedupe_store.h, pin()), apart from the record so that a claim's row may come and go under
//     them; tag '' marks a set that overflowed kPinsMax (permanently pinned). Every pin of an id
//     expires kUnsettledRecordTtl after its last pin() call. Files from before pins get the
//     table when opened (CREATE TABLE IF NOT EXISTS); their records have no pins.
//   dedupe_counters(name PRIMARY KEY, value): 'highest_epoch' (fencing) and 'claim_sequence'
//     (claim tokens are "c<sequence>": deterministic, unique for the life of the file).
// Every write is one BEGIN IMMEDIATE transaction, so claim races between threads and processes
// have exactly one winner, and deletes at most kCleanupBatch expired rows (bounded cleanup;
// expired rows are never trusted meanwhile).
//
// Time: store time (store_clock.h: the host's monotonic clock, continued across reboots), read in
// one place (store_now_ms); a wall-clock step expires nothing.
// Ownership: owns its connection; borrows the clock, which must outlive the store.
// Thread-safety: safe from several threads (one mutex) and processes (SQLite locks).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "contracts/dedupe_store.h"
#include "embedded/sqlite_connection.h"
#include "embedded/store_clock.h"

namespace hadr {

class SqliteDedupeStore final : public DedupeStore {
 public:
  // Expired rows deleted per write transaction: a claim adds at most one row, so this keeps
  // pace with any load while bounding the work of one call.
  static constexpr std::int64_t kCleanupBatch = 16;

  static Result<std::unique_ptr<SqliteDedupeStore>> open(const std::string& path, const Clock& clock,
                                                         const SqliteOptions& options = {});

  Result<ClaimOutcome> claim(const MessageId& id, std::string_view owner, Epoch epoch,
                             Milliseconds claim_ttl) override;
  Status mark_done(const MessageId& id, std::string_view claim_token, Milliseconds record_ttl) override;
  Status mark_dead_lettered(const MessageId& id, std::string_view claim_token, std::string_view reason,
                            Milliseconds record_ttl) override;
  Status release(const MessageId& id, std::string_view claim_token) override;
  Result<std::vector<RecordState>> lookup(std::span<const MessageId> ids) override;
  Status pin(std::span<const CopyPin> pins) override;
  Status retire(std::span<const CopyPin> pins, Milliseconds record_ttl) override;
  Result<Epoch> highest_epoch() override;

  // Runs `effect` and marks `id` done in one transaction on this store's database: both
  // commit, or neither. The effect's tables live in the same file (the ledger).
  //   - the claim is not live (expired, released, or another claim since): kAborted "claim
  //     lost", and `effect` does not run;
  //   - `id` is already done under this token: ok, and `effect` does not run again (it
  //     committed with that mark);
  //   - `effect` fails: everything rolls back, its error is returned, the claim stays live.
  // `effect` runs inside the open transaction while this store's mutex is held: it must not
  // begin or commit a transaction and must not call this store.
  Status mark_done_with_effect(const MessageId& id, std::string_view claim_token, Milliseconds record_ttl,
                               const std::function<Status(SqliteConnection&)>& effect);

 private:
  enum class Stored : std::int64_t { kClaimed = 1, kDone = 2, kDeadLettered = 3 };
  struct Record {
    Stored state = Stored::kClaimed;
    std::string owner;
    std::string claim_token;
    std::int64_t expires_at_ms = 0;
  };

  SqliteDedupeStore(std::unique_ptr<SqliteConnection> connection, StoreClock store_clock);
  // The one place this store reads the time.
  std::int64_t store_now_ms();

  // Helpers run inside a transaction.
  Result<std::optional<Record>> read_live_record(const MessageId& id, std::int64_t now_ms);
  Status write_record(const MessageId& id, const Record& record, std::string_view reason);
  Result<std::int64_t> read_counter(std::string_view name);
  Result<bool> has_pin(const MessageId& id, std::string_view tag);
  // Live pin rows of `id` (the overflow row counts).
  Result<std::int64_t> count_live_pins(const MessageId& id, std::int64_t now_ms);
  Status write_counter(std::string_view name, std::int64_t value);
  Status delete_expired(std::int64_t now_ms);
  Result<ClaimOutcome> claim_in_transaction(const MessageId& id, std::string_view owner, Epoch epoch,
                                            Milliseconds claim_ttl, std::int64_t now_ms);
  // Settles the live claim `claim_token` of `id` as `final_state`. Sets `already_settled` when
  // the record was already settled that way under this token (an idempotent repeat).
  Status settle_in_transaction(const MessageId& id, std::string_view claim_token, Stored final_state,
                               std::string_view reason, Milliseconds record_ttl, std::int64_t now_ms,
                               bool& already_settled);
  Status settle(const MessageId& id, std::string_view claim_token, Stored final_state, std::string_view reason,
                Milliseconds record_ttl, const std::function<Status(SqliteConnection&)>* effect);

  std::mutex mutex_;
  std::unique_ptr<SqliteConnection> connection_;
  StoreClock store_clock_;  // every TTL decision (store_clock.h)
};

}  // namespace hadr
