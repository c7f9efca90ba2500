// Proves RedisCoord against a real redis-server: versions start at 1 and grow by 1, the
// version and epoch conditions refuse with kAborted naming the current version and epoch and
// change nothing, TTL records expire (by Redis's clock) and restart at version 1, list() is
// in key order, literal about glob characters, skips expired records, and bad input is
// kInvalidArgument.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "redis/redis_coord.h"
#include "redis/testing/redis_test_environment.h"

namespace hadr::redis {
namespace {

using testing::RedisTestEnvironment;

std::unique_ptr<RedisCoord> fresh_coord() {
  auto coord = RedisCoord::open(RedisTestEnvironment::instance().options("coord"));
  HADR_ASSERT_MSG(coord.ok(), "%s", coord.error().to_string().c_str());
  return std::move(coord).value();
}

CoordPut write_of(std::string key, std::string value, Epoch epoch = Epoch{1}) {
  CoordPut write;
  write.key = std::move(key);
  write.value = std::move(value);
  write.epoch = epoch;
  return write;
}

bool wait_until_absent(Coord& coord, std::string_view key) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto record = coord.get(key);
    if (record.ok() && !record->has_value()) return true;
    std::this_thread::sleep_for(Milliseconds(5));
  }
  return false;
}

TEST(RedisCoord, NewRecordStartsAtVersionOneAndReadsBack) {
  auto coord = fresh_coord();
  auto written = coord->put(write_of("alias", "namespace-a", Epoch{3}));
  ASSERT_TRUE(written.ok()) << written.error().to_string();
  EXPECT_EQ(written->version, 1u);
  EXPECT_EQ(written->epoch, Epoch{3});
  auto read = coord->get("alias");
  ASSERT_TRUE(read.ok());
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->value, "namespace-a");
  EXPECT_EQ((*read)->version, 1u);
  EXPECT_EQ((*read)->epoch, Epoch{3});
  EXPECT_EQ((*read)->remaining, Milliseconds(0));
}

TEST(RedisCoord, EveryPutBumpsTheVersion) {
  auto coord = fresh_coord();
  ASSERT_TRUE(coord->put(write_of("k", "1")).ok());
  auto second = coord->put(write_of("k", "2"));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->version, 2u);
}

TEST(RedisCoord, AbsentRecordReadsAsNothing) {
  auto read = fresh_coord()->get("missing");
  ASSERT_TRUE(read.ok());
  EXPECT_FALSE(read->has_value());
}

TEST(RedisCoord, VersionZeroMeansMustNotExist) {
  auto coord = fresh_coord();
  CoordPut create = write_of("alias", "a");
  create.condition = CoordCondition::kVersionEquals;
  create.expected_version = 0;
  ASSERT_TRUE(coord->put(create).ok());
  auto again = coord->put(create);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.code(), ErrorCode::kAborted);
  EXPECT_NE(again.error().detail.find("current version 1"), std::string::npos) << again.error().detail;
}

TEST(RedisCoord, VersionMismatchIsAbortedAndChangesNothing) {
  auto coord = fresh_coord();
  ASSERT_TRUE(coord->put(write_of("alias", "a")).ok());
  CoordPut update = write_of("alias", "b");
  update.condition = CoordCondition::kVersionEquals;
  update.expected_version = 5;
  EXPECT_EQ(coord->put(update).code(), ErrorCode::kAborted);
  EXPECT_EQ(coord->get("alias").value()->value, "a");
  update.expected_version = 1;
  auto written = coord->put(update);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(written->version, 2u);
}

TEST(RedisCoord, LowerEpochNeverOverwritesAHigherOne) {
  auto coord = fresh_coord();
  ASSERT_TRUE(coord->put(write_of("alias", "b", Epoch{5})).ok());
  CoordPut stale = write_of("alias", "a", Epoch{4});
  stale.condition = CoordCondition::kEpochAtLeast;
  auto refused = coord->put(stale);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), ErrorCode::kAborted);
  EXPECT_NE(refused.error().detail.find("epoch 5"), std::string::npos) << refused.error().detail;
  EXPECT_EQ(coord->get("alias").value()->value, "b");
}

TEST(RedisCoord, EqualOrHigherEpochWritesUnderTheEpochCondition) {
  auto coord = fresh_coord();
  CoordPut write = write_of("alias", "a", Epoch{5});
  write.condition = CoordCondition::kEpochAtLeast;
  ASSERT_TRUE(coord->put(write).ok());  // absent: writes
  ASSERT_TRUE(coord->put(write).ok());  // equal: writes
  write.epoch = Epoch{6};
  auto higher = coord->put(write);
  ASSERT_TRUE(higher.ok());
  EXPECT_EQ(higher->version, 3u);
  EXPECT_EQ(higher->epoch, Epoch{6});
}

TEST(RedisCoord, TtlRecordExpiresAndStartsAgainAtVersionOne) {
  auto coord = fresh_coord();
  CoordPut heartbeat = write_of("heartbeat/a/worker-1", "alive");
  heartbeat.ttl = Milliseconds(30);
  ASSERT_TRUE(coord->put(heartbeat).ok());
  ASSERT_TRUE(coord->put(heartbeat).ok());
  ASSERT_TRUE(wait_until_absent(*coord, "heartbeat/a/worker-1"));
  auto fresh = coord->put(heartbeat);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->version, 1u);
}

TEST(RedisCoord, TtlRecordReportsTimeLeft) {
  auto coord = fresh_coord();
  CoordPut heartbeat = write_of("hb", "alive");
  heartbeat.ttl = Milliseconds(60'000);
  auto written = coord->put(heartbeat);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(written->remaining, Milliseconds(60'000));
  auto read = coord->get("hb");
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_GT((*read)->remaining, Milliseconds(0));
  EXPECT_LE((*read)->remaining, Milliseconds(60'000));
}

TEST(RedisCoord, PutWithoutTtlClearsAnEarlierTtl) {
  auto coord = fresh_coord();
  CoordPut write = write_of("k", "v");
  write.ttl = Milliseconds(60'000);
  ASSERT_TRUE(coord->put(write).ok());
  write.ttl = Milliseconds(0);
  ASSERT_TRUE(coord->put(write).ok());
  EXPECT_EQ(coord->get("k").value()->remaining, Milliseconds(0));
}

TEST(RedisCoord, ListReturnsMatchingRecordsInKeyOrder) {
  auto coord = fresh_coord();
  for (const char* key : {"heartbeat/b", "checkpoint/a", "heartbeat/a", "heartbeat/c", "heartbeatz"}) {
    ASSERT_TRUE(coord->put(write_of(key, key)).ok());
  }
  auto listed = coord->list("heartbeat/");
  ASSERT_TRUE(listed.ok()) << listed.error().to_string();
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].key, "heartbeat/a");
  EXPECT_EQ((*listed)[1].key, "heartbeat/b");
  EXPECT_EQ((*listed)[2].key, "heartbeat/c");
  EXPECT_EQ((*listed)[2].value, "heartbeat/c");
  auto everything = coord->list("");
  ASSERT_TRUE(everything.ok());
  EXPECT_EQ(everything->size(), 5u);
}

TEST(RedisCoord, ListTreatsGlobCharactersLiterally) {
  auto coord = fresh_coord();
  ASSERT_TRUE(coord->put(write_of("a*", "star")).ok());
  ASSERT_TRUE(coord->put(write_of("ab", "plain")).ok());
  ASSERT_TRUE(coord->put(write_of("a[b]", "bracket")).ok());
  auto listed = coord->list("a*");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().value, "star");
}

TEST(RedisCoord, ListSkipsExpiredRecords) {
  auto coord = fresh_coord();
  CoordPut short_lived = write_of("hb/1", "x");
  short_lived.ttl = Milliseconds(20);
  ASSERT_TRUE(coord->put(short_lived).ok());
  ASSERT_TRUE(coord->put(write_of("hb/2", "y")).ok());
  ASSERT_TRUE(wait_until_absent(*coord, "hb/1"));
  auto listed = coord->list("hb/");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().key, "hb/2");
}

TEST(RedisCoord, RemoveDeletesAndRemovingAgainIsOk) {
  auto coord = fresh_coord();
  ASSERT_TRUE(coord->put(write_of("k", "v")).ok());
  ASSERT_TRUE(coord->remove("k").ok());
  EXPECT_FALSE(coord->get("k").value().has_value());
  EXPECT_TRUE(coord->list("").value().empty());
  EXPECT_TRUE(coord->remove("k").ok());
}

TEST(RedisCoord, BinaryValueRoundTrips) {
  auto coord = fresh_coord();
  const std::string value("a\0b\xff\n", 5);
  ASSERT_TRUE(coord->put(write_of("bin", value)).ok());
  EXPECT_EQ(coord->get("bin").value()->value, value);
}

TEST(RedisCoord, MaximumValueIsAcceptedAndOneMoreByteIsNot) {
  auto coord = fresh_coord();
  EXPECT_TRUE(coord->put(write_of("big", std::string(Coord::kMaxValueBytes, 'v'))).ok());
  EXPECT_EQ(coord->put(write_of("big", std::string(Coord::kMaxValueBytes + 1, 'v'))).code(),
            ErrorCode::kInvalidArgument);
}

TEST(RedisCoord, EmptyKeyIsInvalid) {
  EXPECT_EQ(fresh_coord()->put(write_of("", "v")).code(), ErrorCode::kInvalidArgument);
}

TEST(RedisCoord, OversizedKeyIsInvalid) {
  EXPECT_EQ(fresh_coord()->put(write_of(std::string(257, 'k'), "v")).code(), ErrorCode::kInvalidArgument);
}

TEST(RedisCoord, NegativeTtlIsInvalidAndWritesNothing) {
  auto coord = fresh_coord();
  CoordPut write = write_of("k", "v");
  write.ttl = Milliseconds(-1);
  EXPECT_EQ(coord->put(write).code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(coord->get("k").value().has_value());
}

TEST(RedisCoord, KeyPrefixesIsolateClustersOnOneServer) {
  auto one = fresh_coord();
  auto two = fresh_coord();
  ASSERT_TRUE(one->put(write_of("alias", "a")).ok());
  EXPECT_FALSE(two->get("alias").value().has_value());
  EXPECT_TRUE(two->list("").value().empty());
}

}  // namespace
}  // namespace hadr::redis
