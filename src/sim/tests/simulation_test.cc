// Proves the simulator (src/sim) does its job:
//   - determinism: the same seed gives the same history hash; another seed does not;
//   - the CI seed set (1..1000, split in ranges so ctest runs them in parallel) passes every
//     checker with all fault categories under BUGGIFY; the seeds of the real bugs it found
//     (docs/simulation.md, "Findings") are kept as regressions below;
//   - every rare path (torn tail, stale-epoch rejection, lease steal, replay, dead letter,
//     switchover) is reached in the CI set;
//   - the checkers bite: each deliberately broken wiring is caught within the CI seed set, and
//     every broken variant (one per fence, issue 12) by at least 5% of seeds 1..200 of the
//     default mix (the mix's sensitivity, like a mutation score);
//   - the real-time I5 checker flags a fenced write made under an epoch after a higher one was
//     granted, and I2 judges a non-transactional handler at the call;
//   - the categories awaiting a fix stay out of the default mix (their failing seeds are the
//     DISABLED_ regressions at the end: enable each when its hole is fixed);
//   - the fault list and seed range parsers refuse bad input with a clear message.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>

#include "sim/checkers.h"
#include "sim/sim_runner.h"

namespace hadr::sim {
namespace {

std::string failures_text(const SimReport& report, const SimOptions& options) {
  std::string text;
  for (const SimResult& result : report.failures) text += describe_failure(result, options);
  return text;
}

void expect_range_passes(std::uint64_t first, std::uint64_t last) {
  const SimOptions options;
  const SimReport report = run_seeds(options, SeedRange{first, last});
  EXPECT_EQ(report.seeds, last - first + 1);
  EXPECT_TRUE(report.failing_seeds.empty()) << failures_text(report, options);
}

TEST(SimDeterminism, SameSeedGivesTheSameHistoryHash) {
  const SimOptions options{.seed = 11};
  const SimResult first = run_simulation(options);
  const SimResult second = run_simulation(options);
  EXPECT_EQ(first.history_hash, second.history_hash);
  EXPECT_EQ(first.steps, second.steps);
  EXPECT_GT(first.steps, 0u);
}

TEST(SimDeterminism, AnotherSeedGivesAnotherHistory) {
  EXPECT_NE(run_simulation(SimOptions{.seed = 11}).history_hash, run_simulation(SimOptions{.seed = 12}).history_hash);
}

TEST(SimSeeds, WithoutFaultsEverySeedDrainsExactlyOnce) {
  SimOptions options;
  options.faults = *FaultSelection::parse("none");
  const SimReport report = run_seeds(options, SeedRange{1, 20});
  EXPECT_TRUE(report.failing_seeds.empty()) << failures_text(report, options);
}

TEST(SimSeeds, Seeds0001To0200) { expect_range_passes(1, 200); }
TEST(SimSeeds, Seeds0201To0400) { expect_range_passes(201, 400); }
TEST(SimSeeds, Seeds0401To0600) { expect_range_passes(401, 600); }
TEST(SimSeeds, Seeds0601To0800) { expect_range_passes(601, 800); }
TEST(SimSeeds, Seeds0801To1000) { expect_range_passes(801, 1000); }

TEST(SimRarePaths, EveryRarePathIsHitInTheCiSet) {
  const SimReport report = run_seeds(SimOptions{}, SeedRange{1, 300});
  EXPECT_GT(report.rare.torn_tail, 0u);
  EXPECT_GT(report.rare.wal_repair, 0u);  // a damaged synced frame mended, dropped as settled or cut
  EXPECT_GT(report.rare.stale_epoch_rejection, 0u);
  EXPECT_GT(report.rare.lease_steal, 0u);
  EXPECT_GT(report.rare.replay, 0u);
  EXPECT_GT(report.rare.dead_letter, 0u);
  EXPECT_GT(report.rare.switchover, 0u);
}

// The first seed of the CI set whose run reports an (unknown) violation of `invariant`.
std::optional<std::uint64_t> first_catch(BrokenVariant variant, std::string_view invariant) {
  SimOptions options;
  options.broken = variant;
  for (std::uint64_t seed = 1; seed <= 1000; ++seed) {
    options.seed = seed;
    const SimResult result = run_simulation(options);
    for (const Violation& violation : result.violations) {
      if (violation.invariant == invariant) return seed;
    }
  }
  return std::nullopt;
}

TEST(SimCheckersBite, AckingTheSourceBeforeFsyncLosesMessages) {
  EXPECT_TRUE(first_catch(BrokenVariant::kAckBeforeFsync, "I1").has_value());
}

TEST(SimCheckersBite, ClaimingWithoutTheEpochCheckAcceptsAStaleEpoch) {
  EXPECT_TRUE(first_catch(BrokenVariant::kClaimIgnoresEpoch, "I5").has_value());
}

TEST(SimCheckersBite, CompletingStagingBeforeMainConfirmedLosesMessages) {
  EXPECT_TRUE(first_catch(BrokenVariant::kStagingCompletedBeforeMain, "I8").has_value());
}

// Issue 12: every broken variant is caught by >= 5% of the default mix's seeds. 200 seeds per
// variant keep the test affordable; `hadr sim --broken NAME --seeds 1..1000` gives the figure
// on 1,000 (docs/simulation.md).
// Variants that are caught often make their failing seeds slow (each one runs its liveness phase
// to the bound), so they get fewer seeds: 30 seeds still bound a share of 24%, 34% or 81%
// (measured on 100 seeds) far above 5%.
constexpr std::uint64_t kShareSeeds = 200;
constexpr std::uint64_t kShareSeedsSlow = 30;
constexpr double kCaughtShareMin = 0.05;

void expect_caught_share(BrokenVariant variant, std::uint64_t seeds = kShareSeeds) {
  SimOptions options;
  options.broken = variant;
  const SimReport report = run_seeds(options, SeedRange{1, seeds});
  EXPECT_GE(report.caught_share(), kCaughtShareMin)
      << broken_variant_name(variant) << " caught by " << report.failing_seeds.size() << " of " << report.seeds;
}

TEST(SimCaughtShare, AckBeforeFsync) { expect_caught_share(BrokenVariant::kAckBeforeFsync, kShareSeedsSlow); }
TEST(SimCaughtShare, ClaimIgnoresEpoch) { expect_caught_share(BrokenVariant::kClaimIgnoresEpoch); }
TEST(SimCaughtShare, StagingCompletedBeforeMain) {
  expect_caught_share(BrokenVariant::kStagingCompletedBeforeMain, kShareSeedsSlow);
}
TEST(SimCaughtShare, CheckpointPastUnsettled) {
  expect_caught_share(BrokenVariant::kCheckpointPastUnsettled, kShareSeedsSlow);
}
TEST(SimCaughtShare, RenewWithoutDeadline) { expect_caught_share(BrokenVariant::kRenewWithoutDeadline); }
// Below 5% today (docs/simulation.md, "Broken variants the mix does not reach yet"): enable
// each when the mix reaches it.
//   relay_ignores_intake_gate: ~2% — the gate only matters before the watchdog's epoch check,
//     i.e. after an epoch regression (epoch_regress, rare in the mix).
//   replay_stops_before_seal: 0% — with a synchronous backup every acked record is shipped
//     before its ack, so a replay that ends early misses nothing; it needs async_backup or a
//     zombie shipper, both awaiting hole 4.
//   claim_regranted_to_stale_owner: 0% — the transactional handler's mark_done checks the
//     claim token, so a re-granted claim yields one effect; a duplicate needs a
//     non-transactional handler whose two calls overlap, and a handler call is atomic in a step.
TEST(SimCaughtShare, DISABLED_RelayIgnoresIntakeGate) { expect_caught_share(BrokenVariant::kRelayIgnoresIntakeGate); }
TEST(SimCaughtShare, DISABLED_ReplayStopsBeforeSeal) { expect_caught_share(BrokenVariant::kReplayStopsBeforeSeal); }
TEST(SimCaughtShare, DISABLED_ClaimRegrantedToStaleOwner) {
  expect_caught_share(BrokenVariant::kClaimRegrantedToStaleOwner);
}

TEST(SimCaughtShare, EveryVariantHasATest) {
  // One SimCaughtShare test above per variant (kNone excluded): a new variant needs one.
  EXPECT_EQ(kBrokenVariantCount, 9u);
}

// The real-time I5 checker: a write under epoch 1 after epoch 2 was granted is flagged; the
// same write before that grant, or under the new epoch, is not.
TEST(SimCheckers, RealTimeI5FlagsAWriteUnderASupersededEpoch) {
  const std::vector<TimedGrant> grants = {{Epoch{1}, "a", 0}, {Epoch{2}, "b", 1'000}};
  SimHistory history;
  history.add_write(WriteEvent{.kind = WriteEvent::Kind::kPublish, .region = "a", .epoch = Epoch{1}, .at_ms = 900});
  history.add_write(WriteEvent{.kind = WriteEvent::Kind::kPromote, .region = "b", .epoch = Epoch{2}, .at_ms = 1'100});
  std::vector<Violation> clean;
  std::uint64_t known = 0;
  check_writes_in_real_time(history, grants, /*strict=*/true, clean, known);
  EXPECT_TRUE(clean.empty());
  history.add_write(WriteEvent{.kind = WriteEvent::Kind::kCoordPut, .region = "a", .epoch = Epoch{1}, .at_ms = 1'200});
  std::vector<Violation> caught;
  check_writes_in_real_time(history, grants, /*strict=*/true, caught, known);
  ASSERT_EQ(caught.size(), 1u);
  EXPECT_EQ(caught[0].invariant, "I5");
  EXPECT_NE(caught[0].detail.find("coord_put by a under epoch 1 at 1200 ms"), std::string::npos) << caught[0].detail;
  EXPECT_EQ(known, 0u);
}

// After the lease store restarts from an old snapshot (its counter goes back from 3 to 1), the
// re-issued epoch 2 is the newest again: writing under it is no violation (seed 236 of the
// default mix flagged it). Writing under the forgotten epoch 3 before it is re-issued is one.
TEST(SimCheckers, RealTimeI5FollowsTheLeaseStoresRestores) {
  const std::vector<TimedGrant> grants = {{Epoch{1}, "a", 0},
                                          {Epoch{3}, "b", 100},
                                          {Epoch{1}, "", 200, /*restore=*/true},
                                          {Epoch{2}, "a", 300}};
  SimHistory history;
  history.add_write(WriteEvent{.kind = WriteEvent::Kind::kWalAppend, .region = "a", .epoch = Epoch{2}, .at_ms = 400});
  std::vector<Violation> clean;
  std::uint64_t known = 0;
  check_writes_in_real_time(history, grants, /*strict=*/true, clean, known);
  EXPECT_TRUE(clean.empty()) << clean.front().detail;
  history.add_write(WriteEvent{.kind = WriteEvent::Kind::kPublish, .region = "b", .epoch = Epoch{3}, .at_ms = 500});
  std::vector<Violation> caught;
  check_writes_in_real_time(history, grants, /*strict=*/true, caught, known);
  ASSERT_EQ(caught.size(), 1u);
  EXPECT_NE(caught[0].detail.find("publish by b under epoch 3 at 500 ms, which the lease store forgot"),
            std::string::npos)
      << caught[0].detail;
}

// Was a known finding of the real-time I5 check: a takeover cut off from the lease store kept
// writing failover/last and the alias after its renew deadline, while the store had granted
// the next epoch. Seeds 33, 57, 113 and 210 of the default mix counted it before the watchdog
// gated its own writes on the deadline (Watchdog::inside_renew_deadline); the check is strict now.
TEST(SimFoundBugs, WatchdogWritesNothingPastItsRenewDeadline) {
  EXPECT_TRUE(kRealTimeChecksAwaitingFix.empty());
  for (std::uint64_t seed : {33, 57, 113, 210}) {
    const SimResult result = run_simulation(SimOptions{.seed = seed});
    EXPECT_TRUE(result.ok()) << describe_failure(result, SimOptions{.seed = seed});
    EXPECT_EQ(result.rare.known_finding, 0u) << "seed " << seed;
  }
}

// A non-transactional handler re-run after a crash between effect and mark is at-least-once
// (allowed); a re-run after its done mark was acknowledged is a duplicate effect.
TEST(SimCheckers, NonTransactionalEffectsCountAtTheHandler) {
  SimHistory history;
  history.add_effect(EffectEvent{.id = "m-1", .region = "a", .transactional = false});
  history.add_effect(EffectEvent{.id = "m-1", .region = "a", .transactional = false});
  std::vector<Violation> rerun;
  check_no_duplicate_effect(history, rerun);
  EXPECT_TRUE(rerun.empty());
  history.add_effect(EffectEvent{.id = "m-2", .region = "a", .transactional = false});
  history.add_effect(EffectEvent{.id = "m-2", .region = "b", .transactional = false, .after_acknowledged_mark = true});
  std::vector<Violation> duplicate;
  check_no_duplicate_effect(history, duplicate);
  ASSERT_EQ(duplicate.size(), 1u);
  EXPECT_NE(duplicate[0].detail.find("m-2"), std::string::npos);
  EXPECT_EQ(duplicate[0].detail.find("m-1"), std::string::npos);
}

// The default mix ("all", the CI's) leaves the categories awaiting a fix out; "everything" and
// a list switch them on.
TEST(SimFaultMix, CategoriesAwaitingAFixAreOutOfTheDefaultMix) {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    const SimResult result = run_simulation(SimOptions{.seed = seed});
    for (const AwaitingFix& entry : kFaultsAwaitingFix) {
      EXPECT_EQ(result.faults_enabled.find(sim_fault_name(entry.fault)), std::string::npos)
          << "seed " << seed << " enabled " << result.faults_enabled;
    }
  }
  const auto everything = FaultSelection::parse("everything");
  ASSERT_TRUE(everything.ok());
  EXPECT_TRUE(everything->include_awaiting);
  EXPECT_EQ(everything->describe(), "everything");
}

// The two real bugs the simulator found, kept as regressions (docs/simulation.md): a wall
// clock jump held anti-flap back for minutes (seeds 52, 54); after the lease store went back to
// an old snapshot two regions wrote under one epoch (seeds 240, 874).
TEST(SimFoundBugs, WallClockJumpNoLongerHoldsFailoverBack) {
  for (std::uint64_t seed : {52, 54}) {
    const SimResult result = run_simulation(SimOptions{.seed = seed});
    EXPECT_TRUE(result.violations.empty()) << "seed " << seed << ": " << result.violations.front().detail;
  }
}

TEST(SimFoundBugs, RegressedLeaseEpochIsNeverWrittenByTwoRegions) {
  for (std::uint64_t seed : {240, 874}) {
    const SimResult result = run_simulation(SimOptions{.seed = seed});
    EXPECT_TRUE(result.violations.empty()) << "seed " << seed << ": " << result.violations.front().detail;
  }
}

// Holes of issue 12 the new fault categories find (kFaultsAwaitingFix, kRealTimeChecksAwaitingFix):
// each seed FAILS on today's code with `hadr sim --seed S --faults NAME --trace`. Each test is
// DISABLED_ until its fix lands: then enable it, and delete the entry from the awaiting list so
// the category joins the default mix.
void expect_seeds_pass(std::string_view faults, std::initializer_list<std::uint64_t> seeds) {
  SimOptions options;
  options.faults = *FaultSelection::parse(faults);
  for (std::uint64_t seed : seeds) {
    options.seed = seed;
    const SimResult result = run_simulation(options);
    EXPECT_TRUE(result.ok()) << describe_failure(result, options);
  }
}

// Hole 1: failback after the dedupe record TTL re-applies stranded messages (I2). The settled
// floor closed most of it (39 of seeds 1..100 failed before, 22 after); the rest (30 of seeds
// 1..60 at 233b6d7: done records above one that stays unsettled, a late claim or a retried
// message, lost their marks while every region was away) closed with the settled ranges above
// the floor (roles/checkpoint.h SettledSet): seeds 1..300 of long_outage alone pass. Combined
// with the default mix, 31 of 1..1000 still failed; the rest closed with the second copy of the
// settled set and the copy pins (Hole01OneIdInTwoWalRecords).
TEST(SimFaultsFixed, Hole01FailbackAfterRecordTtl) {
  expect_seeds_pass("long_outage", {2, 3, 4, 8, 9, 11, 12, 13, 18, 21});
}
// Hole 1 with coord_loss: the settled ranges lived in coord only, so a lost checkpoint/<region>
// (a Redis restart without AOF) took them with it after their done marks were retired, and the
// region coming back from its outage applied its leftovers again (I2; 14 of seeds 1..60 before
// the fix). The settled set now has a second copy per writer in the blob store
// (wal-settled/<region>/<writer>), written before any mark it covers is retired.
TEST(SimFaultsFixed, Hole01SettledRangesSurviveALostCoordRecord) {
  expect_seeds_pass("long_outage,coord_loss", {2, 7, 19, 21, 23, 28, 33, 34, 37, 41});
}
// Hole 1, last residual: one message id in two WAL records (the source redelivered it after a
// lost ack, to the other region or the same one). The first copy settled and its mark was
// retired; the second copy's region was away until the mark expired, and the second copy was
// applied again (I2; these 7 of seeds 1..1000 of the default mix with long_outage failed).
// The relay now pins "<region>:<lsn>" (and "<region>:<lsn>:unacked" until the source confirms
// the ack) on the id before the append; a retire shortens a mark only when no pin is left.
// long_outage is in the default mix ("all") since.
TEST(SimFaultsFixed, Hole01OneIdInTwoWalRecords) {
  expect_seeds_pass("all", {195, 349, 376, 480, 523, 611, 677});
}
// Hole 2: a lost checkpoint/<peer> makes the survivor's replay stop on data_loss (step_error).
TEST(SimFaultsFixed, Hole02LostCoordCheckpoint) {
  expect_seeds_pass("coord_loss", {1, 2, 4, 5, 6, 8, 9, 10, 11, 12});
}
// Holes 3 and 12: lease, coord and dedupe rolled back together: replay data_loss (step_error),
// duplicate effects (I2), writes under a superseded epoch (I5).
TEST(SimFaultsAwaitingFix, DISABLED_Hole03And12StoreRollback) {
  expect_seeds_pass("store_rollback", {1, 3, 4, 5, 6, 7, 8, 9, 10, 11});
}
// Hole 3: a lease store restored from a snapshot forgets the holder's renewals and grants the
// next epoch while the holder still writes inside its deadline (real-time I5).
TEST(SimFaultsAwaitingFix, DISABLED_Hole03LeaseRestoreForgetsRenewals) {
  expect_seeds_pass("lease_restore", {1, 6, 8, 11, 12, 23, 27, 28, 33, 37});
}
// Hole 6: a store clock step expires the lease in the store while the holder writes (real-time I5).
TEST(SimFaultsFixed, Hole06StoreClockStep) {
  expect_seeds_pass("store_clock", {11, 17, 43, 48, 51, 59, 62, 74, 75, 85});
}
// Holes 5 and 10: damaged synced WAL bytes. 37 of seeds 1..60 of `--faults synced_corruption`
// failed at the session's start (I7 "could not reopen its WAL": mid-log damage stopped the
// region for good; I6/I8 followed). The WAL now mends damaged frames from the backup's copies,
// drops a settled head no copy holds any more, and, with sync backup, cuts damage above every
// acknowledged mark (wal/segment_repair.h, docs/wal-format.md).
TEST(SimFaultsFixed, Hole05And10SyncedCorruption) {
  expect_seeds_pass("synced_corruption", {2, 3, 4, 7, 11, 45, 57, 58, 59, 60, 61, 593});
}
// The trial of synced_corruption in the default mix found two more: seed 39 (a torn tail cut
// while the blob store did not answer: acknowledged records the backup held were lost) and seed
// 297 (synced damage in a batch held for the sync backup: unacknowledged, but the region halted).
TEST(SimFaultsFixed, SyncedCorruptionInTheDefaultMix) {
  expect_seeds_pass("all", {39, 297});
}

// Hole 13: backup objects vanish (one object, or the whole container restarted empty). Before,
// the peer's replay stopped on data_loss at the gap (step_error), or, once the container was
// gone, left the records after it stranded (I1, I6, I8): 92 of seeds 1..300 of `--faults
// blob_loss` failed, these are the first ten. The owning region now re-ships what vanished
// from its WAL (WalShipper::repair_gaps, from the WAL's settled floor up, after raising the
// backup's floor object), and the replay waits at a hole with an alert, passes it after a quiet
// period without ever settling it, and replays it from the settled floor once it reappears.
TEST(SimFaultsFixed, Hole13BlobLossBackupGapsAreRepairedAndWaitedFor) {
  expect_seeds_pass("blob_loss", {4, 7, 11, 13, 16, 18, 22, 24, 32, 34});
}
// Hole 13 in the mix: two faults together that no copy survives. With coord_loss and
// long_outage, a settled set lost from coord and from the blob store (I2: seeds 321 572 984 999;
// 145 777 945 957 pass since a passive checkpointer puts its lost blob copy back); with the
// region-loss drill, a backup object lost while its region never comes back to re-ship it (I1,
// seed 34). blob_loss stays out of the default mix until these close. Since synced_corruption
// joined the mix (merge of main), all+blob_loss fails 14 of 1..1000: 11 with synced_corruption
// (I7/I6: a damaged WAL whose backup lost the very objects it would be mended from; 783 and 168
// step_error/I1), 58 and 321 (I2, coord_loss + long_outage), 36 (I1, async backup).
TEST(SimFaultsAwaitingFix, DISABLED_Hole13BlobLossWithCoordLossOrALostRegion) {
  expect_seeds_pass("all+blob_loss", {36, 58, 93, 141, 144, 158, 168, 321, 423, 434, 783, 811, 818, 978});
}
TEST(SimFaultsFixed, Hole13PassiveCheckpointerRestoresItsLostSettledCopy) {
  expect_seeds_pass("all+blob_loss", {145, 777, 945, 957});
}

// Found by the trial of async_backup and bus_loss in the default mix (`--faults
// all+async_backup,bus_loss`, seeds 1..1000: only this one failed, and it drew neither trial
// category: store, crash, drift, flapping, pause, handler, long_outage, coord_cut,
// epoch_regress). m-00065 was marked dead-lettered but its move to the dead-letter queue failed;
// the checkpointer settled its LSN and retired the mark, which expired (long_outage's short
// TTL); the redelivered copy, below the floor, was completed: no effect, no dead-letter entry,
// no record (I1, I6, I8). Dead-lettered records now keep their marks, and a settled copy whose
// record says dead-lettered is moved to the dead-letter queue (docs/failover.md). Both trial
// categories are in the default mix since, whose seed 30 is this same run.
TEST(SimFaultsFixed, TrialSeed30DeadLetterRecordOutlivesTheFloor) {
  expect_seeds_pass("all", {30});
}

TEST(SimArguments, FaultListNamesTheUnknownCategory) {
  const auto parsed = FaultSelection::parse("crash,earthquake");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().detail.find("earthquake"), std::string::npos);
}

// "all+LIST" puts categories awaiting a fix on trial in the default mix; a category already in
// the mix is refused (it would mean nothing), as is a list that is not one.
TEST(SimArguments, TrialListAddsAwaitingCategoriesToTheDefaultMix) {
  const std::string_view awaiting = sim_fault_name(kFaultsAwaitingFix.front().fault);
  const auto trial = FaultSelection::parse("all+" + std::string(awaiting));
  ASSERT_TRUE(trial.ok()) << trial.error().to_string();
  EXPECT_EQ(trial->mode, FaultSelection::Mode::kBuggify);
  EXPECT_FALSE(trial->include_awaiting);
  EXPECT_EQ(trial->on_trial.count(), 1u);
  EXPECT_EQ(trial->describe(), "all+" + std::string(awaiting));
  const auto in_mix = FaultSelection::parse("all+crash");
  ASSERT_FALSE(in_mix.ok());
  EXPECT_NE(in_mix.error().detail.find("crash"), std::string::npos);
  EXPECT_FALSE(FaultSelection::parse("all+").ok());
  EXPECT_FALSE(FaultSelection::parse("all+everything").ok());
  bool drawn = false;
  SimOptions options{.faults = *trial};
  for (std::uint64_t seed = 1; seed <= 20 && !drawn; ++seed) {
    options.seed = seed;
    drawn = run_simulation(options).faults_enabled.find(awaiting) != std::string::npos;
  }
  EXPECT_TRUE(drawn) << awaiting << " was never drawn in 20 seeds";
}

TEST(SimArguments, FaultListForcesTheListedCategories) {
  const auto parsed = FaultSelection::parse("crash,partition");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->mode, FaultSelection::Mode::kForced);
  EXPECT_EQ(parsed->describe(), "crash,partition");
}

TEST(SimArguments, UnknownBrokenVariantListsTheValidOnes) {
  const auto parsed = parse_broken_variant("ack_late");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().detail.find("ack_late"), std::string::npos);
  EXPECT_NE(parsed.error().detail.find("claim_regranted_to_stale_owner"), std::string::npos);
  for (BrokenVariant variant : all_broken_variants()) {
    const auto again = parse_broken_variant(broken_variant_name(variant));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, variant);
  }
}

TEST(SimArguments, EmptySeedRangeIsRefused) {
  EXPECT_FALSE(parse_seed_range("9..3").ok());
  EXPECT_FALSE(parse_seed_range("x").ok());
  const auto range = parse_seed_range("3..9");
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->first, 3u);
  EXPECT_EQ(range->last, 9u);
}

}  // namespace
}  // namespace hadr::sim
