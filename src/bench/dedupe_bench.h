// Dedupe benchmark (`hadr bench dedupe`): messages per second through the DedupeStore's
// claim + mark_done, and in the same run on the same server a raw baseline doing the
// cheapest write of the same shape — for Redis a pipelined `SET key value NX PX ttl` with the
// same pipeline depth (--batch), for SQLite `INSERT OR IGNORE` of --batch rows per durable
// transaction — and their ratio (dedupe messages/s ÷ baseline ops/s).
//
//   - Redis: claim_batch() then mark_done_batch() per batch of --batch ids (two round trips per
//     batch, each one Lua script call per kIdsPerScriptCall ids). Without --redis, a temporary
//     redis-server (persistence off) is started on a free loopback port and stopped after.
//     On a given server, keys live under a fresh key prefix and expire after kBenchKeyTtl.
//   - Embedded: SqliteDedupeStore has no batch calls, so every claim and every mark is its own
//     durable transaction; --batch only shapes the baseline. Runs in --dir or a temporary
//     directory, removed after.
// The two sides alternate in rounds (baseline, dedupe, baseline, ...) so drift hits both.
// Every claim must be granted and every mark accepted: anything else is an error, because a
// benchmark that counts refused work would measure nothing.
// Uses real clocks and servers: this is a measurement, not role logic. Thread-safety: one run
// at a time per server key prefix / directory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/result.h"
#include "redis/redis_options.h"

namespace hadr {

enum class DedupeBenchBackend { kRedis, kEmbedded };

struct DedupeBenchOptions {
  static constexpr std::uint64_t kMaxMessages = 100'000'000;
  static constexpr std::uint32_t kMaxBatch = 10'000;  // DedupeStore::kMaxLookupBatch
  static constexpr int kRounds = 10;

  DedupeBenchBackend backend = DedupeBenchBackend::kRedis;
  // Redis to use (host, port, password; key_prefix is made per run). nullopt: a temporary one.
  std::optional<redis::RedisOptions> redis;
  std::string dir;  // embedded only; empty: a temporary directory, removed after
  std::uint64_t messages = 100'000;
  std::uint32_t batch = 100;

  Status validate() const;
};

struct DedupeBenchReport {
  std::string backend;  // "redis" or "embedded"
  std::string where;    // "127.0.0.1:6379", "127.0.0.1:41234 (temporary)", or the directory
  std::uint64_t messages = 0;
  std::uint32_t batch = 0;
  double dedupe_seconds = 0;
  double baseline_seconds = 0;
  double messages_per_s = 0;      // claim + mark_done per second
  double baseline_ops_per_s = 0;  // raw SET NX (or INSERT OR IGNORE) per second
  double ratio = 0;               // messages_per_s / baseline_ops_per_s
};

Result<DedupeBenchReport> run_dedupe_bench(const DedupeBenchOptions& options);

// One JSON object with the keys ratio, messages_per_s, baseline_ops_per_s and the rest.
std::string dedupe_bench_json(const DedupeBenchReport& report);
// A few human-readable lines.
std::string dedupe_bench_table(const DedupeBenchReport& report);

}  // namespace hadr
