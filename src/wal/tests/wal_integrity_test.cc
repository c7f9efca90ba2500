// Proves that recovery never turns lost acknowledged records into a "torn tail" (issue 12,
// holes 10 and 5), each test failing on the code before the acknowledged floor existed:
//   - MidSegmentCutBelowCheckpointIsDataLossNotTornTail: the case (533 records acked,
//     CHECKPOINT at 533, the segment cut in the middle of LSN 191's frame): open() and
//     inspect_wal (what `hadr wal verify` runs) report acknowledged_lost naming the file, the
//     offset and LSNs 191..533; nothing is truncated; no LSN is issued again. Before: torn_tail,
//     88 bytes cut, the log reopened at LSN 190 and handed out 191 again.
//   - MidSegmentCutIsRestoredFromTheBackup: the same cut with a backup that holds the records:
//     open() restores them byte for byte and says so in its report.
//   - DamagedLastSyncedFrameIsRestoredFromTheBackup (hole 5): a bit flip in the last synced
//     frame looks like a torn write; the backup holds it, so it is restored, not dropped.
//   - BackupOfAnotherLogIsNotRestoredFrom: a backup whose record at the log's last LSN differs
//     (the backup of a log this WAL replaced) stops open() instead of mixing two logs.
//   - LostLastSegmentIsDataLoss: a whole last segment deleted (no damage left to see) is caught
//     by META's highest segment sequence.
//   - CutAboveEveryMarkIsStillATornTail: an unacknowledged torn write is still cut (and logged
//     in the report), so the floor does not turn every crash into a halt.
//   - Version1CheckpointFileAlsoSetsTheFloor: the same cut under a CHECKPOINT written before
//     incarnations existed (a log upgraded in place) — the exact probe that failed on the old
//     code with "torn_tail, 88 bytes cut" and "opened at LSN 190; the next append gets 191".
//   - IncarnationIsMadeOnceAndKept: a new log gets a random incarnation; reopening keeps it.
// Logs are written by the real Wal on a MemEnv, then damaged in place.
#include <gtest/gtest.h>
#include <xxhash.h>

#include <cstring>

#include "core/mem_env.h"
#include "wal/checkpoint_file.h"
#include "wal/recovery.h"
#include "wal/tests/wal_test_support.h"
#include "wal/wal.h"
#include "wal/wal_meta.h"

namespace hadr {
namespace {

using testing_support::make_append;
using testing_support::read_all;
using testing_support::same_content;

// A backup that holds a copy of the records, as the blob backup would after shipping them.
class VectorBackup final : public WalBackupSource {
 public:
  explicit VectorBackup(std::vector<WalRecord> records) : records_(std::move(records)) {}
  std::string describe() const override { return "the test backup"; }
  Result<std::pair<Lsn, Lsn>> extent() override {
    if (records_.empty()) return std::pair<Lsn, Lsn>{};
    return std::pair<Lsn, Lsn>{records_.front().lsn, records_.back().lsn};
  }
  Result<Lsn> contiguous_through(Lsn from) override {
    if (records_.empty() || from < records_.front().lsn || from > records_.back().lsn) return Lsn{from.value - 1};
    return records_.back().lsn;
  }
  Result<std::vector<WalRecord>> read(Lsn from, std::size_t records_max) override {
    std::vector<WalRecord> out;
    for (const WalRecord& record : records_) {
      if (record.lsn >= from && out.size() < records_max) out.push_back(record);
    }
    return out;
  }

 private:
  std::vector<WalRecord> records_;
};

class WalIntegrityTest : public ::testing::Test {
 protected:
  // Appends `count` records (batches of 7) into one large segment, as a real log of 533 acked
  // records would be; returns what was appended.
  std::vector<WalAppend> write_log(std::uint64_t count) {
    std::vector<WalAppend> written;
    auto wal = Wal::open(env_, dir_, options_);
    EXPECT_TRUE(wal.ok()) << wal.error().to_string();
    if (!wal.ok()) return written;
    incarnation_ = (*wal)->incarnation();
    for (std::uint64_t tag = 1; tag <= count;) {
      std::vector<WalAppend> batch;
      for (int index = 0; index < 7 && tag <= count; ++index) batch.push_back(make_append(tag++, Epoch{1}, 120));
      EXPECT_TRUE((*wal)->append(batch).ok());
      written.insert(written.end(), batch.begin(), batch.end());
    }
    return written;
  }

  // The CHECKPOINT file as the checkpointer writes it: every record <= lsn is done, so each was
  // acknowledged to its source long ago.
  void write_checkpoint(Lsn lsn) {
    ASSERT_TRUE(write_checkpoint_file(env_, join_path(dir_, kWalCheckpointFileName),
                                      WalCheckpoint{lsn, Epoch{1}, incarnation_})
                    .ok());
  }

  std::string last_segment() {
    auto files = list_segment_files(env_, dir_);
    EXPECT_TRUE(files.ok() && !files->empty());
    return join_path(dir_, files->back().second);
  }

  std::uint64_t offset_of(const std::string& path, Lsn lsn) {
    const std::string bytes = *env_.contents(path);
    const auto sequence = *parse_segment_file_name(path.substr(path.rfind('/') + 1));
    std::uint64_t found = 0;
    (void)scan_segment(bytes, sequence, false, options_.record_bytes_max, [&](const FrameView& frame) {
      if (frame.lsn == lsn) found = frame.offset;
    });
    EXPECT_NE(found, 0u);
    return found;
  }

  // Cuts the segment inside the frame of `lsn`, `into` bytes after its start.
  std::uint64_t cut_inside(Lsn lsn, std::uint64_t into) {
    const std::string path = last_segment();
    const std::uint64_t at = offset_of(path, lsn) + into;
    EXPECT_TRUE(env_.truncate_file(path, at).ok());
    return at;
  }

  MemEnv env_;
  const std::string dir_ = "/wal";
  WalOptions options_;  // 64 MiB segments: the whole log is one segment, as in the issue
  std::uint64_t incarnation_ = 0;
};

TEST_F(WalIntegrityTest, MidSegmentCutBelowCheckpointIsDataLossNotTornTail) {
  const auto written = write_log(533);
  write_checkpoint(Lsn{533});
  const std::string path = last_segment();
  const std::string before_cut = *env_.contents(path);
  const std::uint64_t cut_at = cut_inside(Lsn{191}, 88);
  const std::string after_cut = *env_.contents(path);

  // What `hadr wal verify` runs: fatal, with the file, the offset and the missing LSNs.
  auto inspected = inspect_wal(env_, dir_, options_);
  ASSERT_TRUE(inspected.ok()) << inspected.error().to_string();
  EXPECT_TRUE(inspected->fatal());
  EXPECT_EQ(inspected->recovery_case, RecoveryCase::kAcknowledgedLost) << inspected->detail;
  EXPECT_EQ(inspected->tail_case, RecoveryCase::kTornTail);
  EXPECT_EQ(inspected->bytes_truncated, 0u);
  EXPECT_EQ(inspected->acknowledged_lsn, Lsn{533});

  RecoveryReport report;
  auto wal = Wal::open(env_, dir_, options_, &report);
  ASSERT_FALSE(wal.ok()) << "opened at LSN " << (*wal)->durable_lsn().value << ": 343 acknowledged records lost";
  EXPECT_EQ(wal.code(), ErrorCode::kDataLoss);
  const std::string& detail = wal.error().detail;
  EXPECT_NE(detail.find(path), std::string::npos) << detail;
  EXPECT_NE(detail.find("offset " + std::to_string(cut_at - 88)), std::string::npos) << detail;
  EXPECT_NE(detail.find("LSNs 191..533"), std::string::npos) << detail;
  EXPECT_NE(detail.find("CHECKPOINT file"), std::string::npos) << detail;
  // Nothing was cut: the operator still has every byte that survived.
  EXPECT_EQ(*env_.contents(path), after_cut);
  // And it stays refused: an LSN of 191..533 is never handed out again.
  EXPECT_FALSE(Wal::open(env_, dir_, options_).ok());
  (void)before_cut;
  (void)written;
}

TEST_F(WalIntegrityTest, Version1CheckpointFileAlsoSetsTheFloor) {
  write_log(533);
  std::string bytes = std::string("HADRCKPT", 8);
  const auto put = [&bytes](auto value) { bytes.append(reinterpret_cast<const char*>(&value), sizeof value); };
  put(std::uint32_t{1});
  put(std::uint32_t{0});
  put(std::uint64_t{533});
  put(std::uint64_t{1});
  put(XXH3_64bits(bytes.data(), bytes.size()));
  auto file = env_.new_writable_file(join_path(dir_, kWalCheckpointFileName));
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->append(bytes).ok());
  ASSERT_TRUE((*file)->sync().ok());
  (void)cut_inside(Lsn{191}, 88);
  auto inspected = inspect_wal(env_, dir_, options_);
  ASSERT_TRUE(inspected.ok());
  EXPECT_TRUE(inspected->fatal()) << "hadr wal verify would exit 0: " << recovery_case_name(inspected->recovery_case)
                                  << ", " << inspected->bytes_truncated << " bytes cut";
  auto wal = Wal::open(env_, dir_, options_);
  ASSERT_FALSE(wal.ok()) << "opened at LSN " << (*wal)->durable_lsn().value;
  EXPECT_NE(wal.error().detail.find("LSNs 191..533"), std::string::npos) << wal.error().detail;
}

TEST_F(WalIntegrityTest, MidSegmentCutIsRestoredFromTheBackup) {
  const auto written = write_log(533);
  write_checkpoint(Lsn{500});
  const std::vector<WalRecord> shipped = read_all(env_, dir_, options_);
  ASSERT_EQ(shipped.size(), 533u);
  (void)cut_inside(Lsn{191}, 88);
  VectorBackup backup(shipped);
  RecoveryReport report;
  auto wal = Wal::open(env_, dir_, options_, &report, &backup);
  ASSERT_TRUE(wal.ok()) << wal.error().to_string();
  EXPECT_EQ((*wal)->durable_lsn(), Lsn{533});
  EXPECT_EQ((*wal)->incarnation(), incarnation_) << "a repaired log is the same log";
  EXPECT_EQ(report.restored_records, 343u);
  EXPECT_EQ(report.restored_first_lsn, Lsn{191});
  EXPECT_EQ(report.restored_last_lsn, Lsn{533});
  EXPECT_EQ(report.acknowledged_by, "backup");
  // The next record continues after 533: no LSN issued twice.
  auto next = (*wal)->append(std::vector<WalAppend>{make_append(534)});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, Lsn{534});
  wal->reset();
  const std::vector<WalRecord> records = read_all(env_, dir_, options_);
  ASSERT_EQ(records.size(), 534u);
  for (std::size_t index = 0; index < written.size(); ++index) {
    EXPECT_EQ(records[index].lsn, Lsn{index + 1});
    EXPECT_TRUE(same_content(records[index], written[index])) << "LSN " << index + 1;
  }
}

TEST_F(WalIntegrityTest, DamagedLastSyncedFrameIsRestoredFromTheBackup) {
  const auto written = write_log(20);
  const std::vector<WalRecord> shipped = read_all(env_, dir_, options_);  // sync backup: all 20
  const std::string path = last_segment();
  std::string byte = env_.contents(path)->substr(offset_of(path, Lsn{20}) + 60, 1);
  byte[0] = static_cast<char>(byte[0] ^ 0x10);
  ASSERT_TRUE(env_.overwrite(path, offset_of(path, Lsn{20}) + 60, byte).ok());
  VectorBackup backup(shipped);
  RecoveryReport report;
  auto wal = Wal::open(env_, dir_, options_, &report, &backup);
  ASSERT_TRUE(wal.ok()) << wal.error().to_string();
  EXPECT_EQ((*wal)->durable_lsn(), Lsn{20}) << "the acknowledged LSN 20 was dropped as a torn tail";
  EXPECT_EQ(report.recovery_case, RecoveryCase::kAcknowledgedLost);
  EXPECT_EQ(report.tail_case, RecoveryCase::kTornTail);
  EXPECT_EQ(report.restored_records, 1u);
  wal->reset();
  const std::vector<WalRecord> records = read_all(env_, dir_, options_);
  ASSERT_EQ(records.size(), 20u);
  EXPECT_TRUE(same_content(records[19], written[19]));
}

TEST_F(WalIntegrityTest, DamagedLastFrameWithABackupThatLacksItStopsAndChangesNothing) {
  write_log(20);
  std::vector<WalRecord> shipped = read_all(env_, dir_, options_);
  const std::string path = last_segment();
  const std::uint64_t at = offset_of(path, Lsn{20}) + 60;
  std::string byte = env_.contents(path)->substr(at, 1);
  byte[0] = static_cast<char>(byte[0] ^ 0x10);
  ASSERT_TRUE(env_.overwrite(path, at, byte).ok());
  const std::string damaged = *env_.contents(path);
  write_checkpoint(Lsn{20});
  shipped.resize(15);  // async backup, behind
  VectorBackup backup(shipped);
  auto wal = Wal::open(env_, dir_, options_, nullptr, &backup);
  ASSERT_FALSE(wal.ok());
  EXPECT_EQ(wal.code(), ErrorCode::kDataLoss);
  EXPECT_NE(wal.error().detail.find("LSNs 20..20"), std::string::npos) << wal.error().detail;
  EXPECT_NE(wal.error().detail.find("the test backup"), std::string::npos) << wal.error().detail;
  EXPECT_EQ(*env_.contents(path), damaged);
}

// A backup of another log (this WAL replaced an older one whose backup is still there) is never
// used to "restore" this one: its record at the log's last good LSN differs.
TEST_F(WalIntegrityTest, BackupOfAnotherLogIsNotRestoredFrom) {
  write_log(20);
  std::vector<WalRecord> other_log = read_all(env_, dir_, options_);
  for (WalRecord& record : other_log) record.payload = "another log's payload";
  WalRecord extra = other_log.back();
  for (std::uint64_t lsn = 21; lsn <= 30; ++lsn) {
    extra.lsn = Lsn{lsn};
    other_log.push_back(extra);
  }
  VectorBackup backup(other_log);
  auto wal = Wal::open(env_, dir_, options_, nullptr, &backup);
  ASSERT_FALSE(wal.ok()) << "restored another log's LSNs 21..30 into this one";
  EXPECT_EQ(wal.code(), ErrorCode::kDataLoss);
  EXPECT_NE(wal.error().detail.find("different record at LSN 20"), std::string::npos) << wal.error().detail;
  EXPECT_EQ(read_all(env_, dir_, options_).size(), 20u);
}

TEST_F(WalIntegrityTest, LostLastSegmentIsDataLoss) {
  options_ = testing_support::small_options();
  write_log(60);  // several 4 KiB segments
  auto files = list_segment_files(env_, dir_);
  ASSERT_TRUE(files.ok() && files->size() >= 3u);
  ASSERT_TRUE(env_.remove_file(join_path(dir_, files->back().second)).ok());
  auto wal = Wal::open(env_, dir_, options_);
  ASSERT_FALSE(wal.ok()) << "reopened at LSN " << (*wal)->durable_lsn().value << ", below what it had issued";
  EXPECT_EQ(wal.code(), ErrorCode::kDataLoss);
  EXPECT_NE(wal.error().detail.find("META says segment " + std::to_string(files->back().first)), std::string::npos)
      << wal.error().detail;
}

TEST_F(WalIntegrityTest, CutAboveEveryMarkIsStillATornTail) {
  write_log(30);
  write_checkpoint(Lsn{10});
  const std::uint64_t cut_at = cut_inside(Lsn{30}, 50);
  RecoveryReport report;
  auto wal = Wal::open(env_, dir_, options_, &report);
  ASSERT_TRUE(wal.ok()) << wal.error().to_string();
  EXPECT_EQ(report.recovery_case, RecoveryCase::kTornTail);
  EXPECT_EQ(report.bytes_truncated, 50u);
  EXPECT_EQ(report.offset, cut_at - 50);
  EXPECT_EQ(report.acknowledged_lsn, Lsn{10});
  EXPECT_EQ((*wal)->durable_lsn(), Lsn{29});
}

TEST_F(WalIntegrityTest, IncarnationIsMadeOnceAndKept) {
  write_log(3);
  ASSERT_NE(incarnation_, 0u);
  auto meta = read_wal_meta(env_, dir_);
  ASSERT_TRUE(meta.ok()) << meta.error().to_string();
  EXPECT_EQ(meta->incarnation, incarnation_);
  auto reopened = Wal::open(env_, dir_, options_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->incarnation(), incarnation_);
  MemEnv other;
  auto fresh = Wal::open(other, dir_, options_);
  ASSERT_TRUE(fresh.ok());
  EXPECT_NE((*fresh)->incarnation(), incarnation_);
}

TEST_F(WalIntegrityTest, DamagedMetaFileStops) {
  write_log(3);
  ASSERT_TRUE(env_.overwrite(join_path(dir_, kWalMetaFileName), 20, "x").ok());
  auto wal = Wal::open(env_, dir_, options_);
  ASSERT_FALSE(wal.ok());
  EXPECT_EQ(wal.code(), ErrorCode::kDataLoss);
  EXPECT_NE(wal.error().detail.find("META"), std::string::npos) << wal.error().detail;
}

}  // namespace
}  // namespace hadr
