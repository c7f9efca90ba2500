// Proves MemoryBlobStore's whole-object semantics and fault sites: put_if_absent writes once;
// list pages in byte order after start_after; a fired kTimeoutAfterApply still stores (so a
// WAL-shipping retry sees "already there"); a disconnected client or kUnavailable changes
// nothing; bad keys are refused; the byte accounting follows replacements and removals.
#include "memory/memory_blob_store.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hadr {
namespace {

class MemoryBlobStoreTest : public ::testing::Test {
 protected:
  MemoryBlobServer server_;
  ManualFaultInjector faults_;
  MemoryBlobStore shipper_{server_, &faults_};
  MemoryBlobStore reader_{server_};
};

TEST_F(MemoryBlobStoreTest, PutIfAbsentWritesOnceAndKeepsTheFirstObject) {
  EXPECT_TRUE(*shipper_.put_if_absent("wal/a/00000001", "first"));
  EXPECT_FALSE(*shipper_.put_if_absent("wal/a/00000001", "second"));
  EXPECT_EQ(*reader_.get("wal/a/00000001"), "first");
}

TEST_F(MemoryBlobStoreTest, ListPagesInByteOrderAfterStartAfter) {
  for (const char* key : {"wal/b/2", "wal/a/2", "wal/a/1", "wal/a/3", "checkpoint/a"}) {
    ASSERT_TRUE(shipper_.put(key, "x").ok());
  }
  auto first = reader_.list("wal/a/", "", 2);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->keys, (std::vector<std::string>{"wal/a/1", "wal/a/2"}));
  EXPECT_TRUE(first->more);
  auto second = reader_.list("wal/a/", first->keys.back(), 2);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->keys, (std::vector<std::string>{"wal/a/3"}));
  EXPECT_FALSE(second->more);
  EXPECT_EQ(reader_.list("", "", 10)->keys.size(), 5u);
  EXPECT_EQ(reader_.list("wal/", "wal/a/9", 10)->keys, (std::vector<std::string>{"wal/b/2"}));
}

TEST_F(MemoryBlobStoreTest, TimeoutAfterApplyStillStores) {
  faults_.arm(FaultSite::kTimeoutAfterApply);
  EXPECT_EQ(shipper_.put_if_absent("wal/a/1", "segment").code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(*reader_.get("wal/a/1"), "segment");
  EXPECT_FALSE(*shipper_.put_if_absent("wal/a/1", "segment"));  // the retry finds it shipped
}

TEST_F(MemoryBlobStoreTest, TimeoutAfterApplyStillRemoves) {
  ASSERT_TRUE(shipper_.put("wal/a/1", "segment").ok());
  faults_.arm(FaultSite::kTimeoutAfterApply);
  EXPECT_EQ(shipper_.remove("wal/a/1").code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(reader_.get("wal/a/1").code(), ErrorCode::kNotFound);
}

TEST_F(MemoryBlobStoreTest, DisconnectedClientChangesNothing) {
  shipper_.set_connected(false);
  EXPECT_EQ(shipper_.put("wal/a/1", "segment").code(), ErrorCode::kUnavailable);
  EXPECT_EQ(shipper_.get("wal/a/1").code(), ErrorCode::kUnavailable);
  EXPECT_EQ(server_.object_count(), 0u);
}

TEST_F(MemoryBlobStoreTest, UnavailableFaultChangesNothing) {
  faults_.arm(FaultSite::kUnavailable);
  EXPECT_EQ(shipper_.put_if_absent("wal/a/1", "segment").code(), ErrorCode::kUnavailable);
  EXPECT_EQ(server_.object_count(), 0u);
}

TEST_F(MemoryBlobStoreTest, ByteAccountingFollowsReplaceAndRemove) {
  ASSERT_TRUE(shipper_.put("a", "12345").ok());
  ASSERT_TRUE(shipper_.put("b", "12").ok());
  ASSERT_TRUE(shipper_.put("a", "1").ok());
  EXPECT_EQ(server_.total_bytes(), 3u);
  ASSERT_TRUE(shipper_.remove("a").ok());
  ASSERT_TRUE(shipper_.remove("a").ok());  // removing a missing key is ok
  EXPECT_EQ(server_.total_bytes(), 2u);
  EXPECT_EQ(server_.object_count(), 1u);
}

TEST_F(MemoryBlobStoreTest, BadKeysAndPagesAreInvalidArgument) {
  EXPECT_EQ(shipper_.put("", "x").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(shipper_.put("/lead", "x").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(shipper_.put("a//b", "x").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(shipper_.put("a/../b", "x").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(shipper_.put("space here", "x").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(reader_.list("/", "", 10).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(reader_.list("", "", 0).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(reader_.list("", "", BlobStore::kMaxListPage + 1).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(server_.object_count(), 0u);
}

}  // namespace
}  // namespace hadr
