// Proves the Replayer (replayer.h): region "a" logs messages in its WAL (MemEnv) and ships them
// with a WalShipper to an in-memory blob store; region "b" replays them into its own staging
// queue (MemoryBus "ns-b") under its epoch, with the shared in-memory dedupe store and coord.
//   - exactly the records neither done nor dead-lettered are published, with their original
//     id, LSN, properties and body, source region "a" and b's epoch;
//   - the replay starts at a's checkpoint; it resumes from its progress record of the same
//     epoch, but not from one of an earlier epoch;
//   - a seal of the epoch just before b's finishes it at once; an older seal does not;
//     otherwise it is "caught up" once the backup has not grown for quiet_period, and keeps
//     tailing for as long as its epoch lasts: objects shipped after that are still replayed
//     (issue 12 hole 4: AnUnsealedWalIsTailedPastTheQuietPeriod); overlapping objects publish
//     each LSN once;
//   - it starts at the settled floor: the coord checkpoint, or the backup's own floor object
//     when the coord record is lost (hole 2: ALostCoordCheckpointStartsAtTheBackupFloor);
//   - it advances a's settled floor (Coord checkpoint/a) under b's epoch once the records it
//     passed are done, so that nothing depends on a done mark outliving an outage (hole 1:
//     SettlesTheFailedRegionsFloorOnceItsRecordsAreDone);
//   - a gap in the backup and a corrupt object are kDataLoss naming the LSNs / key and offset;
//   - without a writable epoch it writes nothing (no publish, no progress record);
//   - a crash between publish and progress, then a restart, loses nothing and re-publishes
//     at most one batch.
#include "roles/replayer.h"

#include <gtest/gtest.h>

#include <map>

#include "memory/memory_blob_store.h"
#include "roles/checkpoint.h"
#include "roles/heartbeat.h"
#include "roles/settled_floor.h"
#include "roles/tests/region_harness.h"

namespace hadr::roles_test {
namespace {

constexpr std::size_t kBatchMax = 4;
constexpr std::size_t kObjectRecords = 3;  // the shipper's chunk_records_max: a batch never spans objects
constexpr Milliseconds kQuietPeriod{5'000};
constexpr Milliseconds kTick{100};

RegionId region(std::string_view name) { return RegionId::parse(name).value(); }

class ReplayerTest : public ::testing::Test {
 protected:
  ReplayerTest() {
    wal_ = Wal::open(env_, "/a/wal", WalOptions{.segment_bytes_max = 4096, .record_bytes_max = 1024}).value();
    shipper_ = WalShipper::create({.wal = *wal_, .blobs = shipper_blobs_},
                                  WalBackupOptions{.region = region("a"), .chunk_records_max = kObjectRecords})
                   .value();
    EXPECT_TRUE(bus_server_.create_queue(kStaging, QueueOptions{}).ok());
    crash_points_.set_on_crash([this] { process_->disconnect(); });
    start_process();
  }

  // What dies with the replaying process: its clients and the replayer.
  struct Process {
    explicit Process(ReplayerTest& test)
        : blobs(test.blob_server_), dedupe(test.dedupe_server_), bus(test.bus_server_), coord(test.coord_server_) {}
    void disconnect() {
      blobs.set_connected(false);
      dedupe.set_connected(false);
      bus.set_connected(false);
      coord.set_connected(false);
    }
    MemoryBlobStore blobs;
    MemoryDedupeStore dedupe;
    MemoryBus bus;
    MemoryCoord coord;
    std::unique_ptr<Replayer> replayer;
  };

  void start_process() {
    process_.reset();
    process_ = std::make_unique<Process>(*this);
    process_->replayer = Replayer::create({.blobs = process_->blobs, .dedupe = process_->dedupe,
                                           .bus = process_->bus, .coord = process_->coord, .fence = fence_,
                                           .clock = clock_, .crash_points = crash_points_},
                                          ReplayerOptions{.region = region("b"), .batch_max = kBatchMax,
                                                          .quiet_period = kQuietPeriod})
                              .value();
  }
  Replayer& replayer() { return *process_->replayer; }

  // Appends `count` messages (epoch `epoch`) to a's WAL and ships them all.
  std::vector<std::string> log_and_ship(std::size_t count, Epoch epoch = Epoch{1}) {
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < count; ++i) {
      const std::string id = "m-" + std::to_string(wal_->durable_lsn().value + 1);
      const WalAppend record{.epoch = epoch, .message_id = message_id(id), .headers = {{"kind", "test"}},
                             .payload = "body of " + id};
      EXPECT_TRUE(wal_->append(std::span<const WalAppend>(&record, 1)).ok());
      ids.push_back(id);
    }
    ship();
    return ids;
  }
  void ship() {
    for (int call = 0; call < 100 && shipper_->shipped_lsn() < wal_->durable_lsn(); ++call) {
      ASSERT_TRUE(shipper_->ship_through(wal_->durable_lsn()).ok());
    }
  }
  void mark(std::string_view id, bool dead_lettered = false) {
    const ClaimOutcome claim = dedupe_server_.claim(message_id(id), "a/worker", Epoch{1}, Milliseconds(60'000)).value();
    ASSERT_EQ(claim.status, ClaimStatus::kClaimed);
    const Status marked = dead_lettered ? dedupe_server_.mark_dead_lettered(message_id(id), claim.claim_token, "test",
                                                                            kDefaultDedupeRecordTtl)
                                        : dedupe_server_.mark_done(message_id(id), claim.claim_token,
                                                                   kDefaultDedupeRecordTtl);
    ASSERT_TRUE(marked.ok());
  }
  void put_coord(const std::string& key, const std::string& value, Epoch epoch) {
    ASSERT_TRUE(coord_server_.put(CoordPut{.key = key, .value = value, .epoch = epoch}).ok());
  }
  bool done() { return replayer().finished() || replayer().stats().caught_up; }
  // Steps until finished or caught up (moving the clock by kTick after idle steps) or `steps_max`.
  ::testing::AssertionResult run_until_finished(std::size_t steps_max = 1'000) {
    for (std::size_t i = 0; i < steps_max && !done(); ++i) {
      Result<StepOutcome> outcome = replayer().step();
      if (!outcome.ok()) return ::testing::AssertionFailure() << outcome.error().to_string();
      if (*outcome == StepOutcome::kIdle) clock_.advance(kTick);
    }
    if (done()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "not caught up after " << steps_max << " steps";
  }
  // Steps `steps` times, moving the clock by kTick after idle steps.
  void run_steps(std::size_t steps) {
    for (std::size_t i = 0; i < steps; ++i) {
      Result<StepOutcome> outcome = replayer().step();
      ASSERT_TRUE(outcome.ok()) << outcome.error().to_string();
      if (*outcome == StepOutcome::kIdle) clock_.advance(kTick);
    }
  }
  // Steps until a step fails; returns its error.
  Error run_until_error(std::size_t steps_max = 200) {
    for (std::size_t i = 0; i < steps_max; ++i) {
      Result<StepOutcome> outcome = replayer().step();
      if (!outcome.ok()) return outcome.error();
      if (*outcome == StepOutcome::kIdle) clock_.advance(kTick);
    }
    ADD_FAILURE() << "no error in " << steps_max << " steps";
    return internal_error("none");
  }
  std::vector<BusMessage> staged() {
    std::vector<BusMessage> messages;
    const std::vector<StoredBusMessage> stored_messages = bus_server_.messages(kStaging).value();
    for (const StoredBusMessage& stored : stored_messages) messages.push_back(stored.message);
    return messages;
  }
  std::vector<std::string> staged_ids() {
    std::vector<std::string> ids;
    for (const BusMessage& message : staged()) ids.push_back(message.id.str());
    return ids;
  }

  ManualClock clock_;
  MemEnv env_;
  std::unique_ptr<Wal> wal_;
  MemoryBlobServer blob_server_;
  MemoryBlobStore shipper_blobs_{blob_server_};
  MemoryBlobStore blob_server_probe_{blob_server_};
  std::unique_ptr<WalShipper> shipper_;
  MemoryDedupeServer dedupe_server_{clock_};
  MemoryBusServer bus_server_{clock_, "ns-b"};
  MemoryCoordServer coord_server_{clock_};
  StaticFence fence_{Epoch{2}};
  TestCrashPoints crash_points_;
  std::unique_ptr<Process> process_;
};

TEST_F(ReplayerTest, IdleUntilBegun) {
  log_and_ship(3);
  EXPECT_EQ(replayer().step().value(), StepOutcome::kIdle);
  EXPECT_TRUE(staged().empty());
  EXPECT_FALSE(replayer().finished());
  EXPECT_TRUE(replayer().stats().from_region.empty());
}

TEST_F(ReplayerTest, RepublishesExactlyTheRecordsNotDoneWithOriginalFieldsAndTheNewEpoch) {
  const std::vector<std::string> ids = log_and_ship(10);
  mark(ids[0]);
  mark(ids[3]);
  mark(ids[4], /*dead_lettered=*/true);
  replayer().begin(region("a"));
  ASSERT_TRUE(run_until_finished());
  const std::vector<BusMessage> messages = staged();
  ASSERT_EQ(messages.size(), 7u);
  std::size_t next = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i == 0 || i == 3 || i == 4) continue;
    const BusMessage& message = messages[next++];
    EXPECT_EQ(message.id.str(), ids[i]);
    EXPECT_EQ(message.lsn, Lsn{i + 1});
    EXPECT_EQ(message.source_region.str(), "a");
    EXPECT_EQ(message.epoch, Epoch{2});
    EXPECT_EQ(message.body, "body of " + ids[i]);
    EXPECT_EQ(message.properties, (Properties{{"kind", "test"}}));
  }
  const ReplayerStats stats = replayer().stats();
  EXPECT_EQ(stats.replayed, 7u);
  EXPECT_EQ(stats.skipped_done, 3u);
  EXPECT_EQ(stats.progress_lsn, 10u);
  EXPECT_EQ(stats.backup_last_lsn, 10u);
  EXPECT_EQ(stats.from_region, "a");
  EXPECT_TRUE(stats.caught_up);
  EXPECT_FALSE(stats.finished);  // no seal: it keeps tailing
  // Progress is persisted under b's epoch.
  const CoordRecord progress = coord_server_.get("replay/a").value().value();
  EXPECT_EQ(progress.value, "2 10");
  EXPECT_EQ(progress.epoch, Epoch{2});
}

TEST_F(ReplayerTest, StartsAtTheCheckpoint) {
  log_and_ship(10);
  put_coord(checkpoint_coord_key(region("a")), "6", Epoch{1});
  replayer().begin(region("a"));
  ASSERT_TRUE(run_until_finished());
  EXPECT_EQ(staged_ids(), (std::vector<std::string>{"m-7", "m-8", "m-9", "m-10"}));
  EXPECT_EQ(replayer().stats().start_lsn, 7u);
}

TEST_F(ReplayerTest, ResumesFromItsProgressInTheSameEpoch) {
  log_and_ship(10);
  put_coord("replay/a", encode_replay_progress(Epoch{2}, Lsn{8}), Epoch{2});
  replayer().begin(region("a"));
  ASSERT_TRUE(run_until_finished());
  EXPECT_EQ(staged_ids(), (std::vector<std::string>{"m-9", "m-10"}));
}

TEST_F(ReplayerTest, IgnoresTheProgressOfAnEarlierEpoch) {
  log_and_ship(10);
  put_coord("replay/a", encode_replay_progress(Epoch{1}, Lsn{8}), Epoch{1});
  replayer().begin(region("a"));
  ASSERT_TRUE(run_until_finished());
  EXPECT_EQ(staged().size(), 10u);
  EXPECT_EQ(coord_server_.get("replay/a").value()->value, "2 10");
}

TEST_F(ReplayerTest, ASealOfTheEpochBeforeOursFinishesAtOnce) {
  log_and_ship(5);
  ASSERT_TRUE(wal_->seal(Epoch{1}).ok());
  ship();
  replayer().begin(region("a"));
  for (int i = 0; i < 20 && !replayer().finished(); ++i) ASSERT_TRUE(replayer().step().ok());  // no clock move
  EXPECT_TRUE(replayer().finished());
  EXPECT_EQ(staged().size(), 5u);
  EXPECT_EQ(replayer().stats().progress_lsn, 6u);
}

TEST_F(ReplayerTest, AnOlderSealDoesNotFinishTheReplay) {
  fence_.set(Epoch{3});
  log_and_ship(2);
  ASSERT_TRUE(wal_->seal(Epoch{1}).ok());  // a handover to epoch 2, which a wrote again under
  log_and_ship(2, Epoch{2});
  replayer().begin(region("a"));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(replayer().step().ok());  // no clock move
  EXPECT_FALSE(replayer().finished());
  EXPECT_EQ(staged_ids(), (std::vector<std::string>{"m-1", "m-2", "m-4", "m-5"}));
  ASSERT_TRUE(run_until_finished());
  EXPECT_EQ(staged().size(), 4u);
}

TEST_F(ReplayerTest, AnUnsealedWalIsTailedPastTheQuietPeriod) {
  log_and_ship(4);
  replayer().begin(region("a"));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(replayer().step().ok());
  EXPECT_EQ(staged().size(), 4u);
  EXPECT_FALSE(replayer().stats().caught_up);
  clock_.advance(kQuietPeriod);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(replayer().step().ok());
  EXPECT_TRUE(replayer().stats().caught_up);
  EXPECT_FALSE(replayer().finished());
  // Hole 4: a region cut off from the blob store ships what it acknowledged when the link heals,
  // long after the quiet period. Those records were acknowledged: they must still be replayed.
  clock_.advance(std::chrono::minutes(10));
  log_and_ship(3);
  run_steps(50);
  EXPECT_EQ(staged().size(), 7u);
  EXPECT_FALSE(replayer().finished());
}

TEST_F(ReplayerTest, SettlesTheFailedRegionsFloorOnceItsRecordsAreDone) {
  const std::vector<std::string> ids = log_and_ship(6);
  mark(ids[0]);
  replayer().begin(region("a"));
  ASSERT_TRUE(run_until_finished());
  EXPECT_EQ(staged().size(), 5u);
  // Only m-1 is done: the floor moves to 1, under b's epoch.
  run_steps(30);
  CoordRecord floor = coord_server_.get(checkpoint_coord_key(region("a"))).value().value();
  EXPECT_EQ(floor.value, "1");
  EXPECT_EQ(floor.epoch, Epoch{2});
  // b's workers apply the replayed records; the floor follows, and it never depends on the
  // done marks again: they may expire.
  for (std::size_t i = 1; i < ids.size(); ++i) mark(ids[i]);
  run_steps(30);
  floor = coord_server_.get(checkpoint_coord_key(region("a"))).value().value();
  EXPECT_EQ(floor.value, "6");
  EXPECT_EQ(replayer().stats().settled_lsn, 6u);
}

TEST_F(ReplayerTest, ALostCoordCheckpointStartsAtTheBackupFloor) {
  // Hole 2: a's relay deleted its backup objects below its checkpoint (6), raising the backup's
  // floor object first; then the coord record checkpoint/a was lost (a Redis restart without
  // AOF, an eviction). The replay must start above the floor, not halt on a "gap" at LSN 1.
  log_and_ship(9);  // objects 1-3, 4-6, 7-9
  ASSERT_TRUE(shipper_->retain_below(Lsn{7}).ok());
  ASSERT_EQ(read_backup_floor(blob_server_probe_, region("a")).value(), Lsn{6});
  replayer().begin(region("a"));
  ASSERT_TRUE(run_until_finished());
  EXPECT_EQ(staged_ids(), (std::vector<std::string>{"m-7", "m-8", "m-9"}));
  EXPECT_EQ(replayer().stats().start_lsn, 7u);
}

TEST_F(ReplayerTest, TailsObjectsShippedWhileItWaits) {
  log_and_ship(4);
  replayer().begin(region("a"));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(replayer().step().ok());
  clock_.advance(kQuietPeriod - Milliseconds(500));
  log_and_ship(5);  // the failed region's last batches arrive late
  run_steps(50);
  EXPECT_EQ(staged().size(), 9u);
  EXPECT_EQ(replayer().stats().backup_last_lsn, 9u);
}

TEST_F(ReplayerTest, OverlappingObjectsPublishEachLsnOnce) {
  log_and_ship(6);  // objects 1-3 and 4-6
  const BackupRange overlap{Lsn{2}, Lsn{5}};
  std::string bytes = encode_backup_object_header(overlap);
  WalReader reader = wal_->read_from(Lsn{2}).value();
  for (int i = 0; i < 4; ++i) {
    WalRecord record = reader.next().value().value();
    const WalAppend append{.epoch = record.epoch, .message_id = record.message_id, .headers = record.headers,
                           .payload = record.payload};
    append_frame(bytes, record.lsn, record.type, append, encoded_body_bytes(append), WritePosition{0, 1});
  }
  ASSERT_TRUE(blob_server_.put(backup_object_key(region("a"), overlap), bytes).ok());
  replayer().begin(region("a"));
  ASSERT_TRUE(run_until_finished());
  EXPECT_EQ(staged_ids(), (std::vector<std::string>{"m-1", "m-2", "m-3", "m-4", "m-5", "m-6"}));
}

TEST_F(ReplayerTest, ABatchNeverExceedsBatchMax) {
  auto big_objects = WalShipper::create({.wal = *wal_, .blobs = shipper_blobs_},
                                        WalBackupOptions{.region = region("a"), .chunk_records_max = 10})
                         .value();
  for (std::size_t i = 1; i <= 10; ++i) {
    const WalAppend record{.epoch = Epoch{1}, .message_id = message_id("m-" + std::to_string(i)), .payload = "x"};
    ASSERT_TRUE(wal_->append(std::span<const WalAppend>(&record, 1)).ok());
  }
  ASSERT_EQ(big_objects->ship_through(Lsn{10}).value(), Lsn{10});  // one object of 10 records
  replayer().begin(region("a"));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(replayer().step().ok());  // start, fetch, one batch
  EXPECT_EQ(staged().size(), kBatchMax);
  EXPECT_EQ(coord_server_.get("replay/a").value()->value, "2 4");
  ASSERT_TRUE(run_until_finished());
  EXPECT_EQ(staged().size(), 10u);
  EXPECT_EQ(replayer().stats().objects_read, 1u);
}

// Issue 12, hole 13: objects vanished from the backup. The replay must neither skip the hole
// (acknowledged records lost) nor end at it (stranded, no alert) nor halt the region (the
// failed region re-ships while its WAL holds the records): it alerts and waits at the hole.
TEST_F(ReplayerTest, AGapInTheBackupWaitsAndAlertsUntilTheRecordsAreReshipped) {
  log_and_ship(9);  // objects 1-3, 4-6, 7-9
  ASSERT_TRUE(blob_server_.remove("wal/a/00000000000000000004-00000000000000000006").ok());
  replayer().begin(region("a"));
  run_steps(30);  // 3 s of idle ticks: less than the quiet period
  EXPECT_EQ(staged_ids(), (std::vector<std::string>{"m-1", "m-2", "m-3"}));  // nothing past the hole
  const ReplayerStats waiting = replayer().stats();
  EXPECT_EQ(waiting.gap_first_lsn, 4u);
  EXPECT_EQ(waiting.gap_last_lsn, 6u);
  EXPECT_GT(waiting.gap_waits, 1u);
  EXPECT_FALSE(waiting.caught_up);
  EXPECT_FALSE(replayer().finished());
  const RoleHealth health = replayer().health();
  EXPECT_GT(health.consecutive_errors, 0u);
  EXPECT_NE(health.last_error.find("backup gap"), std::string::npos) << health.last_error;
  EXPECT_NE(health.last_error.find("no LSNs 4..6"), std::string::npos) << health.last_error;
  // A failure of a shared dependency (the blob store): an alert, never a step-down.
  EXPECT_EQ(failing_dependency(health.last_error), Dependency::kBlobStore);
  // Region a repairs its backup from its WAL; the replay goes on, in LSN order.
  EXPECT_EQ(shipper_->repair_gaps().value(), 3u);
  run_steps(50);
  EXPECT_EQ(staged_ids(), (std::vector<std::string>{"m-1", "m-2", "m-3", "m-4", "m-5", "m-6", "m-7", "m-8", "m-9"}));
  EXPECT_EQ(replayer().health().consecutive_errors, 0u);
}

// The failed region does not re-ship within a quiet period (it may be gone for good): the
// records after the hole were acknowledged too, and must not be stranded (hole 13: 1,530
// messages). The replay goes on past the hole but never settles it; when the hole's records
// reappear it replays again from the settled floor, so they take effect too.
TEST_F(ReplayerTest, AHoleThatOutlastsTheQuietPeriodIsPassedButNeverSettled) {
  const std::vector<std::string> ids = log_and_ship(9);  // objects 1-3, 4-6, 7-9
  ASSERT_TRUE(blob_server_.remove("wal/a/00000000000000000004-00000000000000000006").ok());
  replayer().begin(region("a"));
  run_steps(120);  // 12 s of idle ticks: past the quiet period
  EXPECT_EQ(staged_ids(), (std::vector<std::string>{"m-1", "m-2", "m-3", "m-7", "m-8", "m-9"}));
  EXPECT_EQ(replayer().stats().holes_passed, 1u);
  EXPECT_NE(replayer().health().last_error.find("backup hole"), std::string::npos) << replayer().health().last_error;
  // Every record around the hole is applied: the floor stops below it, the rest are ranges.
  for (const std::string& id : {ids[0], ids[1], ids[2], ids[6], ids[7], ids[8]}) mark(id);
  run_steps(30);
  const std::string floor = coord_server_.get(checkpoint_coord_key(region("a"))).value().value().value;
  EXPECT_TRUE(floor.starts_with("3")) << floor;
  EXPECT_NE(floor.find("7-9"), std::string::npos) << floor;
  // The progress record never covers the hole.
  EXPECT_EQ(coord_server_.get("replay/a").value()->value, "2 3");
  // Region a re-ships the hole: the replay starts over from the floor and publishes m-4..m-6
  // (m-7..m-9 are found done and not published again).
  ASSERT_EQ(shipper_->repair_gaps().value(), 3u);
  run_steps(60);
  EXPECT_EQ(staged_ids(), (std::vector<std::string>{"m-1", "m-2", "m-3", "m-7", "m-8", "m-9", "m-4", "m-5", "m-6"}));
  EXPECT_EQ(replayer().stats().holes_passed, 0u);
  for (const std::string& id : {ids[3], ids[4], ids[5]}) mark(id);
  run_steps(30);
  EXPECT_TRUE(coord_server_.get(checkpoint_coord_key(region("a"))).value().value().value.starts_with("9"));
}

// A gap made only of settled records (the failed region's checkpointer settled them) needs no
// replay and no wait.
TEST_F(ReplayerTest, AGapOfSettledRecordsIsPassedAtOnce) {
  log_and_ship(9);
  put_coord(checkpoint_coord_key(region("a")),
            encode_checkpoint_value(SettledSet::normalized(Lsn{2}, {LsnRange{Lsn{4}, Lsn{6}}}), 0), Epoch{1});
  ASSERT_TRUE(blob_server_.remove("wal/a/00000000000000000004-00000000000000000006").ok());
  replayer().begin(region("a"));
  run_steps(20);  // 2 s: no quiet period needed
  EXPECT_EQ(staged_ids(), (std::vector<std::string>{"m-3", "m-7", "m-8", "m-9"}));
  EXPECT_EQ(replayer().stats().gap_waits, 0u);
}

// The container restarted empty after the replay caught up, and the failed region re-shipped
// its WAL in other chunks: the new object "1-8" sorts before the last key the replay consumed
// ("4-6") but holds LSNs past its progress. A listing that only resumed after that key would
// never see them; the replay lists from the first key at every poll.
TEST_F(ReplayerTest, ReshippedObjectsThatSortBeforeTheLastKeyConsumedAreReplayed) {
  log_and_ship(6);  // objects 1-3, 4-6
  replayer().begin(region("a"));
  ASSERT_TRUE(run_until_finished());
  ASSERT_EQ(staged().size(), 6u);
  const BlobPage before_the_wipe = blob_server_.list("wal/a/", "", 100).value();
  for (const std::string& key : before_the_wipe.keys) ASSERT_TRUE(blob_server_.remove(key).ok());
  for (std::size_t lsn = 7; lsn <= 8; ++lsn) {
    const WalAppend record{.epoch = Epoch{1}, .message_id = message_id("m-" + std::to_string(lsn)), .payload = "x"};
    ASSERT_TRUE(wal_->append(std::span<const WalAppend>(&record, 1)).ok());
  }
  auto restarted = WalShipper::create({.wal = *wal_, .blobs = shipper_blobs_},
                                      WalBackupOptions{.region = region("a"), .chunk_records_max = 10})
                       .value();
  ASSERT_EQ(restarted->ship_through(Lsn{8}).value(), Lsn{8});  // one object: 1-8
  run_steps(50);
  EXPECT_EQ(staged_ids(), (std::vector<std::string>{"m-1", "m-2", "m-3", "m-4", "m-5", "m-6", "m-7", "m-8"}));
}

TEST_F(ReplayerTest, ACorruptObjectIsDataLossNamingTheKeyAndOffset) {
  log_and_ship(3);
  const std::string key = "wal/a/00000000000000000001-00000000000000000003";
  std::string bytes = blob_server_.get(key).value();
  bytes[kBackupObjectHeaderBytes + 50] ^= 0x01;  // inside the first frame's body
  ASSERT_TRUE(blob_server_.put(key, bytes).ok());
  replayer().begin(region("a"));
  const Error error = run_until_error();
  EXPECT_EQ(error.code, ErrorCode::kDataLoss);
  EXPECT_NE(error.detail.find(key), std::string::npos) << error.detail;
  EXPECT_NE(error.detail.find("offset 40"), std::string::npos) << error.detail;
  EXPECT_TRUE(staged().empty());
}

TEST_F(ReplayerTest, WithoutAWritableEpochItWritesNothing) {
  log_and_ship(5);
  fence_.set(Epoch{0});
  replayer().begin(region("a"));
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(replayer().step().value(), StepOutcome::kIdle);
    clock_.advance(Milliseconds(1'000));
  }
  EXPECT_TRUE(staged().empty());
  EXPECT_FALSE(coord_server_.get("replay/a").value().has_value());
  EXPECT_FALSE(replayer().finished());
  fence_.set(Epoch{2});
  ASSERT_TRUE(run_until_finished());
  EXPECT_EQ(staged().size(), 5u);
}

TEST_F(ReplayerTest, ANewEpochStartsTheReplayOver) {
  log_and_ship(6);
  replayer().begin(region("a"));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(replayer().step().ok());  // start, fetch, one batch
  ASSERT_EQ(staged().size(), kObjectRecords);
  fence_.set(Epoch{4});
  ASSERT_TRUE(run_until_finished());
  EXPECT_EQ(staged().size(), kObjectRecords + 6);  // all again under epoch 4: duplicates, no loss
  EXPECT_EQ(staged().back().epoch, Epoch{4});
  EXPECT_EQ(coord_server_.get("replay/a").value()->value, "4 6");
}

TEST_F(ReplayerTest, CrashBetweenPublishAndProgressLosesNothingAndRepeatsAtMostOneBatch) {
  const std::vector<std::string> ids = log_and_ship(12);
  replayer().begin(region("a"));
  crash_points_.arm("replayer.after_publish_before_progress", /*skip=*/1);  // dies after the second batch
  for (int i = 0; i < 50 && !crash_points_.crashed(); ++i) (void)replayer().step();
  ASSERT_TRUE(crash_points_.crashed());
  EXPECT_EQ(coord_server_.get("replay/a").value()->value, "2 3");  // the first batch's progress only
  crash_points_.clear();
  start_process();  // a new process, same epoch
  replayer().begin(region("a"));
  ASSERT_TRUE(run_until_finished());
  std::map<std::string, int> published;
  for (const std::string& id : staged_ids()) ++published[id];
  EXPECT_EQ(published.size(), ids.size());  // nothing lost
  std::size_t repeats = 0;
  for (const auto& [id, count] : published) repeats += static_cast<std::size_t>(count - 1);
  EXPECT_EQ(repeats, kObjectRecords);  // exactly the batch whose progress was not persisted
}

TEST_F(ReplayerTest, OptionsOutOfRangeAreRefused) {
  const auto refused = [&](ReplayerOptions options) {
    return Replayer::create({.blobs = process_->blobs, .dedupe = process_->dedupe, .bus = process_->bus,
                             .coord = process_->coord, .fence = fence_, .clock = clock_,
                             .crash_points = crash_points_},
                            options)
               .code() == ErrorCode::kInvalidArgument;
  };
  EXPECT_TRUE(refused(ReplayerOptions{}));  // no region
  EXPECT_TRUE(refused(ReplayerOptions{.region = region("b"), .batch_max = 0}));
  EXPECT_TRUE(refused(ReplayerOptions{.region = region("b"), .batch_max = Bus::kMaxSendBatch + 1}));
  EXPECT_TRUE(refused(ReplayerOptions{.region = region("b"), .quiet_period = Milliseconds(0)}));
  EXPECT_TRUE(refused(ReplayerOptions{.region = region("b"), .quiet_period = std::chrono::hours(2)}));
}

TEST(ReplayProgressTest, ParsesOnlyEpochAndLsn) {
  const ReplayProgress progress = parse_replay_progress("7 42", "replay/a").value();
  EXPECT_EQ(progress.epoch, Epoch{7});
  EXPECT_EQ(progress.lsn, Lsn{42});
  for (const std::string_view bad : {"", "7", "7 ", " 42", "0 42", "7 42 1", "x 42", "7 -1"}) {
    EXPECT_EQ(parse_replay_progress(bad, "replay/a").code(), ErrorCode::kDataLoss) << bad;
  }
}

}  // namespace
}  // namespace hadr::roles_test
