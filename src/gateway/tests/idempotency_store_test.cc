// Proves SqliteIdempotencyStore: a saved record is found with its hash and response until its
// expiry and not after; records survive reopening the file; save() purges expired records in
// bounded batches; purge_expired() never deletes a live record.
#include "gateway/idempotency_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/local_server.h"

namespace hadr::gateway_test {
namespace {

class IdempotencyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = make_temporary_directory("hadr-gateway-keys");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
    path_ = dir_ + "/idempotency.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  IdempotencyRecord record(Milliseconds ttl) const {
    return IdempotencyRecord{"hash-1", 202, "{\"message_id\":\"gw-k\"}", clock_.now_wall() + ttl};
  }

  ManualClock clock_;
  std::string dir_;
  std::string path_;
};

TEST_F(IdempotencyStoreTest, SavedRecordIsFoundUntilItExpires) {
  auto store = SqliteIdempotencyStore::open(path_);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->save("k", record(std::chrono::minutes(10)), clock_.now_wall()).ok());
  auto found = (*store)->find("k", clock_.now_wall());
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->body_hash, "hash-1");
  EXPECT_EQ((*found)->status, 202);
  EXPECT_EQ((*found)->response_body, "{\"message_id\":\"gw-k\"}");
  clock_.advance(std::chrono::minutes(10));
  found = (*store)->find("k", clock_.now_wall());
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
}

TEST_F(IdempotencyStoreTest, UnknownKeyIsNotFound) {
  auto store = SqliteIdempotencyStore::open(path_);
  ASSERT_TRUE(store.ok());
  auto found = (*store)->find("never-saved", clock_.now_wall());
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
}

TEST_F(IdempotencyStoreTest, RecordsSurviveReopening) {
  {
    auto store = SqliteIdempotencyStore::open(path_);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->save("k", record(std::chrono::minutes(10)), clock_.now_wall()).ok());
  }
  auto reopened = SqliteIdempotencyStore::open(path_);
  ASSERT_TRUE(reopened.ok());
  auto found = (*reopened)->find("k", clock_.now_wall());
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->has_value());
}

TEST_F(IdempotencyStoreTest, SavePurgesExpiredRecordsInBoundedBatches) {
  auto store = SqliteIdempotencyStore::open(path_);
  ASSERT_TRUE(store.ok());
  const std::size_t expired = SqliteIdempotencyStore::kPurgeBatch + 10;
  for (std::size_t index = 0; index < expired; ++index) {
    ASSERT_TRUE((*store)->save("old-" + std::to_string(index), record(std::chrono::minutes(1)), clock_.now_wall()).ok());
  }
  clock_.advance(std::chrono::minutes(2));
  ASSERT_TRUE((*store)->save("new", record(std::chrono::minutes(1)), clock_.now_wall()).ok());
  EXPECT_EQ(*(*store)->count(), 11u);  // 10 expired left over + the new one
  ASSERT_TRUE((*store)->save("newer", record(std::chrono::minutes(1)), clock_.now_wall()).ok());
  EXPECT_EQ(*(*store)->count(), 2u);
}

TEST_F(IdempotencyStoreTest, PurgeKeepsLiveRecords) {
  auto store = SqliteIdempotencyStore::open(path_);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->save("live", record(std::chrono::minutes(10)), clock_.now_wall()).ok());
  auto purged = (*store)->purge_expired(clock_.now_wall(), 100);
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 0u);
  EXPECT_EQ(*(*store)->count(), 1u);
}

}  // namespace
}  // namespace hadr::gateway_test
