// Proves the recovery table of segment_scan.h, one named test per case: each damage is
// classified as exactly that case, with the file and byte offset, and open() applies exactly
// the case's action — truncate or remove what was never acknowledged, or stop with kDataLoss
// and change nothing. Logs are written by the real Wal on a MemEnv, then damaged in place.
#include <gtest/gtest.h>
#include <xxhash.h>

#include <cstring>

#include "core/mem_env.h"
#include "wal/recovery.h"
#include "wal/tests/wal_test_support.h"
#include "wal/wal.h"

namespace hadr {
namespace {

using testing_support::make_append;
using testing_support::small_options;

class WalRecoveryTest : public ::testing::Test {
 protected:
  // Writes `batches` batches of `batch_records` records, LSN 1 onwards, and closes the log.
  void write_log(int batches, int batch_records, std::size_t payload_bytes = 100) {
    auto wal = Wal::open(env_, dir_, options_);
    ASSERT_TRUE(wal.ok()) << wal.error().to_string();
    std::uint64_t tag = 1;
    for (int batch_index = 0; batch_index < batches; ++batch_index) {
      std::vector<WalAppend> batch;
      for (int index = 0; index < batch_records; ++index) batch.push_back(make_append(tag++, Epoch{1}, payload_bytes));
      ASSERT_TRUE((*wal)->append(batch).ok());
    }
  }

  std::vector<std::string> segment_paths() {
    std::vector<std::string> paths;
    auto files = list_segment_files(env_, dir_);
    EXPECT_TRUE(files.ok());
    if (!files.ok()) return paths;
    for (const auto& file : *files) paths.push_back(join_path(dir_, file.second));
    return paths;
  }

  // Offset of the frame holding `lsn` in `path`, found with the decoder itself.
  std::uint64_t offset_of(const std::string& path, Lsn lsn) {
    const std::string bytes = *env_.contents(path);
    const auto sequence = *parse_segment_file_name(path.substr(path.rfind('/') + 1));
    std::uint64_t found = 0;
    (void)scan_segment(bytes, sequence, false, options_.record_bytes_max, [&](const FrameView& frame) {
      if (frame.lsn == lsn) found = frame.offset;
    });
    EXPECT_NE(found, 0u) << "no LSN " << lsn.value << " in " << path;
    return found;
  }

  void flip_bit(const std::string& path, std::uint64_t offset) {
    std::string byte = env_.contents(path)->substr(offset, 1);
    byte[0] = static_cast<char>(byte[0] ^ 0x04);
    ASSERT_TRUE(env_.overwrite(path, offset, byte).ok());
  }

  void append_raw(const std::string& path, std::string_view bytes) {
    auto file = env_.new_appendable_file(path);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->append(bytes).ok());
    ASSERT_TRUE((*file)->sync().ok());
  }

  static std::string frame(Lsn lsn, WritePosition position, std::uint64_t tag) {
    const WalAppend append = make_append(tag, Epoch{1}, 100);
    std::string bytes;
    append_frame(bytes, lsn, WalRecordType::kMessage, append, encoded_body_bytes(append), position);
    return bytes;
  }

  // Opens the log expecting a fatal case; checks the error names file and offset and that no
  // file changed.
  RecoveryReport expect_stop(RecoveryCase expected_case) {
    std::map<std::string, std::string> before;
    for (const auto& path : segment_paths()) before[path] = *env_.contents(path);
    RecoveryReport report;
    auto wal = Wal::open(env_, dir_, options_, &report);
    EXPECT_FALSE(wal.ok());
    if (wal.ok()) return report;
    EXPECT_EQ(wal.code(), ErrorCode::kDataLoss);
    EXPECT_EQ(report.recovery_case, expected_case) << recovery_case_name(report.recovery_case) << ": " << report.detail;
    EXPECT_NE(wal.error().detail.find(report.file), std::string::npos) << wal.error().detail;
    EXPECT_NE(wal.error().detail.find("offset " + std::to_string(report.offset)), std::string::npos);
    for (const auto& path : segment_paths()) EXPECT_EQ(*env_.contents(path), before[path]) << path << " changed";
    EXPECT_EQ(segment_paths().size(), before.size());
    return report;
  }

  // Opens the log expecting a case whose action repairs it; returns the open log.
  std::unique_ptr<Wal> expect_repair(RecoveryCase expected_case, RecoveryReport& report) {
    auto wal = Wal::open(env_, dir_, options_, &report);
    EXPECT_TRUE(wal.ok()) << wal.error().to_string();
    EXPECT_EQ(report.recovery_case, expected_case) << recovery_case_name(report.recovery_case) << ": " << report.detail;
    if (!wal.ok()) return nullptr;
    return std::move(wal).value();
  }

  MemEnv env_;
  const std::string dir_ = "/wal";
  WalOptions options_ = small_options();
};

TEST_F(WalRecoveryTest, EmptyLogStartsAtLsnOne) {
  RecoveryReport report;
  auto wal = expect_repair(RecoveryCase::kEmptyLog, report);
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(wal->durable_lsn(), Lsn{0});
  EXPECT_EQ(wal->next_lsn(), Lsn{1});
  EXPECT_EQ(segment_paths().size(), 1u);
}

TEST_F(WalRecoveryTest, CleanEndKeepsEveryRecord) {
  write_log(3, 5);
  RecoveryReport report;
  auto wal = expect_repair(RecoveryCase::kCleanEnd, report);
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(report.records, 15u);
  EXPECT_EQ(report.first_lsn, Lsn{1});
  EXPECT_EQ(report.last_lsn, Lsn{15});
  EXPECT_EQ(report.bytes_truncated, 0u);
  EXPECT_EQ(wal->durable_lsn(), Lsn{15});
}

TEST_F(WalRecoveryTest, TornTailIncompleteFrameIsTruncated) {
  write_log(1, 5);
  const std::string path = segment_paths().back();
  const std::uint64_t good_bytes = *env_.file_size(path);
  append_raw(path, frame(Lsn{6}, {0, 2}, 6).substr(0, 70));
  RecoveryReport report;
  auto wal = expect_repair(RecoveryCase::kTornTail, report);
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(report.file, path);
  EXPECT_EQ(report.offset, good_bytes);
  EXPECT_EQ(report.bytes_truncated, 70u);
  EXPECT_EQ(*env_.file_size(path), good_bytes);
  EXPECT_EQ(*wal->append(std::vector{make_append(6)}), Lsn{6});
}

TEST_F(WalRecoveryTest, TornTailOfZeroBytesIsTruncated) {
  write_log(1, 5);
  const std::string path = segment_paths().back();
  const std::uint64_t good_bytes = *env_.file_size(path);
  append_raw(path, std::string(300, '\0'));
  RecoveryReport report;
  auto wal = expect_repair(RecoveryCase::kTornTail, report);
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(report.offset, good_bytes);
  EXPECT_EQ(*env_.file_size(path), good_bytes);
  EXPECT_EQ(wal->durable_lsn(), Lsn{5});
}

TEST_F(WalRecoveryTest, TornTailBadChecksumOfLastRecordIsTruncated) {
  write_log(2, 5);
  const std::string path = segment_paths().back();
  const std::uint64_t last_frame = offset_of(path, Lsn{10});
  flip_bit(path, last_frame + 60);
  RecoveryReport report;
  auto wal = expect_repair(RecoveryCase::kTornTail, report);
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(report.offset, last_frame);
  EXPECT_EQ(wal->durable_lsn(), Lsn{9});
}

TEST_F(WalRecoveryTest, TornTailDamageInsideAWriteThatNeverCompletedIsTruncated) {
  write_log(1, 5);
  const std::string path = segment_paths().back();
  const std::uint64_t good_bytes = *env_.file_size(path);
  // A write of LSN 6..8 torn inside LSN 8, with a bit flipped in LSN 6 (CrashMode::kCorruptUnsynced).
  std::string torn_write = frame(Lsn{6}, {0, 3}, 6) + frame(Lsn{7}, {1, 3}, 7) + frame(Lsn{8}, {2, 3}, 8).substr(0, 50);
  torn_write[45] ^= 0x01;
  append_raw(path, torn_write);
  RecoveryReport report;
  auto wal = expect_repair(RecoveryCase::kTornTail, report);
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(report.offset, good_bytes);
  EXPECT_EQ(*env_.file_size(path), good_bytes);
  EXPECT_EQ(wal->durable_lsn(), Lsn{5});
}

TEST_F(WalRecoveryTest, ChecksumMismatchFollowedByValidRecordsIsCorruption) {
  write_log(3, 5);
  const std::string path = segment_paths().front();
  const std::uint64_t damaged = offset_of(path, Lsn{3});
  flip_bit(path, damaged + 50);
  const RecoveryReport report = expect_stop(RecoveryCase::kCorruption);
  EXPECT_EQ(report.file, path);
  EXPECT_EQ(report.offset, damaged);
  EXPECT_EQ(report.last_lsn, Lsn{2});
}

TEST_F(WalRecoveryTest, ChecksumMismatchInsideACompletedLastWriteIsCorruption) {
  write_log(2, 5);
  const std::string path = segment_paths().back();
  const std::uint64_t damaged = offset_of(path, Lsn{8});  // LSN 9 and 10 of the same write follow
  flip_bit(path, damaged + 50);
  const RecoveryReport report = expect_stop(RecoveryCase::kCorruption);
  EXPECT_EQ(report.offset, damaged);
}

TEST_F(WalRecoveryTest, TornEndOfAnEarlierSegmentIsCorruption) {
  write_log(8, 5);
  const auto paths = segment_paths();
  ASSERT_GE(paths.size(), 2u);
  const std::uint64_t size = *env_.file_size(paths.front());
  ASSERT_TRUE(env_.truncate_file(paths.front(), size - 10).ok());
  const RecoveryReport report = expect_stop(RecoveryCase::kCorruption);
  EXPECT_EQ(report.file, paths.front());
}

TEST_F(WalRecoveryTest, BadSegmentHeaderMagicStops) {
  write_log(8, 5);
  const auto paths = segment_paths();
  ASSERT_GE(paths.size(), 2u);
  ASSERT_TRUE(env_.overwrite(paths.front(), 0, "XXXX").ok());
  const RecoveryReport report = expect_stop(RecoveryCase::kBadSegmentHeader);
  EXPECT_EQ(report.file, paths.front());
  EXPECT_EQ(report.offset, 0u);
}

TEST_F(WalRecoveryTest, UnknownSegmentVersionStops) {
  write_log(1, 5);
  const std::string path = segment_paths().front();
  std::string header = env_.contents(path)->substr(0, kSegmentHeaderBytes);
  const std::uint32_t version = 2;
  std::memcpy(header.data() + 8, &version, sizeof(version));
  const std::uint64_t checksum = XXH3_64bits(header.data(), 40);
  std::memcpy(header.data() + 40, &checksum, sizeof(checksum));
  ASSERT_TRUE(env_.overwrite(path, 0, header).ok());
  const RecoveryReport report = expect_stop(RecoveryCase::kBadSegmentHeader);
  EXPECT_NE(report.detail.find("version 2"), std::string::npos) << report.detail;
}

TEST_F(WalRecoveryTest, SegmentHeaderThatDisagreesWithItsFileNameStops) {
  write_log(1, 5);
  const std::string path = segment_paths().front();
  ASSERT_TRUE(env_.overwrite(path, 0, encode_segment_header({7, Lsn{1}})).ok());
  expect_stop(RecoveryCase::kBadSegmentHeader);
}

TEST_F(WalRecoveryTest, DamagedHeaderOfLastSegmentWithRecordsIsNotTorn) {
  write_log(1, 5);
  flip_bit(segment_paths().back(), 20);
  expect_stop(RecoveryCase::kBadSegmentHeader);
}

TEST_F(WalRecoveryTest, TornSegmentHeaderOfLastSegmentIsRemoved) {
  write_log(1, 5);
  const std::string torn = join_path(dir_, segment_file_name(2));
  append_raw(torn, encode_segment_header({2, Lsn{6}}).substr(0, 20));
  RecoveryReport report;
  auto wal = expect_repair(RecoveryCase::kTornSegmentHeader, report);
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(report.file, torn);
  EXPECT_FALSE(env_.file_exists(torn));
  EXPECT_EQ(wal->durable_lsn(), Lsn{5});
  EXPECT_EQ(*wal->append(std::vector{make_append(6)}), Lsn{6});
}

TEST_F(WalRecoveryTest, MissingSegmentInTheMiddleStops) {
  write_log(12, 5);
  const auto paths = segment_paths();
  ASSERT_GE(paths.size(), 3u);
  ASSERT_TRUE(env_.remove_file(paths[1]).ok());
  const RecoveryReport report = expect_stop(RecoveryCase::kMissingSegment);
  EXPECT_EQ(report.file, paths[2]);
  EXPECT_NE(report.detail.find(segment_file_name(2)), std::string::npos) << report.detail;
}

TEST_F(WalRecoveryTest, LsnGapStops) {
  write_log(1, 5);
  const std::string path = segment_paths().back();
  const std::uint64_t gap_at = *env_.file_size(path);
  append_raw(path, frame(Lsn{7}, {0, 1}, 7));
  const RecoveryReport report = expect_stop(RecoveryCase::kLsnGap);
  EXPECT_EQ(report.offset, gap_at);
}

TEST_F(WalRecoveryTest, LsnRegressionStops) {
  write_log(1, 5);
  const std::string path = segment_paths().back();
  const std::uint64_t regression_at = *env_.file_size(path);
  append_raw(path, frame(Lsn{5}, {0, 1}, 5));
  const RecoveryReport report = expect_stop(RecoveryCase::kLsnGap);
  EXPECT_EQ(report.offset, regression_at);
}

TEST_F(WalRecoveryTest, SegmentThatDoesNotStartWhereThePreviousEndedStops) {
  write_log(8, 5);
  const auto paths = segment_paths();
  ASSERT_GE(paths.size(), 2u);
  const auto header = decode_segment_header(*env_.contents(paths[1]));
  ASSERT_TRUE(header.ok());
  ASSERT_TRUE(env_.overwrite(paths[1], 0, encode_segment_header({2, Lsn{header->first_lsn.value + 3}})).ok());
  const RecoveryReport report = expect_stop(RecoveryCase::kLsnGap);
  EXPECT_EQ(report.file, paths[1]);
}

TEST_F(WalRecoveryTest, RecordLongerThanTheMaximumStops) {
  write_log(1, 3, 600);
  options_.record_bytes_max = 256;
  const RecoveryReport report = expect_stop(RecoveryCase::kRecordTooLarge);
  EXPECT_EQ(report.offset, kSegmentHeaderBytes);
  EXPECT_NE(report.detail.find("record_bytes_max"), std::string::npos) << report.detail;
}

TEST_F(WalRecoveryTest, EveryCaseHasOneAction) {
  EXPECT_EQ(recovery_action(RecoveryCase::kEmptyLog), RecoveryAction::kNone);
  EXPECT_EQ(recovery_action(RecoveryCase::kCleanEnd), RecoveryAction::kNone);
  EXPECT_EQ(recovery_action(RecoveryCase::kTornTail), RecoveryAction::kTruncateTail);
  EXPECT_EQ(recovery_action(RecoveryCase::kTornSegmentHeader), RecoveryAction::kRemoveSegment);
  for (auto fatal : {RecoveryCase::kCorruption, RecoveryCase::kBadSegmentHeader, RecoveryCase::kMissingSegment,
                     RecoveryCase::kLsnGap, RecoveryCase::kRecordTooLarge, RecoveryCase::kAcknowledgedLost}) {
    EXPECT_EQ(recovery_action(fatal), RecoveryAction::kStop) << recovery_case_name(fatal);
  }
}

TEST_F(WalRecoveryTest, InspectNeverModifiesATornLog) {
  write_log(1, 5);
  const std::string path = segment_paths().back();
  append_raw(path, frame(Lsn{6}, {0, 2}, 6).substr(0, 70));
  const std::string before = *env_.contents(path);
  auto report = inspect_wal(env_, dir_, options_);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->recovery_case, RecoveryCase::kTornTail);
  EXPECT_EQ(report->bytes_truncated, 70u);
  EXPECT_EQ(*env_.contents(path), before);
}

TEST_F(WalRecoveryTest, ReaderReturnsEveryGoodRecordThenTheCorruption) {
  write_log(3, 5);
  const std::string path = segment_paths().front();
  const std::uint64_t damaged = offset_of(path, Lsn{4});
  flip_bit(path, damaged + 50);
  auto reader = WalReader::open(env_, dir_, options_, Lsn{0});
  ASSERT_TRUE(reader.ok());
  for (std::uint64_t lsn = 1; lsn <= 3; ++lsn) {
    auto next = reader->next();
    ASSERT_TRUE(next.ok() && next->has_value());
    EXPECT_EQ((*next)->lsn, Lsn{lsn});
  }
  auto failed = reader->next();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.code(), ErrorCode::kDataLoss);
  EXPECT_NE(failed.error().detail.find("offset " + std::to_string(damaged)), std::string::npos);
  EXPECT_FALSE(reader->next().ok());  // sticky
}

}  // namespace
}  // namespace hadr
