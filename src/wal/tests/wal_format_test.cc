// Proves the byte-level format (wal_format.h): every field round-trips, and each way a frame
// or a segment header can be wrong is reported as that specific error, never accepted.
#include "wal/wal_format.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <cstring>

#include "wal/tests/wal_test_support.h"

namespace hadr {
namespace {

using testing_support::make_append;

std::string one_frame(const WalAppend& append, Lsn lsn, WalRecordType type = WalRecordType::kMessage,
                      WritePosition position = {}) {
  std::string bytes;
  append_frame(bytes, lsn, type, append, encoded_body_bytes(append), position);
  return bytes;
}

// Re-seals a frame after a test edits it, so that only the edited field is wrong.
void reseal(std::string& frame) {
  const std::uint64_t checksum = XXH3_64bits(frame.data() + 8, frame.size() - 8);
  std::memcpy(frame.data(), &checksum, sizeof(checksum));
}

TEST(WalFormat, FrameRoundTripsEveryField) {
  const WalAppend append = make_append(7, Epoch{3}, 100);
  const std::string bytes = one_frame(append, Lsn{42});
  EXPECT_EQ(bytes.size(), kFrameHeaderBytes + encoded_body_bytes(append));
  const FrameDecode decoded = decode_frame(bytes, 0, 1 << 20);
  ASSERT_EQ(decoded.error, FrameError::kNone);
  EXPECT_EQ(decoded.frame.lsn, Lsn{42});
  EXPECT_EQ(decoded.frame.frame_bytes, bytes.size());
  auto record = materialize_record(decoded.frame);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->lsn, Lsn{42});
  EXPECT_TRUE(testing_support::same_content(*record, append));
}

TEST(WalFormat, SealFrameRoundTripsWithoutMessageId) {
  WalAppend seal;
  seal.epoch = Epoch{9};
  const std::string bytes = one_frame(seal, Lsn{5}, WalRecordType::kSeal);
  const FrameDecode decoded = decode_frame(bytes, 0, 1 << 20);
  ASSERT_EQ(decoded.error, FrameError::kNone);
  auto record = materialize_record(decoded.frame);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->type, WalRecordType::kSeal);
  EXPECT_EQ(record->epoch, Epoch{9});
  EXPECT_TRUE(record->message_id.empty());
}

TEST(WalFormat, WritePositionGivesTheWritesLsnRange) {
  const std::string bytes = one_frame(make_append(1), Lsn{12}, WalRecordType::kMessage, {2, 5});
  const FrameDecode decoded = decode_frame(bytes, 0, 1 << 20);
  ASSERT_EQ(decoded.error, FrameError::kNone);
  EXPECT_EQ(decoded.frame.first_lsn_of_write(), Lsn{10});
  EXPECT_EQ(decoded.frame.last_lsn_of_write(), Lsn{14});
}

TEST(WalFormat, TruncatedHeaderIsIncomplete) {
  const std::string bytes = one_frame(make_append(1), Lsn{1});
  EXPECT_EQ(decode_frame(bytes.substr(0, kFrameHeaderBytes - 1), 0, 1 << 20).error, FrameError::kIncomplete);
}

TEST(WalFormat, TruncatedBodyIsIncomplete) {
  const std::string bytes = one_frame(make_append(1), Lsn{1});
  EXPECT_EQ(decode_frame(bytes.substr(0, bytes.size() - 1), 0, 1 << 20).error, FrameError::kIncomplete);
}

TEST(WalFormat, FlippedPayloadBitIsBadChecksum) {
  std::string bytes = one_frame(make_append(1), Lsn{1});
  bytes[bytes.size() - 3] ^= 0x10;
  EXPECT_EQ(decode_frame(bytes, 0, 1 << 20).error, FrameError::kBadChecksum);
}

TEST(WalFormat, FlippedLsnBitIsBadChecksum) {
  std::string bytes = one_frame(make_append(1), Lsn{1});
  bytes[16] ^= 0x02;
  EXPECT_EQ(decode_frame(bytes, 0, 1 << 20).error, FrameError::kBadChecksum);
}

TEST(WalFormat, ZeroedFrameIsBadChecksum) {
  const std::string zeros(kFrameHeaderBytes + 64, '\0');
  EXPECT_NE(decode_frame(zeros, 0, 1 << 20).error, FrameError::kNone);
}

TEST(WalFormat, BodyLongerThanLimitIsTooLarge) {
  const std::string bytes = one_frame(make_append(1, Epoch{1}, 500), Lsn{1});
  EXPECT_EQ(decode_frame(bytes, 0, 100).error, FrameError::kTooLarge);
}

TEST(WalFormat, ChecksummedFrameWithUnknownTypeIsMalformed) {
  std::string bytes = one_frame(make_append(1), Lsn{1});
  bytes[12] = 9;
  reseal(bytes);
  EXPECT_EQ(decode_frame(bytes, 0, 1 << 20).error, FrameError::kMalformed);
}

TEST(WalFormat, ChecksummedFrameWithInconsistentBodyIsMalformed) {
  std::string bytes = one_frame(make_append(1), Lsn{1});
  bytes[kFrameHeaderBytes + 8] = 127;  // message id length beyond the body
  reseal(bytes);
  EXPECT_EQ(decode_frame(bytes, 0, 1 << 20).error, FrameError::kMalformed);
}

TEST(WalFormat, ChecksummedFrameWithBadWritePositionIsMalformed) {
  std::string bytes = one_frame(make_append(1), Lsn{1}, WalRecordType::kMessage, {0, 1});
  const std::uint32_t index = 3;  // index >= count
  std::memcpy(bytes.data() + 32, &index, sizeof(index));
  reseal(bytes);
  EXPECT_EQ(decode_frame(bytes, 0, 1 << 20).error, FrameError::kMalformed);
}

TEST(WalFormat, SegmentHeaderRoundTrips) {
  const std::string bytes = encode_segment_header({17, Lsn{1234}});
  ASSERT_EQ(bytes.size(), kSegmentHeaderBytes);
  auto header = decode_segment_header(bytes);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->sequence, 17u);
  EXPECT_EQ(header->first_lsn, Lsn{1234});
}

TEST(WalFormat, SegmentHeaderBadMagicIsDataLoss) {
  std::string bytes = encode_segment_header({1, Lsn{1}});
  bytes[0] = 'X';
  EXPECT_EQ(decode_segment_header(bytes).code(), ErrorCode::kDataLoss);
}

TEST(WalFormat, SegmentHeaderUnknownVersionNamesTheVersion) {
  std::string bytes = encode_segment_header({1, Lsn{1}});
  const std::uint32_t version = 7;
  std::memcpy(bytes.data() + 8, &version, sizeof(version));
  const std::uint64_t checksum = XXH3_64bits(bytes.data(), 40);
  std::memcpy(bytes.data() + 40, &checksum, sizeof(checksum));
  auto header = decode_segment_header(bytes);
  ASSERT_FALSE(header.ok());
  EXPECT_NE(header.error().detail.find("version 7"), std::string::npos) << header.error().detail;
}

TEST(WalFormat, SegmentHeaderBitFlipIsDataLoss) {
  std::string bytes = encode_segment_header({1, Lsn{1}});
  bytes[20] ^= 1;
  EXPECT_EQ(decode_segment_header(bytes).code(), ErrorCode::kDataLoss);
}

TEST(WalFormat, ShortSegmentHeaderIsDataLoss) {
  EXPECT_EQ(decode_segment_header(encode_segment_header({1, Lsn{1}}).substr(0, 47)).code(), ErrorCode::kDataLoss);
}

TEST(WalFormat, SegmentFileNamesRoundTrip) {
  EXPECT_EQ(segment_file_name(42), "wal-000000000042.seg");
  EXPECT_EQ(parse_segment_file_name("wal-000000000042.seg"), 42u);
  EXPECT_FALSE(parse_segment_file_name("wal-000000000000.seg"));
  EXPECT_FALSE(parse_segment_file_name("wal-00000000004x.seg"));
  EXPECT_FALSE(parse_segment_file_name("wal-000000000042.seg.tmp"));
  EXPECT_FALSE(parse_segment_file_name("LOCK"));
}

}  // namespace
}  // namespace hadr
