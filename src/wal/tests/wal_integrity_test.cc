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
// Damage to synced frames in the middle of the log (segment_repair.h; each stopped open() with
// kDataLoss "corruption" before the repair existed, which halted the region for good):
//   - MidLogBitFlipIsRepairedFromTheBackup: one flipped bit in LSN 50 of 100: the backup's copy
//     takes its place, the frames after it stay, every record is byte for byte what was written.
//   - CutInAnEarlierSegmentIsRepairedFromTheBackup: a segment that is not the last cut in the
//     middle: the LSNs up to the next segment's first come back from the backup.
//   - DamageInTwoSegmentsIsRepairedInTwoPasses.
//   - MidLogDamageTheBackupLacksStopsAndChangesNothing / MidLogDamageWithTheBackupOfAnotherLog…:
//     no repair from a backup that cannot prove it holds this log's records.
//   - LeftoverRepairFileFromACrashIsReplaced: a crash between writing `<segment>.repair` and
//     the rename leaves the damaged segment; the next open repairs it again.
//   - CutAtAFrameBoundaryOfAnEarlierSegment…: the cut leaves a clean end and an lsn_gap.
//   - FlippedLengthFieldIsRepairedNotRecordTooLarge: was record_too_large (a halt) before.
//   - UnacknowledgedDamageAboveTheSyncBackupIsCut: with sync backup, damage above the backup's
//     extent holds unacknowledged records only (a batch held for the backup): cut, not a halt.
//   - TornTailIsNotCutWhileTheBackupCannotBeRead: was cut before, losing acknowledged records
//     the unreadable backup held (simulator seed 39 of `--faults all+synced_corruption`).
// Settled records (at or below the CHECKPOINT file: done) that no copy holds any more are
// dropped as retention would, never anything above them:
//   - DamagedLastFrameBelowTheCheckpointThatNoBackupHoldsIsDroppedAsSettled,
//     SettledDamageWithoutABackupDropsTheHeadAndKeepsTheRest, UnsettledDamageWithoutACopyStops,
//     CutBelowUnsettledRecordsTheBackupLacksStopsAndChangesNothing.
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
    Lsn through{from.value - 1};
    for (const WalRecord& record : records_) {
      if (record.lsn == through.next()) through = record.lsn;
    }
    return through;
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

// Flips one bit of `path` at byte `at`.
void flip_bit(MemEnv& env, const std::string& path, std::uint64_t at) {
  std::string byte = env.contents(path)->substr(at, 1);
  byte[0] = static_cast<char>(byte[0] ^ 0x04);
  ASSERT_TRUE(env.overwrite(path, at, byte).ok());
}

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

// The backup's retention removed what the CHECKPOINT file settled; a damaged last frame below
// it is done, so the log continues after the checkpoint instead of halting for good.
TEST_F(WalIntegrityTest, DamagedLastFrameBelowTheCheckpointThatNoBackupHoldsIsDroppedAsSettled) {
  write_log(20);
  std::vector<WalRecord> shipped = read_all(env_, dir_, options_);
  const std::string path = last_segment();
  flip_bit(env_, path, offset_of(path, Lsn{20}) + 60);
  write_checkpoint(Lsn{20});
  shipped.resize(15);
  VectorBackup backup(shipped);
  RecoveryReport report;
  auto wal = Wal::open(env_, dir_, options_, &report, &backup);
  ASSERT_TRUE(wal.ok()) << wal.error().to_string();
  EXPECT_EQ((*wal)->durable_lsn(), Lsn{20}) << "LSN 20 would be issued again";
  EXPECT_EQ((*wal)->first_lsn(), Lsn{21});
  EXPECT_EQ(report.dropped_through, Lsn{20});
  ASSERT_FALSE(report.notes.empty());
  EXPECT_NE(report.notes.back().find("DROPPED the settled head of the log through LSN 20"), std::string::npos)
      << report.notes.back();
  auto next = (*wal)->append(std::vector<WalAppend>{make_append(21)});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, Lsn{21});
}

// Acknowledged records above the checkpoint that the backup lacks: never dropped, open() stops
// and the log stays byte for byte as it was.
TEST_F(WalIntegrityTest, CutBelowUnsettledRecordsTheBackupLacksStopsAndChangesNothing) {
  write_log(20);
  std::vector<WalRecord> shipped = read_all(env_, dir_, options_);
  write_checkpoint(Lsn{10});
  const std::string path = last_segment();
  (void)cut_inside(Lsn{12}, 30);
  const std::string damaged = *env_.contents(path);
  shipped.erase(shipped.begin() + 15, shipped.begin() + 18);  // the backup lacks 16..18, holds 19..20
  VectorBackup backup(shipped);
  auto wal = Wal::open(env_, dir_, options_, nullptr, &backup);
  ASSERT_FALSE(wal.ok());
  EXPECT_EQ(wal.code(), ErrorCode::kDataLoss);
  EXPECT_NE(wal.error().detail.find("LSNs 12..20"), std::string::npos) << wal.error().detail;
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

void expect_log_is(MemEnv& env, const std::string& dir, const WalOptions& options, const std::vector<WalAppend>& written) {
  const std::vector<WalRecord> records = read_all(env, dir, options);
  ASSERT_EQ(records.size(), written.size());
  for (std::size_t index = 0; index < written.size(); ++index) {
    EXPECT_EQ(records[index].lsn, Lsn{index + 1});
    EXPECT_TRUE(same_content(records[index], written[index])) << "LSN " << index + 1;
  }
}

TEST_F(WalIntegrityTest, MidLogBitFlipIsRepairedFromTheBackup) {
  const auto written = write_log(100);
  VectorBackup backup(read_all(env_, dir_, options_));
  const std::string path = last_segment();
  flip_bit(env_, path, offset_of(path, Lsn{50}) + 70);
  RecoveryReport report;
  auto wal = Wal::open(env_, dir_, options_, &report, &backup);
  ASSERT_TRUE(wal.ok()) << wal.error().to_string();
  EXPECT_EQ((*wal)->durable_lsn(), Lsn{100});
  EXPECT_EQ((*wal)->incarnation(), incarnation_);
  EXPECT_EQ(report.repaired_records, 1u);
  EXPECT_EQ(report.recovery_case, RecoveryCase::kCleanEnd);
  ASSERT_FALSE(report.notes.empty());
  EXPECT_NE(report.notes.back().find("REPAIRED " + path), std::string::npos) << report.notes.back();
  EXPECT_NE(report.notes.back().find("LSNs 50..50"), std::string::npos) << report.notes.back();
  auto next = (*wal)->append(std::vector<WalAppend>{make_append(101)});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, Lsn{101});
  wal->reset();
  auto all = written;
  all.push_back(make_append(101));
  expect_log_is(env_, dir_, options_, all);
  EXPECT_FALSE(env_.file_exists(path + ".repair"));
}

TEST_F(WalIntegrityTest, CutInAnEarlierSegmentIsRepairedFromTheBackup) {
  options_ = testing_support::small_options();
  const auto written = write_log(80);
  VectorBackup backup(read_all(env_, dir_, options_));
  auto files = list_segment_files(env_, dir_);
  ASSERT_TRUE(files.ok() && files->size() >= 3u);
  const std::string first = join_path(dir_, (*files)[0].second);
  const std::uint64_t size = *env_.file_size(first);
  ASSERT_TRUE(env_.truncate_file(first, size / 2).ok());
  RecoveryReport report;
  auto wal = Wal::open(env_, dir_, options_, &report, &backup);
  ASSERT_TRUE(wal.ok()) << wal.error().to_string();
  EXPECT_GT(report.repaired_records, 0u);
  EXPECT_EQ((*wal)->durable_lsn(), Lsn{80});
  EXPECT_EQ(*env_.file_size(first), size) << "the segment holds the same frames again";
  wal->reset();
  expect_log_is(env_, dir_, options_, written);
}

// A segment that is not the last, cut exactly at a frame boundary, ends cleanly: the next
// segment then starts above where it ends (lsn_gap), and the hole is filled the same way.
TEST_F(WalIntegrityTest, CutAtAFrameBoundaryOfAnEarlierSegmentIsRepairedFromTheBackup) {
  options_ = testing_support::small_options();
  const auto written = write_log(80);
  VectorBackup backup(read_all(env_, dir_, options_));
  auto files = list_segment_files(env_, dir_);
  ASSERT_TRUE(files.ok() && files->size() >= 3u);
  const std::string first = join_path(dir_, (*files)[0].second);
  const std::uint64_t size = *env_.file_size(first);
  ASSERT_TRUE(env_.truncate_file(first, offset_of(first, Lsn{3})).ok());
  auto inspected = inspect_wal(env_, dir_, options_);
  ASSERT_TRUE(inspected.ok());
  EXPECT_EQ(inspected->recovery_case, RecoveryCase::kLsnGap);
  RecoveryReport report;
  auto wal = Wal::open(env_, dir_, options_, &report, &backup);
  ASSERT_TRUE(wal.ok()) << wal.error().to_string();
  EXPECT_EQ(*env_.file_size(first), size);
  wal->reset();
  expect_log_is(env_, dir_, options_, written);
}

// A flipped bit in a frame's length field reads as "too large"; it is damage like any other.
TEST_F(WalIntegrityTest, FlippedLengthFieldIsRepairedNotRecordTooLarge) {
  const auto written = write_log(40);
  VectorBackup backup(read_all(env_, dir_, options_));
  const std::string path = last_segment();
  const std::uint64_t at = offset_of(path, Lsn{20}) + 11;  // the top byte of body_bytes
  std::string byte = env_.contents(path)->substr(at, 1);
  byte[0] = static_cast<char>(byte[0] ^ 0x40);
  ASSERT_TRUE(env_.overwrite(path, at, byte).ok());
  auto inspected = inspect_wal(env_, dir_, options_);
  ASSERT_TRUE(inspected.ok());
  EXPECT_EQ(inspected->recovery_case, RecoveryCase::kCorruption) << inspected->detail;
  RecoveryReport report;
  auto wal = Wal::open(env_, dir_, options_, &report, &backup);
  ASSERT_TRUE(wal.ok()) << wal.error().to_string();
  EXPECT_EQ(report.repaired_records, 1u);
  wal->reset();
  expect_log_is(env_, dir_, options_, written);
}

// Without any backup, damage whose records are all settled (below the CHECKPOINT file) drops
// the log's head as retention would; the records above stay and no LSN is issued twice.
TEST_F(WalIntegrityTest, SettledDamageWithoutABackupDropsTheHeadAndKeepsTheRest) {
  const auto written = write_log(60);
  write_checkpoint(Lsn{30});
  const std::string path = last_segment();
  flip_bit(env_, path, offset_of(path, Lsn{25}) + 70);
  RecoveryReport report;
  auto wal = Wal::open(env_, dir_, options_, &report);
  ASSERT_TRUE(wal.ok()) << wal.error().to_string();
  EXPECT_EQ(report.dropped_through, Lsn{25});
  EXPECT_EQ((*wal)->first_lsn(), Lsn{26});
  EXPECT_EQ((*wal)->durable_lsn(), Lsn{60});
  wal->reset();
  const std::vector<WalRecord> records = read_all(env_, dir_, options_);
  ASSERT_EQ(records.size(), 35u);
  for (std::size_t index = 0; index < records.size(); ++index) {
    EXPECT_TRUE(same_content(records[index], written[index + 25])) << "LSN " << index + 26;
  }
}

// Damage above the CHECKPOINT file with no copy anywhere: nothing is dropped.
TEST_F(WalIntegrityTest, UnsettledDamageWithoutACopyStops) {
  write_log(60);
  write_checkpoint(Lsn{30});
  const std::string path = last_segment();
  flip_bit(env_, path, offset_of(path, Lsn{45}) + 70);
  const std::string damaged = *env_.contents(path);
  auto wal = Wal::open(env_, dir_, options_);
  ASSERT_FALSE(wal.ok());
  EXPECT_NE(wal.error().detail.find("are not done"), std::string::npos) << wal.error().detail;
  EXPECT_EQ(*env_.contents(path), damaged);
}

// Sync backup: the source is acked only once the backup holds a record, so synced damage above
// the backup's extent (and every other mark) holds only unacknowledged records: cut like a torn
// tail. The same damage without that promise (async backup) stops.
TEST_F(WalIntegrityTest, UnacknowledgedDamageAboveTheSyncBackupIsCut) {
  const auto written = write_log(40);
  std::vector<WalRecord> shipped = read_all(env_, dir_, options_);
  shipped.resize(30);  // 31..40 appended, held for the backup, never acked
  const std::string path = last_segment();
  const std::uint64_t damage_at = offset_of(path, Lsn{33});
  flip_bit(env_, path, damage_at + 70);
  const std::string damaged = *env_.contents(path);
  {
    VectorBackup backup(shipped);
    auto wal = Wal::open(env_, dir_, options_, nullptr, &backup);
    ASSERT_FALSE(wal.ok()) << "async backup: LSN 33 may have been acked";
    EXPECT_EQ(*env_.contents(path), damaged);
  }
  options_.backup_holds_every_ack = true;
  VectorBackup backup(shipped);
  RecoveryReport report;
  auto wal = Wal::open(env_, dir_, options_, &report, &backup);
  ASSERT_TRUE(wal.ok()) << wal.error().to_string();
  EXPECT_EQ((*wal)->durable_lsn(), Lsn{32});
  EXPECT_EQ(*env_.file_size(path), damage_at);
  ASSERT_FALSE(report.notes.empty());
  EXPECT_NE(report.notes.back().find("CUT " + path), std::string::npos) << report.notes.back();
}

// A log that would lose bytes (a torn tail) while its backup does not answer is left alone:
// nothing proves the bytes were never acknowledged. open() asks to be retried.
TEST_F(WalIntegrityTest, TornTailIsNotCutWhileTheBackupCannotBeRead) {
  class DownBackup final : public WalBackupSource {
   public:
    std::string describe() const override { return "the down backup"; }
    Result<std::pair<Lsn, Lsn>> extent() override { return unavailable("blob store unreachable"); }
    Result<Lsn> contiguous_through(Lsn) override { return unavailable("blob store unreachable"); }
    Result<std::vector<WalRecord>> read(Lsn, std::size_t) override { return unavailable("blob store unreachable"); }
  };
  write_log(20);
  (void)cut_inside(Lsn{20}, 50);
  const std::string path = last_segment();
  const std::string torn = *env_.contents(path);
  DownBackup backup;
  auto wal = Wal::open(env_, dir_, options_, nullptr, &backup);
  ASSERT_FALSE(wal.ok());
  EXPECT_EQ(wal.code(), ErrorCode::kUnavailable);
  EXPECT_NE(wal.error().detail.find("nothing was cut"), std::string::npos) << wal.error().detail;
  EXPECT_EQ(*env_.contents(path), torn);
  auto without_backup = Wal::open(env_, dir_, options_);  // a region that keeps no backup cuts it
  ASSERT_TRUE(without_backup.ok());
  EXPECT_EQ((*without_backup)->durable_lsn(), Lsn{19});
}

TEST_F(WalIntegrityTest, DamageInTwoSegmentsIsRepairedInTwoPasses) {
  options_ = testing_support::small_options();
  const auto written = write_log(80);
  VectorBackup backup(read_all(env_, dir_, options_));
  auto files = list_segment_files(env_, dir_);
  ASSERT_TRUE(files.ok() && files->size() >= 3u);
  for (std::size_t index : {std::size_t{0}, files->size() - 1}) {
    const std::string path = join_path(dir_, (*files)[index].second);
    flip_bit(env_, path, kSegmentHeaderBytes + 50);  // inside the segment's first frame
  }
  RecoveryReport report;
  auto wal = Wal::open(env_, dir_, options_, &report, &backup);
  ASSERT_TRUE(wal.ok()) << wal.error().to_string();
  EXPECT_EQ(report.repaired_records, 2u);
  wal->reset();
  expect_log_is(env_, dir_, options_, written);
}

TEST_F(WalIntegrityTest, MidLogDamageTheBackupLacksStopsAndChangesNothing) {
  write_log(100);
  std::vector<WalRecord> shipped = read_all(env_, dir_, options_);
  shipped.erase(shipped.begin() + 40, shipped.begin() + 60);  // the backup lost LSNs 41..60
  VectorBackup backup(shipped);
  const std::string path = last_segment();
  flip_bit(env_, path, offset_of(path, Lsn{50}) + 70);
  const std::string damaged = *env_.contents(path);
  auto wal = Wal::open(env_, dir_, options_, nullptr, &backup);
  ASSERT_FALSE(wal.ok());
  EXPECT_EQ(wal.code(), ErrorCode::kDataLoss);
  EXPECT_NE(wal.error().detail.find("corruption"), std::string::npos) << wal.error().detail;
  EXPECT_NE(wal.error().detail.find("not repaired from the test backup"), std::string::npos) << wal.error().detail;
  EXPECT_NE(wal.error().detail.find("LSNs 50..50"), std::string::npos) << wal.error().detail;
  EXPECT_EQ(*env_.contents(path), damaged);
}

TEST_F(WalIntegrityTest, MidLogDamageWithTheBackupOfAnotherLogIsNotRepaired) {
  write_log(100);
  std::vector<WalRecord> other_log = read_all(env_, dir_, options_);
  for (WalRecord& record : other_log) record.payload = "another log's payload";
  VectorBackup backup(other_log);
  const std::string path = last_segment();
  flip_bit(env_, path, offset_of(path, Lsn{50}) + 70);
  const std::string damaged = *env_.contents(path);
  auto wal = Wal::open(env_, dir_, options_, nullptr, &backup);
  ASSERT_FALSE(wal.ok()) << "mended this log with another log's record";
  EXPECT_NE(wal.error().detail.find("different record at LSN 49"), std::string::npos) << wal.error().detail;
  EXPECT_EQ(*env_.contents(path), damaged);
}

TEST_F(WalIntegrityTest, LeftoverRepairFileFromACrashIsReplaced) {
  const auto written = write_log(30);
  VectorBackup backup(read_all(env_, dir_, options_));
  const std::string path = last_segment();
  flip_bit(env_, path, offset_of(path, Lsn{10}) + 45);
  {
    auto half = env_.new_writable_file(path + ".repair");  // a repair that crashed before its rename
    ASSERT_TRUE(half.ok());
    ASSERT_TRUE((*half)->append("half a repaired segment").ok());
  }
  RecoveryReport report;
  auto wal = Wal::open(env_, dir_, options_, &report, &backup);
  ASSERT_TRUE(wal.ok()) << wal.error().to_string();
  EXPECT_EQ(report.repaired_records, 1u);
  EXPECT_FALSE(env_.file_exists(path + ".repair"));
  wal->reset();
  expect_log_is(env_, dir_, options_, written);
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
