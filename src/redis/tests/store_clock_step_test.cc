// Hole 6 (issue 12), the Redis side: Redis measures PX expiry on its host's wall clock, which
// can step. StoreClockStepDetector (redis_lease_store.h) must flag a step of Redis's TIME that
// the holder's monotonic clock did not make — forward (the lease expires early in Redis while
// the holder still writes) and backward — and must not flag ordinary renewals, a slow round
// trip, or drift within the tolerance. Fake TIME answers; no server.
#include <gtest/gtest.h>

#include "redis/redis_lease_store.h"

namespace hadr::redis {
namespace {

using std::chrono::milliseconds;

constexpr Milliseconds kTolerance{500};  // lease TTL 4 s / 8

class StoreClockStepTest : public ::testing::Test {
 protected:
  // One renewal: the store answered `store_ms`; the request left at local `sent_ms` and its
  // answer came back `round_trip_ms` later.
  Status renew(std::int64_t store_ms, std::int64_t sent_ms, std::int64_t round_trip_ms = 2) {
    const MonoTime sent_at = MonoTime(milliseconds(sent_ms));
    return detector_.observe(store_ms, sent_at, sent_at + milliseconds(round_trip_ms));
  }

  StoreClockStepDetector detector_{kTolerance};
  const std::int64_t wall_ms_ = 1'767'225'600'000;  // Redis's TIME at the grant
};

TEST_F(StoreClockStepTest, RenewalsOnAgreeingClocksPass) {
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(renew(wall_ms_ + i * 1333, 10'000 + i * 1333).ok()) << i;
}

TEST_F(StoreClockStepTest, ForwardStepOfTheStoreClockIsDetected) {
  ASSERT_TRUE(renew(wall_ms_, 10'000).ok());
  const Status stepped = renew(wall_ms_ + 1333 + 1000, 10'000 + 1333);  // +1 s step (TTL/4)
  ASSERT_FALSE(stepped.ok());
  EXPECT_EQ(stepped.code(), ErrorCode::kAborted);
  EXPECT_NE(stepped.error().detail.find("store clock step"), std::string::npos) << stepped.error().detail;
}

TEST_F(StoreClockStepTest, BackwardStepOfTheStoreClockIsDetected) {
  ASSERT_TRUE(renew(wall_ms_, 10'000).ok());
  EXPECT_EQ(renew(wall_ms_ + 1333 - 2000, 10'000 + 1333).code(), ErrorCode::kAborted);
}

TEST_F(StoreClockStepTest, SlowRoundTripIsUncertaintyNotAStep) {
  ASSERT_TRUE(renew(wall_ms_, 10'000).ok());
  // The request waited 3 s in a queue; Redis read its clock just before answering.
  EXPECT_TRUE(renew(wall_ms_ + 1333 + 3000, 10'000 + 1333, 3'001).ok());
}

TEST_F(StoreClockStepTest, DriftWithinTheToleranceIsNoStep) {
  ASSERT_TRUE(renew(wall_ms_, 10'000).ok());
  EXPECT_TRUE(renew(wall_ms_ + 1333 + 400, 10'000 + 1333).ok());
}

TEST_F(StoreClockStepTest, ResetForgetsTheLastReading) {
  ASSERT_TRUE(renew(wall_ms_, 10'000).ok());
  detector_.reset();
  EXPECT_TRUE(renew(wall_ms_ + 3'600'000, 10'000 + 1333).ok()) << "a new grant has nothing to compare with";
}

}  // namespace
}  // namespace hadr::redis
