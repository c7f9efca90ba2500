// Proves the Worker's per-message state machine on one in-memory region: claimed -> handler ->
// done -> complete, once; already done -> completed without running the handler (a suppressed
// duplicate), and a copy of a dead-lettered message is dead-lettered too; busy -> left locked
// until its lock ends; stale epoch -> abandoned and backing off; a failing handler releases
// its claim and dead-letters with the reason at max deliveries; a rejecting handler
// dead-letters at once; locks of a batch of slow handlers are renewed, and a long handler that
// calls keep_alive keeps its lock and claim (without it the lock ends); a failed or lost mark
// after the effect is retried or re-claimed without running the handler again; a fenced
// worker receives nothing; competing workers apply each message once; a message at or below
// its region's settled floor is completed without its handler even when its done mark has
// expired (issue 12 hole 1: LeftoverAtOrBelowTheSettledFloorIsNeverAppliedAgain), and inside a
// settled range above the floor (LeftoverInASettledRangeAboveTheFloorIsNeverAppliedAgain); a
// settled copy whose record says dead-lettered goes to the dead-letter queue, never completed
// (SettledCopyOfADeadLetteredMessageGoesToTheDeadLetterQueue).
#include "roles/worker.h"

#include <gtest/gtest.h>

#include "roles/tests/region_harness.h"

namespace hadr::roles_test {
namespace {

void send_to_main(RegionHarness& harness, std::size_t count) {
  std::vector<BusMessage> batch;
  for (std::size_t i = 1; i <= count; ++i) {
    batch.push_back(BusMessage{.id = message_id("w-" + std::to_string(i)), .epoch = Epoch{1}, .lsn = Lsn{i},
                               .body = "body"});
  }
  ASSERT_TRUE(harness.bus_server.send(kMain, batch).ok());
}

StepOutcome step_worker(RegionHarness& harness, std::size_t index = 0) {
  Result<StepOutcome> outcome = harness.worker(index).step();
  EXPECT_TRUE(outcome.ok()) << outcome.error().to_string();
  return outcome.ok() ? *outcome : StepOutcome::kIdle;
}

std::vector<DeadLetterEvent> dead_letters(const RegionHarness& harness) { return harness.bus_server.dead_letter_log(); }

RecordState dedupe_state(const RegionHarness& harness, std::string_view id) {
  const std::optional<DedupeRecordView> record = harness.dedupe_record(id);
  return record && record->live ? record->state : RecordState::kUnknown;
}

HandlerResult verdict(HandlerVerdict verdict, std::string reason) {
  return HandlerResult{.verdict = verdict, .reason = std::move(reason)};
}

TEST(WorkerTest, RunsTheHandlerOnceAndCompletes) {
  RegionHarness harness;
  send_to_main(harness, 3);
  EXPECT_EQ(step_worker(harness), StepOutcome::kProgress);
  EXPECT_EQ(harness.ledger.effects.size(), 3u);
  EXPECT_EQ(harness.counts(kMain).completed, 3u);
  EXPECT_EQ(dedupe_state(harness, "w-1"), RecordState::kDone);
  EXPECT_EQ(harness.worker(0).stats().effects, 3u);
}

TEST(WorkerTest, LeftoverAtOrBelowTheSettledFloorIsNeverAppliedAgain) {
  // Region a's records 1..4 were applied long ago (by the other region, after a takeover); their
  // done marks have expired, and the other region advanced a's settled floor to 4. Leftover
  // copies still sit in a's old namespace. They must be completed without running the handler;
  // record 5 (above the floor) is applied as usual.
  RegionHarness harness;
  ASSERT_TRUE(harness.coord_server.put(CoordPut{.key = "checkpoint/a", .value = "4", .epoch = Epoch{2}}).ok());
  std::vector<BusMessage> batch;
  for (std::size_t i = 1; i <= 5; ++i) {
    batch.push_back(BusMessage{.id = message_id("w-" + std::to_string(i)), .epoch = Epoch{1},
                               .source_region = RegionId::parse("a").value(), .lsn = Lsn{i}, .body = "body"});
  }
  ASSERT_TRUE(harness.bus_server.send(kMain, batch).ok());
  for (int i = 0; i < 5 && step_worker(harness) == StepOutcome::kProgress; ++i) {
  }
  ASSERT_EQ(harness.ledger.effects.size(), 1u);
  EXPECT_EQ(harness.ledger.effects.count("w-5"), 1u);
  EXPECT_EQ(harness.worker(0).stats().suppressed_settled, 4u);
  EXPECT_EQ(harness.counts(kMain).completed, 5u);
}

TEST(WorkerTest, SettledCopyOfADeadLetteredMessageGoesToTheDeadLetterQueue) {
  // w-2 was dead-lettered: its record says so, but the bus move failed, so this redelivered copy
  // is the only one left, and the floor (2) has passed it. Completing it would drop it with no
  // effect and no dead-letter entry; it is dead-lettered. w-1 (done) is completed.
  RegionHarness harness;
  ASSERT_TRUE(harness.coord_server.put(CoordPut{.key = "checkpoint/a", .value = "2", .epoch = Epoch{2}}).ok());
  harness.mark_done_elsewhere("w-1", /*dead_lettered=*/false);
  harness.mark_done_elsewhere("w-2", /*dead_lettered=*/true);
  std::vector<BusMessage> batch;
  for (std::size_t i = 1; i <= 2; ++i) {
    batch.push_back(BusMessage{.id = message_id("w-" + std::to_string(i)), .epoch = Epoch{1},
                               .source_region = RegionId::parse("a").value(), .lsn = Lsn{i}, .body = "body"});
  }
  ASSERT_TRUE(harness.bus_server.send(kMain, batch).ok());
  for (int i = 0; i < 5 && step_worker(harness) == StepOutcome::kProgress; ++i) {
  }
  EXPECT_TRUE(harness.ledger.effects.empty());
  EXPECT_EQ(harness.worker(0).stats().suppressed_settled, 2u);
  const std::vector<DeadLetterEvent> moved = dead_letters(harness);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].message.id.str(), "w-2");
  EXPECT_EQ(harness.counts(kMain).completed, 1u);
}

TEST(WorkerTest, LeftoverInASettledRangeAboveTheFloorIsNeverAppliedAgain) {
  // Region a's record 2 stayed unsettled (a late claim held it) while 3..4 were applied and their
  // marks expired: the floor is 1, but the coord record keeps 3..4 as a settled range (issue 12
  // hole 1, simulator `--faults long_outage`). Leftover copies of 3 and 4 are completed without
  // the handler; 2 and 5 are applied.
  RegionHarness harness;
  ASSERT_TRUE(harness.coord_server.put(CoordPut{.key = "checkpoint/a", .value = "1;s=3-4", .epoch = Epoch{2}}).ok());
  std::vector<BusMessage> batch;
  for (std::size_t i = 2; i <= 5; ++i) {
    batch.push_back(BusMessage{.id = message_id("w-" + std::to_string(i)), .epoch = Epoch{1},
                               .source_region = RegionId::parse("a").value(), .lsn = Lsn{i}, .body = "body"});
  }
  ASSERT_TRUE(harness.bus_server.send(kMain, batch).ok());
  for (int i = 0; i < 5 && step_worker(harness) == StepOutcome::kProgress; ++i) {
  }
  EXPECT_EQ(harness.ledger.effects.size(), 2u);
  EXPECT_EQ(harness.ledger.effects.count("w-2"), 1u);
  EXPECT_EQ(harness.ledger.effects.count("w-5"), 1u);
  EXPECT_EQ(harness.worker(0).stats().suppressed_settled, 2u);
  EXPECT_EQ(harness.counts(kMain).completed, 4u);
}

TEST(WorkerTest, PlainHandlerIsMarkedDoneByTheWorker) {
  RegionHarness harness(HarnessOptions{.handler_mode = HandlerMode::kPlain});
  send_to_main(harness, 1);
  step_worker(harness);
  const std::optional<DedupeRecordView> record = harness.dedupe_record("w-1");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->state, RecordState::kDone);
  EXPECT_EQ(record->owner, "a/worker-1");
  EXPECT_EQ(harness.counts(kMain).completed, 1u);
}

TEST(WorkerTest, AlreadyDoneCompletesWithoutRunningTheHandler) {
  RegionHarness harness;
  harness.mark_done_elsewhere("w-1");
  send_to_main(harness, 1);
  step_worker(harness);
  EXPECT_TRUE(harness.ledger.calls.empty());
  EXPECT_EQ(harness.worker(0).stats().suppressed_duplicates, 1u);
  EXPECT_EQ(harness.counts(kMain).completed, 1u);
  EXPECT_EQ(harness.depth(kMain).dead_lettered, 0u);
}

TEST(WorkerTest, CopyOfADeadLetteredMessageIsDeadLetteredToo) {
  RegionHarness harness;
  harness.mark_done_elsewhere("w-1", /*dead_lettered=*/true);
  send_to_main(harness, 1);
  step_worker(harness);
  EXPECT_TRUE(harness.ledger.calls.empty());
  const std::vector<DeadLetterEvent> events = dead_letters(harness);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].message.id.str(), "w-1");
  EXPECT_NE(events[0].reason.find("redelivered copy"), std::string::npos);
}

TEST(WorkerTest, BusyLeavesTheMessageLockedUntilItsLockEnds) {
  RegionHarness harness;
  auto other = harness.dedupe_server.claim(message_id("w-1"), "b/worker-9", Epoch{1}, Milliseconds(60'000));
  ASSERT_TRUE(other.ok());
  send_to_main(harness, 1);
  step_worker(harness);
  EXPECT_TRUE(harness.ledger.calls.empty());
  EXPECT_EQ(harness.worker(0).stats().busy_deferred, 1u);
  EXPECT_EQ(harness.depth(kMain).locked, 1u);  // not abandoned: no hot redelivery loop
  ASSERT_TRUE(harness.dedupe_server.release(message_id("w-1"), other->claim_token).ok());
  EXPECT_EQ(step_worker(harness), StepOutcome::kIdle);
  EXPECT_EQ(harness.counts(kMain).delivered, 1u);
  harness.clock.advance(Milliseconds(10'000));  // the lock ends; the bus redelivers
  step_worker(harness);
  EXPECT_EQ(harness.ledger.effects["w-1"], 1u);
  EXPECT_EQ(harness.counts(kMain).delivered, 2u);
}

TEST(WorkerTest, StaleEpochAbandonsAndBacksOff) {
  RegionHarness harness;
  ASSERT_TRUE(harness.dedupe_server.claim(message_id("x"), "b/worker-1", Epoch{5}, Milliseconds(60'000)).ok());
  send_to_main(harness, 2);
  step_worker(harness);
  EXPECT_EQ(harness.worker(0).stats().stale_epoch, 1u);
  EXPECT_TRUE(harness.ledger.calls.empty());
  EXPECT_EQ(harness.depth(kMain).available, 1u);  // the first abandoned; the second left locked
  EXPECT_EQ(step_worker(harness), StepOutcome::kIdle);
  EXPECT_EQ(harness.counts(kMain).delivered, 2u);  // backing off: no new receive
  EXPECT_NE(harness.worker(0).health().last_error.find("epoch 5"), std::string::npos);
}

TEST(WorkerTest, HandlerRetryDeadLettersAtMaxDeliveriesWithTheReason) {
  RegionHarness harness(HarnessOptions{.main_max_delivery_count = 3});
  for (int i = 0; i < 3; ++i) harness.ledger.script["w-1"].push_back(verdict(HandlerVerdict::kRetryLater, "downstream 503"));
  send_to_main(harness, 1);
  for (int i = 0; i < 3; ++i) step_worker(harness);
  EXPECT_EQ(harness.ledger.calls["w-1"], 3u);
  EXPECT_FALSE(harness.ledger.effects.contains("w-1"));
  const std::vector<DeadLetterEvent> events = dead_letters(harness);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].delivery_count, 3u);
  EXPECT_NE(events[0].reason.find("downstream 503"), std::string::npos);
  EXPECT_NE(events[0].reason.find("delivery 3 of 3"), std::string::npos);
  EXPECT_EQ(dedupe_state(harness, "w-1"), RecordState::kDeadLettered);
  EXPECT_EQ(harness.worker(0).stats().handler_failures, 3u);
  EXPECT_EQ(harness.worker(0).stats().dead_lettered, 1u);
}

TEST(WorkerTest, HandlerFailureReleasesTheClaimForTheNextDelivery) {
  RegionHarness harness;
  harness.ledger.script["w-1"].push_back(verdict(HandlerVerdict::kFailed, "exit 1"));
  send_to_main(harness, 1);
  step_worker(harness, 0);
  EXPECT_EQ(dedupe_state(harness, "w-1"), RecordState::kUnknown);
  EXPECT_EQ(harness.depth(kMain).available, 1u);  // abandoned: available at once
  step_worker(harness, 1);                        // another owner claims without waiting
  EXPECT_EQ(harness.ledger.effects["w-1"], 1u);
  EXPECT_EQ(harness.worker(1).stats().busy_deferred, 0u);
}

TEST(WorkerTest, RejectDeadLettersAtOnce) {
  RegionHarness harness;
  harness.ledger.script["w-1"].push_back(verdict(HandlerVerdict::kReject, "schema v9 unknown"));
  send_to_main(harness, 1);
  step_worker(harness);
  EXPECT_EQ(harness.ledger.calls["w-1"], 1u);
  const std::vector<DeadLetterEvent> events = dead_letters(harness);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].delivery_count, 1u);
  EXPECT_EQ(events[0].reason, "rejected by the handler: schema v9 unknown");
  EXPECT_EQ(dedupe_state(harness, "w-1"), RecordState::kDeadLettered);
}

TEST(WorkerTest, LocksOfABatchOfSlowHandlersAreRenewed) {
  RegionHarness harness;  // batch_max 4, lock_duration 10 s
  harness.ledger.during_handle = [&harness] { harness.clock.advance(Milliseconds(4'000)); };
  send_to_main(harness, 4);
  step_worker(harness);
  // 16 s of handlers under 10 s locks: without renewal the last two would lose their locks.
  EXPECT_EQ(harness.ledger.effects.size(), 4u);
  EXPECT_EQ(harness.counts(kMain).completed, 4u);
  EXPECT_EQ(harness.counts(kMain).delivered, 4u);  // no redelivery
  EXPECT_GE(harness.worker(0).stats().locks_renewed, 2u);
  EXPECT_EQ(harness.worker(0).stats().settle_failures, 0u);
}

TEST(WorkerTest, LongHandlerCallingKeepAliveKeepsItsLockAndClaim) {
  RegionHarness harness(HarnessOptions{.handler_mode = HandlerMode::kPlain});
  const Milliseconds claim_ttl = harness.options.worker.claim_ttl;  // 60 s; locks last 10 s
  harness.ledger.during_handle_with_input = [&](const HandlerInput& input) {
    ASSERT_NE(input.keep_alive, nullptr);
    // Three claim TTLs and many lock durations of work, with a keep-alive every second.
    for (Milliseconds elapsed{0}; elapsed < claim_ttl * 3; elapsed += Milliseconds(1'000)) {
      harness.clock.advance(Milliseconds(1'000));
      input.keep_alive->keep_alive();
    }
  };
  send_to_main(harness, 2);
  step_worker(harness);
  harness.ledger.during_handle_with_input = nullptr;
  step_worker(harness);
  EXPECT_EQ(harness.ledger.effects.size(), 2u);
  EXPECT_EQ(harness.ledger.duplicate_effects(), 0u);
  EXPECT_EQ(harness.counts(kMain).delivered, 2u);  // neither lock ever expired: no redelivery
  EXPECT_EQ(harness.counts(kMain).completed, 2u);
  EXPECT_GE(harness.worker(0).stats().claims_extended, 4u);
  EXPECT_GE(harness.worker(0).stats().locks_renewed, 10u);
  EXPECT_EQ(harness.worker(0).stats().settle_failures, 0u);
  EXPECT_EQ(harness.worker(0).stats().claim_lost_after_effect, 0u);
  EXPECT_EQ(dedupe_state(harness, "w-1"), RecordState::kDone);
}

TEST(WorkerTest, MessageThatKeepsComingBackUnsettledIsDeadLetteredWithARecord) {
  RegionHarness harness(HarnessOptions{.main_max_delivery_count = 20, .worker_max_delivery_count = 3});
  send_to_main(harness, 1);
  // Three deliveries whose worker died in the handler: each lock simply expires.
  for (int delivery = 1; delivery <= 3; ++delivery) {
    auto received = harness.bus_server.receive(kMain, 1, Milliseconds(1'000));
    ASSERT_TRUE(received.ok());
    ASSERT_EQ(received->size(), 1u);
    harness.clock.advance(Milliseconds(1'001));
  }
  step_worker(harness);
  EXPECT_TRUE(harness.ledger.calls.empty());  // the handler never runs a fourth time
  const auto events = dead_letters(harness);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].delivery_count, 4u);
  EXPECT_NE(events[0].reason.find("more than workers.max_delivery_count 3"), std::string::npos) << events[0].reason;
  EXPECT_EQ(dedupe_state(harness, "w-1"), RecordState::kDeadLettered);
}

TEST(WorkerTest, LongHandlerWithoutKeepAliveLosesItsLock) {
  RegionHarness harness(HarnessOptions{.handler_mode = HandlerMode::kPlain});
  harness.ledger.during_handle = [&harness] { harness.clock.advance(Milliseconds(25'000)); };
  send_to_main(harness, 1);
  step_worker(harness);
  EXPECT_GE(harness.worker(0).stats().settle_failures, 1u);  // the complete found the lock gone
  EXPECT_EQ(harness.worker(0).stats().claims_extended, 0u);
}

TEST(WorkerTest, FailedMarkIsRetriedWithoutRunningTheHandlerAgain) {
  ScriptedFaultInjector faults;
  faults.fire_on(FaultSite::kUnavailable, 2);  // ask 1 is the claim, ask 2 the mark
  RegionHarness harness(HarnessOptions{.handler_mode = HandlerMode::kPlain,
                                       .faults_by_client = {{"worker.dedupe", &faults}}});
  send_to_main(harness, 2);
  step_worker(harness);
  EXPECT_EQ(harness.ledger.effects["w-1"], 1u);
  EXPECT_EQ(harness.worker(0).health().lag, 1);  // one unmarked effect
  EXPECT_EQ(harness.counts(kMain).completed, 0u);
  EXPECT_EQ(step_worker(harness), StepOutcome::kIdle);  // backing off
  harness.clock.advance(Milliseconds(1'000));
  EXPECT_EQ(step_worker(harness), StepOutcome::kProgress);
  EXPECT_EQ(harness.ledger.calls["w-1"], 1u);
  EXPECT_EQ(dedupe_state(harness, "w-1"), RecordState::kDone);
  EXPECT_EQ(harness.counts(kMain).completed, 1u);
  EXPECT_EQ(harness.worker(0).health().lag, 0);
}

TEST(WorkerTest, LostClaimAfterTheEffectIsClaimedAgainWithoutARerun) {
  ScriptedFaultInjector faults;
  faults.fire_on(FaultSite::kClaimExpiresEarly, 1);  // the first mark finds its claim expired
  RegionHarness harness(HarnessOptions{.handler_mode = HandlerMode::kPlain,
                                       .faults_by_client = {{"worker.dedupe", &faults}}});
  send_to_main(harness, 1);
  step_worker(harness);
  EXPECT_EQ(harness.ledger.calls["w-1"], 1u);
  EXPECT_EQ(harness.worker(0).stats().claim_lost_after_effect, 1u);
  EXPECT_EQ(harness.worker(0).stats().reclaimed_after_effect, 1u);
  EXPECT_EQ(dedupe_state(harness, "w-1"), RecordState::kDone);
  EXPECT_EQ(harness.counts(kMain).completed, 1u);
}

TEST(WorkerTest, ClaimTakenOverAfterTheEffectIsCountedAndHandedOver) {
  RegionHarness harness(HarnessOptions{.handler_mode = HandlerMode::kPlain});
  harness.ledger.during_handle = [&harness] {
    // The handler outlives its claim and another worker claims the id meanwhile.
    harness.clock.advance(Milliseconds(61'000));
    ASSERT_TRUE(harness.dedupe_server.claim(message_id("w-1"), "a/worker-9", Epoch{1}, Milliseconds(60'000)).ok());
  };
  send_to_main(harness, 1);
  step_worker(harness);
  EXPECT_EQ(harness.worker(0).stats().claim_lost_after_effect, 1u);
  EXPECT_EQ(harness.worker(0).stats().reclaimed_after_effect, 0u);
  EXPECT_EQ(harness.worker(0).health().lag, 0);  // handed over to the claim's holder
  EXPECT_EQ(harness.ledger.calls["w-1"], 1u);
}

TEST(WorkerTest, FencedWorkerReceivesNothing) {
  RegionHarness harness;
  harness.static_fence.set(Epoch{0});
  send_to_main(harness, 2);
  EXPECT_EQ(step_worker(harness), StepOutcome::kIdle);
  EXPECT_EQ(harness.counts(kMain).delivered, 0u);
  EXPECT_TRUE(harness.dedupe_server.records().empty());
}

TEST(WorkerTest, FenceLostMidBatchAbandonsWithoutClaiming) {
  RegionHarness harness;
  send_to_main(harness, 3);
  harness.fence.set_after(1, Epoch{0});  // the receive passes; the first message finds the region fenced
  step_worker(harness);
  EXPECT_EQ(harness.worker(0).stats().fenced_abandoned, 1u);
  EXPECT_TRUE(harness.ledger.calls.empty());
  EXPECT_TRUE(harness.dedupe_server.records().empty());
}

TEST(WorkerTest, CompetingWorkersApplyEachMessageOnce) {
  HarnessOptions options{.worker_count = 4};
  options.relay.batch_max = 32;
  options.relay.in_flight_max = 64;
  options.promoter.batch_max = 32;  // enough in main each round for every worker's batch of 4
  RegionHarness harness(std::move(options));
  harness.put_messages(200);
  ASSERT_TRUE(harness.drain());
  EXPECT_TRUE(harness.lost().empty());
  EXPECT_EQ(harness.duplicate_effects(), 0u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_GT(harness.worker(i).stats().effects, 0u) << "worker " << i;
}

TEST(WorkerTest, OptionsRefuseARecordTtlNotLongerThanTheClaimTtl) {
  const WorkerOptions options{.owner = "a/worker-1", .claim_ttl = Milliseconds(60'000), .record_ttl = Milliseconds(60'000)};
  const Status status = options.validate();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().detail.find("record_ttl"), std::string::npos);
}

TEST(WorkerTest, OptionsRefuseAnEmptyOwner) {
  EXPECT_EQ(WorkerOptions{}.validate().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace hadr::roles_test
