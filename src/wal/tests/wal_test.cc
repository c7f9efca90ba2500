// Proves the Wal API at its edges on a MemEnv (and once on the real disk): LSN assignment,
// one write + one sync per batch, segment rolls, size limits, poisoning on a failed fsync,
// epoch fencing and seals, reading from any LSN, retention, and the directory lock.
#include "wal/wal.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "core/mem_env.h"
#include "wal/tests/wal_test_support.h"

namespace hadr {
namespace {

using testing_support::make_append;
using testing_support::read_all;
using testing_support::same_content;
using testing_support::small_options;

class WalTest : public ::testing::Test {
 protected:
  void SetUp() override { wal_ = open_wal(); }

  std::unique_ptr<Wal> open_wal() {
    auto wal = Wal::open(env_, dir_, options_);
    EXPECT_TRUE(wal.ok()) << wal.error().to_string();
    return wal.ok() ? std::move(wal).value() : nullptr;
  }

  std::vector<WalAppend> batch_of(std::uint64_t first_tag, std::size_t count, Epoch epoch = Epoch{1},
                                  std::size_t payload_bytes = 100) {
    std::vector<WalAppend> batch;
    for (std::size_t index = 0; index < count; ++index) batch.push_back(make_append(first_tag + index, epoch, payload_bytes));
    return batch;
  }

  MemEnv env_;
  const std::string dir_ = "/wal";
  WalOptions options_ = small_options();
  std::unique_ptr<Wal> wal_;
};

TEST_F(WalTest, EmptyLogHasNothingToRead) {
  EXPECT_EQ(wal_->durable_lsn(), Lsn{0});
  EXPECT_EQ(wal_->first_lsn(), Lsn{1});
  EXPECT_TRUE(read_all(env_, dir_, options_).empty());
  auto reader = wal_->read_from(Lsn{1});
  ASSERT_TRUE(reader.ok());
  EXPECT_FALSE(reader->next()->has_value());
}

TEST_F(WalTest, OneRecordIsDurableAndReadableWithItsBytes) {
  const auto batch = batch_of(1, 1);
  EXPECT_EQ(*wal_->append(batch), Lsn{1});
  EXPECT_EQ(wal_->durable_lsn(), Lsn{1});
  const auto records = read_all(env_, dir_, options_);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].lsn, Lsn{1});
  EXPECT_TRUE(same_content(records[0], batch[0]));
}

TEST_F(WalTest, BatchesGetConsecutiveLsns) {
  EXPECT_EQ(*wal_->append(batch_of(1, 3)), Lsn{3});
  EXPECT_EQ(*wal_->append(batch_of(4, 2)), Lsn{5});
  const auto records = read_all(env_, dir_, options_);
  ASSERT_EQ(records.size(), 5u);
  for (std::size_t index = 0; index < records.size(); ++index) EXPECT_EQ(records[index].lsn, Lsn{index + 1});
}

TEST_F(WalTest, BatchIsOneFileSync) {
  const std::uint64_t syncs_before = env_.sync_count();
  ASSERT_TRUE(wal_->append(batch_of(1, 10)).ok());
  EXPECT_EQ(env_.sync_count() - syncs_before, 1u);
}

TEST_F(WalTest, SegmentRollKeepsLsnsContinuousAcrossSegments) {
  for (std::uint64_t tag = 1; tag <= 60; tag += 5) ASSERT_TRUE(wal_->append(batch_of(tag, 5)).ok());
  const auto& segments = wal_->segments();
  ASSERT_GE(segments.size(), 3u);
  for (std::size_t index = 1; index < segments.size(); ++index) {
    EXPECT_EQ(segments[index].sequence, segments[index - 1].sequence + 1);
    EXPECT_EQ(segments[index].first_lsn, segments[index - 1].last_lsn.next());
    EXPECT_LE(segments[index - 1].bytes, options_.segment_bytes_max);
  }
  EXPECT_EQ(read_all(env_, dir_, options_).size(), 60u);
}

TEST_F(WalTest, BatchCrossingASegmentBoundarySyncsEachFileOnce) {
  ASSERT_TRUE(wal_->append(batch_of(1, 15)).ok());  // most of the first 4 KiB segment
  const std::uint64_t syncs_before = env_.sync_count();
  ASSERT_TRUE(wal_->append(batch_of(16, 10)).ok());
  // old segment, new segment's header, directory, META (its temp file and the directory: the
  // acknowledged floor, wal_meta.h), new segment's records
  EXPECT_EQ(env_.sync_count() - syncs_before, 6u);
  EXPECT_EQ(wal_->segments().size(), 2u);
  EXPECT_EQ(wal_->durable_lsn(), Lsn{25});
  EXPECT_EQ(read_all(env_, dir_, options_).size(), 25u);
}

TEST_F(WalTest, RecordOfTheMaximumSizeIsAccepted) {
  WalAppend record = make_append(1, Epoch{1}, 0);
  record.payload.assign(options_.record_bytes_max - encoded_body_bytes(record), 'x');
  ASSERT_EQ(encoded_body_bytes(record), options_.record_bytes_max);
  EXPECT_TRUE(wal_->append(std::vector{record}).ok());
  EXPECT_EQ(read_all(env_, dir_, options_).at(0).payload.size(), record.payload.size());
}

TEST_F(WalTest, RecordOverTheMaximumIsRejectedAndNothingIsWritten) {
  WalAppend record = make_append(1, Epoch{1}, options_.record_bytes_max);
  auto appended = wal_->append(std::vector{record});
  EXPECT_EQ(appended.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(appended.error().detail.find("record_bytes_max"), std::string::npos);
  EXPECT_EQ(wal_->durable_lsn(), Lsn{0});
  EXPECT_FALSE(wal_->poisoned());
  EXPECT_EQ(*wal_->append(batch_of(1, 1)), Lsn{1});
}

TEST_F(WalTest, EmptyBatchIsRejected) {
  EXPECT_EQ(wal_->append({}).code(), ErrorCode::kInvalidArgument);
}

TEST_F(WalTest, BatchOverTheRecordCountLimitIsRejected) {
  EXPECT_EQ(wal_->append(batch_of(1, options_.batch_records_max + 1, Epoch{1}, 0)).code(), ErrorCode::kInvalidArgument);
}

TEST_F(WalTest, BatchOverTheByteLimitIsRejected) {
  options_.batch_bytes_max = 2048;
  wal_.reset();
  wal_ = open_wal();
  EXPECT_EQ(wal_->append(batch_of(1, 20)).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(wal_->durable_lsn(), Lsn{0});
}

TEST_F(WalTest, RecordWithoutMessageIdIsRejected) {
  WalAppend record = make_append(1);
  record.message_id = MessageId();
  EXPECT_EQ(wal_->append(std::vector{record}).code(), ErrorCode::kInvalidArgument);
}

TEST_F(WalTest, FailedSyncPoisonsTheLogWithoutRetry) {
  ASSERT_TRUE(wal_->append(batch_of(1, 2)).ok());
  int syncs = 0;
  env_.set_sync_hook([&](const std::string&) {
    ++syncs;
    return Status(data_loss("injected EIO"));
  });
  auto failed = wal_->append(batch_of(3, 2));
  EXPECT_EQ(failed.code(), ErrorCode::kDataLoss);
  EXPECT_TRUE(wal_->poisoned());
  EXPECT_EQ(wal_->durable_lsn(), Lsn{2});
  env_.set_sync_hook({});
  EXPECT_EQ(wal_->append(batch_of(5, 1)).code(), ErrorCode::kDataLoss);
  EXPECT_EQ(wal_->seal(Epoch{2}).code(), ErrorCode::kDataLoss);
  EXPECT_EQ(wal_->retain_from(Lsn{1}).code(), ErrorCode::kDataLoss);
  EXPECT_EQ(syncs, 1);  // the failed fsync was never retried
}

TEST_F(WalTest, FailedSyncDuringSegmentCreationPoisonsTheLog) {
  ASSERT_TRUE(wal_->append(batch_of(1, 15)).ok());
  int syncs = 0;
  env_.set_sync_hook([&](const std::string& path) {
    // Let the old segment's sync pass; fail the new segment's header sync.
    return ++syncs == 2 ? Status(data_loss("injected EIO on " + path)) : ok_status();
  });
  EXPECT_EQ(wal_->append(batch_of(16, 10)).code(), ErrorCode::kDataLoss);
  EXPECT_TRUE(wal_->poisoned());
}

TEST_F(WalTest, LowerEpochIsFenced) {
  ASSERT_TRUE(wal_->append(batch_of(1, 1, Epoch{5})).ok());
  auto fenced = wal_->append(batch_of(2, 1, Epoch{4}));
  EXPECT_EQ(fenced.code(), ErrorCode::kAborted);
  EXPECT_EQ(wal_->durable_lsn(), Lsn{1});
  EXPECT_TRUE(wal_->append(batch_of(3, 1, Epoch{6})).ok());
}

TEST_F(WalTest, EpochGoingBackwardsInsideABatchIsFenced) {
  std::vector<WalAppend> batch = batch_of(1, 2, Epoch{3});
  batch[1].epoch = Epoch{2};
  EXPECT_EQ(wal_->append(batch).code(), ErrorCode::kAborted);
}

TEST_F(WalTest, SealFencesItsEpochAndBelow) {
  ASSERT_TRUE(wal_->append(batch_of(1, 1, Epoch{3})).ok());
  ASSERT_TRUE(wal_->seal(Epoch{3}).ok());
  EXPECT_EQ(wal_->sealed_epoch(), Epoch{3});
  EXPECT_EQ(wal_->append(batch_of(2, 1, Epoch{3})).code(), ErrorCode::kAborted);
  EXPECT_EQ(*wal_->append(batch_of(3, 1, Epoch{4})), Lsn{3});
  const auto records = read_all(env_, dir_, options_);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[1].type, WalRecordType::kSeal);
  EXPECT_EQ(records[1].epoch, Epoch{3});
}

TEST_F(WalTest, SealOfALowerEpochIsFenced) {
  ASSERT_TRUE(wal_->append(batch_of(1, 1, Epoch{3})).ok());
  EXPECT_EQ(wal_->seal(Epoch{2}).code(), ErrorCode::kAborted);
}

TEST_F(WalTest, SealingTheSealedEpochAgainWritesNothing) {
  ASSERT_TRUE(wal_->seal(Epoch{2}).ok());
  ASSERT_TRUE(wal_->seal(Epoch{2}).ok());
  EXPECT_EQ(wal_->durable_lsn(), Lsn{1});
}

TEST_F(WalTest, SealAndHighestEpochSurviveReopen) {
  ASSERT_TRUE(wal_->append(batch_of(1, 1, Epoch{7})).ok());
  ASSERT_TRUE(wal_->seal(Epoch{7}).ok());
  wal_.reset();
  wal_ = open_wal();
  EXPECT_EQ(wal_->sealed_epoch(), Epoch{7});
  EXPECT_EQ(wal_->highest_epoch(), Epoch{7});
  EXPECT_EQ(wal_->append(batch_of(2, 1, Epoch{7})).code(), ErrorCode::kAborted);
  EXPECT_TRUE(wal_->append(batch_of(3, 1, Epoch{8})).ok());
}

TEST_F(WalTest, ReaderStartsAtAnyLsnAcrossSegments) {
  for (std::uint64_t tag = 1; tag <= 50; tag += 5) ASSERT_TRUE(wal_->append(batch_of(tag, 5)).ok());
  ASSERT_GE(wal_->segments().size(), 2u);
  const Lsn from = wal_->segments()[1].first_lsn.next();  // inside the second segment
  for (int source = 0; source < 2; ++source) {
    auto reader = source == 0 ? wal_->read_from(from) : WalReader::open(env_, dir_, options_, from);
    ASSERT_TRUE(reader.ok());
    std::uint64_t expected = from.value;
    for (auto next = reader->next(); next.ok() && next->has_value(); next = reader->next()) {
      EXPECT_EQ((*next)->lsn, Lsn{expected});
      EXPECT_TRUE(same_content(**next, make_append(expected, Epoch{1}, 100)));
      ++expected;
    }
    EXPECT_EQ(expected, 51u);
  }
}

TEST_F(WalTest, ReaderPastTheEndReturnsNothing) {
  ASSERT_TRUE(wal_->append(batch_of(1, 3)).ok());
  auto reader = WalReader::open(env_, dir_, options_, Lsn{10});
  ASSERT_TRUE(reader.ok());
  EXPECT_FALSE(reader->next()->has_value());
}

TEST_F(WalTest, RetentionDeletesOnlyWholeSegmentsBelowTheCheckpoint) {
  for (std::uint64_t tag = 1; tag <= 60; tag += 5) ASSERT_TRUE(wal_->append(batch_of(tag, 5)).ok());
  const auto segments = wal_->segments();
  ASSERT_GE(segments.size(), 3u);
  const Lsn checkpoint = segments[2].first_lsn.next();  // one record into the third segment
  ASSERT_TRUE(wal_->retain_from(checkpoint).ok());
  EXPECT_EQ(wal_->first_lsn(), segments[2].first_lsn);
  EXPECT_FALSE(env_.file_exists(segments[0].path));
  EXPECT_FALSE(env_.file_exists(segments[1].path));
  EXPECT_TRUE(env_.file_exists(segments[2].path));
  EXPECT_EQ(wal_->read_from(Lsn{1}).code(), ErrorCode::kNotFound);
  EXPECT_EQ(WalReader::open(env_, dir_, options_, Lsn{1}).code(), ErrorCode::kNotFound);
  const auto records = read_all(env_, dir_, options_);
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.front().lsn, segments[2].first_lsn);
  EXPECT_EQ(records.back().lsn, Lsn{60});
}

TEST_F(WalTest, RetentionNeverDeletesTheActiveSegment) {
  for (std::uint64_t tag = 1; tag <= 60; tag += 5) ASSERT_TRUE(wal_->append(batch_of(tag, 5)).ok());
  ASSERT_TRUE(wal_->retain_from(wal_->durable_lsn().next()).ok());
  ASSERT_EQ(wal_->segments().size(), 1u);
  EXPECT_TRUE(env_.file_exists(wal_->segments().front().path));
  wal_.reset();
  wal_ = open_wal();
  EXPECT_EQ(wal_->durable_lsn(), Lsn{60});
  EXPECT_EQ(*wal_->append(batch_of(61, 1)), Lsn{61});
}

TEST_F(WalTest, RetentionPastTheDurableLsnIsRejected) {
  ASSERT_TRUE(wal_->append(batch_of(1, 3)).ok());
  EXPECT_EQ(wal_->retain_from(Lsn{5}).code(), ErrorCode::kInvalidArgument);
}

TEST_F(WalTest, SecondOpenOfTheSameDirectoryIsRefused) {
  auto second = Wal::open(env_, dir_, options_);
  EXPECT_EQ(second.code(), ErrorCode::kFailedPrecondition);
}

TEST_F(WalTest, InvalidOptionsNameTheOption) {
  WalOptions options = options_;
  options.segment_bytes_max = 100;
  auto opened = Wal::open(env_, "/other", options);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(opened.error().detail.find("segment_bytes_max"), std::string::npos);
}

TEST(WalOnDisk, AppendReopenAndReadOnTheRealFileSystem) {
  char pattern[] = "/tmp/hadr-wal-test-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::string dir = std::string(pattern) + "/wal";
  {
    auto wal = Wal::open(posix_env(), dir, small_options());
    ASSERT_TRUE(wal.ok()) << wal.error().to_string();
    for (std::uint64_t tag = 1; tag <= 40; tag += 4) {
      std::vector<WalAppend> batch;
      for (std::uint64_t index = 0; index < 4; ++index) batch.push_back(make_append(tag + index));
      ASSERT_TRUE((*wal)->append(batch).ok());
    }
    EXPECT_EQ(Wal::open(posix_env(), dir, small_options()).code(), ErrorCode::kFailedPrecondition);
  }
  RecoveryReport report;
  auto wal = Wal::open(posix_env(), dir, small_options(), &report);
  ASSERT_TRUE(wal.ok());
  EXPECT_EQ(report.recovery_case, RecoveryCase::kCleanEnd);
  EXPECT_EQ((*wal)->durable_lsn(), Lsn{40});
  const auto records = read_all(posix_env(), dir, small_options());
  ASSERT_EQ(records.size(), 40u);
  EXPECT_TRUE(same_content(records[39], make_append(40)));
  std::filesystem::remove_all(pattern);
}

}  // namespace
}  // namespace hadr
