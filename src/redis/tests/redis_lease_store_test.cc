// Proves RedisLeaseStore against a real redis-server: grants carry epochs that only grow, a
// live lease is never granted again, renew/release are compare-and-set on holder AND epoch,
// leases expire by Redis's clock, bad input is kInvalidArgument and changes nothing, and two
// key prefixes (clusters) on one server never see each other's leases. Hole 6 (issue 12): a
// renewal whose Redis TIME disagrees with the holder's monotonic clock is fenced (kAborted
// "store clock step"); renewals on agreeing clocks are not.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "redis/redis_lease_store.h"
#include "redis/testing/redis_test_environment.h"

namespace hadr::redis {
namespace {

using testing::RedisTestEnvironment;

constexpr Milliseconds kLongTtl{60'000};

std::unique_ptr<RedisLeaseStore> open_store(const RedisOptions& options) {
  auto store = RedisLeaseStore::open(options);
  HADR_ASSERT_MSG(store.ok(), "%s", store.error().to_string().c_str());
  return std::move(store).value();
}

std::unique_ptr<RedisLeaseStore> fresh_store() {
  return open_store(RedisTestEnvironment::instance().options("lease"));
}

// Polls until the lease reads as not held (Redis expires it by its own clock), with a deadline.
bool wait_until_not_held(LeaseStore& store, std::string_view name) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto state = store.read(name);
    if (state.ok() && !state->held) return true;
    std::this_thread::sleep_for(Milliseconds(5));
  }
  return false;
}

// The holder's monotonic clock is a ManualClock moved 30 s while Redis's TIME moves only the
// real milliseconds: to the holder, Redis's clock stepped back 30 s — its expiry can no longer
// be trusted, and the renewal must fence the holder.
TEST(RedisLeaseStore, RenewWhenRedisClockDisagreesWithOursIsFenced) {
  ManualClock holder_clock;
  auto opened = RedisLeaseStore::open(RedisTestEnvironment::instance().options("lease"), holder_clock);
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  auto& store = **opened;
  auto granted = store.acquire("active_dc", "region-a", kLongTtl);
  ASSERT_TRUE(granted.ok() && granted->granted);
  ASSERT_TRUE(store.renew("active_dc", "region-a", granted->epoch, kLongTtl).ok()) << "agreeing clocks";
  holder_clock.advance(std::chrono::seconds(30));
  const Status renewed = store.renew("active_dc", "region-a", granted->epoch, kLongTtl);
  ASSERT_EQ(renewed.code(), ErrorCode::kAborted);
  EXPECT_NE(renewed.error().detail.find("store clock step"), std::string::npos) << renewed.error().detail;
}

TEST(RedisLeaseStore, FirstAcquireGrantsEpochOne) {
  auto store = fresh_store();
  auto outcome = store->acquire("active_dc", "region-a", kLongTtl);
  ASSERT_TRUE(outcome.ok()) << outcome.error().to_string();
  EXPECT_TRUE(outcome->granted);
  EXPECT_EQ(outcome->epoch, Epoch{1});
  EXPECT_EQ(outcome->holder, "region-a");
  EXPECT_EQ(outcome->remaining, kLongTtl);
}

TEST(RedisLeaseStore, LiveLeaseIsNotGrantedAgainAndNamesTheHolder) {
  auto store = fresh_store();
  ASSERT_TRUE(store->acquire("active_dc", "region-a", kLongTtl).ok());
  auto other = store->acquire("active_dc", "region-b", kLongTtl);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->granted);
  EXPECT_EQ(other->holder, "region-a");
  EXPECT_EQ(other->epoch, Epoch{1});
  EXPECT_GT(other->remaining, Milliseconds(0));
  EXPECT_LE(other->remaining, kLongTtl);
  auto same = store->acquire("active_dc", "region-a", kLongTtl);
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->granted);
}

TEST(RedisLeaseStore, AcquireAfterReleaseGrantsAHigherEpoch) {
  auto store = fresh_store();
  ASSERT_TRUE(store->acquire("active_dc", "region-a", kLongTtl).ok());
  ASSERT_TRUE(store->release("active_dc", "region-a", Epoch{1}).ok());
  auto next = store->acquire("active_dc", "region-b", kLongTtl);
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(next->granted);
  EXPECT_EQ(next->epoch, Epoch{2});
}

TEST(RedisLeaseStore, ExpiredLeaseIsGrantedWithAHigherEpochAndTheOldGrantCannotRenew) {
  auto store = fresh_store();
  ASSERT_TRUE(store->acquire("active_dc", "region-a", Milliseconds(30)).ok());
  ASSERT_TRUE(wait_until_not_held(*store, "active_dc"));
  auto again = store->acquire("active_dc", "region-a", kLongTtl);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->granted);
  EXPECT_EQ(again->epoch, Epoch{2});
  const Status stale = store->renew("active_dc", "region-a", Epoch{1}, kLongTtl);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.code(), ErrorCode::kAborted);
  EXPECT_NE(stale.error().detail.find("epoch 2"), std::string::npos) << stale.error().detail;
}

TEST(RedisLeaseStore, RenewByTheHolderExtendsTheLease) {
  auto store = fresh_store();
  ASSERT_TRUE(store->acquire("active_dc", "region-a", Milliseconds(5'000)).ok());
  ASSERT_TRUE(store->renew("active_dc", "region-a", Epoch{1}, kLongTtl).ok());
  auto state = store->read("active_dc");
  ASSERT_TRUE(state.ok());
  EXPECT_GT(state->remaining, Milliseconds(5'000));
}

TEST(RedisLeaseStore, RenewAfterExpiryIsAborted) {
  auto store = fresh_store();
  ASSERT_TRUE(store->acquire("active_dc", "region-a", Milliseconds(20)).ok());
  ASSERT_TRUE(wait_until_not_held(*store, "active_dc"));
  const Status renewed = store->renew("active_dc", "region-a", Epoch{1}, kLongTtl);
  ASSERT_FALSE(renewed.ok());
  EXPECT_EQ(renewed.code(), ErrorCode::kAborted);
  EXPECT_NE(renewed.error().detail.find("not held"), std::string::npos);
}

TEST(RedisLeaseStore, RenewByAnotherHolderIsAbortedAndChangesNothing) {
  auto store = fresh_store();
  ASSERT_TRUE(store->acquire("active_dc", "region-a", kLongTtl).ok());
  const Status renewed = store->renew("active_dc", "region-b", Epoch{1}, kLongTtl);
  ASSERT_FALSE(renewed.ok());
  EXPECT_EQ(renewed.code(), ErrorCode::kAborted);
  EXPECT_NE(renewed.error().detail.find("region-a"), std::string::npos);
  auto state = store->read("active_dc");
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->holder, "region-a");
}

TEST(RedisLeaseStore, ReleaseWithTheWrongEpochIsAbortedAndKeepsTheLease) {
  auto store = fresh_store();
  ASSERT_TRUE(store->acquire("active_dc", "region-a", kLongTtl).ok());
  EXPECT_EQ(store->release("active_dc", "region-a", Epoch{7}).code(), ErrorCode::kAborted);
  auto state = store->read("active_dc");
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->held);
}

TEST(RedisLeaseStore, ReadReportsHolderEpochAndHighestEpoch) {
  auto store = fresh_store();
  auto never = store->read("active_dc");
  ASSERT_TRUE(never.ok());
  EXPECT_FALSE(never->held);
  EXPECT_EQ(never->highest_epoch, Epoch{0});
  ASSERT_TRUE(store->acquire("active_dc", "region-a", kLongTtl).ok());
  ASSERT_TRUE(store->release("active_dc", "region-a", Epoch{1}).ok());
  ASSERT_TRUE(store->acquire("active_dc", "region-b", kLongTtl).ok());
  auto state = store->read("active_dc");
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->held);
  EXPECT_EQ(state->holder, "region-b");
  EXPECT_EQ(state->epoch, Epoch{2});
  EXPECT_EQ(state->highest_epoch, Epoch{2});
  EXPECT_GT(state->remaining, Milliseconds(0));
}

TEST(RedisLeaseStore, ReleasedLeaseReadsAsNotHeldButKeepsTheHighestEpoch) {
  auto store = fresh_store();
  ASSERT_TRUE(store->acquire("active_dc", "region-a", kLongTtl).ok());
  ASSERT_TRUE(store->release("active_dc", "region-a", Epoch{1}).ok());
  auto state = store->read("active_dc");
  ASSERT_TRUE(state.ok());
  EXPECT_FALSE(state->held);
  EXPECT_EQ(state->holder, "");
  EXPECT_EQ(state->epoch, Epoch{0});
  EXPECT_EQ(state->highest_epoch, Epoch{1});
}

TEST(RedisLeaseStore, HolderContainingTheSeparatorRoundTrips) {
  auto store = fresh_store();
  auto outcome = store->acquire("active_dc", "a|b|7", kLongTtl);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->holder, "a|b|7");
  EXPECT_TRUE(store->renew("active_dc", "a|b|7", Epoch{1}, kLongTtl).ok());
  auto state = store->read("active_dc");
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->holder, "a|b|7");
  EXPECT_EQ(state->epoch, Epoch{1});
}

TEST(RedisLeaseStore, NamesThatLookLikeEpochKeysDoNotCollide) {
  auto store = fresh_store();
  ASSERT_TRUE(store->acquire("x", "region-a", kLongTtl).ok());
  auto other = store->acquire("x:epoch", "region-b", kLongTtl);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->granted);
  EXPECT_EQ(other->epoch, Epoch{1});
}

TEST(RedisLeaseStore, EmptyNameIsInvalid) {
  EXPECT_EQ(fresh_store()->acquire("", "region-a", kLongTtl).code(), ErrorCode::kInvalidArgument);
}

TEST(RedisLeaseStore, OversizedNameIsInvalid) {
  EXPECT_EQ(fresh_store()->acquire(std::string(129, 'n'), "region-a", kLongTtl).code(),
            ErrorCode::kInvalidArgument);
}

TEST(RedisLeaseStore, HolderWithASpaceIsInvalid) {
  EXPECT_EQ(fresh_store()->acquire("active_dc", "region a", kLongTtl).code(), ErrorCode::kInvalidArgument);
}

TEST(RedisLeaseStore, EmptyHolderIsInvalid) {
  EXPECT_EQ(fresh_store()->acquire("active_dc", "", kLongTtl).code(), ErrorCode::kInvalidArgument);
}

TEST(RedisLeaseStore, ZeroTtlIsInvalidAndGrantsNothing) {
  auto store = fresh_store();
  EXPECT_EQ(store->acquire("active_dc", "region-a", Milliseconds(0)).code(), ErrorCode::kInvalidArgument);
  auto state = store->read("active_dc");
  ASSERT_TRUE(state.ok());
  EXPECT_FALSE(state->held);
  EXPECT_EQ(state->highest_epoch, Epoch{0});
}

TEST(RedisLeaseStore, NegativeTtlIsInvalid) {
  EXPECT_EQ(fresh_store()->acquire("active_dc", "region-a", Milliseconds(-1)).code(), ErrorCode::kInvalidArgument);
}

TEST(RedisLeaseStore, TtlAboveOneDayIsInvalid) {
  EXPECT_EQ(fresh_store()->acquire("active_dc", "region-a", std::chrono::hours(25)).code(),
            ErrorCode::kInvalidArgument);
}

TEST(RedisLeaseStore, RenewWithZeroTtlIsInvalidAndKeepsTheLease) {
  auto store = fresh_store();
  ASSERT_TRUE(store->acquire("active_dc", "region-a", kLongTtl).ok());
  EXPECT_EQ(store->renew("active_dc", "region-a", Epoch{1}, Milliseconds(0)).code(), ErrorCode::kInvalidArgument);
  auto state = store->read("active_dc");
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->held);
}

TEST(RedisLeaseStore, KeyPrefixesIsolateClustersOnOneServer) {
  auto& environment = RedisTestEnvironment::instance();
  auto cluster_one = open_store(environment.options("cluster-one"));
  auto cluster_two = open_store(environment.options("cluster-two"));
  ASSERT_TRUE(cluster_one->acquire("active_dc", "region-a", kLongTtl).ok());
  auto other = cluster_two->acquire("active_dc", "region-b", kLongTtl);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->granted);
  EXPECT_EQ(other->epoch, Epoch{1});
}

TEST(RedisLeaseStore, TwoInstancesOnOnePrefixShareTheLease) {
  const RedisOptions options = RedisTestEnvironment::instance().options("shared");
  auto first = open_store(options);
  auto second = open_store(options);
  ASSERT_TRUE(first->acquire("active_dc", "region-a", kLongTtl).ok());
  auto other = second->acquire("active_dc", "region-b", kLongTtl);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->granted);
  EXPECT_EQ(other->holder, "region-a");
}

}  // namespace
}  // namespace hadr::redis
