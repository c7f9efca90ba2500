// Proves the ledger on Redis against a real redis-server: the EffectLedger conformance suite
// (src/contracts/tests/effect_ledger_conformance.cc) on RedisEffectLedger + RedisLedgerReader,
// where a duplicate is an extra XADD + HINCRBY written behind the store's back and time passes
// by really sleeping (Redis measures TTLs by its own clock); plus what only Redis promises: the
// ledger's keys live in the cluster's key namespace, and a reader on another prefix sees
// nothing. The throughput test checks that every effect is counted once and prints effects/s.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "contracts/tests/effect_ledger_conformance.h"
#include "redis/redis_connection.h"
#include "redis/redis_ledger.h"
#include "redis/testing/redis_test_environment.h"

namespace hadr::redis {
namespace {

using testing::RedisTestEnvironment;

template <typename Opened>
std::unique_ptr<Opened> opened(Result<std::unique_ptr<Opened>> result) {
  HADR_ASSERT_MSG(result.ok(), "opening a redis connection failed: %s", result.error().to_string().c_str());
  return std::move(result).value();
}

class RedisLedgerFactory final : public ledger_conformance::EffectLedgerFactory {
 public:
  RedisLedgerFactory()
      : options_(RedisTestEnvironment::instance().options("ledger")),
        store_(opened(RedisDedupeStore::open(options_))),
        ledger_(*store_) {}

  DedupeStore& dedupe() override { return *store_; }
  EffectLedger& ledger() override { return ledger_; }
  std::unique_ptr<EffectLedgerReader> open_reader() override { return opened(RedisLedgerReader::open(options_)); }
  void append_duplicate(const LedgerEntry& entry) override {
    const LedgerKeys keys = LedgerKeys::of(key_namespace(options_.key_prefix));
    const std::string applied = std::to_string(entry.applied_at_ms);
    const std::string applied_key = keys.applied(entry.region.str());  // commands only view their strings
    const RedisCommand commands[] = {
        {"XADD", keys.entries, "*", "message_id", entry.message_id.str(), "region", entry.region.str()},
        {"HINCRBY", keys.counts, entry.message_id.str(), "1"},
        {"ZADD", applied_key, applied, applied}};
    auto connection = opened(RedisConnection::open(options_));
    HADR_ASSERT(connection->pipeline(commands, CommandKind::kMutating).ok());
  }
  void advance(Milliseconds duration) override { std::this_thread::sleep_for(duration); }
  const Clock& handler_clock() override { return RealClock::instance(); }

  const RedisOptions& options() const { return options_; }
  RedisDedupeStore& store() { return *store_; }

 private:
  const RedisOptions options_;
  std::unique_ptr<RedisDedupeStore> store_;
  RedisEffectLedger ledger_;
};

MessageId id_of(std::string_view text) { return MessageId::parse(text).value(); }

LedgerEntry entry_of(const MessageId& id, std::int64_t applied_at_ms) {
  return LedgerEntry{.message_id = id,
                     .region = RegionId::parse("b").value(),
                     .epoch = Epoch{1},
                     .source_region = RegionId::parse("a").value(),
                     .lsn = Lsn{1},
                     .applied_at_ms = applied_at_ms};
}

std::string claim(DedupeStore& store, const MessageId& id) {
  auto outcome = store.claim(id, "b/worker-1", Epoch{1}, Milliseconds(60'000));
  HADR_ASSERT_MSG(outcome.ok() && outcome->status == ClaimStatus::kClaimed, "claim of %s failed", id.str().c_str());
  return outcome->claim_token;
}

TEST(RedisLedger, KeysLiveInTheClusterNamespace) {
  RedisLedgerFactory factory;
  const MessageId id = id_of("m-1");
  ASSERT_TRUE(factory.ledger().mark_done_with_effect(id, claim(factory.dedupe(), id), Milliseconds(60'000),
                                                     entry_of(id, 1'000)).ok());
  const std::string space = key_namespace(factory.options().key_prefix);
  const std::string entries = space + "ledger", counts = space + "ledger-count", applied = space + "ledger-applied:b";
  const RedisCommand command = {"EXISTS", entries, counts, applied};
  auto connection = opened(RedisConnection::open(factory.options()));
  EXPECT_EQ(connection->command(command, CommandKind::kReadOnly).value().view().integer(), 3);
  const RedisCommand fields = {"XRANGE", entries, "-", "+"};
  const RedisReply range = connection->command(fields, CommandKind::kReadOnly).value();
  ASSERT_EQ(range.view().size(), 1u);
  const ReplyView values = range.view().at(0).at(1);
  ASSERT_EQ(values.size(), 16u);  // eight named fields, as the SQLite columns
  EXPECT_EQ(values.at(0).text(), "message_id");
  EXPECT_EQ(values.at(1).text(), "m-1");
  EXPECT_EQ(values.at(15).text(), "1000");
}

TEST(RedisLedger, ReaderOnAnotherPrefixSeesNothing) {
  RedisLedgerFactory factory;
  const MessageId id = id_of("m-1");
  ASSERT_TRUE(factory.ledger().mark_done_with_effect(id, claim(factory.dedupe(), id), Milliseconds(60'000),
                                                     entry_of(id, 1'000)).ok());
  auto other = opened(RedisLedgerReader::open(RedisTestEnvironment::instance().options("ledger-other")));
  EXPECT_EQ(other->effect_rows().value(), 0u);
  EXPECT_EQ(other->effect_count("m-1").value(), 0u);
}

TEST(RedisLedger, AppliedTimeOutsideTheScriptRangeIsInvalid) {
  RedisLedgerFactory factory;
  const MessageId id = id_of("m-1");
  const Status status =
      factory.ledger().mark_done_with_effect(id, claim(factory.dedupe(), id), Milliseconds(60'000), entry_of(id, -1));
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(factory.open_reader()->effect_rows().value(), 0u);
}

// Claim + ledger effect per message, one at a time as a worker does: every effect counted once.
// Prints effects/s (informational; not asserted).
TEST(RedisLedger, SequentialEffectsAreEachCountedOnce) {
  constexpr int kEffects = 5'000;
  RedisLedgerFactory factory;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < kEffects; ++i) {
    const MessageId id = id_of("e-" + std::to_string(i));
    const std::string token = claim(factory.dedupe(), id);
    ASSERT_TRUE(factory.ledger().mark_done_with_effect(id, token, Milliseconds(60'000), entry_of(id, 1'000 + i)).ok());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("[ledger] %d claim+effect pairs in %.3f s: %.0f effects/s\n", kEffects, seconds, kEffects / seconds);
  const LedgerSummary summary = factory.open_reader()->summarize().value();
  EXPECT_EQ(summary.effects, static_cast<std::uint64_t>(kEffects));
  EXPECT_EQ(summary.distinct_ids, static_cast<std::uint64_t>(kEffects));
  EXPECT_EQ(summary.duplicated_ids, 0u);
}

const ledger_conformance::EffectLedgerParam kRedisLedger{"Redis", [] { return std::make_unique<RedisLedgerFactory>(); }};

}  // namespace
}  // namespace hadr::redis

namespace hadr::ledger_conformance {
INSTANTIATE_TEST_SUITE_P(Redis, EffectLedgerConformance, ::testing::Values(redis::kRedisLedger),
                         effect_ledger_param_name);
}  // namespace hadr::ledger_conformance
