// Proves the Promoter (staging queue pattern) on one in-memory region: it sends a batch to main
// and completes it in staging only after the send was confirmed; a crash between the send and
// the complete leaves a duplicate delivery and still one effect; a lost send confirmation
// abandons and resends (duplicate delivery), an unavailable main abandons and backs off (no
// duplicate); a fence lost after the receive abandons the batch and promotes nothing; a refused
// complete leaves a copy that is promoted again and absorbed downstream.
#include "roles/promoter.h"

#include <gtest/gtest.h>

#include "roles/tests/region_harness.h"

namespace hadr::roles_test {
namespace {

void stage(RegionHarness& harness, std::size_t count) {
  std::vector<BusMessage> batch;
  for (std::size_t i = 1; i <= count; ++i) {
    batch.push_back(BusMessage{.id = message_id("p-" + std::to_string(i)), .epoch = Epoch{1}, .lsn = Lsn{i},
                               .body = "body"});
  }
  ASSERT_TRUE(harness.bus_server.send(kStaging, batch).ok());
}

Result<StepOutcome> step_promoter(RegionHarness& harness) { return harness.promoter().step(); }

// Steps workers until main is empty (the promoter is not stepped).
void drain_main_with_workers(RegionHarness& harness) {
  for (int round = 0; round < 200; ++round) {
    const QueueDepth main = harness.depth(kMain);
    if (main.available + main.locked == 0) return;
    bool progress = false;
    for (std::size_t i = 0; i < harness.options.worker_count; ++i) {
      Result<StepOutcome> outcome = harness.worker(i).step();
      ASSERT_TRUE(outcome.ok()) << outcome.error().to_string();
      progress = progress || *outcome == StepOutcome::kProgress;
    }
    if (!progress) harness.clock.advance(Milliseconds(1'000));
  }
  FAIL() << "main not drained";
}

std::uint32_t total_effects(const RegionHarness& harness) {
  std::uint32_t total = 0;
  for (const auto& [id, count] : harness.ledger.effects) total += count;
  return total;
}

TEST(PromoterTest, SendsToMainThenCompletesInStaging) {
  RegionHarness harness;
  stage(harness, 5);
  Result<StepOutcome> outcome = step_promoter(harness);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(*outcome, StepOutcome::kProgress);
  EXPECT_EQ(harness.counts(kMain).sent, 5u);
  EXPECT_EQ(harness.counts(kStaging).completed, 5u);
  const QueueDepth staging = harness.depth(kStaging);
  EXPECT_EQ(staging.available + staging.locked, 0u);
  auto promoted = harness.bus_server.messages(kMain);
  ASSERT_TRUE(promoted.ok());
  EXPECT_EQ(promoted->front().message.id.str(), "p-1");  // the same message, unchanged
  EXPECT_EQ(promoted->front().message.lsn, Lsn{1});
  EXPECT_EQ(harness.promoter().stats().promoted, 5u);
}

TEST(PromoterTest, IdleWhenStagingIsEmpty) {
  RegionHarness harness;
  Result<StepOutcome> outcome = step_promoter(harness);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(*outcome, StepOutcome::kIdle);
}

TEST(PromoterTest, CrashBetweenSendAndCompleteDuplicatesTheDeliveryNotTheEffect) {
  RegionHarness harness;
  harness.crash_points.arm("promoter.after_send_before_complete");
  harness.put_messages(8);
  ASSERT_TRUE(harness.drain());
  EXPECT_EQ(harness.restarts(), 1u);
  // Main got the batch from the dead promoter, again from the restarted relay's publication
  // recovery (nothing was done yet), and a third time when the dead promoter's staging locks
  // ended: duplicate deliveries, which the claims absorb.
  EXPECT_EQ(harness.counts(kMain).sent, 24u);
  std::uint64_t suppressed = 0;
  for (std::size_t i = 0; i < harness.options.worker_count; ++i) {
    suppressed += harness.worker(i).stats().suppressed_duplicates + harness.worker(i).stats().suppressed_settled;
  }
  EXPECT_EQ(suppressed, 16u);
  EXPECT_TRUE(harness.lost().empty());
  EXPECT_EQ(harness.duplicate_effects(), 0u);
  EXPECT_EQ(total_effects(harness), 8u);
}

TEST(PromoterTest, LostSendConfirmationAbandonsAndResends) {
  ScriptedFaultInjector faults;
  faults.fire_on(FaultSite::kTimeoutAfterApply, 2);  // ask 1 is the receive, ask 2 the send
  RegionHarness harness(HarnessOptions{.faults_by_client = {{"promoter.bus", &faults}}});
  stage(harness, 4);
  Result<StepOutcome> outcome = step_promoter(harness);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(harness.counts(kMain).sent, 4u);        // it did reach main
  EXPECT_EQ(harness.depth(kStaging).available, 4u);  // but staging was abandoned, not completed
  EXPECT_EQ(harness.promoter().stats().send_failures, 1u);
  harness.clock.advance(Milliseconds(1'000));
  ASSERT_TRUE(step_promoter(harness).ok());
  EXPECT_EQ(harness.counts(kMain).sent, 8u);  // resent: a duplicate delivery
  EXPECT_EQ(harness.counts(kStaging).completed, 4u);
  drain_main_with_workers(harness);
  EXPECT_EQ(harness.ledger.effects.size(), 4u);
  EXPECT_EQ(harness.duplicate_effects(), 0u);
}

TEST(PromoterTest, UnavailableMainAbandonsAndBacksOff) {
  ScriptedFaultInjector faults;
  faults.fire_on(FaultSite::kUnavailable, 2);  // ask 1 is the receive, ask 2 the send
  RegionHarness harness(HarnessOptions{.faults_by_client = {{"promoter.bus", &faults}}});
  stage(harness, 4);
  ASSERT_TRUE(step_promoter(harness).ok());
  EXPECT_EQ(harness.counts(kMain).sent, 0u);
  EXPECT_EQ(harness.depth(kStaging).available, 4u);
  const std::uint64_t delivered = harness.counts(kStaging).delivered;
  Result<StepOutcome> backing_off = step_promoter(harness);
  ASSERT_TRUE(backing_off.ok());
  EXPECT_EQ(*backing_off, StepOutcome::kIdle);
  EXPECT_EQ(harness.counts(kStaging).delivered, delivered);  // no receive during the backoff
  harness.clock.advance(Milliseconds(1'000));
  ASSERT_TRUE(step_promoter(harness).ok());
  EXPECT_EQ(harness.counts(kMain).sent, 4u);  // exactly once: the failed send never applied
  EXPECT_GE(harness.promoter().health().errors_total, 1u);
}

TEST(PromoterTest, FenceLostAfterTheReceiveAbandonsTheBatch) {
  RegionHarness harness;
  stage(harness, 3);
  harness.fence.set_after(1, Epoch{0});  // the step's first fence query passes, the second is fenced
  Result<StepOutcome> outcome = step_promoter(harness);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(*outcome, StepOutcome::kIdle);
  EXPECT_EQ(harness.promoter().stats().fenced_abandoned, 3u);
  EXPECT_EQ(harness.counts(kMain).sent, 0u);
  EXPECT_EQ(harness.depth(kStaging).available, 3u);
  EXPECT_EQ(harness.counts(kStaging).delivered, 3u);
  ASSERT_TRUE(step_promoter(harness).ok());
  EXPECT_EQ(harness.counts(kStaging).delivered, 3u);  // still fenced: not even a receive
}

TEST(PromoterTest, RefusedCompleteLeavesACopyThatIsPromotedAgain) {
  ScriptedFaultInjector faults;
  faults.fire_on(FaultSite::kLockExpiresEarly, 1);  // the first complete finds its lock gone
  RegionHarness harness(HarnessOptions{.faults_by_client = {{"promoter.bus", &faults}}});
  stage(harness, 2);
  ASSERT_TRUE(step_promoter(harness).ok());
  EXPECT_EQ(harness.promoter().stats().complete_failures, 1u);
  EXPECT_EQ(harness.depth(kStaging).available, 1u);
  ASSERT_TRUE(step_promoter(harness).ok());
  EXPECT_EQ(harness.counts(kMain).sent, 3u);
  drain_main_with_workers(harness);
  EXPECT_EQ(harness.ledger.effects.size(), 2u);
  EXPECT_EQ(harness.duplicate_effects(), 0u);
}

TEST(PromoterTest, OptionsRefuseTheSameQueueTwice) {
  const PromoterOptions options{.staging_queue = "main", .main_queue = "main"};
  const Status status = options.validate();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace hadr::roles_test
