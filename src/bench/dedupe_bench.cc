// Dedupe benchmark (hadr bench dedupe); see dedupe_bench.h.
#include "bench/dedupe_bench.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "embedded/sqlite_connection.h"
#include "embedded/sqlite_dedupe_store.h"
#include "redis/redis_connection.h"
#include "redis/redis_dedupe_store.h"
#include "redis/redis_keys.h"
#include "redis/redis_server.h"

namespace hadr {

namespace {

// Bench records expire by themselves on a server that is not ours.
constexpr Milliseconds kBenchKeyTtl = std::chrono::minutes(10);
constexpr Milliseconds kClaimTtl = std::chrono::seconds(60);
constexpr std::string_view kOwner = "bench-worker";

// Does `count` units of one side, numbered from `first`, in batches.
using BenchSide = std::function<Status(std::uint64_t first, std::uint64_t count)>;

// A tag that makes this run's ids and keys its own: pid and monotonic time.
std::string run_tag() {
  const auto ticks = std::chrono::steady_clock::now().time_since_epoch().count();
  return std::to_string(::getpid()) + "-" + std::to_string(static_cast<std::uint64_t>(ticks) % 1'000'000'000ULL);
}

Result<std::vector<MessageId>> message_ids(std::string_view tag, std::uint64_t first, std::uint64_t count) {
  std::vector<MessageId> ids;
  ids.reserve(count);
  for (std::uint64_t n = first; n < first + count; ++n) {
    HADR_ASSIGN_OR_RETURN(MessageId id, MessageId::parse("bench-" + std::string(tag) + "-" + std::to_string(n)));
    ids.push_back(std::move(id));
  }
  return ids;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Runs both sides over `messages` units in alternating rounds; fills the timing fields.
Status run_rounds(const DedupeBenchOptions& options, const BenchSide& baseline, const BenchSide& dedupe,
                  DedupeBenchReport& report) {
  const std::uint64_t per_round =
      std::max<std::uint64_t>(options.batch, options.messages / DedupeBenchOptions::kRounds);
  for (std::uint64_t first = 0; first < options.messages; first += per_round) {
    const std::uint64_t count = std::min(per_round, options.messages - first);
    auto start = std::chrono::steady_clock::now();
    HADR_TRY(baseline(first, count));
    report.baseline_seconds += seconds_since(start);
    start = std::chrono::steady_clock::now();
    HADR_TRY(dedupe(first, count));
    report.dedupe_seconds += seconds_since(start);
  }
  report.messages = options.messages;
  report.batch = options.batch;
  report.messages_per_s = static_cast<double>(options.messages) / report.dedupe_seconds;
  report.baseline_ops_per_s = static_cast<double>(options.messages) / report.baseline_seconds;
  report.ratio = report.messages_per_s / report.baseline_ops_per_s;
  return ok_status();
}

// ---- Redis ----

// Baseline keys have the dedupe keys' shape and length: "{prefix}:raw:<the same id>".
Status redis_baseline_batch(redis::RedisConnection& connection, const std::string& key_start, std::string_view tag,
                            std::uint64_t first, std::uint64_t count) {
  const std::string ttl_text = std::to_string(kBenchKeyTtl.count());
  std::vector<std::string> keys;
  keys.reserve(count);
  for (std::uint64_t n = first; n < first + count; ++n) {
    keys.push_back(key_start + "bench-" + std::string(tag) + "-" + std::to_string(n));
  }
  std::vector<redis::RedisCommand> commands;
  commands.reserve(count);
  for (const std::string& key : keys) commands.push_back({"SET", key, "1", "NX", "PX", ttl_text});
  HADR_ASSIGN_OR_RETURN(const std::vector<redis::RedisReply> replies,
                        connection.pipeline(commands, redis::CommandKind::kMutating));
  for (const redis::RedisReply& reply : replies) {
    if (reply.view().is_nil()) return internal_error("baseline SET NX found its key already set: keys collided");
  }
  return ok_status();
}

Status redis_dedupe_batch(redis::RedisDedupeStore& store, std::string_view tag, std::uint64_t first,
                          std::uint64_t count) {
  HADR_ASSIGN_OR_RETURN(const std::vector<MessageId> ids, message_ids(tag, first, count));
  HADR_ASSIGN_OR_RETURN(const std::vector<ClaimOutcome> outcomes, store.claim_batch(ids, kOwner, Epoch{1}, kClaimTtl));
  std::vector<std::string> tokens;
  tokens.reserve(outcomes.size());
  for (const ClaimOutcome& outcome : outcomes) {
    if (outcome.status != ClaimStatus::kClaimed) return internal_error("a benchmark claim was not granted");
    tokens.push_back(outcome.claim_token);
  }
  HADR_ASSIGN_OR_RETURN(const std::vector<Status> marks, store.mark_done_batch(ids, tokens, kBenchKeyTtl));
  for (const Status& mark : marks) HADR_TRY(mark);
  return ok_status();
}

// Calls `one_batch(first, count)` over [first, first + count) in slices of `batch`.
Status in_batches(std::uint64_t first, std::uint64_t count, std::uint32_t batch,
                  const std::function<Status(std::uint64_t, std::uint64_t)>& one_batch) {
  for (std::uint64_t start = first; start < first + count; start += batch) {
    HADR_TRY(one_batch(start, std::min<std::uint64_t>(batch, first + count - start)));
  }
  return ok_status();
}

Result<DedupeBenchReport> run_redis(const DedupeBenchOptions& options) {
  const std::string tag = run_tag();
  std::unique_ptr<redis::RedisServer> temporary;
  redis::RedisOptions redis_options;
  DedupeBenchReport report;
  report.backend = "redis";
  if (options.redis.has_value()) {
    redis_options = *options.redis;
    report.where = redis_options.address();
  } else {
    HADR_ASSIGN_OR_RETURN(temporary, redis::RedisServer::start({}));
    redis_options = temporary->client_options("");
    report.where = temporary->address() + " (temporary)";
  }
  redis_options.key_prefix = "bench-" + tag;
  HADR_ASSIGN_OR_RETURN(const std::unique_ptr<redis::RedisDedupeStore> store,
                        redis::RedisDedupeStore::open(redis_options));
  HADR_ASSIGN_OR_RETURN(const std::unique_ptr<redis::RedisConnection> raw,
                        redis::RedisConnection::open(redis_options));
  const std::string key_start = redis::key_namespace(redis_options.key_prefix) + "raw:";
  const BenchSide baseline = [&](std::uint64_t first, std::uint64_t count) {
    return in_batches(first, count, options.batch, [&](std::uint64_t start, std::uint64_t size) {
      return redis_baseline_batch(*raw, key_start, tag, start, size);
    });
  };
  const BenchSide dedupe = [&](std::uint64_t first, std::uint64_t count) {
    return in_batches(first, count, options.batch, [&](std::uint64_t start, std::uint64_t size) {
      return redis_dedupe_batch(*store, tag, start, size);
    });
  };
  HADR_TRY(run_rounds(options, baseline, dedupe, report));
  return report;
}

// ---- embedded (SQLite) ----

Result<std::string> make_temporary_directory() {
  std::string pattern = "/var/tmp/hadr-bench-dedupe-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return unavailable("cannot create a temporary directory from '" + pattern + "': " + std::strerror(errno));
  }
  return pattern;
}

Status sqlite_baseline_batch(SqliteConnection& connection, std::string_view tag, std::uint64_t first,
                             std::uint64_t count) {
  return connection.transaction(SqliteConnection::TransactionMode::kWrite, [&]() -> Status {
    const std::int64_t expires_at_ms = unix_millis(RealClock::instance().now_wall()) + kBenchKeyTtl.count();
    for (std::uint64_t n = first; n < first + count; ++n) {
      HADR_ASSIGN_OR_RETURN(SqliteQuery insert, connection.query("INSERT OR IGNORE INTO raw VALUES (?, 1, ?)"));
      const std::string key = "bench-" + std::string(tag) + "-" + std::to_string(n);
      HADR_TRY(insert.bind_text(1, key).bind(2, expires_at_ms).run());
      if (connection.changes() != 1) return internal_error("baseline INSERT OR IGNORE found its key: keys collided");
    }
    return ok_status();
  });
}

Status sqlite_dedupe_batch(DedupeStore& store, std::string_view tag, std::uint64_t first, std::uint64_t count) {
  HADR_ASSIGN_OR_RETURN(const std::vector<MessageId> ids, message_ids(tag, first, count));
  for (const MessageId& id : ids) {
    HADR_ASSIGN_OR_RETURN(const ClaimOutcome outcome, store.claim(id, kOwner, Epoch{1}, kClaimTtl));
    if (outcome.status != ClaimStatus::kClaimed) return internal_error("a benchmark claim was not granted");
    HADR_TRY(store.mark_done(id, outcome.claim_token, kBenchKeyTtl));
  }
  return ok_status();
}

Result<DedupeBenchReport> run_embedded_in(const DedupeBenchOptions& options, const std::string& dir) {
  const std::string tag = run_tag();
  HADR_ASSIGN_OR_RETURN(const std::unique_ptr<SqliteDedupeStore> store,
                        SqliteDedupeStore::open(dir + "/bench-dedupe.sqlite", RealClock::instance()));
  HADR_ASSIGN_OR_RETURN(const std::unique_ptr<SqliteConnection> raw,
                        SqliteConnection::open(dir + "/bench-baseline.sqlite", SqliteOptions{}));
  HADR_TRY(raw->execute("CREATE TABLE IF NOT EXISTS raw (k TEXT PRIMARY KEY, v INTEGER NOT NULL, "
                        "expires_at_ms INTEGER NOT NULL)"));
  const BenchSide baseline = [&](std::uint64_t first, std::uint64_t count) {
    return in_batches(first, count, options.batch, [&](std::uint64_t start, std::uint64_t size) {
      return sqlite_baseline_batch(*raw, tag, start, size);
    });
  };
  const BenchSide dedupe = [&](std::uint64_t first, std::uint64_t count) {
    return in_batches(first, count, options.batch, [&](std::uint64_t start, std::uint64_t size) {
      return sqlite_dedupe_batch(*store, tag, start, size);
    });
  };
  DedupeBenchReport report;
  report.backend = "embedded";
  report.where = dir;
  HADR_TRY(run_rounds(options, baseline, dedupe, report));
  return report;
}

Result<DedupeBenchReport> run_embedded(const DedupeBenchOptions& options) {
  if (!options.dir.empty()) return run_embedded_in(options, options.dir);
  HADR_ASSIGN_OR_RETURN(const std::string dir, make_temporary_directory());
  auto report = run_embedded_in(options, dir);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return report;
}

}  // namespace

Status DedupeBenchOptions::validate() const {
  if (messages < 1 || messages > kMaxMessages) {
    return invalid_argument("--messages is " + std::to_string(messages) + "; give 1.." + std::to_string(kMaxMessages));
  }
  if (batch < 1 || batch > kMaxBatch) {
    return invalid_argument("--batch is " + std::to_string(batch) + "; give 1.." + std::to_string(kMaxBatch));
  }
  if (backend == DedupeBenchBackend::kEmbedded && redis.has_value()) {
    return invalid_argument("--redis applies to --backend redis only");
  }
  if (backend == DedupeBenchBackend::kRedis && !dir.empty()) {
    return invalid_argument("--dir applies to --backend embedded only");
  }
  return ok_status();
}

Result<DedupeBenchReport> run_dedupe_bench(const DedupeBenchOptions& options) {
  HADR_TRY(options.validate());
  if (options.backend == DedupeBenchBackend::kRedis) return run_redis(options);
  return run_embedded(options);
}

std::string dedupe_bench_json(const DedupeBenchReport& report) {
  char text[512];
  std::snprintf(text, sizeof text,
                "{\"backend\":\"%s\",\"messages\":%llu,\"batch\":%u,\"messages_per_s\":%.1f,"
                "\"baseline_ops_per_s\":%.1f,\"ratio\":%.3f,\"dedupe_seconds\":%.3f,\"baseline_seconds\":%.3f}",
                report.backend.c_str(), static_cast<unsigned long long>(report.messages), report.batch,
                report.messages_per_s, report.baseline_ops_per_s, report.ratio, report.dedupe_seconds,
                report.baseline_seconds);
  return text;
}

std::string dedupe_bench_table(const DedupeBenchReport& report) {
  const std::string baseline_label =
      report.backend == "redis" ? "baseline (pipelined SET NX PX)" : "baseline (INSERT OR IGNORE)";
  char text[1024];
  std::snprintf(text, sizeof text,
                "dedupe bench: %s at %s, %llu messages, batch %u\n"
                "  %-32s %12.0f messages/s  (%.2f s)\n"
                "  %-32s %12.0f ops/s       (%.2f s)\n"
                "  ratio %.3f\n",
                report.backend.c_str(), report.where.c_str(), static_cast<unsigned long long>(report.messages),
                report.batch, "dedupe (claim + mark_done)", report.messages_per_s, report.dedupe_seconds,
                baseline_label.c_str(), report.baseline_ops_per_s, report.baseline_seconds, report.ratio);
  return text;
}

}  // namespace hadr
