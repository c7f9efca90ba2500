// Proves the id types accept what the protocols carry and reject, with a reason, what would
// break a key, a file name or a log line.
#include "core/ids.h"

#include <gtest/gtest.h>

namespace hadr {
namespace {

TEST(MessageIdTest, AcceptsPrintableAscii) {
  auto id = MessageId::parse("mq:ORDERS/000123");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->str(), "mq:ORDERS/000123");
}

TEST(MessageIdTest, RejectsEmpty) { EXPECT_EQ(MessageId::parse("").code(), ErrorCode::kInvalidArgument); }

TEST(MessageIdTest, RejectsOversized) {
  EXPECT_TRUE(MessageId::parse(std::string(MessageId::kMaxBytes, 'x')).ok());
  auto id = MessageId::parse(std::string(MessageId::kMaxBytes + 1, 'x'));
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.error().detail.find("maximum is 128"), std::string::npos);
}

TEST(MessageIdTest, RejectsControlBytesAndNamesTheByte) {
  auto id = MessageId::parse("ab\ncd");
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.error().detail.find("byte 2 is 0x0a"), std::string::npos) << id.error().detail;
  EXPECT_FALSE(MessageId::parse("a b").ok());
  EXPECT_FALSE(MessageId::parse("caf\xc3\xa9").ok());
}

TEST(RegionIdTest, AcceptsShortNames) {
  EXPECT_TRUE(RegionId::parse("a").ok());
  EXPECT_TRUE(RegionId::parse("west-europe_2").ok());
}

TEST(RegionIdTest, RejectsUpperCaseAndSpaces) {
  EXPECT_FALSE(RegionId::parse("A").ok());
  EXPECT_FALSE(RegionId::parse("west europe").ok());
  EXPECT_FALSE(RegionId::parse("").ok());
  EXPECT_FALSE(RegionId::parse(std::string(33, 'a')).ok());
}

TEST(LsnEpochTest, OrderAndNext) {
  EXPECT_LT(Lsn{1}, Lsn{2});
  EXPECT_EQ(Lsn{7}.next(), Lsn{8});
  EXPECT_GT(Epoch{3}, Epoch{2});
}

}  // namespace
}  // namespace hadr
