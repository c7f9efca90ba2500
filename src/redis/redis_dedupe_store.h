// RedisDedupeStore: the DedupeStore contract (contracts/dedupe_store.h) on Redis.
//
// Keys (docs/redis.md): one string per message, "{prefix}:dedupe:<id>", whose first letter is
// its state — "c<expiry>|<token>" claimed, "d<expiry>|<token>" done, "x<expiry>|<token>\n<reason>"
// dead-lettered — expiring (PXAT <expiry>, Redis time in ms) after claim_ttl (claimed) or
// record_ttl (done, dead-lettered);
// "{prefix}:dedupe-pins:<id>" the id's copy pins (a set of tags, "" once it overflowed
// kPinsMax), apart from the record so that a claim's key may expire under them, expiring
// kUnsettledRecordTtl after the last pin; "{prefix}:dedupe-epoch" the highest epoch seen; the ledger's keys (LedgerKeys, redis_keys.h); "{prefix}:dedupe-token" the counter that
// makes claim tokens "<owner>/<n>" (deterministic, never random): one per claim call, shared
// by the ids one batch claims — a token names a claim of one id, and every mark and release
// checks it against that id's own record.
// Claim, mark and release are Lua scripts, so check-and-set is atomic across processes.
// A mark succeeds for the live claim with that token whatever the region epoch (DESIGN.md,
// "Failover" step 6); only new claims are fenced by epoch.
//
// Batches: claim_batch() and mark_done_batch() run the same scripts as claim() and
// mark_done() (the single-id calls are batches of one) over up to kMaxBatch ids in one round
// trip, at most kIdsPerScriptCall ids per script call so that no call blocks Redis for long.
// lookup() is MGET in chunks, pipelined: one round trip for up to kMaxLookupBatch ids.
//
// Ownership: owns one RedisConnection. Thread-safety: every method is safe from any thread
// (one mutex serializes the connection); any number of processes may share one Redis.
#pragma once

#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "contracts/dedupe_store.h"
#include "contracts/validation.h"
#include "redis/redis_connection.h"
#include "redis/redis_keys.h"
#include "redis/redis_options.h"

namespace hadr::redis {

class RedisDedupeStore final : public DedupeStore {
 public:
  static constexpr std::size_t kMaxTokenBytes = kMaxNameBytes + 1 + 20;  // "<owner>/<n>"
  static constexpr std::size_t kMaxBatch = kMaxLookupBatch;
  static constexpr std::size_t kIdsPerScriptCall = 512;
  static constexpr std::size_t kIdsPerLookupCommand = 1000;

  // `options` must have its password resolved (resolve_password).
  static Result<std::unique_ptr<RedisDedupeStore>> open(const RedisOptions& options);

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

  // claim() for each of 1..kMaxBatch ids, in order, in one round trip. The outer error is a
  // transport or input error (then nothing is known); otherwise one outcome per id.
  Result<std::vector<ClaimOutcome>> claim_batch(std::span<const MessageId> ids, std::string_view owner, Epoch epoch,
                                                Milliseconds claim_ttl);
  // mark_done() for each id with the token at the same index, in one round trip; one Status
  // per id (ok, kAborted "claim lost", kFailedPrecondition "marked otherwise").
  Result<std::vector<Status>> mark_done_batch(std::span<const MessageId> ids,
                                              std::span<const std::string> claim_tokens, Milliseconds record_ttl);

  // What mark_done_with_ledger_append() appends: the ledger entry's XADD field/value pairs (an
  // even number), the region whose applied-at index gets `applied_at_ms`, and that time
  // (0..2^53-1 ms). Built by RedisEffectLedger (redis_ledger.h), the only caller.
  struct LedgerAppend {
    std::string_view region;
    std::int64_t applied_at_ms = 0;
    std::span<const std::string_view> fields;
  };
  // mark_done() and, in the same Lua script, the ledger effect (docs/redis.md, "Ledger"):
  // XADD to {p}:ledger, HINCRBY {p}:ledger-count <id> 1, ZADD {p}:ledger-applied:<region> —
  // only when the record is the live claim of this token, so the effect exists iff the mark
  // does. ok when marked now, and ok with nothing appended when already done with this token;
  // otherwise the mark_done() errors (kAborted "claim lost", ...) and nothing changed.
  Status mark_done_with_ledger_append(const MessageId& id, std::string_view claim_token, Milliseconds record_ttl,
                                      const LedgerAppend& append);

 private:
  RedisDedupeStore(std::unique_ptr<RedisConnection> connection, std::string key_namespace);

  std::string record_key(const MessageId& id) const;
  std::string pins_key(const MessageId& id) const;
  // Runs `script` over `pins` (KEYS record, pins per pin; ARGV `head` then one tag per pin),
  // at most kIdsPerScriptCall pins per call, pipelined: one round trip.
  Status run_pin_script(const RedisScript& script, std::span<const CopyPin> pins,
                        const std::vector<std::string>& head, std::string_view what);
  Result<std::vector<Status>> mark_batch(std::span<const MessageId> ids, std::span<const std::string_view> claim_tokens,
                                         char final_state, std::string_view reason, Milliseconds record_ttl);

  std::mutex mutex_;
  std::unique_ptr<RedisConnection> connection_;  // guarded by mutex_
  const std::string key_namespace_;
  const std::string epoch_key_;
  const std::string token_counter_key_;
  const LedgerKeys ledger_keys_;
};

}  // namespace hadr::redis
