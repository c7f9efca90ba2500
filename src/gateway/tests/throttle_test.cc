// Proves the token buckets on a ManualClock: a full bucket admits `burst` requests at once and
// then refuses with the exact wait for the next token; time refills at `rate` and never past
// `burst`; rate 0 never limits; the global bucket limits across clients and a request it
// refuses costs its client nothing; the client map forgets the least recently seen client
// first and never grows past clients_tracked_max.
#include "gateway/throttle.h"

#include <gtest/gtest.h>

namespace hadr::gateway_test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

ThrottleOptions client_limit(double rate, double burst) {
  ThrottleOptions options;
  options.client_rate_per_second = rate;
  options.client_burst = burst;
  options.global_rate_per_second = 0;
  return options;
}

TEST(TokenBucketTest, FullBucketAdmitsBurstThenWaitsForOneToken) {
  ManualClock clock;
  TokenBucket bucket(10, 3, clock.now_monotonic());
  for (int request = 0; request < 3; ++request) {
    ASSERT_EQ(bucket.wait_for_token(clock.now_monotonic()), Nanoseconds(0));
    bucket.take(clock.now_monotonic());
  }
  EXPECT_EQ(bucket.wait_for_token(clock.now_monotonic()), milliseconds(100));  // 1 token / 10 per s
}

TEST(TokenBucketTest, RefillsAtRateAndNeverPastBurst) {
  ManualClock clock;
  TokenBucket bucket(10, 3, clock.now_monotonic());
  for (int request = 0; request < 3; ++request) bucket.take(clock.now_monotonic());
  clock.advance(milliseconds(150));
  EXPECT_DOUBLE_EQ(bucket.tokens(clock.now_monotonic()), 1.5);
  clock.advance(seconds(60));
  EXPECT_DOUBLE_EQ(bucket.tokens(clock.now_monotonic()), 3.0);
}

TEST(TokenBucketTest, WallClockJumpNeitherRefillsNorDrains) {
  ManualClock clock;
  TokenBucket bucket(1, 1, clock.now_monotonic());
  bucket.take(clock.now_monotonic());
  clock.jump_wall(std::chrono::hours(1));
  EXPECT_EQ(bucket.wait_for_token(clock.now_monotonic()), seconds(1));
}

TEST(TokenBucketTest, RateZeroNeverLimits) {
  ManualClock clock;
  TokenBucket bucket(0, 0, clock.now_monotonic());
  for (int request = 0; request < 1000; ++request) {
    ASSERT_EQ(bucket.wait_for_token(clock.now_monotonic()), Nanoseconds(0));
    bucket.take(clock.now_monotonic());
  }
}

TEST(ThrottleTest, ClientsHaveSeparateBuckets) {
  ManualClock clock;
  Throttle throttle(client_limit(1, 1), clock.now_monotonic());
  EXPECT_EQ(throttle.admit("a", clock.now_monotonic()).verdict, Throttle::Verdict::kAdmitted);
  const auto refused = throttle.admit("a", clock.now_monotonic());
  EXPECT_EQ(refused.verdict, Throttle::Verdict::kClientLimited);
  EXPECT_EQ(refused.retry_after, seconds(1));
  EXPECT_EQ(throttle.admit("b", clock.now_monotonic()).verdict, Throttle::Verdict::kAdmitted);
}

TEST(ThrottleTest, GlobalBucketLimitsAcrossClientsWithoutChargingThem) {
  ManualClock clock;
  ThrottleOptions options = client_limit(1, 1);
  options.global_rate_per_second = 1;
  options.global_burst = 1;
  Throttle throttle(options, clock.now_monotonic());
  EXPECT_EQ(throttle.admit("a", clock.now_monotonic()).verdict, Throttle::Verdict::kAdmitted);
  EXPECT_EQ(throttle.admit("b", clock.now_monotonic()).verdict, Throttle::Verdict::kGlobalLimited);
  clock.advance(seconds(1));
  // b's refused request took no token from b: b is admitted once the global bucket refills.
  EXPECT_EQ(throttle.admit("b", clock.now_monotonic()).verdict, Throttle::Verdict::kAdmitted);
}

TEST(ThrottleTest, ForgetsLeastRecentlySeenClientPastTheBound) {
  ManualClock clock;
  ThrottleOptions options = client_limit(1, 1);
  options.clients_tracked_max = 2;
  Throttle throttle(options, clock.now_monotonic());
  (void)throttle.admit("a", clock.now_monotonic());
  (void)throttle.admit("b", clock.now_monotonic());
  (void)throttle.admit("a", clock.now_monotonic());  // a is now the most recent
  (void)throttle.admit("c", clock.now_monotonic());  // evicts b
  EXPECT_EQ(throttle.tracked_clients(), 2u);
  EXPECT_TRUE(throttle.tracks("a"));
  EXPECT_FALSE(throttle.tracks("b"));
  EXPECT_TRUE(throttle.tracks("c"));
}

TEST(ThrottleTest, EvictedClientComesBackWithAFullBucket) {
  ManualClock clock;
  ThrottleOptions options = client_limit(1, 1);
  options.clients_tracked_max = 1;
  Throttle throttle(options, clock.now_monotonic());
  EXPECT_EQ(throttle.admit("a", clock.now_monotonic()).verdict, Throttle::Verdict::kAdmitted);
  EXPECT_EQ(throttle.admit("a", clock.now_monotonic()).verdict, Throttle::Verdict::kClientLimited);
  (void)throttle.admit("b", clock.now_monotonic());
  EXPECT_EQ(throttle.admit("a", clock.now_monotonic()).verdict, Throttle::Verdict::kAdmitted);
}

}  // namespace
}  // namespace hadr::gateway_test
