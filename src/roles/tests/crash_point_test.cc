// Proves that the process dying exactly at any named crash point loses nothing and applies no
// effect twice (RELIABILITY.md F1): for every point of kAllCrashPoints, both crash modes of
// MemEnv (unsynced bytes dropped, or torn) and both handler kinds (transactional ledger and
// plain handler marked by the worker), at the first and at a later hit, the harness kills the
// process there (every client cut off and every later fsync refused at the hit), drops the
// roles and the Wal, crashes the MemEnv, reopens and restarts, then drains: 0 lost, 0
// duplicate effects, checkpoint at the durable LSN, and the trace a crash there must leave
// (what was redone, republished or redelivered). Also proves every point is reached in a
// plain run (with a sync WAL backup), so the list has no dead entry. The points of the region
// pipeline are covered here; the replayer's point by replayer_test.cc.
#include <gtest/gtest.h>

#include <tuple>

#include "roles/crash_points.h"
#include "roles/tests/region_harness.h"

namespace hadr::roles_test {
namespace {

constexpr std::size_t kMessages = 40;

using CrashCase = std::tuple<std::string_view, CrashMode, HandlerMode, std::uint64_t>;

std::uint64_t total_suppressed(RegionHarness& harness) {
  std::uint64_t suppressed = 0;
  for (std::size_t i = 0; i < harness.options.worker_count; ++i) {
    suppressed += harness.worker(i).stats().suppressed_duplicates;
  }
  return suppressed;
}

// What a crash at `point` must leave behind, beyond "nothing lost, nothing applied twice".
void expect_trace_of(std::string_view point, RegionHarness& harness) {
  if (point == "relay.after_fsync_before_ack" || point == "relay.after_backup_before_ack") {
    // Durable but never acked: the source redelivered the batch and it was appended again.
    EXPECT_GT(harness.wal().durable_lsn(), Lsn{kMessages});
  } else if (point == "relay.after_ack_before_publish") {
    // Acked but only in the WAL: publication recovery found it there.
    EXPECT_GT(harness.relay().stats().recovered, 0u);
    EXPECT_EQ(harness.wal().durable_lsn(), Lsn{kMessages});
  } else if (point == "promoter.after_send_before_complete") {
    EXPECT_GT(harness.counts(kMain).sent, kMessages);  // a duplicate delivery
  } else if (point == "worker.after_claim_before_effect") {
    std::uint64_t calls = 0;
    for (const auto& [id, count] : harness.ledger.calls) calls += count;
    EXPECT_EQ(calls, kMessages);  // the dead worker's handler call never happened
  } else if (point == "worker.after_effect_before_complete") {
    EXPECT_GT(harness.counts(kMain).delivered, kMessages);  // redelivered after the lock ended
    EXPECT_GT(total_suppressed(harness), 0u);               // and found done
  } else if (point == "checkpointer.after_checkpoint_before_retention") {
    EXPECT_EQ(harness.checkpointer().checkpoint(), harness.wal().durable_lsn());
  }
}

class CrashPointTest : public ::testing::TestWithParam<CrashCase> {};

TEST_P(CrashPointTest, DyingThereLosesNothingAndAppliesNothingTwice) {
  const auto [point, crash_mode, handler_mode, skip] = GetParam();
  RegionHarness harness(HarnessOptions{.handler_mode = handler_mode, .crash_mode = crash_mode, .seed = skip + 7,
                                       .backup_mode = point == "relay.after_backup_before_ack" ? HarnessBackup::kSync
                                                                                               : HarnessBackup::kNone});
  harness.crash_points.arm(point, skip);
  harness.put_messages(kMessages);
  ASSERT_TRUE(harness.drain());
  ASSERT_EQ(harness.crash_history(), std::vector<std::string>{std::string(point)});
  EXPECT_TRUE(harness.lost().empty()) << harness.lost().size() << " lost";
  EXPECT_EQ(harness.duplicate_effects(), 0u);
  EXPECT_EQ(harness.ledger.effects.size(), kMessages);
  EXPECT_TRUE(harness.dead_lettered_ids().empty());
  EXPECT_EQ(harness.checkpointer().checkpoint(), harness.wal().durable_lsn());
  expect_trace_of(point, harness);
}

std::string case_name(const ::testing::TestParamInfo<CrashCase>& info) {
  const auto& [point, crash_mode, handler_mode, skip] = info.param;
  std::string name(point);
  for (char& c : name) c = (c == '.' ? '_' : c);
  name += crash_mode == CrashMode::kDropUnsynced ? "_drop" : "_tear";
  name += handler_mode == HandlerMode::kTransactional ? "_ledger" : "_plain";
  name += "_hit" + std::to_string(skip + 1);
  return name;
}

INSTANTIATE_TEST_SUITE_P(EveryPoint, CrashPointTest,
                         ::testing::Combine(::testing::ValuesIn(kRegionCrashPoints),
                                            ::testing::Values(CrashMode::kDropUnsynced, CrashMode::kTearUnsynced),
                                            ::testing::Values(HandlerMode::kTransactional, HandlerMode::kPlain),
                                            ::testing::Values(std::uint64_t{0}, std::uint64_t{2})),
                         case_name);

TEST(CrashPointListTest, EveryPointIsReachedInAPlainRun) {
  RegionHarness harness(HarnessOptions{.handler_mode = HandlerMode::kPlain, .backup_mode = HarnessBackup::kSync});
  harness.put_messages(kMessages);
  ASSERT_TRUE(harness.drain());
  for (const std::string_view point : kRegionCrashPoints) EXPECT_GT(harness.crash_points.hits(point), 0u) << point;
}

TEST(CrashPointListTest, CrashBetweenStepsWithEveryRoleBusyLosesNothing) {
  RegionHarness harness;
  harness.put_messages(kMessages);
  for (int i = 0; i < 8; ++i) {
    harness.run_rounds(3);
    harness.crash_now();
  }
  ASSERT_TRUE(harness.drain());
  EXPECT_TRUE(harness.lost().empty());
  EXPECT_EQ(harness.duplicate_effects(), 0u);
}

}  // namespace
}  // namespace hadr::roles_test
