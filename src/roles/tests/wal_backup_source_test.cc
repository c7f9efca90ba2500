// Proves the WAL's repair from its blob backup end to end (issue 12, holes 5 and 10), with the
// real WalShipper writing the backup to the in-memory blob store and BlobWalBackupSource reading
// it back in Wal::open:
//   - DamagedLastSyncedFrameIsRestoredAndShippingResumes (hole 5, sync backup): the last synced
//     frame is damaged. Before: open() cut it as a torn tail (an acknowledged record lost) and
//     the shipper then refused a backup reaching past the WAL, so sync-mode intake stopped for
//     good. After: the record is restored from the backup, the shipper starts, LSNs continue.
//   - MidSegmentCutIsRestoredAcrossObjects (hole 10): a segment cut in the middle, below the
//     CHECKPOINT file, is refilled from several backup objects, byte for byte.
//   - BackupWithAGapStopsAndChangesNothing: a hole in the backup below the acknowledged floor,
//     above the CHECKPOINT file, is kDataLoss naming the missing LSNs; the log is left as it was.
//   - BackupWithAGapBelowTheCheckpointContinuesAfterIt: the same hole with every record settled
//     drops the settled head (done records no copy holds) and continues after the checkpoint.
#include "roles/wal_backup_source.h"

#include <gtest/gtest.h>

#include "core/mem_env.h"
#include "memory/memory_blob_store.h"
#include "roles/checkpoint.h"
#include "roles/wal_backup.h"
#include "wal/checkpoint_file.h"
#include "wal/wal.h"

namespace hadr {
namespace {

constexpr std::string_view kDir = "/a/wal";

WalAppend make_append(std::uint64_t n) {
  return WalAppend{.epoch = Epoch{1},
                   .message_id = MessageId::parse("m-" + std::to_string(n)).value(),
                   .source_ref = "orders@" + std::to_string(n),
                   .enqueued_at = WallTime(std::chrono::seconds(1'700'000'000 + n)),
                   .headers = {{"n", std::to_string(n)}},
                   .payload = "payload " + std::to_string(n)};
}

class WalBackupSourceTest : public ::testing::Test {
 protected:
  void SetUp() override { open_wal(); }

  void open_wal(WalBackupSource* backup = nullptr) {
    auto wal = Wal::open(env_, std::string(kDir), wal_options_, &report_, backup);
    ASSERT_TRUE(wal.ok()) << wal.error().to_string();
    wal_ = std::move(wal).value();
    auto shipper = WalShipper::create({.wal = *wal_, .blobs = blobs_},
                                      WalBackupOptions{.region = region_, .chunk_records_max = 8});
    ASSERT_TRUE(shipper.ok());
    shipper_ = std::move(shipper).value();
  }

  // Appends and ships each record before the next, as the relay does in sync mode.
  void append_and_ship(std::uint64_t count) {
    for (std::uint64_t index = 0; index < count; ++index) {
      const WalAppend record = make_append(wal_->durable_lsn().value + 1);
      auto appended = wal_->append(std::span<const WalAppend>(&record, 1));
      ASSERT_TRUE(appended.ok());
      auto shipped = shipper_->ship_through(*appended);
      ASSERT_TRUE(shipped.ok()) << shipped.error().to_string();
      ASSERT_EQ(*shipped, *appended);
    }
  }

  std::vector<WalRecord> all_records() {
    std::vector<WalRecord> records;
    auto reader = wal_->read_from(Lsn{0});
    EXPECT_TRUE(reader.ok());
    for (auto next = reader->next(); next.ok() && next->has_value(); next = reader->next()) records.push_back(**next);
    return records;
  }

  std::string last_segment() { return wal_->segments().back().path; }

  std::uint64_t offset_of(Lsn lsn) {
    const std::string bytes = *env_.contents(last_segment());
    const WalSegmentInfo& segment = wal_->segments().back();
    std::uint64_t found = 0;
    (void)scan_segment(bytes, segment.sequence, false, wal_options_.record_bytes_max, [&](const FrameView& frame) {
      if (frame.lsn == lsn) found = frame.offset;
    });
    EXPECT_NE(found, 0u);
    return found;
  }

  MemEnv env_;
  WalOptions wal_options_{.segment_bytes_max = 1 << 20, .record_bytes_max = 1024};
  RegionId region_ = RegionId::parse("a").value();
  MemoryBlobServer blob_server_;
  MemoryBlobStore blobs_{blob_server_, nullptr};
  RecoveryReport report_;
  std::unique_ptr<Wal> wal_;
  std::unique_ptr<WalShipper> shipper_;
};

TEST_F(WalBackupSourceTest, DamagedLastSyncedFrameIsRestoredAndShippingResumes) {
  append_and_ship(30);
  const std::vector<WalRecord> before = all_records();
  const std::string path = last_segment();
  const std::uint64_t at = offset_of(Lsn{30}) + 50;
  std::string byte = env_.contents(path)->substr(at, 1);
  byte[0] = static_cast<char>(byte[0] ^ 0x01);
  shipper_.reset();
  wal_.reset();
  ASSERT_TRUE(env_.overwrite(path, at, byte).ok());

  BlobWalBackupSource backup(blobs_, region_);
  open_wal(&backup);
  ASSERT_EQ(wal_->durable_lsn(), Lsn{30}) << "acknowledged LSN 30 was cut as a torn tail";
  EXPECT_EQ(report_.restored_records, 1u);
  EXPECT_EQ(report_.tail_case, RecoveryCase::kTornTail);
  const std::vector<WalRecord> after = all_records();
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t index = 0; index < after.size(); ++index) {
    EXPECT_EQ(after[index].message_id, before[index].message_id);
    EXPECT_EQ(after[index].payload, before[index].payload);
    EXPECT_EQ(after[index].source_ref, before[index].source_ref);
    EXPECT_EQ(after[index].enqueued_at, before[index].enqueued_at);
  }
  // Sync-mode intake goes on: the shipper accepts the backup, the next LSN is 31.
  ASSERT_TRUE(shipper_->start().ok());
  append_and_ship(1);
  EXPECT_EQ(wal_->durable_lsn(), Lsn{31});
}

TEST_F(WalBackupSourceTest, MidSegmentCutIsRestoredAcrossObjects) {
  append_and_ship(60);
  ASSERT_TRUE(write_checkpoint_file(env_, checkpoint_file_path(kDir), {Lsn{55}, Epoch{1}, wal_->incarnation()}).ok());
  const std::vector<WalRecord> before = all_records();
  const std::string path = last_segment();
  const std::uint64_t cut_at = offset_of(Lsn{20}) + 30;
  shipper_.reset();
  wal_.reset();
  ASSERT_TRUE(env_.truncate_file(path, cut_at).ok());
  BlobWalBackupSource backup(blobs_, region_);
  open_wal(&backup);
  ASSERT_EQ(wal_->durable_lsn(), Lsn{60});
  EXPECT_EQ(report_.restored_first_lsn, Lsn{20});
  EXPECT_EQ(report_.restored_last_lsn, Lsn{60});
  const std::vector<WalRecord> after = all_records();
  ASSERT_EQ(after.size(), 60u);
  for (std::size_t index = 0; index < after.size(); ++index) EXPECT_EQ(after[index].payload, before[index].payload);
}

TEST_F(WalBackupSourceTest, BackupWithAGapStopsAndChangesNothing) {
  append_and_ship(40);
  ASSERT_TRUE(write_checkpoint_file(env_, checkpoint_file_path(kDir), {Lsn{5}, Epoch{1}, wal_->incarnation()}).ok());
  const std::string path = last_segment();
  const std::uint64_t cut_at = offset_of(Lsn{10}) + 30;
  shipper_.reset();
  wal_.reset();
  ASSERT_TRUE(env_.truncate_file(path, cut_at).ok());
  const std::string damaged = *env_.contents(path);
  // Lose the object that holds LSN 17 (sync mode ships one object per record here).
  ASSERT_TRUE(blob_server_.remove(backup_object_key(region_, {Lsn{17}, Lsn{17}})).ok());
  BlobWalBackupSource backup(blobs_, region_);
  auto wal = Wal::open(env_, std::string(kDir), wal_options_, &report_, &backup);
  ASSERT_FALSE(wal.ok());
  EXPECT_EQ(wal.code(), ErrorCode::kDataLoss);
  EXPECT_NE(wal.error().detail.find("LSNs 10..40"), std::string::npos) << wal.error().detail;
  EXPECT_NE(wal.error().detail.find("only through 16"), std::string::npos) << wal.error().detail;
  EXPECT_EQ(*env_.contents(path), damaged);
}

// The same cut and gap with every record settled (CHECKPOINT at 40): the lost records are done
// and no copy holds them all, so the log continues after the checkpoint (wal/segment_repair.h);
// no LSN is issued twice.
TEST_F(WalBackupSourceTest, BackupWithAGapBelowTheCheckpointContinuesAfterIt) {
  append_and_ship(40);
  ASSERT_TRUE(write_checkpoint_file(env_, checkpoint_file_path(kDir), {Lsn{40}, Epoch{1}, wal_->incarnation()}).ok());
  const std::string path = last_segment();
  const std::uint64_t cut_at = offset_of(Lsn{10}) + 30;
  shipper_.reset();
  wal_.reset();
  ASSERT_TRUE(env_.truncate_file(path, cut_at).ok());
  ASSERT_TRUE(blob_server_.remove(backup_object_key(region_, {Lsn{17}, Lsn{17}})).ok());
  BlobWalBackupSource backup(blobs_, region_);
  auto wal = Wal::open(env_, std::string(kDir), wal_options_, &report_, &backup);
  ASSERT_TRUE(wal.ok()) << wal.error().to_string();
  EXPECT_EQ((*wal)->durable_lsn(), Lsn{40});
  EXPECT_EQ((*wal)->first_lsn(), Lsn{41});
  EXPECT_EQ(report_.dropped_through, Lsn{40});
}

}  // namespace
}  // namespace hadr
