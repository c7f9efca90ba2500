// LeaseStoreConformance proves that an implementation keeps the LeaseStore contract
// (contracts/lease_store.h): a lease is granted only when free; every grant's epoch is
// strictly greater than any before it — across expiry, release and a new client instance;
// only the live holder with its epoch may renew or release; racing acquires (threads and
// processes) have exactly one winner; bad input is kInvalidArgument and changes nothing.
// Each test gets a fresh, empty store from the backend's factory; store time passes only
// through factory->advance().
#include <unistd.h>

#include <string>

#include "contracts/tests/conformance.h"

namespace hadr::testing {

void LeaseStoreConformance::SetUp() {
  factory_ = GetParam().make();
  ASSERT_NE(factory_, nullptr);
  store_ = factory_->make_lease_store();
  if (store_ == nullptr) GTEST_SKIP() << GetParam().name << " does not implement LeaseStore";
}

Epoch LeaseStoreConformance::grant(std::string_view name, std::string_view holder, Milliseconds ttl) {
  auto outcome = store_->acquire(name, holder, ttl);
  EXPECT_TRUE(succeeded(outcome));
  if (!outcome.ok()) return Epoch{};
  EXPECT_TRUE(outcome->granted) << "held by " << outcome->holder;
  return outcome->epoch;
}

LeaseState LeaseStoreConformance::read_lease(std::string_view name) {
  auto state = store_->read(name);
  EXPECT_TRUE(succeeded(state));
  return state.ok() ? *state : LeaseState{};
}

namespace {

constexpr std::string_view kName = "active_dc";

// Nothing was ever granted under kName: the rejected call changed nothing.
void expect_never_granted(LeaseStore& store) {
  auto state = store.read(kName);
  ASSERT_TRUE(succeeded(state));
  EXPECT_FALSE(state->held);
  EXPECT_EQ(state->highest_epoch, Epoch{0});
}

TEST_P(LeaseStoreConformance, AcquireOfFreeNameIsGranted) {
  auto outcome = store_->acquire(kName, "region-a", kLongTtl);
  ASSERT_TRUE(succeeded(outcome));
  EXPECT_TRUE(outcome->granted);
  EXPECT_GT(outcome->epoch, Epoch{0});
  EXPECT_EQ(outcome->holder, "region-a");
  EXPECT_GT(outcome->remaining, Milliseconds(0));
  EXPECT_LE(outcome->remaining, kLongTtl);
}

TEST_P(LeaseStoreConformance, AcquireOfLiveLeaseIsRefusedAndNamesHolder) {
  const Epoch epoch = grant(kName, "region-a", kLongTtl);
  auto outcome = store_->acquire(kName, "region-b", kLongTtl);
  ASSERT_TRUE(succeeded(outcome));
  EXPECT_FALSE(outcome->granted);
  EXPECT_EQ(outcome->holder, "region-a");
  EXPECT_EQ(outcome->epoch, epoch);
  EXPECT_GT(outcome->remaining, Milliseconds(0));
  EXPECT_LE(outcome->remaining, kLongTtl);
}

TEST_P(LeaseStoreConformance, AcquireByLiveHolderItselfIsRefused) {
  const Epoch epoch = grant(kName, "region-a", kLongTtl);
  auto outcome = store_->acquire(kName, "region-a", kLongTtl);
  ASSERT_TRUE(succeeded(outcome));
  EXPECT_FALSE(outcome->granted) << "a holder must renew, not acquire again";
  EXPECT_EQ(outcome->epoch, epoch);
  EXPECT_EQ(read_lease(kName).highest_epoch, epoch);
}

TEST_P(LeaseStoreConformance, LeaseExpiresAfterTtl) {
  const Epoch epoch = grant(kName, "region-a", kShortTtl);
  factory_->advance(kPastShortTtl);
  const LeaseState state = read_lease(kName);
  EXPECT_FALSE(state.held);
  EXPECT_EQ(state.holder, "");
  EXPECT_EQ(state.epoch, Epoch{0});
  EXPECT_EQ(state.remaining, Milliseconds(0));
  EXPECT_EQ(state.highest_epoch, epoch);
}

TEST_P(LeaseStoreConformance, AcquireAfterExpiryGrantsHigherEpoch) {
  const Epoch first = grant(kName, "region-a", kShortTtl);
  factory_->advance(kPastShortTtl);
  const Epoch second = grant(kName, "region-b", kLongTtl);
  EXPECT_GT(second, first);
  EXPECT_EQ(read_lease(kName).holder, "region-b");
}

TEST_P(LeaseStoreConformance, AcquireAfterReleaseGrantsHigherEpoch) {
  const Epoch first = grant(kName, "region-a", kLongTtl);
  ASSERT_TRUE(succeeded(store_->release(kName, "region-a", first)));
  const Epoch second = grant(kName, "region-a", kLongTtl);
  EXPECT_GT(second, first);
}

TEST_P(LeaseStoreConformance, EpochsOfSuccessiveGrantsStrictlyIncrease) {
  Epoch previous{0};
  for (int grant_number = 0; grant_number < 5; ++grant_number) {
    const Epoch epoch = grant(kName, "region-a", kLongTtl);
    EXPECT_GT(epoch, previous);
    ASSERT_TRUE(succeeded(store_->release(kName, "region-a", epoch)));
    previous = epoch;
  }
}

TEST_P(LeaseStoreConformance, EpochSurvivesNewClientInstance) {
  const Epoch first = grant(kName, "region-a", kLongTtl);
  ASSERT_TRUE(succeeded(store_->release(kName, "region-a", first)));
  store_.reset();  // a restart of the store's client
  store_ = factory_->make_lease_store();
  EXPECT_EQ(read_lease(kName).highest_epoch, first);
  const Epoch second = grant(kName, "region-b", kLongTtl);
  EXPECT_GT(second, first);
}

TEST_P(LeaseStoreConformance, EpochSurvivesExpiryAndNewClientInstance) {
  const Epoch first = grant(kName, "region-a", kShortTtl);
  factory_->advance(kPastShortTtl);
  store_ = factory_->make_lease_store();
  const Epoch second = grant(kName, "region-b", kLongTtl);
  EXPECT_GT(second, first);
}

TEST_P(LeaseStoreConformance, LiveLeaseIsSeenByAnotherClientInstance) {
  const Epoch epoch = grant(kName, "region-a", kLongTtl);
  auto other = factory_->make_lease_store();
  auto outcome = other->acquire(kName, "region-b", kLongTtl);
  ASSERT_TRUE(succeeded(outcome));
  EXPECT_FALSE(outcome->granted);
  EXPECT_EQ(outcome->holder, "region-a");
  EXPECT_EQ(outcome->epoch, epoch);
}

TEST_P(LeaseStoreConformance, RenewByHolderExtendsLease) {
  const Epoch epoch = grant(kName, "region-a", kShortTtl);
  ASSERT_TRUE(succeeded(store_->renew(kName, "region-a", epoch, kLongTtl)));
  factory_->advance(kPastShortTtl);
  const LeaseState state = read_lease(kName);
  EXPECT_TRUE(state.held);
  EXPECT_EQ(state.holder, "region-a");
  EXPECT_EQ(state.epoch, epoch);
  EXPECT_GT(state.remaining, kPastShortTtl);
}

// Hole 6 (issue 12): a step of the store host's wall clock (NTP, `date -s`) is no time
// passing. A store that measured TTLs on the wall clock expired the lease here while its holder,
// whose renew deadline is monotonic, still wrote: two writers. The lease must stay live, keep
// its time left, refuse the peer and accept the holder's renew — forward and backward steps.
TEST_P(LeaseStoreConformance, WallClockStepOnTheStoreHostLeavesLeaseAlive) {
  const Epoch epoch = grant(kName, "region-a", kLongTtl);
  if (!factory_->step_wall_clock(kLongTtl * 2)) GTEST_SKIP() << GetParam().name << " cannot step its wall clock";
  const LeaseState state = read_lease(kName);
  EXPECT_TRUE(state.held) << "a wall-clock step expired the lease";
  EXPECT_EQ(state.epoch, epoch);
  EXPECT_GT(state.remaining, kLongTtl / 2);
  auto peer = store_->acquire(kName, "region-b", kLongTtl);
  ASSERT_TRUE(succeeded(peer));
  EXPECT_FALSE(peer->granted) << "the peer was granted a live lease after a wall-clock step";
  EXPECT_TRUE(succeeded(store_->renew(kName, "region-a", epoch, kShortTtl)));
  ASSERT_TRUE(factory_->step_wall_clock(-kLongTtl * 4));
  EXPECT_TRUE(read_lease(kName).held);
  factory_->advance(kPastShortTtl);  // time passing still expires it, whatever the wall clock did
  EXPECT_FALSE(read_lease(kName).held) << "a backward wall-clock step kept the lease alive past its TTL";
}

TEST_P(LeaseStoreConformance, RenewKeepsEpoch) {
  const Epoch epoch = grant(kName, "region-a", kLongTtl);
  ASSERT_TRUE(succeeded(store_->renew(kName, "region-a", epoch, kLongTtl)));
  EXPECT_EQ(read_lease(kName).epoch, epoch);
  EXPECT_EQ(read_lease(kName).highest_epoch, epoch);
}

TEST_P(LeaseStoreConformance, RenewByNonHolderIsAborted) {
  const Epoch epoch = grant(kName, "region-a", kLongTtl);
  EXPECT_TRUE(failed_with(store_->renew(kName, "region-b", epoch, kLongTtl), ErrorCode::kAborted));
  EXPECT_EQ(read_lease(kName).holder, "region-a");
  EXPECT_TRUE(succeeded(store_->renew(kName, "region-a", epoch, kLongTtl)));
}

TEST_P(LeaseStoreConformance, RenewWithWrongEpochIsAborted) {
  const Epoch epoch = grant(kName, "region-a", kLongTtl);
  EXPECT_TRUE(failed_with(store_->renew(kName, "region-a", Epoch{epoch.value + 1}, kLongTtl), ErrorCode::kAborted));
  EXPECT_TRUE(failed_with(store_->renew(kName, "region-a", Epoch{epoch.value - 1}, kLongTtl), ErrorCode::kAborted));
  EXPECT_TRUE(succeeded(store_->renew(kName, "region-a", epoch, kLongTtl)));
}

TEST_P(LeaseStoreConformance, RenewAfterExpiryIsAborted) {
  const Epoch epoch = grant(kName, "region-a", kShortTtl);
  factory_->advance(kPastShortTtl);
  EXPECT_TRUE(failed_with(store_->renew(kName, "region-a", epoch, kLongTtl), ErrorCode::kAborted));
  EXPECT_FALSE(read_lease(kName).held);
}

TEST_P(LeaseStoreConformance, RenewOfOldGrantAfterNewGrantIsAborted) {
  const Epoch old_epoch = grant(kName, "region-a", kShortTtl);
  factory_->advance(kPastShortTtl);
  const Epoch new_epoch = grant(kName, "region-a", kLongTtl);
  EXPECT_TRUE(failed_with(store_->renew(kName, "region-a", old_epoch, kLongTtl), ErrorCode::kAborted));
  EXPECT_TRUE(succeeded(store_->renew(kName, "region-a", new_epoch, kLongTtl)));
}

TEST_P(LeaseStoreConformance, ReleaseFreesLeaseAtOnce) {
  const Epoch epoch = grant(kName, "region-a", kLongTtl);
  ASSERT_TRUE(succeeded(store_->release(kName, "region-a", epoch)));
  const LeaseState state = read_lease(kName);
  EXPECT_FALSE(state.held);
  EXPECT_EQ(state.highest_epoch, epoch);
  EXPECT_GT(grant(kName, "region-b", kLongTtl), epoch);
}

TEST_P(LeaseStoreConformance, ReleaseByNonHolderIsAborted) {
  const Epoch epoch = grant(kName, "region-a", kLongTtl);
  EXPECT_TRUE(failed_with(store_->release(kName, "region-b", epoch), ErrorCode::kAborted));
  const LeaseState state = read_lease(kName);
  EXPECT_TRUE(state.held);
  EXPECT_EQ(state.holder, "region-a");
}

TEST_P(LeaseStoreConformance, ReleaseWithWrongEpochIsAborted) {
  const Epoch epoch = grant(kName, "region-a", kLongTtl);
  EXPECT_TRUE(failed_with(store_->release(kName, "region-a", Epoch{epoch.value + 1}), ErrorCode::kAborted));
  EXPECT_TRUE(read_lease(kName).held);
}

TEST_P(LeaseStoreConformance, ReleaseAfterExpiryIsAborted) {
  const Epoch epoch = grant(kName, "region-a", kShortTtl);
  factory_->advance(kPastShortTtl);
  EXPECT_TRUE(failed_with(store_->release(kName, "region-a", epoch), ErrorCode::kAborted));
}

TEST_P(LeaseStoreConformance, ReleaseTwiceIsAborted) {
  const Epoch epoch = grant(kName, "region-a", kLongTtl);
  ASSERT_TRUE(succeeded(store_->release(kName, "region-a", epoch)));
  EXPECT_TRUE(failed_with(store_->release(kName, "region-a", epoch), ErrorCode::kAborted));
}

TEST_P(LeaseStoreConformance, RenewAfterReleaseIsAborted) {
  const Epoch epoch = grant(kName, "region-a", kLongTtl);
  ASSERT_TRUE(succeeded(store_->release(kName, "region-a", epoch)));
  EXPECT_TRUE(failed_with(store_->renew(kName, "region-a", epoch, kLongTtl), ErrorCode::kAborted));
  EXPECT_FALSE(read_lease(kName).held);
}

TEST_P(LeaseStoreConformance, ReadOfNeverGrantedNameIsNotHeld) {
  const LeaseState state = read_lease(kName);
  EXPECT_FALSE(state.held);
  EXPECT_EQ(state.holder, "");
  EXPECT_EQ(state.epoch, Epoch{0});
  EXPECT_EQ(state.remaining, Milliseconds(0));
  EXPECT_EQ(state.highest_epoch, Epoch{0});
}

TEST_P(LeaseStoreConformance, ReadOfLiveLeaseNamesHolderEpochAndRemaining) {
  const Epoch epoch = grant(kName, "region-a", kLongTtl);
  const LeaseState state = read_lease(kName);
  EXPECT_TRUE(state.held);
  EXPECT_EQ(state.holder, "region-a");
  EXPECT_EQ(state.epoch, epoch);
  EXPECT_GT(state.remaining, Milliseconds(0));
  EXPECT_LE(state.remaining, kLongTtl);
  EXPECT_EQ(state.highest_epoch, epoch);
}

TEST_P(LeaseStoreConformance, NamesAreIndependent) {
  grant(kName, "region-a", kLongTtl);
  auto other = store_->acquire("other_lease", "region-b", kLongTtl);
  ASSERT_TRUE(succeeded(other));
  EXPECT_TRUE(other->granted);
  EXPECT_EQ(read_lease(kName).holder, "region-a");
}

// Both racers try to acquire the same names; per name exactly one may win.
constexpr int kRaceNames = 20;

RaceBody acquire_all(LeaseStore& store, std::string holder) {
  return [&store, holder] {
    std::string wins;
    for (int i = 0; i < kRaceNames; ++i) {
      auto outcome = store.acquire("race-" + std::to_string(i), holder, kLongTtl);
      wins += !outcome.ok() ? 'E' : (outcome->granted ? '1' : '0');
    }
    return wins;
  };
}

void expect_one_winner_per_name(const std::string& first, const std::string& second) {
  ASSERT_EQ(first.size(), static_cast<std::size_t>(kRaceNames));
  ASSERT_EQ(second.size(), static_cast<std::size_t>(kRaceNames));
  for (int i = 0; i < kRaceNames; ++i) {
    EXPECT_NE(first[i], 'E') << "acquire failed for name " << i;
    EXPECT_NE(second[i], 'E') << "acquire failed for name " << i;
    EXPECT_EQ((first[i] == '1') + (second[i] == '1'), 1) << "name " << i << ": " << first[i] << second[i];
  }
}

TEST_P(LeaseStoreConformance, AcquireRaceBetweenThreadsHasOneWinner) {
  auto other = factory_->make_lease_store();
  const auto results = race_threads({acquire_all(*store_, "region-a"), acquire_all(*other, "region-b")});
  expect_one_winner_per_name(results[0], results[1]);
}

TEST_P(LeaseStoreConformance, AcquireRaceBetweenProcessesHasOneWinner) {
  if (!factory_->supports_fork()) GTEST_SKIP() << GetParam().name << " cannot be used after fork()";
  store_.reset();  // no connection may cross the fork
  std::unique_ptr<LeaseStore> racer;
  auto results = race_with_forked_child([&]() -> RaceBody {
    racer = factory_->make_lease_store();
    // prepare runs in both processes after the fork; the pid tells the holders apart.
    return acquire_all(*racer, "region-" + std::to_string(::getpid()));
  });
  ASSERT_TRUE(succeeded(results));
  expect_one_winner_per_name(results->parent, results->child);
}

// ---- bad input: kInvalidArgument, and nothing changes ----

TEST_P(LeaseStoreConformance, AcquireRejectsEmptyName) {
  EXPECT_TRUE(failed_with(store_->acquire("", "region-a", kLongTtl), ErrorCode::kInvalidArgument));
}

TEST_P(LeaseStoreConformance, AcquireRejectsNameOver128Bytes) {
  const std::string name(129, 'n');
  EXPECT_TRUE(failed_with(store_->acquire(name, "region-a", kLongTtl), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(failed_with(store_->read(name), ErrorCode::kInvalidArgument));
}

TEST_P(LeaseStoreConformance, AcquireAcceptsNameOf128Bytes) {
  const std::string name(128, 'n');
  auto outcome = store_->acquire(name, "region-a", kLongTtl);
  ASSERT_TRUE(succeeded(outcome));
  EXPECT_TRUE(outcome->granted);
}

TEST_P(LeaseStoreConformance, AcquireRejectsNonPrintableName) {
  EXPECT_TRUE(failed_with(store_->acquire("active\ndc", "region-a", kLongTtl), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(failed_with(store_->acquire(std::string("active\0dc", 9), "region-a", kLongTtl),
                          ErrorCode::kInvalidArgument));
  EXPECT_TRUE(failed_with(store_->acquire("active\xff", "region-a", kLongTtl), ErrorCode::kInvalidArgument));
}

TEST_P(LeaseStoreConformance, AcquireRejectsEmptyHolder) {
  EXPECT_TRUE(failed_with(store_->acquire(kName, "", kLongTtl), ErrorCode::kInvalidArgument));
  expect_never_granted(*store_);
}

TEST_P(LeaseStoreConformance, AcquireRejectsHolderOver128Bytes) {
  EXPECT_TRUE(failed_with(store_->acquire(kName, std::string(129, 'h'), kLongTtl), ErrorCode::kInvalidArgument));
  expect_never_granted(*store_);
}

TEST_P(LeaseStoreConformance, AcquireRejectsNonPrintableHolder) {
  EXPECT_TRUE(failed_with(store_->acquire(kName, "region\ta", kLongTtl), ErrorCode::kInvalidArgument));
  expect_never_granted(*store_);
}

TEST_P(LeaseStoreConformance, AcquireRejectsZeroTtl) {
  EXPECT_TRUE(failed_with(store_->acquire(kName, "region-a", Milliseconds(0)), ErrorCode::kInvalidArgument));
  expect_never_granted(*store_);
}

TEST_P(LeaseStoreConformance, AcquireRejectsNegativeTtl) {
  EXPECT_TRUE(failed_with(store_->acquire(kName, "region-a", Milliseconds(-1)), ErrorCode::kInvalidArgument));
  expect_never_granted(*store_);
}

TEST_P(LeaseStoreConformance, AcquireRejectsTtlOverOneDay) {
  const Milliseconds over_one_day = std::chrono::hours(24) + Milliseconds(1);
  EXPECT_TRUE(failed_with(store_->acquire(kName, "region-a", over_one_day), ErrorCode::kInvalidArgument));
  expect_never_granted(*store_);
}

TEST_P(LeaseStoreConformance, RenewRejectsZeroTtlAndKeepsLease) {
  const Epoch epoch = grant(kName, "region-a", kShortTtl);
  EXPECT_TRUE(failed_with(store_->renew(kName, "region-a", epoch, Milliseconds(0)), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(failed_with(store_->renew(kName, "region-a", epoch, Milliseconds(-5)), ErrorCode::kInvalidArgument));
  factory_->advance(kPastShortTtl);
  EXPECT_FALSE(read_lease(kName).held) << "a rejected renew must not have extended the lease";
}

TEST_P(LeaseStoreConformance, RenewRejectsEmptyHolder) {
  const Epoch epoch = grant(kName, "region-a", kLongTtl);
  EXPECT_TRUE(failed_with(store_->renew(kName, "", epoch, kLongTtl), ErrorCode::kInvalidArgument));
  EXPECT_EQ(read_lease(kName).holder, "region-a");
}

TEST_P(LeaseStoreConformance, ReleaseRejectsEmptyNameAndKeepsLease) {
  const Epoch epoch = grant(kName, "region-a", kLongTtl);
  EXPECT_TRUE(failed_with(store_->release("", "region-a", epoch), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(read_lease(kName).held);
}

TEST_P(LeaseStoreConformance, ReadRejectsEmptyName) {
  EXPECT_TRUE(failed_with(store_->read(""), ErrorCode::kInvalidArgument));
}

}  // namespace
}  // namespace hadr::testing

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(LeaseStoreConformance);
