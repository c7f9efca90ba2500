// Proves the Relay on one in-memory region (RegionHarness): every message drains to exactly one
// effect; bus messages carry the source's id, the epoch, the region and the LSN; a source ack
// never precedes the fsync that made its records durable, and a failed fsync acks nothing;
// a full in-flight window stops intake (backpressure) and a healed bus drains it; a fence lost
// during the append acks and publishes nothing; a WAL that refuses an older epoch acks nothing;
// publication recovery after a restart republishes acked records from the checkpoint on,
// skipping those already done; retention deletes segments below the checkpoint; lost confirms
// and refused acks end in duplicate deliveries, never in duplicate effects; every appended
// record is pinned on the dedupe store under its LSN before the append, and a failed pin
// appends and acks nothing.
// Regressions of issue 12 hole 8 (a planned switchover could not drain; both failed before the
// fix): with intake closed (the watchdog's gate, as the runtime and the simulator wire it) the
// relay still publishes the records it already appended
// (IntakeClosedWithPendingRecordsStillPublishesThem) and finishes a batch held for the sync
// backup (IntakeClosedWhileABatchIsHeldForTheBackupFinishesIt), and it reports the held batch as
// not drained (the runtime's drain check looked at pending_count() only).
#include "roles/relay.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "memory/memory_source.h"
#include "roles/checkpoint.h"
#include "roles/heartbeat.h"
#include "roles/tests/region_harness.h"
#include "wal/checkpoint_file.h"

namespace hadr::roles_test {
namespace {

bool is_segment(const std::string& path) {
  return path.find("/wal-") != std::string::npos && path.ends_with(".seg");
}

// Steps only the relay `steps` times, moving the clock 1 s after each idle step.
void step_relay(RegionHarness& harness, std::size_t steps) {
  for (std::size_t i = 0; i < steps; ++i) {
    Result<StepOutcome> outcome = harness.relay().step();
    ASSERT_TRUE(outcome.ok()) << outcome.error().to_string();
    if (*outcome == StepOutcome::kIdle) harness.clock.advance(Milliseconds(1'000));
  }
}

// Steps only the relay until `done` holds, at most `steps_max` steps.
template <typename Predicate>
void step_relay_until(RegionHarness& harness, Predicate done, std::size_t steps_max = 100) {
  for (std::size_t i = 0; i < steps_max && !done(); ++i) step_relay(harness, 1);
  ASSERT_TRUE(done()) << "condition not reached in " << steps_max << " relay steps";
}

std::size_t count_events(const RegionHarness& harness, IoEvent::Kind kind) {
  std::size_t count = 0;
  for (const IoEvent& event : harness.io_log()) count += event.kind == kind ? 1 : 0;
  return count;
}

void expect_exactly_once(const RegionHarness& harness) {
  EXPECT_TRUE(harness.lost().empty()) << harness.lost().size() << " lost, first " << harness.lost().front();
  EXPECT_EQ(harness.duplicate_effects(), 0u);
  EXPECT_EQ(harness.ledger.effects.size(), harness.put_ids().size());
}

TEST(RelayTest, EndToEndDrainsEveryMessageWithExactlyOneEffect) {
  RegionHarness harness(HarnessOptions{.worker_count = 3});
  harness.put_messages(300);
  ASSERT_TRUE(harness.drain());
  expect_exactly_once(harness);
  EXPECT_EQ(harness.relay().stats().appended, 300u);
  EXPECT_EQ(harness.relay().stats().acked, 300u);
  EXPECT_EQ(harness.relay().stats().published, 300u);
  EXPECT_EQ(harness.source_server.acked_count(), 300u);
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{300});
}

TEST(RelayTest, BusMessagesCarryIdEpochRegionLsnAndHeaders) {
  RegionHarness harness(HarnessOptions{.epoch = Epoch{7}});
  const std::vector<std::string> ids = harness.put_messages(3);
  step_relay(harness, 2);
  auto staged = harness.bus_server.messages(kStaging);
  ASSERT_TRUE(staged.ok());
  ASSERT_EQ(staged->size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const BusMessage& message = (*staged)[i].message;
    EXPECT_EQ(message.id.str(), ids[i]);  // the source's id, not one made at read time
    EXPECT_EQ(message.epoch, Epoch{7});
    EXPECT_EQ(message.source_region.str(), "a");
    EXPECT_EQ(message.lsn, Lsn{i + 1});
    EXPECT_EQ(message.body, "body of " + ids[i]);
    EXPECT_EQ(message.properties, (Properties{{"kind", "test"}}));
  }
}

TEST(RelayTest, SourceAckFollowsTheFsyncOfItsRecords) {
  RegionHarness harness;
  harness.put_messages(40);
  ASSERT_TRUE(harness.drain());
  // For every ack: its ids were received, then a WAL segment fsync succeeded, then the ack.
  std::map<std::string, std::size_t> received_at;
  std::size_t last_segment_sync = 0;
  std::size_t acks = 0;
  const std::vector<IoEvent>& log = harness.io_log();
  for (std::size_t i = 0; i < log.size(); ++i) {
    const IoEvent& event = log[i];
    if (event.kind == IoEvent::Kind::kSync && event.ok && is_segment(event.path)) last_segment_sync = i;
    if (event.kind == IoEvent::Kind::kReceive) {
      for (const std::string& id : event.ids) received_at[id] = i;
    }
    if (event.kind != IoEvent::Kind::kAck) continue;
    ++acks;
    for (const std::string& id : event.ids) {
      ASSERT_TRUE(received_at.contains(id)) << id;
      EXPECT_GT(last_segment_sync, received_at[id]) << "ack of " << id << " without an fsync after its receive";
    }
  }
  EXPECT_EQ(acks, 5u);  // 40 messages in batches of 8
}

TEST(RelayTest, FailedFsyncPoisonsTheWalAndAcksNothing) {
  RegionHarness harness;
  harness.expect_step_errors(true);
  harness.sync_fault = [](const std::string& path) {
    return is_segment(path) ? data_loss("injected EIO on " + path) : ok_status();
  };
  harness.put_messages(5);
  Result<StepOutcome> outcome = harness.relay().step();
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.code(), ErrorCode::kDataLoss);
  EXPECT_EQ(harness.source_server.acked_count(), 0u);
  EXPECT_EQ(count_events(harness, IoEvent::Kind::kAck), 0u);
  EXPECT_EQ(harness.counts(kStaging).sent, 0u);
  // No retry-and-continue: the log stays poisoned.
  harness.sync_fault = nullptr;
  outcome = harness.relay().step();
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.code(), ErrorCode::kDataLoss);
  EXPECT_EQ(harness.source_server.acked_count(), 0u);
}

TEST(RelayTest, FullWindowStopsIntakeUntilTheBusHeals) {
  RegionHarness harness;  // batch_max 8, in_flight_max 32
  harness.relay_bus().set_connected(false);
  harness.put_messages(100);
  step_relay(harness, 30);
  EXPECT_EQ(harness.relay().pending_count(), 32u);
  EXPECT_EQ(harness.wal().durable_lsn(), Lsn{32});
  EXPECT_EQ(harness.source_server.acked_count(), 32u);
  const std::size_t receives = count_events(harness, IoEvent::Kind::kReceive);
  EXPECT_EQ(receives, 4u);
  step_relay(harness, 30);
  EXPECT_EQ(count_events(harness, IoEvent::Kind::kReceive), receives);  // window full: no receive at all
  EXPECT_EQ(harness.wal().durable_lsn(), Lsn{32});
  harness.relay_bus().set_connected(true);
  ASSERT_TRUE(harness.drain());
  expect_exactly_once(harness);
}

TEST(RelayTest, FenceLostDuringTheAppendAcksAndPublishesNothing) {
  RegionHarness harness;
  harness.sync_fault = [&harness](const std::string& path) {
    if (is_segment(path)) harness.static_fence.set(Epoch{0});
    return ok_status();
  };
  harness.put_messages(4);
  step_relay(harness, 1);
  EXPECT_EQ(harness.wal().durable_lsn(), Lsn{4});
  EXPECT_EQ(harness.relay().stats().fenced_after_append, 4u);
  EXPECT_EQ(harness.source_server.acked_count(), 0u);
  EXPECT_EQ(harness.relay().pending_count(), 0u);
  EXPECT_EQ(harness.counts(kStaging).sent, 0u);
  // The region becomes writable again under a new epoch: the source redelivers, the WAL copies
  // are found done by id, nothing is lost or applied twice.
  harness.sync_fault = nullptr;
  harness.static_fence.set(Epoch{2});
  ASSERT_TRUE(harness.drain());
  expect_exactly_once(harness);
  EXPECT_EQ(harness.checkpointer().checkpoint(), Lsn{8});
}

TEST(RelayTest, WalRefusingAnOlderEpochAcksNothing) {
  RegionHarness harness(HarnessOptions{.epoch = Epoch{2}});
  harness.put_messages(2);
  ASSERT_TRUE(harness.drain());
  harness.static_fence.set(Epoch{1});
  harness.put_messages(2);
  step_relay(harness, 1);
  EXPECT_EQ(harness.source_server.acked_count(), 2u);
  EXPECT_EQ(harness.wal().durable_lsn(), Lsn{2});
  EXPECT_NE(harness.relay().health().last_error.find("wal append"), std::string::npos);
  harness.static_fence.set(Epoch{3});
  ASSERT_TRUE(harness.drain());
  expect_exactly_once(harness);
}

TEST(RelayTest, FencedRegionWritesNothing) {
  RegionHarness harness(HarnessOptions{.epoch = Epoch{0}});
  harness.put_messages(10);
  ASSERT_TRUE(harness.bus_server.send(kStaging, std::vector<BusMessage>{BusMessage{.id = message_id("s-1")}}).ok());
  ASSERT_TRUE(harness.bus_server.send(kMain, std::vector<BusMessage>{BusMessage{.id = message_id("w-1")}}).ok());
  harness.run_rounds(50);
  EXPECT_EQ(count_events(harness, IoEvent::Kind::kReceive), 0u);
  EXPECT_EQ(harness.wal().durable_lsn(), Lsn{0});
  EXPECT_EQ(harness.source_server.acked_count(), 0u);
  EXPECT_EQ(harness.counts(kStaging).delivered, 0u);  // the promoter did not even receive
  EXPECT_EQ(harness.counts(kMain).sent, 1u);
  EXPECT_EQ(harness.counts(kMain).delivered, 0u);  // nor did the workers
  EXPECT_TRUE(harness.dedupe_server.records().empty());
  EXPECT_TRUE(harness.ledger.calls.empty());
  auto checkpoint = harness.coord_server.get(checkpoint_coord_key(harness.options.relay.region));
  ASSERT_TRUE(checkpoint.ok());
  EXPECT_FALSE(checkpoint->has_value());
}

TEST(RelayTest, PublicationRecoveryRepublishesAckedRecordsAfterARestart) {
  RegionHarness harness;
  harness.relay_bus().set_connected(false);
  harness.put_messages(10);
  step_relay_until(harness, [&] { return harness.source_server.acked_count() == 10; });
  ASSERT_EQ(harness.relay().pending_count(), 10u);
  harness.crash_now();  // the pending queue was memory only
  EXPECT_TRUE(harness.relay().recovering());
  step_relay(harness, 1);
  EXPECT_EQ(harness.relay().stats().recovered, 10u);
  EXPECT_EQ(harness.relay().pending_count(), 10u);
  ASSERT_TRUE(harness.drain());
  expect_exactly_once(harness);
  EXPECT_EQ(harness.counts(kStaging).sent, 10u);
}

TEST(RelayTest, PublicationRecoverySkipsRecordsAlreadyDone) {
  RegionHarness harness;
  harness.relay_bus().set_connected(false);
  const std::vector<std::string> ids = harness.put_messages(10);
  step_relay_until(harness, [&] { return harness.source_server.acked_count() == 10; });
  for (std::size_t i = 0; i < 4; ++i) harness.mark_done_elsewhere(ids[i * 2]);
  harness.crash_now();
  step_relay(harness, 1);
  EXPECT_EQ(harness.relay().stats().recovered, 6u);
  EXPECT_EQ(harness.relay().stats().recovered_already_done, 4u);
  step_relay(harness, 2);
  EXPECT_EQ(harness.counts(kStaging).sent, 6u);
}

TEST(RelayTest, PublicationRecoveryStartsAfterTheCheckpointFile) {
  RegionHarness harness;
  harness.relay_bus().set_connected(false);
  harness.put_messages(10);
  step_relay_until(harness, [&] { return harness.source_server.acked_count() == 10; });
  ASSERT_TRUE(write_checkpoint_file(harness.env, checkpoint_file_path(kWalDir), WalCheckpoint{Lsn{5}, Epoch{1}, harness.wal().incarnation()}).ok());
  harness.crash_now();
  step_relay(harness, 2);
  EXPECT_EQ(harness.relay().stats().recovered, 5u);
  auto staged = harness.bus_server.messages(kStaging);
  ASSERT_TRUE(staged.ok());
  ASSERT_FALSE(staged->empty());
  EXPECT_EQ(staged->front().message.lsn, Lsn{6});
}

TEST(RelayTest, DamagedCheckpointFileMeansRecoveryFromTheOldestRecord) {
  RegionHarness harness;
  harness.relay_bus().set_connected(false);
  harness.put_messages(6);
  step_relay(harness, 2);
  ASSERT_TRUE(write_file_atomically(harness.env, checkpoint_file_path(kWalDir), "not a checkpoint").ok());
  harness.crash_now();
  step_relay(harness, 1);
  EXPECT_EQ(harness.relay().stats().recovered, 6u);
  EXPECT_NE(harness.relay().health().last_error.find("checkpoint file"), std::string::npos);
}

TEST(RelayTest, RetentionDeletesSegmentsBelowTheCheckpoint) {
  RegionHarness harness;
  harness.put_messages(200);
  ASSERT_TRUE(harness.drain());
  ASSERT_EQ(harness.checkpointer().checkpoint(), Lsn{200});
  harness.clock.advance(Milliseconds(2'000));
  step_relay(harness, 1);
  EXPECT_GT(harness.wal().first_lsn(), Lsn{1});
  EXPECT_LE(harness.wal().first_lsn(), Lsn{201});
  EXPECT_EQ(harness.relay().stats().retained_from, 201u);
  EXPECT_EQ(harness.wal().segments().size(), 1u);  // only the segment being written is kept
}

TEST(RelayTest, LostSendConfirmationResendsTheSameIds) {
  ScriptedFaultInjector faults;
  faults.fire_on(FaultSite::kTimeoutAfterApply, 1);  // the relay bus's first send
  RegionHarness harness(HarnessOptions{.faults_by_client = {{"relay.bus", &faults}}});
  harness.put_messages(8);
  ASSERT_TRUE(harness.drain());
  expect_exactly_once(harness);
  EXPECT_EQ(harness.counts(kStaging).sent, 16u);  // a duplicate delivery of the whole batch
  std::uint64_t suppressed = 0;
  for (std::size_t i = 0; i < 2; ++i) suppressed += harness.worker(i).stats().suppressed_duplicates + harness.worker(i).stats().suppressed_settled;
  EXPECT_EQ(suppressed, 8u);
}

TEST(RelayTest, RefusedAckStillPublishesAndTheRedeliveryIsAbsorbed) {
  ScriptedFaultInjector faults;
  faults.fire_on(FaultSite::kLockExpiresEarly, 1);  // the first ack: its handles expire first
  RegionHarness harness(HarnessOptions{.faults_by_client = {{"source", &faults}}});
  harness.put_messages(8);
  ASSERT_TRUE(harness.drain());
  expect_exactly_once(harness);
  EXPECT_EQ(harness.relay().stats().ack_failures, 8u);
  EXPECT_EQ(harness.relay().stats().appended, 16u);  // the redelivered batch was appended again
  EXPECT_EQ(harness.source_server.acked_count(), 8u);
}

class OutageInjector final : public FaultInjector {
 public:
  bool fire(FaultSite site) override { return down && site == FaultSite::kUnavailable; }
  bool down = false;
};

// Copy pins (docs/failover.md, "One id in two WAL records"): before the append, each message is
// pinned as "a:<lsn>" (the record the append creates) and "a:<lsn>:unacked"; once the source
// confirmed the ack, the unacked tags are retired and the record's tag stays for its settlement.
TEST(RelayTest, EveryAppendedRecordIsPinnedUnderItsLsn) {
  RegionHarness harness;
  harness.put_messages(8);
  step_relay_until(harness, [&] { return harness.source_server.acked_count() == 8; });
  std::map<std::string, std::vector<std::string>> pins;
  for (const DedupeRecordView& record : harness.dedupe_server.records()) pins[record.id.str()] = record.pins;
  ASSERT_EQ(pins.size(), 8u);
  std::set<std::string> tags;
  for (const auto& [id, tags_of_id] : pins) {
    ASSERT_EQ(tags_of_id.size(), 1u) << id;
    tags.insert(tags_of_id.front());
  }
  EXPECT_EQ(tags, (std::set<std::string>{"a:1", "a:2", "a:3", "a:4", "a:5", "a:6", "a:7", "a:8"}));
}

// No pin, no append: a dedupe store that cannot be reached leaves the batch in the source.
TEST(RelayTest, FailedPinAppendsAndAcksNothing) {
  OutageInjector outage;
  RegionHarness harness(HarnessOptions{.faults_by_client = {{"relay.dedupe", &outage}}});
  harness.put_messages(5);
  outage.down = true;
  step_relay(harness, 3);
  EXPECT_EQ(harness.relay().stats().appended, 0u);
  EXPECT_EQ(harness.source_server.acked_count(), 0u);
  EXPECT_EQ(harness.wal().durable_lsn(), Lsn{0});
  outage.down = false;
  ASSERT_TRUE(harness.drain());
  expect_exactly_once(harness);
}

// A relay over the harness's WAL, bus, dedupe and backup whose intake sits behind the watchdog's
// gate (GatedFence over the lease fence), as the runtime and the simulator wire it. Only this
// relay is stepped (the harness's own never is).
struct GatedRelay {
  explicit GatedRelay(RegionHarness& harness) : harness(harness), gate(harness.static_fence, /*open=*/true) {
    source = std::move(MemorySource::open(harness.source_server, "relay-gated", Milliseconds(30'000))).value();
    relay = std::move(Relay::create({.source = *source, .wal = harness.wal(), .env = harness.env,
                                     .bus = harness.relay_bus(), .dedupe = harness.relay_dedupe(), .fence = gate,
                                     .clock = harness.clock, .crash_points = harness.crash_points,
                                     .backup_sync = harness.shipper()},
                                    harness.options.relay))
                .value();
  }
  void step(std::size_t steps) {
    for (std::size_t i = 0; i < steps; ++i) {
      Result<StepOutcome> outcome = relay->step();
      ASSERT_TRUE(outcome.ok()) << outcome.error().to_string();
      if (*outcome == StepOutcome::kIdle) harness.clock.advance(Milliseconds(1'000));
    }
  }
  RegionHarness& harness;
  GatedFence gate;
  std::unique_ptr<MemorySource> source;
  std::unique_ptr<Relay> relay;
};

TEST(RelayTest, IntakeClosedWithPendingRecordsStillPublishesThem) {
  RegionHarness harness;
  GatedRelay gated(harness);
  harness.relay_bus().set_connected(false);
  harness.put_messages(8);
  gated.step(3);
  ASSERT_EQ(gated.relay->pending_count(), 8u);  // appended and acked, the bus is down
  ASSERT_EQ(harness.source_server.acked_count(), 8u);
  // The watchdog charges this failure to the region's own bus namespace (hole 15).
  EXPECT_EQ(failing_dependency(gated.relay->health().last_error), Dependency::kBus);
  gated.gate.set_open(false);  // a switchover closes intake
  harness.put_messages(8);     // arrives after intake closed: stays in the source
  harness.relay_bus().set_connected(true);
  gated.step(10);
  EXPECT_EQ(gated.relay->pending_count(), 0u);
  EXPECT_EQ(harness.counts(kStaging).sent, 8u);
  EXPECT_EQ(harness.source_server.acked_count(), 8u);  // nothing new taken
  EXPECT_EQ(harness.wal().durable_lsn(), Lsn{8});
  EXPECT_EQ(gated.relay->unpublished_count(), 0u);
}

TEST(RelayTest, IntakeClosedWhileABatchIsHeldForTheBackupFinishesIt) {
  OutageInjector outage;
  RegionHarness harness(HarnessOptions{.backup_mode = HarnessBackup::kSync,
                                       .faults_by_client = {{"backup.blobs", &outage}}});
  GatedRelay gated(harness);
  harness.put_messages(8);
  outage.down = true;
  gated.step(1);
  ASSERT_TRUE(gated.relay->holding_batch());
  // The watchdog charges this failure to the blob store, which both regions share (hole 15).
  EXPECT_EQ(failing_dependency(gated.relay->health().last_error), Dependency::kBlobStore);
  // Nothing pending: the runtime's drain check (pending_count() == 0) called this drained.
  EXPECT_EQ(gated.relay->pending_count(), 0u);
  EXPECT_EQ(gated.relay->unpublished_count(), 8u);
  gated.gate.set_open(false);
  outage.down = false;
  harness.clock.advance(Milliseconds(10'000));
  gated.step(10);
  EXPECT_FALSE(gated.relay->holding_batch());
  EXPECT_EQ(gated.relay->stats().fenced_after_append, 0u);
  EXPECT_EQ(harness.source_server.acked_count(), 8u);  // acked: the peer is not sent them again
  EXPECT_EQ(harness.counts(kStaging).sent, 8u);
  EXPECT_EQ(gated.relay->unpublished_count(), 0u);
}

// The lease fence still stops everything: a region that lost its epoch publishes nothing, even
// what it already appended.
TEST(RelayTest, LeaseFenceStillStopsPublicationWhileIntakeIsClosed) {
  RegionHarness harness;
  GatedRelay gated(harness);
  harness.relay_bus().set_connected(false);
  harness.put_messages(8);
  gated.step(3);
  ASSERT_EQ(gated.relay->pending_count(), 8u);
  gated.gate.set_open(false);
  harness.static_fence.set(Epoch{0});
  harness.relay_bus().set_connected(true);
  gated.step(10);
  EXPECT_EQ(gated.relay->pending_count(), 8u);
  EXPECT_EQ(harness.counts(kStaging).sent, 0u);
}

TEST(RelayTest, OptionsRefuseAWindowSmallerThanABatch) {
  RelayOptions options{.batch_max = 64, .in_flight_max = 8};
  options.region = *RegionId::parse("a");
  const Status status = options.validate();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().detail.find("in_flight_max"), std::string::npos);
}

TEST(RelayTest, OptionsRefuseAnEmptyRegion) {
  EXPECT_EQ(RelayOptions{}.validate().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace hadr::roles_test
