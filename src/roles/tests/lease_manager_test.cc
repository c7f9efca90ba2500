// Proves the LeaseManager's fencing rules (docs/failover.md, "Lease and self-fencing") on the
// in-memory lease store and a manual clock: one holder per epoch, epochs strictly increase,
// a grant is writable only once confirmed (after the watchdog's epoch check),
// renewal every ttl/3 keeps the region writable, the renew deadline closes the fence BEFORE
// the store lets the lease expire (even when the store is unreachable), a refused renew forgets
// the epoch, and an epoch that goes backwards (store restored from an old snapshot) is refused.
#include "roles/lease_manager.h"

#include <gtest/gtest.h>

#include "memory/memory_lease_store.h"

namespace hadr {
namespace {

constexpr Milliseconds kTtl{1'000};

struct LeaseFixture : ::testing::Test {
  ManualClock clock;
  MemoryLeaseServer server{clock};
  MemoryLeaseStore store_a{server};
  MemoryLeaseStore store_b{server};

  std::unique_ptr<LeaseManager> make(MemoryLeaseStore& store, std::string holder) {
    auto manager = LeaseManager::create(store, clock, LeaseOptions{.holder = std::move(holder), .ttl = kTtl});
    EXPECT_TRUE(manager.ok());
    return std::move(manager).value();
  }
  // Steps `manager` every 10 ms for `duration`.
  void run(LeaseManager& manager, Milliseconds duration) {
    for (Milliseconds elapsed{0}; elapsed < duration; elapsed += Milliseconds(10)) {
      ASSERT_TRUE(manager.step().ok());
      clock.advance(Milliseconds(10));
    }
  }
};

TEST_F(LeaseFixture, FirstAcquireIsWritableAndTheSecondIsRefused) {
  auto a = make(store_a, "a");
  auto b = make(store_b, "b");
  auto granted = a->try_acquire();
  ASSERT_TRUE(granted.ok());
  EXPECT_TRUE(*granted);
  EXPECT_FALSE(a->writable_epoch().has_value());  // held, but not writable before confirm()
  a->confirm();
  ASSERT_TRUE(a->writable_epoch().has_value());
  EXPECT_EQ(*a->writable_epoch(), Epoch{1});
  auto refused = b->try_acquire();
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE(*refused);
  EXPECT_FALSE(b->writable_epoch().has_value());
}

TEST_F(LeaseFixture, RenewingKeepsTheRegionWritableFarBeyondTheTtl) {
  auto a = make(store_a, "a");
  ASSERT_TRUE(a->try_acquire().ok());
  a->confirm();
  run(*a, kTtl * 10);
  EXPECT_EQ(a->writable_epoch(), std::optional<Epoch>(Epoch{1}));
  EXPECT_GE(a->stats().renewed, 25u);  // every ttl/3
}

TEST_F(LeaseFixture, UnreachableStoreClosesTheFenceBeforeTheLeaseExpires) {
  auto a = make(store_a, "a");
  ASSERT_TRUE(a->try_acquire().ok());
  a->confirm();
  store_a.set_connected(false);
  Milliseconds fenced_after{0};
  while (a->writable_epoch().has_value()) {
    ASSERT_TRUE(a->step().ok());
    clock.advance(Milliseconds(10));
    fenced_after += Milliseconds(10);
    ASSERT_LT(fenced_after, kTtl * 2);
  }
  EXPECT_LT(fenced_after, kTtl);
  // The store still holds the lease for a: nobody else can write yet either.
  auto state = server.read("active_dc");
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->held);
  ASSERT_TRUE(a->step().ok());  // the next step notices and counts it
  EXPECT_GE(a->stats().self_fenced, 1u);
  EXPECT_GE(a->stats().renew_failures, 1u);
}

TEST_F(LeaseFixture, LateRenewThatTheStoreStillAcceptsReopensTheFence) {
  auto a = make(store_a, "a");
  ASSERT_TRUE(a->try_acquire().ok());
  a->confirm();
  store_a.set_connected(false);
  run(*a, kTtl - kTtl / 5);  // past the deadline, before expiry
  EXPECT_FALSE(a->writable_epoch().has_value());
  store_a.set_connected(true);
  run(*a, Milliseconds(300));
  EXPECT_EQ(a->writable_epoch(), std::optional<Epoch>(Epoch{1}));
}

TEST_F(LeaseFixture, RefusedRenewForgetsTheEpochAndTheNextHolderGetsAHigherOne) {
  auto a = make(store_a, "a");
  auto b = make(store_b, "b");
  ASSERT_TRUE(a->try_acquire().ok());
  store_a.set_connected(false);
  clock.advance(kTtl + Milliseconds(1));
  auto granted = b->try_acquire();
  ASSERT_TRUE(granted.ok());
  ASSERT_TRUE(*granted);
  EXPECT_EQ(b->epoch(), Epoch{2});
  store_a.set_connected(true);
  run(*a, kTtl);
  EXPECT_FALSE(a->holding());
  EXPECT_EQ(a->stats().lost, 1u);
  EXPECT_FALSE(a->writable_epoch().has_value());
}

TEST_F(LeaseFixture, ReleaseFencesFirstAndLetsThePeerAcquireAtOnce) {
  auto a = make(store_a, "a");
  auto b = make(store_b, "b");
  ASSERT_TRUE(a->try_acquire().ok());
  ASSERT_TRUE(a->release().ok());
  EXPECT_FALSE(a->writable_epoch().has_value());
  auto granted = b->try_acquire();
  ASSERT_TRUE(granted.ok());
  EXPECT_TRUE(*granted);
  EXPECT_EQ(b->epoch(), Epoch{2});
}

TEST_F(LeaseFixture, EpochRegressionIsRefusedAndTheGrantGivenBack) {
  const auto empty = server.snapshot();
  auto a = make(store_a, "a");
  ASSERT_TRUE(a->try_acquire().ok());
  ASSERT_TRUE(a->release().ok());
  ASSERT_TRUE(a->try_acquire().ok());
  EXPECT_EQ(a->epoch(), Epoch{2});
  ASSERT_TRUE(a->release().ok());
  server.restore(empty);  // the store forgot every grant
  auto regressed = a->try_acquire();
  ASSERT_FALSE(regressed.ok());
  EXPECT_EQ(regressed.code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(regressed.error().detail.find("epoch regression"), std::string::npos);
  EXPECT_FALSE(a->holding());
  auto state = server.read("active_dc");
  ASSERT_TRUE(state.ok());
  EXPECT_FALSE(state->held);
}

TEST_F(LeaseFixture, BadOptionsAreRefusedWithTheKeyName) {
  auto bad = LeaseManager::create(store_a, clock, LeaseOptions{.holder = "a", .ttl = Milliseconds(5)});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().detail.find("lease.ttl"), std::string::npos);
  auto no_holder = LeaseManager::create(store_a, clock, LeaseOptions{});
  EXPECT_FALSE(no_holder.ok());
}

}  // namespace
}  // namespace hadr
