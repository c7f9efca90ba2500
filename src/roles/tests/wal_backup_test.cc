// Proves the WAL backup (wal_backup.h) on a MemEnv WAL and the in-memory blob store:
//   - shipped objects decode back to exactly the WAL's records (every field, binary payloads),
//     cut at chunk_records_max / chunk_bytes_max, a record larger than a chunk alone; seals too;
//   - a restarted shipper resumes after the last shipped LSN without writing objects again; a
//     lost put confirm makes the retry find the object (put_if_absent false, counted) or write an
//     overlapping range, and both decode;
//   - keys are parsed strictly (a foreign key under the prefix is kDataLoss naming it); a backup
//     reaching past the WAL is refused; records retention removed are skipped and counted;
//   - retain_below deletes only objects wholly below the given LSN;
//   - the async WalBackup role ships to the durable LSN and backs off on a store outage;
//   - the relay in sync mode never acks a message that is not in the blob store: it holds the
//     batch while the store is down and acks after it recovers; in async mode intake pauses at
//     backup_lag_max; relay retention deletes backup objects below the checkpoint and keeps WAL
//     segments that are not shipped yet.
#include "roles/wal_backup.h"
#include "roles/settled_floor.h"

#include <gtest/gtest.h>

#include <set>

#include "memory/memory_blob_store.h"
#include "roles/tests/region_harness.h"

namespace hadr::roles_test {
namespace {

constexpr std::string_view kDir = "/a/wal";

RegionId region(std::string_view name) { return RegionId::parse(name).value(); }

// Fails the calls of a client while `down` is true (a blob store outage).
class OutageInjector final : public FaultInjector {
 public:
  bool fire(FaultSite site) override { return down && site == FaultSite::kUnavailable; }
  bool down = false;
};

WalAppend make_append(std::size_t n, Epoch epoch = Epoch{1}) {
  std::string payload = "payload " + std::to_string(n);
  payload.push_back('\0');
  payload.push_back(static_cast<char>(0xff));
  return WalAppend{.epoch = epoch,
                   .message_id = message_id("m-" + std::to_string(n)),
                   .source_ref = "orders@" + std::to_string(n),
                   .enqueued_at = WallTime(std::chrono::seconds(1'700'000'000 + n)),
                   .headers = {{"kind", "test"}, {"n", std::to_string(n)}},
                   .payload = payload};
}

struct WalFixture {
  explicit WalFixture(WalBackupOptions backup_options = {}, WalOptions wal_options = {.segment_bytes_max = 4096,
                                                                                      .record_bytes_max = 2048}) {
    wal = Wal::open(env, std::string(kDir), wal_options).value();
    backup_options.region = region("a");
    options = backup_options;
    restart_shipper();
  }
  void restart_shipper() { shipper = WalShipper::create({.wal = *wal, .blobs = blob_client}, options).value(); }
  void append(std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      const WalAppend record = make_append(wal->durable_lsn().value + 1);
      ASSERT_TRUE(wal->append(std::span<const WalAppend>(&record, 1)).ok());
    }
  }
  Lsn ship_all() {
    for (int call = 0; call < 100 && shipper->shipped_lsn() < wal->durable_lsn(); ++call) {
      Result<Lsn> shipped = shipper->ship_through(wal->durable_lsn());
      EXPECT_TRUE(shipped.ok()) << shipped.error().to_string();
      if (!shipped.ok()) break;
    }
    return shipper->shipped_lsn();
  }
  std::vector<std::string> keys() {
    return blob_server.list("wal/a/", "", BlobStore::kMaxListPage).value().keys;
  }
  // Every record of every object, in key order.
  std::vector<WalRecord> backed_up_records() {
    std::vector<WalRecord> all;
    for (const std::string& key : keys()) {
      const BackupRange range = parse_backup_object_key(key, "wal/a/").value();
      auto records = decode_backup_object(key, blob_server.get(key).value(), range);
      EXPECT_TRUE(records.ok()) << records.error().to_string();
      if (records.ok()) all.insert(all.end(), records->begin(), records->end());
    }
    return all;
  }

  MemEnv env;
  std::unique_ptr<Wal> wal;
  MemoryBlobServer blob_server;
  OutageInjector outage;
  MemoryBlobStore blob_client{blob_server, &outage};
  WalBackupOptions options;
  std::unique_ptr<WalShipper> shipper;
};

void expect_same_record(const WalRecord& actual, const WalRecord& expected) {
  EXPECT_EQ(actual.lsn, expected.lsn);
  EXPECT_EQ(actual.epoch, expected.epoch);
  EXPECT_EQ(actual.type, expected.type);
  EXPECT_EQ(actual.message_id, expected.message_id);
  EXPECT_EQ(actual.source_ref, expected.source_ref);
  EXPECT_EQ(actual.enqueued_at, expected.enqueued_at);
  EXPECT_EQ(actual.headers, expected.headers);
  EXPECT_EQ(actual.payload, expected.payload);
}

std::vector<WalRecord> wal_records(const Wal& wal) {
  std::vector<WalRecord> records;
  WalReader reader = wal.read_from(Lsn{0}).value();
  for (int i = 0; i < 100'000; ++i) {
    std::optional<WalRecord> record = reader.next().value();
    if (!record) break;
    records.push_back(std::move(*record));
  }
  return records;
}

TEST(WalShipperTest, ShipsRecordsThatDecodeBackExactly) {
  WalFixture fixture(WalBackupOptions{.chunk_records_max = 4});
  fixture.append(10);
  EXPECT_EQ(fixture.ship_all(), Lsn{10});
  EXPECT_EQ(fixture.keys(), (std::vector<std::string>{"wal/a/00000000000000000001-00000000000000000004",
                                                      "wal/a/00000000000000000005-00000000000000000008",
                                                      "wal/a/00000000000000000009-00000000000000000010"}));
  const std::vector<WalRecord> shipped = fixture.backed_up_records();
  const std::vector<WalRecord> logged = wal_records(*fixture.wal);
  ASSERT_EQ(shipped.size(), logged.size());
  for (std::size_t i = 0; i < shipped.size(); ++i) expect_same_record(shipped[i], logged[i]);
  EXPECT_EQ(fixture.shipper->stats().objects_written, 3u);
  EXPECT_EQ(fixture.shipper->stats().records_shipped, 10u);
}

TEST(WalShipperTest, CutsObjectsAtTheByteLimitAndShipsALargeRecordAlone) {
  WalFixture fixture(WalBackupOptions{.chunk_records_max = 100, .chunk_bytes_max = WalShipper::kChunkBytesMin});
  fixture.append(3);
  WalAppend large = make_append(4);
  large.payload.assign(1900, 'x');  // with 3 small records it would pass 4096 bytes
  ASSERT_TRUE(fixture.wal->append(std::span<const WalAppend>(&large, 1)).ok());
  EXPECT_EQ(fixture.ship_all(), Lsn{4});
  for (const std::string& key : fixture.keys()) EXPECT_LE(fixture.blob_server.get(key)->size(), 4096u) << key;
  EXPECT_EQ(fixture.backed_up_records().size(), 4u);

  WalFixture tiny(WalBackupOptions{.chunk_records_max = 100, .chunk_bytes_max = WalShipper::kChunkBytesMin});
  WalAppend huge = make_append(1);
  huge.payload.assign(1980, 'y');
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(tiny.wal->append(std::span<const WalAppend>(&huge, 1)).ok());
  EXPECT_EQ(tiny.ship_all(), Lsn{3});
  EXPECT_EQ(tiny.keys().size(), 3u);  // two such frames pass 4 KiB: one record per object
}

TEST(WalShipperTest, ShipsOnlyUpToTheTargetAndABoundedNumberOfObjectsPerCall) {
  WalFixture fixture(WalBackupOptions{.chunk_records_max = 2});
  fixture.append(20);
  EXPECT_EQ(fixture.shipper->ship_through(Lsn{3}).value(), Lsn{3});
  EXPECT_EQ(fixture.shipper->ship_through(Lsn{100}).value(), Lsn{3 + 2 * WalShipper::kChunksPerCallMax});
}

TEST(WalShipperTest, SealRecordsAreShipped) {
  WalFixture fixture;
  fixture.append(2);
  ASSERT_TRUE(fixture.wal->seal(Epoch{1}).ok());
  EXPECT_EQ(fixture.ship_all(), Lsn{3});
  const std::vector<WalRecord> shipped = fixture.backed_up_records();
  ASSERT_EQ(shipped.size(), 3u);
  EXPECT_EQ(shipped[2].type, WalRecordType::kSeal);
  EXPECT_EQ(shipped[2].epoch, Epoch{1});
}

TEST(WalShipperTest, ARestartedShipperResumesWithoutWritingObjectsAgain) {
  WalFixture fixture(WalBackupOptions{.chunk_records_max = 4});
  fixture.append(6);
  fixture.ship_all();
  fixture.restart_shipper();
  ASSERT_TRUE(fixture.shipper->start().ok());
  EXPECT_EQ(fixture.shipper->shipped_lsn(), Lsn{6});
  fixture.append(3);
  EXPECT_EQ(fixture.ship_all(), Lsn{9});
  EXPECT_EQ(fixture.shipper->stats().objects_written, 1u);
  EXPECT_EQ(fixture.shipper->stats().objects_already_present, 0u);
  EXPECT_EQ(fixture.keys().size(), 3u);
}

TEST(WalShipperTest, ALostConfirmMakesTheRetryFindTheObject) {
  ManualFaultInjector faults;
  WalFixture fixture(WalBackupOptions{.chunk_records_max = 4});
  MemoryBlobStore lossy(fixture.blob_server, &faults);
  auto shipper = WalShipper::create({.wal = *fixture.wal, .blobs = lossy}, fixture.options).value();
  fixture.append(4);
  faults.arm(FaultSite::kTimeoutAfterApply);
  Result<Lsn> first = shipper->ship_through(Lsn{4});
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(shipper->shipped_lsn(), Lsn{0});
  EXPECT_EQ(shipper->ship_through(Lsn{4}).value(), Lsn{4});
  EXPECT_EQ(shipper->stats().objects_already_present, 1u);
  EXPECT_EQ(fixture.keys().size(), 1u);
}

TEST(WalShipperTest, OverlappingRangesAfterALostConfirmBothDecode) {
  ManualFaultInjector faults;
  WalFixture fixture(WalBackupOptions{.chunk_records_max = 8});
  MemoryBlobStore lossy(fixture.blob_server, &faults);
  auto shipper = WalShipper::create({.wal = *fixture.wal, .blobs = lossy}, fixture.options).value();
  fixture.append(3);
  faults.arm(FaultSite::kTimeoutAfterApply);
  ASSERT_FALSE(shipper->ship_through(Lsn{3}).ok());
  fixture.append(3);
  EXPECT_EQ(shipper->ship_through(Lsn{6}).value(), Lsn{6});
  EXPECT_EQ(fixture.keys(), (std::vector<std::string>{"wal/a/00000000000000000001-00000000000000000003",
                                                      "wal/a/00000000000000000001-00000000000000000006"}));
  EXPECT_EQ(fixture.backed_up_records().size(), 9u);  // readers skip the LSNs they already have
  fixture.restart_shipper();
  ASSERT_TRUE(fixture.shipper->start().ok());
  EXPECT_EQ(fixture.shipper->shipped_lsn(), Lsn{6});
}

TEST(WalShipperTest, MalformedKeyUnderThePrefixIsDataLossNamingIt) {
  WalFixture fixture;
  ASSERT_TRUE(fixture.blob_server.put("wal/a/not-a-range", "x").ok());
  const Status started = fixture.shipper->start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.code(), ErrorCode::kDataLoss);
  EXPECT_NE(started.error().detail.find("wal/a/not-a-range"), std::string::npos) << started.error().detail;
  for (const std::string_view key : {"wal/a/00000000000000000002-00000000000000000001",
                                     "wal/a/00000000000000000000-00000000000000000001",
                                     "wal/a/0000000000000000000x-00000000000000000001",
                                     "wal/a/99999999999999999999-99999999999999999999",
                                     "wal/a/00000000000000000001_00000000000000000001",
                                     "wal/a/000000000000000000001-0000000000000000001"}) {
    EXPECT_EQ(parse_backup_object_key(key, "wal/a/").code(), ErrorCode::kDataLoss) << key;
  }
  EXPECT_TRUE(parse_backup_object_key("wal/a/00000000000000000001-00000000000000000001", "wal/a/").ok());
}

TEST(WalShipperTest, ABackupReachingPastTheWalIsRefused) {
  WalFixture fixture;
  fixture.append(2);
  ASSERT_TRUE(fixture.blob_server.put("wal/a/00000000000000000001-00000000000000000009", "x").ok());
  const Status started = fixture.shipper->start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.code(), ErrorCode::kFailedPrecondition);
}

TEST(WalShipperTest, RecordsRetentionRemovedBeforeTheBackupAreSkippedAndCounted) {
  WalFixture fixture;
  fixture.append(60);  // several 4 KiB segments
  ASSERT_TRUE(fixture.wal->retain_from(Lsn{40}).ok());
  const Lsn first_kept = fixture.wal->first_lsn();
  ASSERT_GT(first_kept, Lsn{1});
  EXPECT_EQ(fixture.ship_all(), Lsn{60});
  EXPECT_EQ(fixture.shipper->stats().records_skipped_retained, first_kept.value - 1);
  EXPECT_EQ(fixture.backed_up_records().front().lsn, first_kept);
}

TEST(WalShipperTest, RetainBelowDeletesOnlyObjectsWhollyBelow) {
  WalFixture fixture(WalBackupOptions{.chunk_records_max = 4});
  fixture.append(12);
  fixture.ship_all();
  ASSERT_TRUE(fixture.shipper->retain_below(Lsn{1}).ok());
  EXPECT_EQ(fixture.keys().size(), 3u);
  ASSERT_TRUE(fixture.shipper->retain_below(Lsn{8}).ok());  // 5..8 still holds LSN 8
  EXPECT_EQ(fixture.keys(), (std::vector<std::string>{"wal/a/00000000000000000005-00000000000000000008",
                                                      "wal/a/00000000000000000009-00000000000000000012"}));
  ASSERT_TRUE(fixture.shipper->retain_below(Lsn{9}).ok());
  EXPECT_EQ(fixture.keys().size(), 1u);
  EXPECT_EQ(fixture.shipper->stats().objects_deleted, 2u);
}

// Issue 12, hole 13: a backup object vanished (a deleted blob). shipped_lsn() is past it, so
// shipping alone never fills the hole and the other region's replay would stop there. The
// repair re-ships the missing range from the WAL, under the same key, and finds nothing more.
TEST(WalShipperTest, RepairReshipsAnObjectLostFromTheBackup) {
  WalFixture fixture(WalBackupOptions{.chunk_records_max = 3});
  fixture.append(9);
  ASSERT_EQ(fixture.ship_all(), Lsn{9});  // objects 1-3, 4-6, 7-9
  ASSERT_TRUE(fixture.blob_server.remove("wal/a/00000000000000000004-00000000000000000006").ok());
  EXPECT_EQ(fixture.shipper->repair_gaps().value(), 3u);
  EXPECT_EQ(fixture.keys(), (std::vector<std::string>{"wal/a/00000000000000000001-00000000000000000003",
                                                      "wal/a/00000000000000000004-00000000000000000006",
                                                      "wal/a/00000000000000000007-00000000000000000009"}));
  const std::vector<WalRecord> shipped = fixture.backed_up_records();
  const std::vector<WalRecord> logged = wal_records(*fixture.wal);
  ASSERT_EQ(shipped.size(), logged.size());
  for (std::size_t i = 0; i < shipped.size(); ++i) expect_same_record(shipped[i], logged[i]);
  EXPECT_EQ(fixture.shipper->repair_gaps().value(), 0u);  // whole again
  EXPECT_EQ(fixture.shipper->shipped_lsn(), Lsn{9});      // never moved back
  EXPECT_EQ(fixture.shipper->stats().gaps_found, 1u);
  EXPECT_EQ(fixture.shipper->stats().records_reshipped, 3u);
}

// The container restarted empty (Azurite without its volume): every object is gone, the WAL
// still holds every record. Repair re-ships it all, a bounded number of objects per call.
TEST(WalShipperTest, RepairAfterTheContainerRestartedEmptyReshipsWhatTheWalHolds) {
  WalFixture fixture(WalBackupOptions{.chunk_records_max = 2});
  fixture.append(11);
  ASSERT_EQ(fixture.ship_all(), Lsn{11});
  for (const std::string& key : fixture.keys()) ASSERT_TRUE(fixture.blob_server.remove(key).ok());
  // kChunksPerCallMax objects of 2 records per call.
  EXPECT_EQ(fixture.shipper->repair_gaps().value(), 2 * WalShipper::kChunksPerCallMax);
  std::uint64_t total = 2 * WalShipper::kChunksPerCallMax;
  for (int call = 0; call < 10; ++call) total += fixture.shipper->repair_gaps().value();
  EXPECT_EQ(total, 11u);
  EXPECT_EQ(fixture.backed_up_records().size(), 11u);
  // New records ship on as before, after the repaired range.
  fixture.append(2);
  EXPECT_EQ(fixture.ship_all(), Lsn{13});
  EXPECT_EQ(fixture.backed_up_records().size(), 13u);
}

// What the WAL no longer holds (retention removed it: settled, at or below the checkpoint) is
// not the repair's to re-ship; a gap above it is.
TEST(WalShipperTest, RepairStartsAtTheFirstRecordTheWalKeeps) {
  WalFixture fixture(WalBackupOptions{.chunk_records_max = 3});
  fixture.append(60);
  ASSERT_EQ(fixture.ship_all(), Lsn{60});
  const Lsn checkpoint{40};
  ASSERT_TRUE(fixture.wal->retain_from(checkpoint.next()).ok());
  const Lsn first_kept = fixture.wal->first_lsn();
  ASSERT_GT(first_kept, Lsn{1});  // some segments went
  for (const std::string& key : fixture.keys()) ASSERT_TRUE(fixture.blob_server.remove(key).ok());
  std::uint64_t total = 0;
  for (int call = 0; call < 20; ++call) total += fixture.shipper->repair_gaps().value();
  EXPECT_EQ(total, 60 - first_kept.value + 1);
  const std::vector<WalRecord> shipped = fixture.backed_up_records();
  ASSERT_FALSE(shipped.empty());
  EXPECT_EQ(shipped.front().lsn, first_kept);
  EXPECT_EQ(shipped.back().lsn, Lsn{60});
}

TEST(WalShipperTest, DecodeRefusesAHeaderThatDisagreesWithItsKey) {
  WalFixture fixture(WalBackupOptions{.chunk_records_max = 4});
  fixture.append(4);
  fixture.ship_all();
  const std::string bytes = fixture.blob_server.get(fixture.keys()[0]).value();
  EXPECT_EQ(decode_backup_object("k", bytes, {Lsn{1}, Lsn{5}}).code(), ErrorCode::kDataLoss);
  EXPECT_EQ(decode_backup_object("k", bytes.substr(0, bytes.size() - 1), {Lsn{1}, Lsn{4}}).code(),
            ErrorCode::kDataLoss);
  EXPECT_EQ(decode_backup_object("k", bytes + "extra", {Lsn{1}, Lsn{4}}).code(), ErrorCode::kDataLoss);
  EXPECT_TRUE(decode_backup_object("k", bytes, {Lsn{1}, Lsn{4}}).ok());
}

TEST(WalShipperTest, OptionsOutOfRangeAreRefused) {
  WalFixture fixture;
  const auto refused = [&](WalBackupOptions options) {
    return WalShipper::create({.wal = *fixture.wal, .blobs = fixture.blob_client}, options).code() ==
           ErrorCode::kInvalidArgument;
  };
  EXPECT_TRUE(refused(WalBackupOptions{}));  // no region
  EXPECT_TRUE(refused(WalBackupOptions{.region = region("a"), .chunk_records_max = 0}));
  EXPECT_TRUE(refused(WalBackupOptions{.region = region("a"), .chunk_records_max = 10'001}));
  EXPECT_TRUE(refused(WalBackupOptions{.region = region("a"), .chunk_bytes_max = 100}));
}

TEST(WalBackupRoleTest, ShipsToTheDurableLsnAndBacksOffDuringAnOutage) {
  ManualClock clock;
  WalFixture fixture(WalBackupOptions{.chunk_records_max = 2});
  auto backup = WalBackup::create({.shipper = *fixture.shipper, .wal = *fixture.wal, .clock = clock}).value();
  EXPECT_EQ(backup->name(), "backup");
  fixture.append(5);
  fixture.outage.down = true;
  EXPECT_EQ(backup->step().value(), StepOutcome::kIdle);
  EXPECT_EQ(backup->health().errors_total, 1u);
  EXPECT_EQ(backup->health().lag, 5);
  fixture.outage.down = false;
  EXPECT_EQ(backup->step().value(), StepOutcome::kIdle);  // still backing off
  clock.advance(Milliseconds(10));
  for (int i = 0; i < 10 && backup->health().lag > 0; ++i) ASSERT_TRUE(backup->step().ok());
  EXPECT_EQ(fixture.shipper->shipped_lsn(), Lsn{5});
  EXPECT_EQ(backup->health().lag, 0);
  EXPECT_EQ(backup->step().value(), StepOutcome::kIdle);  // caught up
}

// In sync mode the relay ships and the role only repairs: once per repair_interval it lists the
// backup and re-ships what vanished, whatever the fence (a passive region repairing its own
// backup is what lets the other region's replay past the hole).
TEST(WalBackupRoleTest, RepairsLostObjectsEveryRepairIntervalWithoutShipping) {
  ManualClock clock;
  WalFixture fixture(WalBackupOptions{.chunk_records_max = 2, .repair_interval = Milliseconds(1'000)});
  auto backup =
      WalBackup::create({.shipper = *fixture.shipper, .wal = *fixture.wal, .clock = clock, .ships = false}).value();
  fixture.append(6);
  ASSERT_EQ(fixture.ship_all(), Lsn{6});  // what the sync relay does
  fixture.append(1);                      // appended, not yet shipped by the relay: not this role's
  EXPECT_EQ(backup->step().value(), StepOutcome::kIdle);  // the first repair: nothing missing
  ASSERT_TRUE(fixture.blob_server.remove("wal/a/00000000000000000003-00000000000000000004").ok());
  EXPECT_EQ(backup->step().value(), StepOutcome::kIdle);  // not due yet
  clock.advance(Milliseconds(1'000));
  EXPECT_EQ(backup->step().value(), StepOutcome::kProgress);
  EXPECT_EQ(fixture.backed_up_records().size(), 6u);
  EXPECT_EQ(fixture.shipper->shipped_lsn(), Lsn{6});  // LSN 7 is the relay's to ship
  EXPECT_EQ(backup->step().value(), StepOutcome::kIdle);  // whole again
}

TEST(WalBackupRoleTest, AMalformedKeyStopsTheRegion) {
  ManualClock clock;
  WalFixture fixture;
  auto backup = WalBackup::create({.shipper = *fixture.shipper, .wal = *fixture.wal, .clock = clock}).value();
  fixture.append(1);
  ASSERT_TRUE(fixture.blob_server.put("wal/a/junk", "x").ok());
  Result<StepOutcome> outcome = backup->step();
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.code(), ErrorCode::kDataLoss);
}

// ---- the relay with a backup -------------------------------------------------------------------

// The ids of every message record in the blob store.
std::set<std::string> backed_up_ids(RegionHarness& harness) {
  std::set<std::string> ids;
  const BlobPage page = harness.blob_server.list("wal/a/", "", BlobStore::kMaxListPage).value();
  for (const std::string& key : page.keys) {
    const BackupRange range = parse_backup_object_key(key, "wal/a/").value();
    const std::vector<WalRecord> records =
        decode_backup_object(key, harness.blob_server.get(key).value(), range).value();
    for (const WalRecord& record : records) {
      if (record.type == WalRecordType::kMessage) ids.insert(record.message_id.str());
    }
  }
  return ids;
}

std::set<std::string> acked_ids(const RegionHarness& harness) {
  std::set<std::string> ids;
  for (const IoEvent& event : harness.io_log()) {
    if (event.kind == IoEvent::Kind::kAck && event.ok) ids.insert(event.ids.begin(), event.ids.end());
  }
  return ids;
}

TEST(RelayBackupTest, SyncRelayAcksOnlyWhatIsInTheBlobStore) {
  RegionHarness harness(HarnessOptions{.backup_mode = HarnessBackup::kSync});
  harness.put_messages(50);
  for (int round = 0; round < 400 && !harness.drain(true, 1); ++round) {
    const std::set<std::string> in_backup = backed_up_ids(harness);
    for (const std::string& id : acked_ids(harness)) ASSERT_TRUE(in_backup.contains(id)) << id << " acked, not backed up";
  }
  ASSERT_TRUE(harness.drain());
  EXPECT_EQ(acked_ids(harness).size(), 50u);
  EXPECT_EQ(harness.shipper()->shipped_lsn(), harness.wal().durable_lsn());
  EXPECT_EQ(harness.duplicate_effects(), 0u);
  EXPECT_TRUE(harness.lost().empty());
}

TEST(RelayBackupTest, SyncRelayHoldsTheBatchWhileTheBlobStoreIsDownAndAcksAfterItRecovers) {
  OutageInjector outage;
  RegionHarness harness(HarnessOptions{.backup_mode = HarnessBackup::kSync,
                                       .faults_by_client = {{"backup.blobs", &outage}}});
  harness.put_messages(20);
  outage.down = true;
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(harness.relay().step().ok());
    harness.clock.advance(Milliseconds(1'000));
  }
  EXPECT_TRUE(harness.relay().holding_batch());
  EXPECT_EQ(harness.relay().stats().appended, 8u);  // one batch, and nothing received after it
  EXPECT_EQ(harness.source_server.acked_count(), 0u);
  EXPECT_EQ(harness.counts(kStaging).sent, 0u);
  EXPECT_GT(harness.relay().stats().backup_holds, 1u);
  outage.down = false;
  harness.clock.advance(Milliseconds(10'000));
  ASSERT_TRUE(harness.relay().step().ok());
  EXPECT_FALSE(harness.relay().holding_batch());
  EXPECT_EQ(harness.source_server.acked_count(), 8u);
  ASSERT_TRUE(harness.drain());
  EXPECT_EQ(backed_up_ids(harness).size(), 20u);
  EXPECT_TRUE(harness.lost().empty());
}

TEST(RelayBackupTest, SyncRelayFencedWhileHoldingAcksNothing) {
  OutageInjector outage;
  RegionHarness harness(HarnessOptions{.backup_mode = HarnessBackup::kSync,
                                       .faults_by_client = {{"backup.blobs", &outage}}});
  harness.put_messages(8);
  outage.down = true;
  ASSERT_TRUE(harness.relay().step().ok());
  ASSERT_TRUE(harness.relay().holding_batch());
  harness.static_fence.set(Epoch{2});  // lost the lease and won it again: a new epoch
  outage.down = false;
  harness.clock.advance(Milliseconds(10'000));
  ASSERT_TRUE(harness.relay().step().ok());
  EXPECT_FALSE(harness.relay().holding_batch());
  EXPECT_EQ(harness.source_server.acked_count(), 0u);
  EXPECT_EQ(harness.relay().stats().fenced_after_append, 8u);
}

TEST(RelayBackupTest, AsyncBackupLagBoundPausesIntake) {
  HarnessOptions options{.backup_mode = HarnessBackup::kAsync};
  options.relay.backup_lag_max = 12;
  RegionHarness harness(options);
  harness.put_messages(40);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(harness.relay().step().ok());
    harness.clock.advance(Milliseconds(1'000));
  }
  EXPECT_EQ(harness.wal().durable_lsn(), Lsn{12});  // never more than backup_lag_max ahead
  EXPECT_GT(harness.relay().stats().backup_lag_pauses, 0u);
  ASSERT_EQ(harness.shipper()->ship_through(Lsn{5}).value(), Lsn{5});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(harness.relay().step().ok());
  EXPECT_EQ(harness.wal().durable_lsn(), Lsn{17});
}

TEST(RelayBackupTest, RelayCreateRefusesContradictoryBackupSettings) {
  RegionHarness harness;
  MemoryBlobStore blobs(harness.blob_server);
  auto shipper = WalShipper::create({.wal = harness.wal(), .blobs = blobs}, WalBackupOptions{.region = region("a")}).value();
  auto other = WalShipper::create({.wal = harness.wal(), .blobs = blobs}, WalBackupOptions{.region = region("b")}).value();
  NoCrashPoints crash_points;
  MemoryBus bus(harness.bus_server);
  MemoryDedupeStore dedupe(harness.dedupe_server);
  std::unique_ptr<MemorySource> source = MemorySource::open(harness.source_server, "relay-x", Milliseconds(1'000)).value();
  const auto create = [&](WalShipper* sync, WalShipper* async, std::uint64_t lag_max) {
    RelayOptions options{.region = region("a"), .backup_lag_max = lag_max};
    return Relay::create({.source = *source, .wal = harness.wal(), .env = harness.env, .bus = bus, .dedupe = dedupe,
                          .fence = harness.fence, .clock = harness.clock, .crash_points = crash_points,
                          .backup_sync = sync, .backup_async = async},
                         options)
        .code();
  };
  EXPECT_EQ(create(shipper.get(), shipper.get(), 10), ErrorCode::kInvalidArgument);
  EXPECT_EQ(create(nullptr, shipper.get(), 0), ErrorCode::kInvalidArgument);
  EXPECT_EQ(create(other.get(), nullptr, 10), ErrorCode::kInvalidArgument);
}

TEST(RelayBackupTest, RetentionDeletesBackupObjectsBelowTheCheckpointAndKeepsUnshippedSegments) {
  HarnessOptions options{.backup_mode = HarnessBackup::kAsync};
  options.relay.backup_lag_max = 1'000'000;
  RegionHarness harness(options);
  harness.put_messages(120);  // several 4 KiB segments
  ASSERT_TRUE(harness.drain());
  const Lsn checkpoint = harness.checkpointer().checkpoint();
  ASSERT_EQ(checkpoint, Lsn{120});
  harness.run_rounds(3, Milliseconds(2'000));  // retention ran: nothing is shipped yet
  EXPECT_EQ(harness.wal().first_lsn(), Lsn{1});
  EXPECT_EQ(harness.relay().stats().retained_from, 1u);
  for (int call = 0; call < 10 && harness.shipper()->shipped_lsn() < Lsn{60}; ++call) {
    ASSERT_TRUE(harness.shipper()->ship_through(Lsn{60}).ok());
  }
  ASSERT_EQ(harness.shipper()->shipped_lsn(), Lsn{60});
  ASSERT_EQ(harness.blob_server.object_count(), 8u);  // 7 x 8 records + 4
  harness.run_rounds(3, Milliseconds(2'000));
  EXPECT_EQ(harness.relay().stats().retained_from, 61u);  // min(checkpoint + 1, shipped + 1)
  EXPECT_GT(harness.wal().first_lsn(), Lsn{1});
  EXPECT_LE(harness.wal().first_lsn(), Lsn{61});
  // Every backup object is below the checkpoint; what is left is the floor object that says so
  // (settled_floor.h), written before the first delete.
  EXPECT_EQ(harness.blob_server.object_count(), 1u);
  EXPECT_EQ(harness.shipper()->stats().objects_deleted, 8u);
  MemoryBlobStore probe(harness.blob_server);
  EXPECT_EQ(read_backup_floor(probe, RegionId::parse("a").value()).value(), Lsn{120});
}

}  // namespace
}  // namespace hadr::roles_test
