// ProgressLine (issue 18): the node's progress line carries a UTC timestamp, the rate of each
// flow over the interval and each role's backlog, and an idle process does not repeat the same
// line every interval (only a reminder every idle_repeat; a stop always prints).
#include "runtime/progress_line.h"

#include <gtest/gtest.h>

namespace hadr {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr WallTime kWall{milliseconds(1'796'645'119'123)};  // 2026-12-07T12:05:19.123Z
const MonoTime kStart{seconds(1000)};

ProgressSample sample(std::uint64_t appended, std::uint64_t effects, std::int64_t relay_lag = 0) {
  ProgressSample s;
  s.appended = appended;
  s.acked = appended;
  s.published = appended;
  s.promoted = appended;
  s.effects = effects;
  s.checkpoint = effects;
  s.staging_depth = 0;
  s.main_depth = static_cast<std::int64_t>(appended - effects);
  s.lags = {{"relay", relay_lag}, {"promoter", 0}, {"workers", 7}};
  return s;
}

TEST(ProgressLine, CarriesATimestampRatesAndLags) {
  ProgressLine progress("node", "a");
  auto first = progress.next(sample(100, 50), kWall, kStart);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->rfind("2026-12-07T12:05:19.123Z hadr node [a]: appended 100 acked 100", 0), 0u) << *first;
  EXPECT_NE(first->find("| depth staging 0 main 50 | lag relay 0 promoter 0 workers 7"), std::string::npos) << *first;
  auto second = progress.next(sample(600, 450, 12), kWall + seconds(2), kStart + seconds(2));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->rfind("2026-12-07T12:05:21.123Z", 0), 0u) << *second;
  EXPECT_NE(second->find("appended 600 (250/s)"), std::string::npos) << *second;
  EXPECT_NE(second->find("effects 450 (200/s)"), std::string::npos) << *second;
  EXPECT_NE(second->find("lag relay 12"), std::string::npos) << *second;
}

TEST(ProgressLine, AnIdleProcessDoesNotRepeatItsLine) {
  ProgressLine progress("node", "a", milliseconds(60'000));
  ASSERT_TRUE(progress.next(sample(100, 100), kWall, kStart).has_value());
  for (int tick = 1; tick < 29; ++tick) {
    EXPECT_FALSE(progress.next(sample(100, 100), kWall + seconds(2 * tick), kStart + seconds(2 * tick)).has_value())
        << "tick " << tick;
  }
  auto reminder = progress.next(sample(100, 100), kWall + seconds(60), kStart + seconds(60));
  ASSERT_TRUE(reminder.has_value());
  EXPECT_NE(reminder->find("| idle for 60 s"), std::string::npos) << *reminder;
  EXPECT_FALSE(progress.next(sample(100, 100), kWall + seconds(62), kStart + seconds(62)).has_value());
  // A change prints at once; a stop prints even when nothing changed.
  EXPECT_TRUE(progress.next(sample(101, 100), kWall + seconds(64), kStart + seconds(64)).has_value());
  EXPECT_TRUE(progress.next(sample(101, 100), kWall + seconds(65), kStart + seconds(65), /*always=*/true).has_value());
}

}  // namespace
}  // namespace hadr
