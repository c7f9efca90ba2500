// Proves what a Redis restart does to hadr's state (faults F10 and F17), with servers of the
// test's own: without persistence a restart loses the lease epoch counter — epochs start again
// at 1 (an epoch regression, which is why docs/redis.md requires AOF) — and loses done marks;
// with AOF (appendfsync always) the same restart keeps both. Stores reconnect and reload their
// Lua scripts by themselves after the restart.
#include <gtest/gtest.h>

#include "redis/redis_dedupe_store.h"
#include "redis/redis_lease_store.h"
#include "redis/redis_server.h"

namespace hadr::redis {
namespace {


constexpr Milliseconds kLongTtl{60'000};

std::unique_ptr<RedisServer> start_server(bool append_only) {
  RedisServerOptions options;
  options.append_only = append_only;
  auto server = RedisServer::start(options);
  HADR_ASSERT_MSG(server.ok(), "%s", server.error().to_string().c_str());
  return std::move(server).value();
}

// Grants epochs 1 and 2 on "active_dc" (acquire, release, acquire) and returns the store.
std::unique_ptr<RedisLeaseStore> lease_store_at_epoch_two(const RedisServer& server) {
  auto store = RedisLeaseStore::open(server.client_options("durability"));
  HADR_ASSERT(store.ok());
  HADR_ASSERT((*store)->acquire("active_dc", "region-a", kLongTtl).ok());
  HADR_ASSERT((*store)->release("active_dc", "region-a", Epoch{1}).ok());
  HADR_ASSERT((*store)->acquire("active_dc", "region-b", kLongTtl).value().epoch == Epoch{2});
  return std::move(store).value();
}

TEST(RedisDurability, RestartWithoutPersistenceRegressesTheLeaseEpoch) {
  auto server = start_server(/*append_only=*/false);
  auto store = lease_store_at_epoch_two(*server);
  ASSERT_TRUE(server->kill().ok());
  ASSERT_TRUE(server->restart().ok());
  auto after = store->acquire("active_dc", "region-a", kLongTtl);
  ASSERT_TRUE(after.ok()) << after.error().to_string();
  EXPECT_TRUE(after->granted);
  // F17: the epoch went backwards (2 → 1). Fencing by epoch is only safe with AOF.
  EXPECT_EQ(after->epoch, Epoch{1});
}

TEST(RedisDurability, RestartWithAofKeepsTheLeaseEpochAndTheLease) {
  auto server = start_server(/*append_only=*/true);
  auto store = lease_store_at_epoch_two(*server);
  ASSERT_TRUE(server->kill().ok());
  ASSERT_TRUE(server->restart().ok());
  auto state = store->read("active_dc");
  ASSERT_TRUE(state.ok()) << state.error().to_string();
  EXPECT_TRUE(state->held);
  EXPECT_EQ(state->holder, "region-b");
  EXPECT_EQ(state->highest_epoch, Epoch{2});
  ASSERT_TRUE(store->release("active_dc", "region-b", Epoch{2}).ok());
  auto next = store->acquire("active_dc", "region-a", kLongTtl);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->epoch, Epoch{3});
}

std::unique_ptr<RedisDedupeStore> dedupe_store_with_a_done_mark(const RedisServer& server, const MessageId& id) {
  auto store = RedisDedupeStore::open(server.client_options("durability"));
  HADR_ASSERT(store.ok());
  auto claimed = (*store)->claim(id, "worker-a", Epoch{1}, kLongTtl);
  HADR_ASSERT(claimed.ok() && claimed->status == ClaimStatus::kClaimed);
  HADR_ASSERT((*store)->mark_done(id, claimed->claim_token, kDefaultDedupeRecordTtl).ok());
  return std::move(store).value();
}

TEST(RedisDurability, RestartWithoutPersistenceLosesDoneMarks) {
  auto server = start_server(/*append_only=*/false);
  const MessageId id = MessageId::parse("m-1").value();
  auto store = dedupe_store_with_a_done_mark(*server, id);
  ASSERT_TRUE(server->kill().ok());
  ASSERT_TRUE(server->restart().ok());
  auto claimed = store->claim(id, "worker-b", Epoch{1}, kLongTtl);
  ASSERT_TRUE(claimed.ok()) << claimed.error().to_string();
  // F10: the mark is gone, so a redelivery would run the handler again.
  EXPECT_EQ(claimed->status, ClaimStatus::kClaimed);
}

TEST(RedisDurability, RestartWithAofKeepsDoneMarks) {
  auto server = start_server(/*append_only=*/true);
  const MessageId id = MessageId::parse("m-1").value();
  auto store = dedupe_store_with_a_done_mark(*server, id);
  ASSERT_TRUE(server->kill().ok());
  ASSERT_TRUE(server->restart().ok());
  auto claimed = store->claim(id, "worker-b", Epoch{1}, kLongTtl);
  ASSERT_TRUE(claimed.ok()) << claimed.error().to_string();
  EXPECT_EQ(claimed->status, ClaimStatus::kAlreadyDone);
}

}  // namespace
}  // namespace hadr::redis
