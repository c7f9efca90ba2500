// Proves how HADR_CRASH_POINT arms a ProcessCrashPoints: a known name arms its first hit,
// "name:N" its Nth, an unknown name or a bad count is refused with the list of valid names,
// and an armed point really kills the process with SIGKILL at exactly the Nth hit (a death test).
#include <gtest/gtest.h>

#include <csignal>

#include "runtime/process_crash_points.h"

namespace hadr {
namespace {

TEST(ProcessCrashPoints, EmptySpecArmsNothing) {
  auto points = ProcessCrashPoints::parse("");
  ASSERT_TRUE(points.ok());
  EXPECT_TRUE((*points)->armed_point().empty());
  for (std::string_view name : kAllCrashPoints) (*points)->hit(name);  // must not die
}

TEST(ProcessCrashPoints, NameArmsTheFirstHit) {
  auto points = ProcessCrashPoints::parse("relay.after_fsync_before_ack");
  ASSERT_TRUE(points.ok());
  EXPECT_EQ((*points)->armed_point(), "relay.after_fsync_before_ack");
  EXPECT_EQ((*points)->armed_hit(), 1u);
}

TEST(ProcessCrashPoints, CountArmsTheNthHit) {
  auto points = ProcessCrashPoints::parse("worker.after_claim_before_effect:3");
  ASSERT_TRUE(points.ok());
  EXPECT_EQ((*points)->armed_hit(), 3u);
}

TEST(ProcessCrashPoints, UnknownNameListsTheValidOnes) {
  auto points = ProcessCrashPoints::parse("relay.after_lunch");
  ASSERT_FALSE(points.ok());
  EXPECT_NE(points.error().detail.find("valid names: relay.after_fsync_before_ack"), std::string::npos);
}

TEST(ProcessCrashPoints, BadCountIsRefused) {
  EXPECT_FALSE(ProcessCrashPoints::parse("relay.after_fsync_before_ack:0").ok());
  EXPECT_FALSE(ProcessCrashPoints::parse("relay.after_fsync_before_ack:x").ok());
  EXPECT_FALSE(ProcessCrashPoints::parse("relay.after_fsync_before_ack:").ok());
}

TEST(ProcessCrashPointsDeathTest, ArmedPointKillsAtTheNthHit) {
  auto points = ProcessCrashPoints::parse("promoter.after_send_before_complete:2");
  ASSERT_TRUE(points.ok());
  ProcessCrashPoints& armed = **points;
  armed.hit("relay.after_fsync_before_ack");         // another point: no effect
  armed.hit("promoter.after_send_before_complete");  // first hit: survives
  EXPECT_EXIT(armed.hit("promoter.after_send_before_complete"), ::testing::KilledBySignal(SIGKILL), "");
}

}  // namespace
}  // namespace hadr
