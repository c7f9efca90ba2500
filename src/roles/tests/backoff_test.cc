// Proves the shared role helpers: Backoff doubles its delay from `initial` up to `max` and no
// further, clears on success, is measured on the monotonic clock only (a wall-clock jump does
// not end it), and refuses bad bounds; absorb_failure backs off on transient errors and hands
// back kDataLoss / kInternal; bounded_reason cuts long reasons.
#include "roles/backoff.h"

#include <gtest/gtest.h>

#include "roles/role_support.h"

namespace hadr {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, ReadyBeforeAnyFailure) {
  ManualClock clock;
  Backoff backoff(clock, BackoffOptions{});
  EXPECT_TRUE(backoff.ready());
  EXPECT_EQ(backoff.consecutive_failures(), 0u);
}

TEST(BackoffTest, DelayDoublesFromInitialUpToMax) {
  ManualClock clock;
  Backoff backoff(clock, BackoffOptions{.initial = milliseconds(10), .max = milliseconds(45)});
  const milliseconds expected[] = {milliseconds(10), milliseconds(20), milliseconds(40), milliseconds(45),
                                   milliseconds(45)};
  for (const milliseconds delay : expected) {
    backoff.record_failure();
    EXPECT_EQ(backoff.current_delay(), delay);
    EXPECT_FALSE(backoff.ready());
    clock.advance(delay - milliseconds(1));
    EXPECT_FALSE(backoff.ready());
    clock.advance(milliseconds(1));
    EXPECT_TRUE(backoff.ready());
  }
  EXPECT_EQ(backoff.consecutive_failures(), 5u);
}

TEST(BackoffTest, SuccessClearsTheDelay) {
  ManualClock clock;
  Backoff backoff(clock, BackoffOptions{.initial = milliseconds(10), .max = milliseconds(1000)});
  backoff.record_failure();
  backoff.record_failure();
  backoff.record_success();
  EXPECT_TRUE(backoff.ready());
  backoff.record_failure();
  EXPECT_EQ(backoff.current_delay(), milliseconds(10));
}

TEST(BackoffTest, WallClockJumpDoesNotEndTheDelay) {
  ManualClock clock;
  Backoff backoff(clock, BackoffOptions{.initial = milliseconds(100), .max = milliseconds(100)});
  backoff.record_failure();
  clock.jump_wall(std::chrono::hours(1));
  EXPECT_FALSE(backoff.ready());
}

TEST(BackoffTest, OptionsRefuseInitialAboveMax) {
  const Status status = BackoffOptions{.initial = milliseconds(50), .max = milliseconds(10)}.validate("test backoff");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(status.error().detail.find("test backoff"), std::string::npos);
}

TEST(BackoffTest, OptionsRefuseZeroInitial) {
  const BackoffOptions options{.initial = milliseconds(0), .max = milliseconds(10)};
  EXPECT_FALSE(options.validate("b").ok());
}

TEST(RoleSupportTest, AbsorbFailureBacksOffOnTransientErrors) {
  ManualClock clock;
  Backoff backoff(clock, BackoffOptions{});
  HealthRecorder health;
  EXPECT_TRUE(absorb_failure("bus send", unavailable("down"), backoff, health).ok());
  EXPECT_FALSE(backoff.ready());
  EXPECT_EQ(health.snapshot().errors_total, 1u);
  EXPECT_NE(health.snapshot().last_error.find("bus send"), std::string::npos);
}

TEST(RoleSupportTest, AbsorbFailureReturnsDataLossAndInternal) {
  ManualClock clock;
  Backoff backoff(clock, BackoffOptions{});
  HealthRecorder health;
  EXPECT_EQ(absorb_failure("wal", data_loss("poisoned"), backoff, health).code(), ErrorCode::kDataLoss);
  EXPECT_EQ(absorb_failure("bug", internal_error("oops"), backoff, health).code(), ErrorCode::kInternal);
  EXPECT_EQ(health.snapshot().errors_total, 2u);
}

TEST(RoleSupportTest, ErrorClassesAreDisjoint) {
  for (const ErrorCode code : {ErrorCode::kUnavailable, ErrorCode::kDeadlineExceeded, ErrorCode::kResourceExhausted}) {
    EXPECT_TRUE(is_transient(code));
    EXPECT_FALSE(must_stop(code));
  }
  for (const ErrorCode code : {ErrorCode::kDataLoss, ErrorCode::kInternal}) {
    EXPECT_TRUE(must_stop(code));
    EXPECT_FALSE(is_transient(code));
  }
  EXPECT_FALSE(is_transient(ErrorCode::kAborted));
  EXPECT_FALSE(must_stop(ErrorCode::kAborted));
}

TEST(RoleSupportTest, BoundedReasonCutsLongText) {
  EXPECT_EQ(bounded_reason("short", 10), "short");
  const std::string cut = bounded_reason(std::string(100, 'x'), 10);
  EXPECT_EQ(cut.size(), 10u);
  EXPECT_EQ(cut.substr(7), "...");
}

}  // namespace
}  // namespace hadr
