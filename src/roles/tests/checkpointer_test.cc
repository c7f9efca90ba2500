// Proves the Checkpointer on one in-memory region: it advances over WAL records that are done,
// dead-lettered or seals and stops at the first that is not; it persists the checkpoint to
// coord ("checkpoint/a", "<LSN>@<WAL incarnation>", under the epoch) and to the CHECKPOINT
// file; a checkpoint of another WAL incarnation (a replaced WAL) is never applied, and one of
// this WAL past its durable LSN is never clamped down (issue 12 hole 9); a higher
// epoch on the coord key fences it (nothing written, file untouched); a fenced region writes
// nothing; it resumes from the persisted checkpoint after a restart and past segments that
// retention removed; it catches up a backlog in chunks without waiting for its interval; an
// unreachable dedupe store makes it back off; health lag is durable LSN minus checkpoint.
// Records settled above one that is not are kept as ranges in the coord value, so their done
// marks may expire (issue 12 hole 1); the ranges survive a restart and a takeover's replay.
#include "roles/checkpointer.h"

#include <gtest/gtest.h>

#include "roles/checkpoint.h"
#include "roles/settled_floor.h"
#include "roles/tests/region_harness.h"
#include "wal/checkpoint_file.h"

namespace hadr::roles_test {
namespace {

// Appends records "c-<first>".."c-<first + count - 1>" to the WAL under `epoch`.
void append_records(RegionHarness& harness, std::size_t first, std::size_t count, Epoch epoch = Epoch{1}) {
  std::vector<WalAppend> batch;
  for (std::size_t i = first; i < first + count; ++i) {
    batch.push_back(WalAppend{.epoch = epoch, .message_id = message_id("c-" + std::to_string(i)), .payload = "x"});
  }
  ASSERT_TRUE(harness.wal().append(batch).ok());
}

void mark(RegionHarness& harness, std::initializer_list<int> numbers, bool dead_lettered = false) {
  for (const int number : numbers) harness.mark_done_elsewhere("c-" + std::to_string(number), dead_lettered);
}

StepOutcome step_checkpointer(RegionHarness& harness) {
  Result<StepOutcome> outcome = harness.checkpointer().step();
  EXPECT_TRUE(outcome.ok()) << outcome.error().to_string();
  return outcome.ok() ? *outcome : StepOutcome::kIdle;
}

// The coord value the checkpointer writes for `lsn` of the harness's WAL.
std::string value_of(RegionHarness& harness, std::uint64_t lsn) {
  return encode_checkpoint_value(Lsn{lsn}, harness.wal().incarnation());
}

std::optional<std::string> coord_value(RegionHarness& harness) {
  auto record = harness.coord_server.get(checkpoint_coord_key(harness.options.checkpointer.region));
  EXPECT_TRUE(record.ok());
  if (!record.ok() || !record->has_value()) return std::nullopt;
  return (*record)->value;
}

TEST(CheckpointerTest, AdvancesOverDoneRecordsAndStopsAtTheFirstNotDone) {
  RegionHarness harness;
  append_records(harness, 1, 10);
  mark(harness, {1, 2, 3, 4, 6});
  EXPECT_EQ(step_checkpointer(harness), StepOutcome::kProgress);
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{4});
  // 6 is settled above the stuck 5: kept as a range (issue 12 hole 1).
  EXPECT_EQ(coord_value(harness), value_of(harness, 4) + ";s=6");
  auto file = read_checkpoint_file(harness.env, checkpoint_file_path(kWalDir));
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  EXPECT_EQ(*file, (WalCheckpoint{Lsn{4}, Epoch{1}, harness.wal().incarnation()}));
  EXPECT_EQ(harness.checkpointer().health().lag, 6);
  mark(harness, {5});
  EXPECT_EQ(step_checkpointer(harness), StepOutcome::kIdle);  // not before the interval
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{4});
  harness.clock.advance(Milliseconds(1'000));
  step_checkpointer(harness);
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{6});
  EXPECT_EQ(harness.checkpointer().health().lag, 4);
}

TEST(CheckpointerTest, NothingDoneMeansNothingWritten) {
  RegionHarness harness;
  append_records(harness, 1, 3);
  EXPECT_EQ(step_checkpointer(harness), StepOutcome::kIdle);
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{0});
  EXPECT_FALSE(coord_value(harness).has_value());
  EXPECT_FALSE(harness.env.file_exists(checkpoint_file_path(kWalDir)));
}

TEST(CheckpointerTest, DeadLetteredRecordsCountAsDone) {
  RegionHarness harness;
  append_records(harness, 1, 3);
  mark(harness, {1, 3});
  mark(harness, {2}, /*dead_lettered=*/true);
  step_checkpointer(harness);
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{3});
}

TEST(CheckpointerTest, SealRecordsCountAsDone) {
  RegionHarness harness;
  append_records(harness, 1, 1);
  ASSERT_TRUE(harness.wal().seal(Epoch{1}).ok());
  append_records(harness, 2, 1, Epoch{2});
  harness.static_fence.set(Epoch{2});
  mark(harness, {1, 2});
  step_checkpointer(harness);
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{3});
}

TEST(CheckpointerTest, ClaimedButUnmarkedRecordStopsTheCheckpoint) {
  RegionHarness harness;
  append_records(harness, 1, 2);
  mark(harness, {2});
  ASSERT_TRUE(harness.dedupe_server.claim(message_id("c-1"), "a/worker-1", Epoch{1}, Milliseconds(60'000)).ok());
  step_checkpointer(harness);
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{0});
}

TEST(CheckpointerTest, HigherEpochOnTheCoordKeyFencesTheWrite) {
  RegionHarness harness;
  ASSERT_TRUE(harness.coord_server
                  .put(CoordPut{.key = checkpoint_coord_key(harness.options.checkpointer.region), .value = "0",
                                .epoch = Epoch{5}})
                  .ok());
  append_records(harness, 1, 2);
  mark(harness, {1, 2});
  EXPECT_EQ(step_checkpointer(harness), StepOutcome::kIdle);
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{0});
  EXPECT_EQ(harness.checkpointer().stats().fenced_writes, 1u);
  EXPECT_EQ(coord_value(harness), "0");
  EXPECT_FALSE(harness.env.file_exists(checkpoint_file_path(kWalDir)));
  EXPECT_EQ(harness.crash_points.hits("checkpointer.after_checkpoint_before_retention"), 0u);
}

TEST(CheckpointerTest, FencedRegionWritesNoCheckpoint) {
  RegionHarness harness;
  append_records(harness, 1, 2);
  mark(harness, {1, 2});
  harness.static_fence.set(Epoch{0});
  EXPECT_EQ(step_checkpointer(harness), StepOutcome::kIdle);
  EXPECT_FALSE(coord_value(harness).has_value());
  EXPECT_FALSE(harness.env.file_exists(checkpoint_file_path(kWalDir)));
}

TEST(CheckpointerTest, ResumesFromThePersistedCheckpointAfterARestart) {
  RegionHarness harness;
  append_records(harness, 1, 6);
  mark(harness, {1, 2, 3, 4});
  step_checkpointer(harness);
  ASSERT_EQ(harness.checkpointer().checkpoint(), Lsn{4});
  harness.crash_now();
  step_checkpointer(harness);
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{4});
  EXPECT_EQ(harness.checkpointer().stats().records_examined, 2u);  // only LSNs 5 and 6 were read
}

TEST(CheckpointerTest, TakesTheLargerOfCoordAndFile) {
  RegionHarness harness;
  append_records(harness, 1, 8);
  ASSERT_TRUE(write_checkpoint_file(harness.env, checkpoint_file_path(kWalDir), WalCheckpoint{Lsn{3}, Epoch{1}, harness.wal().incarnation()}).ok());
  ASSERT_TRUE(harness.coord_server
                  .put(CoordPut{.key = checkpoint_coord_key(harness.options.checkpointer.region), .value = "6",
                                .epoch = Epoch{1}})
                  .ok());
  step_checkpointer(harness);
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{6});
  EXPECT_EQ(harness.checkpointer().stats().records_examined, 2u);
}

TEST(CheckpointerTest, GarbageInTheCoordRecordIsReportedNotTrusted) {
  RegionHarness harness;
  append_records(harness, 1, 2);
  ASSERT_TRUE(harness.coord_server
                  .put(CoordPut{.key = checkpoint_coord_key(harness.options.checkpointer.region), .value = "12x",
                                .epoch = Epoch{1}})
                  .ok());
  mark(harness, {1});
  step_checkpointer(harness);
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{1});
  EXPECT_EQ(coord_value(harness), value_of(harness, 1));
  EXPECT_GE(harness.checkpointer().health().errors_total, 1u);
}

// Hole 9: the WAL was replaced (a new incarnation, LSNs counted from 1 again) while coord still
// holds the old log's checkpoint 8. Before: load() clamped 8 down to the new durable LSN 5 and
// declared the new records 1..5 done though none was; the peer's replay then skipped them.
TEST(CheckpointerTest, CheckpointOfAnotherWalIncarnationIsNotApplied) {
  RegionHarness harness;
  append_records(harness, 1, 5);
  const std::uint64_t replaced_log = harness.wal().incarnation() ^ 0x5a5a5a5a5a5a5a5aull;
  ASSERT_TRUE(harness.coord_server
                  .put(CoordPut{.key = checkpoint_coord_key(harness.options.checkpointer.region),
                                .value = encode_checkpoint_value(Lsn{8}, replaced_log), .epoch = Epoch{1}})
                  .ok());
  mark(harness, {1, 2});
  step_checkpointer(harness);
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{2}) << "only the records verified done";
  EXPECT_EQ(coord_value(harness), value_of(harness, 2));
  EXPECT_GE(harness.checkpointer().health().errors_total, 1u);
}

// The same with the old value format (no incarnation): a value past the durable LSN cannot be
// this log's, so it is not applied either (before: clamped to 5).
TEST(CheckpointerTest, OldFormatCheckpointPastTheDurableLsnIsNotClamped) {
  RegionHarness harness;
  append_records(harness, 1, 5);
  ASSERT_TRUE(harness.coord_server
                  .put(CoordPut{.key = checkpoint_coord_key(harness.options.checkpointer.region), .value = "8",
                                .epoch = Epoch{1}})
                  .ok());
  step_checkpointer(harness);
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{0});
  EXPECT_EQ(coord_value(harness), "8") << "nothing verified, nothing written";
}

// A checkpoint of this very WAL past its durable LSN means the WAL lost acknowledged records:
// the region stops (kDataLoss) instead of lowering the checkpoint.
TEST(CheckpointerTest, OwnCheckpointPastTheDurableLsnIsDataLoss) {
  RegionHarness harness;
  append_records(harness, 1, 5);
  ASSERT_TRUE(harness.coord_server
                  .put(CoordPut{.key = checkpoint_coord_key(harness.options.checkpointer.region),
                                .value = value_of(harness, 8), .epoch = Epoch{1}})
                  .ok());
  Result<StepOutcome> outcome = harness.checkpointer().step();
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.code(), ErrorCode::kDataLoss);
  EXPECT_NE(outcome.error().detail.find("past this WAL's durable LSN 5"), std::string::npos) << outcome.error().detail;
}

// The relay reads the CHECKPOINT file through read_file_checkpoint: one of another incarnation
// (left beside a replaced log) must not make it skip this log's records.
TEST(CheckpointerTest, CheckpointFileOfAnotherIncarnationReadsAsNone) {
  RegionHarness harness;
  append_records(harness, 1, 5);
  const std::uint64_t other = harness.wal().incarnation() ^ 1;
  ASSERT_TRUE(write_checkpoint_file(harness.env, checkpoint_file_path(kWalDir), WalCheckpoint{Lsn{4}, Epoch{1}, other}).ok());
  EXPECT_EQ(read_file_checkpoint(harness.env, kWalDir).value(), Lsn{0});
  ASSERT_TRUE(write_checkpoint_file(harness.env, checkpoint_file_path(kWalDir),
                                    WalCheckpoint{Lsn{4}, Epoch{1}, harness.wal().incarnation()})
                  .ok());
  EXPECT_EQ(read_file_checkpoint(harness.env, kWalDir).value(), Lsn{4});
  mark(harness, {1});
  step_checkpointer(harness);
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{4});
}

// A dead-lettered record is settled like a done one, but its mark is never retired: the worker
// marks before it moves the message to the dead-letter queue, so when that move failed the
// record is the only proof of the dead letter (sim seed 30 of `--faults all+async_backup,bus_loss`:
// the record expired after the floor passed it, and the message was lost without a trace).
TEST(CheckpointerTest, DeadLetteredRecordsAreSettledButKeepTheirMarks) {
  HarnessOptions options;
  options.checkpointer.record_ttl = std::chrono::hours(1);
  RegionHarness harness(options);
  append_records(harness, 1, 4);
  mark(harness, {1, 2, 4});
  mark(harness, {3}, /*dead_lettered=*/true);
  step_checkpointer(harness);
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{4});
  harness.clock.advance(Milliseconds(2 * 3'600'000));
  const std::optional<DedupeRecordView> dead = harness.dedupe_record("c-3");
  ASSERT_TRUE(dead.has_value());
  EXPECT_TRUE(dead->live) << "the dead-lettered record was retired with the done marks";
  EXPECT_EQ(dead->state, RecordState::kDeadLettered);
  for (const char* id : {"c-1", "c-2", "c-4"}) {
    const std::optional<DedupeRecordView> record = harness.dedupe_record(id);
    EXPECT_TRUE(!record || !record->live) << id << " was not retired";
  }
}

TEST(CheckpointerTest, CheckpointValuesRoundTripAndTheOldFormatParses) {
  auto parsed = parse_checkpoint_value(encode_checkpoint_value(Lsn{533}, 0xabcdef0123456789ull), "k");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, (CheckpointValue{Lsn{533}, 0xabcdef0123456789ull}));
  EXPECT_EQ(*parse_checkpoint_value("533", "k"), (CheckpointValue{Lsn{533}, 0}));
  for (const char* bad : {"", "12x", "5@", "5@0x12", "5@0x0000000000000000", "@0xabcdef0123456789", "5@abcdef0123456789ab"}) {
    EXPECT_EQ(parse_checkpoint_value(bad, "k").code(), ErrorCode::kDataLoss) << bad;
  }
}

TEST(CheckpointerTest, RecordsSettledAboveAStuckOneOutliveTheirDoneMarks) {
  HarnessOptions options;
  options.checkpointer.record_ttl = std::chrono::hours(1);
  RegionHarness harness(options);
  append_records(harness, 1, 10);
  mark(harness, {1, 2, 4, 5, 6, 8, 9, 10});  // 3 and 7 are held by claims that never finish
  step_checkpointer(harness);
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{2});
  EXPECT_EQ(coord_value(harness), value_of(harness, 2) + ";s=4-6,8-10");
  // Once the set is persisted, the marks it covers are retired to record_ttl (1 h here) and
  // expire; the ranges do not. A reader (a worker, a replay) still sees them settled.
  harness.clock.advance(Milliseconds(2 * 3'600'000));
  for (const char* id : {"c-1", "c-4", "c-10"}) {
    const std::optional<DedupeRecordView> record = harness.dedupe_record(id);
    EXPECT_TRUE(!record || !record->live) << id << " was not retired";
  }
  MemoryCoord reader(harness.coord_server);
  auto settled = read_settled_set(reader, nullptr, *RegionId::parse("a"));
  ASSERT_TRUE(settled.ok());
  for (std::uint64_t lsn : {1, 2, 4, 5, 6, 8, 9, 10}) EXPECT_TRUE(settled->contains(Lsn{lsn})) << lsn;
  for (std::uint64_t lsn : {3, 7, 11}) EXPECT_FALSE(settled->contains(Lsn{lsn})) << lsn;
  // A restarted checkpointer keeps them (it loads the ranges), and moves the floor once 3 and 7
  // are done, although the marks of 4..6 and 8..10 are long gone.
  harness.crash_now();
  mark(harness, {3, 7});
  harness.clock.advance(Milliseconds(1'000));
  step_checkpointer(harness);
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{10});
  EXPECT_EQ(coord_value(harness), value_of(harness, 10));
}

TEST(CheckpointerTest, SettledSetsAddMergeAndRoundTrip) {
  SettledSet set(Lsn{2});
  EXPECT_TRUE(set.add(Lsn{5}));
  EXPECT_TRUE(set.add(Lsn{7}));
  EXPECT_TRUE(set.add(Lsn{6}));  // joins 5 and 7
  EXPECT_EQ(set.ranges(), (std::vector<LsnRange>{{Lsn{5}, Lsn{7}}}));
  EXPECT_TRUE(set.add(Lsn{3}));
  EXPECT_TRUE(set.add(Lsn{4}));  // the floor absorbs 3..7
  EXPECT_EQ(set.floor(), Lsn{7});
  EXPECT_TRUE(set.ranges().empty());
  SettledSet other(Lsn{1});
  ASSERT_TRUE(other.add(Lsn{9}));
  ASSERT_TRUE(other.add(Lsn{12}));
  EXPECT_TRUE(set.merge(other));
  EXPECT_EQ(set.floor(), Lsn{7});
  EXPECT_EQ(set.ranges(), (std::vector<LsnRange>{{Lsn{9}, Lsn{9}}, {Lsn{12}, Lsn{12}}}));
  const std::string text = encode_checkpoint_value(set, 0x0123456789abcdefull);
  EXPECT_EQ(text, "7@0x0123456789abcdef;s=9,12");
  auto parsed = parse_checkpoint_value(text, "k");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->settled(), set);
  EXPECT_EQ(parse_checkpoint_value("3;s=5-9", "k")->settled().ranges(), (std::vector<LsnRange>{{Lsn{5}, Lsn{9}}}));
  // Not sorted, overlapping, adjacent to the floor or to each other, empty, reversed: damaged.
  for (const char* bad : {"3;s=", "3;s=9,5", "3;s=5-9,7", "3;s=4", "3;s=5,6", "3;s=9-5", "3;x=5", "3;s=5,"}) {
    EXPECT_EQ(parse_checkpoint_value(bad, "k").code(), ErrorCode::kDataLoss) << bad;
  }
  // Bounded: one range too many is refused, and the record waits.
  SettledSet full;
  for (std::uint64_t i = 0; i < SettledSet::kRangesMax; ++i) ASSERT_TRUE(full.add(Lsn{10 + 2 * i}));
  EXPECT_FALSE(full.add(Lsn{1'000'000}));
  EXPECT_TRUE(full.add(Lsn{11}));  // joins two ranges: fewer, not more
  EXPECT_LT(encode_checkpoint_value(full, 1).size(), Coord::kMaxValueBytes);
}

TEST(CheckpointerTest, CatchesUpABacklogInChunksWithoutWaitingForTheInterval) {
  RegionHarness harness;  // chunk_max 16
  append_records(harness, 1, 50);
  for (int i = 1; i <= 50; ++i) mark(harness, {i});
  for (int i = 0; i < 4; ++i) EXPECT_EQ(step_checkpointer(harness), StepOutcome::kProgress) << "step " << i;
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{50});
  EXPECT_EQ(step_checkpointer(harness), StepOutcome::kIdle);
  EXPECT_EQ(harness.checkpointer().stats().persisted, 4u);
}

TEST(CheckpointerTest, UnreachableDedupeStoreBacksOff) {
  ScriptedFaultInjector faults;
  faults.fire_on(FaultSite::kUnavailable, 3);  // the second lookup (after the first lookup and its retire)
  RegionHarness harness(HarnessOptions{.faults_by_client = {{"checkpointer.dedupe", &faults}}});
  append_records(harness, 1, 2);
  mark(harness, {1, 2});
  step_checkpointer(harness);
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{2});
  append_records(harness, 3, 1);
  mark(harness, {3});
  harness.clock.advance(Milliseconds(1'000));
  EXPECT_EQ(step_checkpointer(harness), StepOutcome::kIdle);  // lookup failed
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{2});
  EXPECT_NE(harness.checkpointer().health().last_error.find("lookup"), std::string::npos);
  harness.clock.advance(Milliseconds(1'000));
  step_checkpointer(harness);
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{3});
}

TEST(CheckpointerTest, SkipsRecordsThatRetentionRemoved) {
  RegionHarness harness;
  harness.put_messages(200);
  ASSERT_TRUE(harness.drain());
  harness.clock.advance(Milliseconds(2'000));
  harness.run_rounds(2);
  ASSERT_GT(harness.wal().first_lsn(), Lsn{2});
  // Both stored checkpoints are older than what retention removed (e.g. restored from a backup).
  ASSERT_TRUE(write_checkpoint_file(harness.env, checkpoint_file_path(kWalDir), WalCheckpoint{Lsn{1}, Epoch{1}, harness.wal().incarnation()}).ok());
  ASSERT_TRUE(harness.coord_server.remove(checkpoint_coord_key(harness.options.checkpointer.region)).ok());
  harness.crash_now();
  harness.put_messages(3);
  ASSERT_TRUE(harness.drain());
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{203});
  EXPECT_LT(harness.checkpointer().stats().records_examined, 203u);
}

TEST(CheckpointerTest, OptionsRefuseAChunkLargerThanALookup) {
  CheckpointerOptions options{.chunk_max = DedupeStore::kMaxLookupBatch + 1};
  options.region = *RegionId::parse("a");
  EXPECT_EQ(options.validate().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace hadr::roles_test
