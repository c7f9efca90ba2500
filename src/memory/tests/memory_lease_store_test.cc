// Proves what MemoryLeaseStore adds to the LeaseStore contract for the simulator: clients
// share one server; a disconnected client or a fired kUnavailable changes nothing; a fired
// kTimeoutAfterApply still grants or renews; snapshot/restore makes the epoch go back (F17)
// while the grant history keeps what happened; TTLs run on the server's clock.
#include "memory/memory_lease_store.h"

#include <gtest/gtest.h>

#include "memory/tests/memory_test_support.h"

namespace hadr {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kLease = "active_dc";
constexpr Milliseconds kTtl = milliseconds(300);

class MemoryLeaseStoreTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  MemoryLeaseServer server_{clock_};
  ManualFaultInjector faults_;
  MemoryLeaseStore region_a_{server_, &faults_};
  MemoryLeaseStore region_b_{server_};

  LeaseState read_state() {
    auto state = region_b_.read(kLease);
    EXPECT_TRUE(state.ok()) << state.error().to_string();
    return state.ok() ? *state : LeaseState{};
  }
};

TEST_F(MemoryLeaseStoreTest, TwoClientsShareOneLease) {
  auto granted = region_a_.acquire(kLease, "a", kTtl);
  ASSERT_TRUE(granted.ok());
  EXPECT_TRUE(granted->granted);
  EXPECT_EQ(granted->epoch, Epoch{1});
  auto refused = region_b_.acquire(kLease, "b", kTtl);
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE(refused->granted);
  EXPECT_EQ(refused->holder, "a");
  EXPECT_EQ(refused->epoch, Epoch{1});
  EXPECT_EQ(refused->remaining, kTtl);
}

TEST_F(MemoryLeaseStoreTest, TtlRunsOnTheServerClock) {
  ASSERT_TRUE(region_a_.acquire(kLease, "a", kTtl).ok());
  clock_.advance(kTtl - milliseconds(1));
  EXPECT_TRUE(read_state().held);
  EXPECT_EQ(read_state().remaining, milliseconds(1));
  clock_.advance(milliseconds(1));
  EXPECT_FALSE(read_state().held);
  auto taken = region_b_.acquire(kLease, "b", kTtl);
  ASSERT_TRUE(taken.ok());
  EXPECT_TRUE(taken->granted);
  EXPECT_EQ(taken->epoch, Epoch{2});
}

TEST_F(MemoryLeaseStoreTest, WallClockJumpOnTheServerExpiresNothingByDefault) {
  ASSERT_TRUE(region_a_.acquire(kLease, "a", kTtl).ok());
  clock_.jump_wall(kTtl);  // fault F12: a step of the store host's wall clock is no time passing
  EXPECT_TRUE(read_state().held);
  EXPECT_TRUE(region_a_.renew(kLease, "a", Epoch{1}, kTtl).ok());
}

TEST_F(MemoryLeaseStoreTest, WallClockJumpExpiresTheLeaseOfAServerModellingRedis) {
  MemoryLeaseServer redis_like(clock_, TtlClock::kWall);
  MemoryLeaseStore holder(redis_like);
  ASSERT_TRUE(holder.acquire(kLease, "a", kTtl).ok());
  clock_.jump_wall(kTtl);  // Redis's PX expiry runs on its host's wall clock: the step expires it
  EXPECT_EQ(holder.renew(kLease, "a", Epoch{1}, kTtl).code(), ErrorCode::kAborted);
}

TEST_F(MemoryLeaseStoreTest, DisconnectedClientChangesNothing) {
  region_a_.set_connected(false);
  EXPECT_FALSE(region_a_.connected());
  EXPECT_EQ(region_a_.acquire(kLease, "a", kTtl).code(), ErrorCode::kUnavailable);
  EXPECT_EQ(region_a_.read(kLease).code(), ErrorCode::kUnavailable);
  EXPECT_FALSE(read_state().held);
  EXPECT_TRUE(server_.grant_history().empty());
  EXPECT_EQ(faults_.counters().asked(FaultSite::kUnavailable), 0u);  // a partition draws no fault
  region_a_.set_connected(true);
  auto granted = region_a_.acquire(kLease, "a", kTtl);
  ASSERT_TRUE(granted.ok());
  EXPECT_TRUE(granted->granted);
}

TEST_F(MemoryLeaseStoreTest, DisconnectedHolderCannotRenewAndLosesTheLease) {
  ASSERT_TRUE(region_a_.acquire(kLease, "a", kTtl).ok());
  region_a_.set_connected(false);  // fault F13: the active region is cut off from the store
  clock_.advance(kTtl / 2);
  EXPECT_EQ(region_a_.renew(kLease, "a", Epoch{1}, kTtl).code(), ErrorCode::kUnavailable);
  clock_.advance(kTtl / 2);
  auto taken = region_b_.acquire(kLease, "b", kTtl);
  ASSERT_TRUE(taken.ok());
  EXPECT_TRUE(taken->granted);
  EXPECT_EQ(taken->epoch, Epoch{2});
  region_a_.set_connected(true);
  EXPECT_EQ(region_a_.renew(kLease, "a", Epoch{1}, kTtl).code(), ErrorCode::kAborted);
}

TEST_F(MemoryLeaseStoreTest, UnavailableFaultChangesNothing) {
  faults_.arm(FaultSite::kUnavailable);
  EXPECT_EQ(region_a_.acquire(kLease, "a", kTtl).code(), ErrorCode::kUnavailable);
  EXPECT_EQ(faults_.counters().fired(FaultSite::kUnavailable), 1u);
  EXPECT_FALSE(read_state().held);
  EXPECT_EQ(read_state().highest_epoch, Epoch{0});
}

TEST_F(MemoryLeaseStoreTest, TimeoutAfterApplyStillGrantsTheLease) {
  faults_.arm(FaultSite::kTimeoutAfterApply);
  EXPECT_EQ(region_a_.acquire(kLease, "a", kTtl).code(), ErrorCode::kDeadlineExceeded);
  const LeaseState state = read_state();
  EXPECT_TRUE(state.held);
  EXPECT_EQ(state.holder, "a");
  EXPECT_EQ(state.epoch, Epoch{1});
  ASSERT_EQ(server_.grant_history().size(), 1u);
  // The caller retries: the lease is live, so it is refused even to its holder, who learns its
  // own epoch from the answer and can renew with it.
  auto retried = region_a_.acquire(kLease, "a", kTtl);
  ASSERT_TRUE(retried.ok());
  EXPECT_FALSE(retried->granted);
  EXPECT_EQ(retried->holder, "a");
  EXPECT_TRUE(region_a_.renew(kLease, "a", retried->epoch, kTtl).ok());
}

TEST_F(MemoryLeaseStoreTest, TimeoutAfterApplyStillRenews) {
  ASSERT_TRUE(region_a_.acquire(kLease, "a", kTtl).ok());
  clock_.advance(kTtl - milliseconds(10));
  faults_.arm(FaultSite::kTimeoutAfterApply);
  EXPECT_EQ(region_a_.renew(kLease, "a", Epoch{1}, kTtl).code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(read_state().remaining, kTtl);
}

TEST_F(MemoryLeaseStoreTest, TimeoutAfterApplyStillReleases) {
  ASSERT_TRUE(region_a_.acquire(kLease, "a", kTtl).ok());
  faults_.arm(FaultSite::kTimeoutAfterApply);
  EXPECT_EQ(region_a_.release(kLease, "a", Epoch{1}).code(), ErrorCode::kDeadlineExceeded);
  EXPECT_FALSE(read_state().held);
}

TEST_F(MemoryLeaseStoreTest, ReadAsksOnlyTheUnavailableSite) {
  faults_.arm(FaultSite::kTimeoutAfterApply);
  EXPECT_TRUE(region_a_.read(kLease).ok());
  EXPECT_EQ(faults_.counters().asked(FaultSite::kTimeoutAfterApply), 0u);
  EXPECT_EQ(faults_.counters().asked(FaultSite::kUnavailable), 1u);
}

TEST_F(MemoryLeaseStoreTest, RestoreFromOldSnapshotRegressesTheEpoch) {
  ASSERT_TRUE(region_a_.acquire(kLease, "a", kTtl).ok());
  const MemoryLeaseServer::Snapshot old_snapshot = server_.snapshot();
  clock_.advance(kTtl);
  ASSERT_EQ(region_b_.acquire(kLease, "b", kTtl)->epoch, Epoch{2});
  server_.restore(old_snapshot);  // fault F17: the store restarts from an old snapshot
  EXPECT_EQ(read_state().highest_epoch, Epoch{1});
  EXPECT_FALSE(read_state().held);  // the old grant expired on the server's clock meanwhile
  auto regranted = region_a_.acquire(kLease, "a", kTtl);
  ASSERT_TRUE(regranted.ok());
  EXPECT_TRUE(regranted->granted);
  EXPECT_EQ(regranted->epoch, Epoch{2});  // the same epoch as b's grant: what checkers must catch
  const auto history = server_.grant_history();
  ASSERT_EQ(history.size(), 3u);  // history is not part of the snapshot
  EXPECT_EQ(history[1].holder, "b");
  EXPECT_EQ(history[2].holder, "a");
  EXPECT_EQ(history[1].epoch, history[2].epoch);
}

TEST_F(MemoryLeaseStoreTest, GrantHistoryRecordsEpochHolderAndTime) {
  const WallTime first_grant = clock_.now_wall();
  ASSERT_TRUE(region_a_.acquire(kLease, "a", kTtl).ok());
  ASSERT_TRUE(region_a_.release(kLease, "a", Epoch{1}).ok());
  clock_.advance(milliseconds(5));
  ASSERT_TRUE(region_b_.acquire(kLease, "b", kTtl).ok());
  const auto history = server_.grant_history();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].name, kLease);
  EXPECT_EQ(history[0].holder, "a");
  EXPECT_EQ(history[0].epoch, Epoch{1});
  EXPECT_EQ(history[0].granted_at, first_grant);
  EXPECT_EQ(history[1].epoch, Epoch{2});
  EXPECT_EQ(history[1].granted_at, first_grant + milliseconds(5));
  EXPECT_EQ(server_.grant_history_dropped(), 0u);
}

TEST_F(MemoryLeaseStoreTest, BadInputIsInvalidArgumentAndChangesNothing) {
  EXPECT_EQ(region_a_.acquire("", "a", kTtl).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(region_a_.acquire(kLease, "", kTtl).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(region_a_.acquire(kLease, std::string(129, 'h'), kTtl).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(region_a_.acquire(kLease, "bad\nholder", kTtl).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(region_a_.acquire(kLease, "a", milliseconds(0)).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(region_a_.acquire(kLease, "a", milliseconds(-5)).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(region_a_.acquire(kLease, "a", std::chrono::hours(25)).code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(read_state().held);
  EXPECT_TRUE(server_.grant_history().empty());
}

// The simulator stamps each grant with its own reference time through the observer.
TEST_F(MemoryLeaseStoreTest, TheGrantObserverSeesEveryGrantAsItIsMade) {
  std::vector<LeaseGrant> seen;
  server_.set_grant_observer([&seen](const LeaseGrant& grant) { seen.push_back(grant); });
  ASSERT_TRUE(region_a_.acquire(kLease, "a", kTtl).ok());
  ASSERT_TRUE(region_b_.acquire(kLease, "b", kTtl).ok());  // refused: not a grant
  clock_.advance(kTtl);
  ASSERT_TRUE(region_b_.acquire(kLease, "b", kTtl).ok());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].holder, "a");
  EXPECT_EQ(seen[1].holder, "b");
  EXPECT_EQ(seen[1].epoch, Epoch{2});
}

}  // namespace
}  // namespace hadr
