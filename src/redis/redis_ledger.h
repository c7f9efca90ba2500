// The ledger handler's effects on Redis (docs/redis.md, "Ledger"; contracts/effect_ledger.h).
//
// RedisEffectLedger: the EffectLedger of a RedisDedupeStore. mark_done_with_effect() is one
// Lua script on the store's connection (RedisDedupeStore::mark_done_with_ledger_append): if the
// id's record is the live claim of the token, it appends the entry to the stream "{p}:ledger",
// adds 1 to the id's count in the hash "{p}:ledger-count", indexes applied_at_ms in the sorted
// set "{p}:ledger-applied:<region>", and writes the done record exactly as mark_done() does.
// The effect exists if and only if the mark does.
//
// RedisLedgerReader: the EffectLedgerReader on those keys, on its own connection.
//   summarize()               HLEN + XLEN, then HSCAN of the counts in pages of kScanPageIds:
//                             O(ids) Redis work, memory O(duplicated ids) (at most
//                             kDuplicatedIdsMax, else kResourceExhausted).
//   for_each_effect_count()   HSCAN in pages into a sorted map (HSCAN may return an id twice and
//                             has no order): O(ids) work and memory, at most ids_max ids.
//   effect_count()            HGET: O(1).   effect_rows()  XLEN: O(1).
//   first_effect_at_ms()      ZRANGEBYSCORE ... LIMIT 0 1 on the region's index: O(log n).
// The counts come from separate commands, not one snapshot: while workers write, summarize()
// may see an effect in one figure and not yet in another (it reads the id count before the
// entry count, so distinct_ids <= effects holds). Verify runs after the region drained.
//
// Ownership: RedisEffectLedger borrows the store (which must outlive it); RedisLedgerReader
// owns its connection. Thread-safety: RedisEffectLedger is safe from any thread (the store
// serializes); RedisLedgerReader is not (one owner).
#pragma once

#include <memory>

#include "contracts/effect_ledger.h"
#include "redis/redis_connection.h"
#include "redis/redis_dedupe_store.h"
#include "redis/redis_keys.h"
#include "redis/redis_options.h"

namespace hadr::redis {

class RedisEffectLedger final : public EffectLedger {
 public:
  explicit RedisEffectLedger(RedisDedupeStore& store) : store_(store) {}

  Status mark_done_with_effect(const MessageId& id, std::string_view claim_token, Milliseconds record_ttl,
                               const LedgerEntry& entry) override;

 private:
  RedisDedupeStore& store_;
};

class RedisLedgerReader final : public EffectLedgerReader {
 public:
  static constexpr std::size_t kScanPageIds = 1000;          // HSCAN COUNT
  static constexpr std::uint64_t kScanPagesMax = 10'000'000;  // a scan of 10^10 ids stops
  static constexpr std::size_t kDuplicatedIdsMax = 1'000'000;

  // `options` must have its password resolved (resolve_password); same key_prefix as the
  // dedupe store's.
  static Result<std::unique_ptr<RedisLedgerReader>> open(const RedisOptions& options);

  Result<LedgerSummary> summarize() override;
  Status for_each_effect_count(std::uint64_t ids_max,
                               const std::function<Status(const std::string& id, std::uint64_t count)>& visit) override;
  Result<std::uint64_t> effect_count(std::string_view message_id) override;
  Result<std::uint64_t> effect_rows() override;
  Result<std::optional<std::int64_t>> first_effect_at_ms(const RegionId& region, std::int64_t since_ms) override;

 private:
  RedisLedgerReader(std::unique_ptr<RedisConnection> connection, LedgerKeys keys);
  // Calls `visit(id, count)` for every field of the counts hash, page by page (an id may come
  // twice: HSCAN's guarantee is "at least once").
  Status scan_counts(const std::function<Status(std::string_view id, std::uint64_t count)>& visit);

  std::unique_ptr<RedisConnection> connection_;
  const LedgerKeys keys_;
};

}  // namespace hadr::redis
