// EffectLedger and EffectLedgerReader: the `ledger` handler's exactly-once effect, independent
// of the dedupe store it lives in (docs/handlers.md, "ledger").
//
// An EffectLedger appends one LedgerEntry and marks the message done ATOMICALLY, under the
// check that the caller's claim is still live: the entry exists if and only if the mark does.
// Implementations:
//   - SqliteEffectLedger (embedded/sqlite_ledger.h): a row of the `ledger` table, inserted in
//     the same SQLite transaction as the mark (SqliteDedupeStore::mark_done_with_effect);
//   - redis::RedisDedupeStore (redis/redis_dedupe_store.h): one Lua script that writes the done
//     record and appends the entry (keys in docs/redis.md, "Ledger").
// An EffectLedgerReader reads the effects back for `hadr verify`, the drills and the demo:
// LedgerReader (SQLite file) and redis::RedisLedgerReader.
//
// This header depends on src/core only, so that every store can implement it.
// Ownership: interfaces; see each implementation. Thread-safety: an EffectLedger is safe from
// any thread; an EffectLedgerReader is not (one connection, one owner).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/result.h"

namespace hadr {

// The fields of one effect (the SQLite schema's columns, docs/handlers.md).
struct LedgerEntry {
  MessageId message_id;
  RegionId region;  // the region whose worker applied the effect
  Epoch epoch;      // the message's epoch (of the publishing region)
  RegionId source_region;
  Lsn lsn;
  std::uint64_t body_bytes = 0;
  std::uint64_t body_xxh3_64 = 0;
  std::int64_t applied_at_ms = 0;  // wall time of the injected clock, ms since the Unix epoch
};

class EffectLedger {
 public:
  virtual ~EffectLedger() = default;

  // Appends `entry` and marks `id` done with `claim_token` (record kept for `record_ttl`),
  // both or neither. `entry.message_id` must equal `id`.
  //   - ok: the entry and the mark committed now;
  //   - ok, and nothing appended: `id` was already done under this token (an idempotent
  //     repeat: its entry committed with that mark);
  //   - kAborted "claim lost": the token is not the live claim of `id` (expired, released,
  //     another claim since, or another id's token); nothing changed;
  //   - kFailedPrecondition: `id` was dead-lettered under this token; nothing changed;
  //   - kUnavailable / kDeadlineExceeded: the store could not be reached, or (deadline) the call
  //     may have committed — a retry then answers "already done" or applies it once.
  virtual Status mark_done_with_effect(const MessageId& id, std::string_view claim_token, Milliseconds record_ttl,
                                       const LedgerEntry& entry) = 0;
};

struct LedgerSummary {
  static constexpr std::size_t kDuplicateIdsMax = 100;  // the list is bounded; the count is not

  std::uint64_t effects = 0;         // entries
  std::uint64_t distinct_ids = 0;    // distinct message ids
  std::uint64_t duplicated_ids = 0;  // ids with more than one entry
  // Up to kDuplicateIdsMax of those ids, in id order, with their entry counts.
  std::vector<std::pair<std::string, std::uint64_t>> duplicates;
};

class EffectLedgerReader {
 public:
  virtual ~EffectLedgerReader() = default;

  // Effects, distinct ids and the duplicated ids. An empty ledger reads as zeros.
  virtual Result<LedgerSummary> summarize() = 0;
  // Calls `visit(message id, effect count)` once for every id, in id (byte) order, for at most
  // `ids_max` ids (kResourceExhausted past it, naming the limit). Stops with the callback's
  // error if it returns one. A count above 1 is a duplicate effect: it is reported, never
  // folded.
  virtual Status for_each_effect_count(
      std::uint64_t ids_max, const std::function<Status(const std::string& id, std::uint64_t count)>& visit) = 0;
  // Effect count of one id (0 when it never ran).
  virtual Result<std::uint64_t> effect_count(std::string_view message_id) = 0;
  // All entries (cheap: the progress of a drill).
  virtual Result<std::uint64_t> effect_rows() = 0;
  // applied_at_ms of the first effect applied by `region` at or after `since_ms`; nullopt when
  // none yet (the drills' "first effect in the new region").
  virtual Result<std::optional<std::int64_t>> first_effect_at_ms(const RegionId& region, std::int64_t since_ms) = 0;
};

}  // namespace hadr
