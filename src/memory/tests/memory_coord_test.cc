// Proves MemoryCoord's compare-and-set and its fault sites: versions count writes; a lower
// epoch never overwrites a higher one; TTL records expire on the server's clock; a fired
// kTimeoutAfterApply still writes (so a blind retry of a version CAS is refused: callers must
// re-read); a disconnected client changes nothing; restore() regresses stored epochs (F17).
#include "memory/memory_coord.h"

#include <gtest/gtest.h>

#include <string>

namespace hadr {
namespace {

using std::chrono::milliseconds;

CoordPut alias_write(std::string value, Epoch epoch, CoordCondition condition = CoordCondition::kEpochAtLeast,
                     std::uint64_t expected_version = 0) {
  return CoordPut{.key = "alias", .value = std::move(value), .epoch = epoch, .condition = condition,
                  .expected_version = expected_version};
}

class MemoryCoordTest : public ::testing::Test {
 protected:
  std::optional<CoordRecord> read(std::string_view key) {
    auto record = observer_.get(key);
    EXPECT_TRUE(record.ok()) << record.error().to_string();
    return record.ok() ? *record : std::nullopt;
  }

  ManualClock clock_;
  MemoryCoordServer server_{clock_};
  ManualFaultInjector faults_;
  MemoryCoord watchdog_{server_, &faults_};
  MemoryCoord observer_{server_};
};

TEST_F(MemoryCoordTest, VersionsCountWritesAndCasOnVersion) {
  auto created = watchdog_.put(alias_write("namespace-a", Epoch{1}, CoordCondition::kVersionEquals, 0));
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->version, 1u);
  EXPECT_EQ(watchdog_.put(alias_write("namespace-b", Epoch{1}, CoordCondition::kVersionEquals, 0)).code(),
            ErrorCode::kAborted);
  auto flipped = watchdog_.put(alias_write("namespace-b", Epoch{1}, CoordCondition::kVersionEquals, 1));
  ASSERT_TRUE(flipped.ok());
  EXPECT_EQ(flipped->version, 2u);
  EXPECT_EQ(read("alias")->value, "namespace-b");
}

TEST_F(MemoryCoordTest, LowerEpochNeverOverwritesHigher) {
  ASSERT_TRUE(watchdog_.put(alias_write("namespace-b", Epoch{2})).ok());
  const auto stale = observer_.put(alias_write("namespace-a", Epoch{1}));
  EXPECT_EQ(stale.code(), ErrorCode::kAborted);
  EXPECT_NE(stale.error().detail.find("epoch 2"), std::string::npos) << stale.error().detail;
  EXPECT_EQ(read("alias")->value, "namespace-b");
  EXPECT_TRUE(observer_.put(alias_write("namespace-a", Epoch{2})).ok());  // equal epoch may write
}

TEST_F(MemoryCoordTest, TtlRecordsExpireAndRestartAtVersionOne) {
  CoordPut heartbeat{.key = "heartbeat/a", .value = "alive", .epoch = Epoch{1}, .ttl = milliseconds(100)};
  ASSERT_TRUE(watchdog_.put(heartbeat).ok());
  ASSERT_TRUE(watchdog_.put(heartbeat).ok());
  EXPECT_EQ(read("heartbeat/a")->version, 2u);
  EXPECT_EQ(read("heartbeat/a")->remaining, milliseconds(100));
  clock_.advance(milliseconds(100));
  EXPECT_FALSE(read("heartbeat/a").has_value());
  EXPECT_TRUE(observer_.list("heartbeat/")->empty());
  EXPECT_EQ(watchdog_.put(heartbeat)->version, 1u);
}

TEST_F(MemoryCoordTest, ListReturnsLiveRecordsWithThePrefixInKeyOrder) {
  for (const char* key : {"checkpoint/b", "heartbeat/a", "checkpoint/a"}) {
    ASSERT_TRUE(watchdog_.put(CoordPut{.key = key, .value = "v", .epoch = Epoch{1}}).ok());
  }
  auto listed = observer_.list("checkpoint/");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].key, "checkpoint/a");
  EXPECT_EQ((*listed)[1].key, "checkpoint/b");
}

TEST_F(MemoryCoordTest, TimeoutAfterApplyStillWrites) {
  faults_.arm(FaultSite::kTimeoutAfterApply);
  EXPECT_EQ(watchdog_.put(alias_write("namespace-b", Epoch{2}, CoordCondition::kVersionEquals, 0)).code(),
            ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(read("alias")->value, "namespace-b");
  // A blind retry of the same CAS is refused: the watchdog must re-read and find its own write.
  EXPECT_EQ(watchdog_.put(alias_write("namespace-b", Epoch{2}, CoordCondition::kVersionEquals, 0)).code(),
            ErrorCode::kAborted);
}

TEST_F(MemoryCoordTest, DisconnectedClientChangesNothing) {
  watchdog_.set_connected(false);
  EXPECT_EQ(watchdog_.put(alias_write("namespace-b", Epoch{2})).code(), ErrorCode::kUnavailable);
  EXPECT_EQ(watchdog_.list("").code(), ErrorCode::kUnavailable);
  EXPECT_FALSE(read("alias").has_value());
}

TEST_F(MemoryCoordTest, RestoreFromOldSnapshotRegressesTheStoredEpoch) {
  ASSERT_TRUE(watchdog_.put(alias_write("namespace-a", Epoch{1})).ok());
  const MemoryCoordServer::Snapshot old_snapshot = server_.snapshot();
  ASSERT_TRUE(watchdog_.put(alias_write("namespace-b", Epoch{2})).ok());
  server_.restore(old_snapshot);
  EXPECT_EQ(read("alias")->epoch, Epoch{1});
  EXPECT_EQ(read("alias")->value, "namespace-a");
  EXPECT_TRUE(observer_.put(alias_write("namespace-a", Epoch{1})).ok());  // epoch 1 writes again
}

TEST_F(MemoryCoordTest, BadInputIsInvalidArgumentAndChangesNothing) {
  EXPECT_EQ(watchdog_.put(CoordPut{.key = "", .value = "v"}).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(watchdog_.put(CoordPut{.key = std::string(257, 'k'), .value = "v"}).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(watchdog_.put(CoordPut{.key = "k", .value = std::string(Coord::kMaxValueBytes + 1, 'v')}).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(watchdog_.put(CoordPut{.key = "k", .value = "v", .ttl = milliseconds(-1)}).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_TRUE(observer_.list("")->empty());
}

}  // namespace
}  // namespace hadr
