#include "core/clock.h"

#include "core/assert.h"

namespace hadr {

MonoTime RealClock::now_monotonic() const { return std::chrono::steady_clock::now(); }
WallTime RealClock::now_wall() const { return std::chrono::system_clock::now(); }

RealClock& RealClock::instance() {
  static RealClock clock;
  return clock;
}

namespace {
constexpr std::int64_t kManualMonotonicStartNs = 1'000'000'000;
constexpr std::int64_t kManualWallStartNs = 1'767'225'600LL * 1'000'000'000LL;  // 2026-01-01T00:00:00Z
}  // namespace

ManualClock::ManualClock() : monotonic_ns_(kManualMonotonicStartNs), wall_ns_(kManualWallStartNs) {}

MonoTime ManualClock::now_monotonic() const {
  return MonoTime(std::chrono::duration_cast<MonoTime::duration>(Nanoseconds(monotonic_ns_.load())));
}

WallTime ManualClock::now_wall() const {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(Nanoseconds(wall_ns_.load())));
}

void ManualClock::advance(Nanoseconds duration) {
  HADR_ASSERT_MSG(duration.count() >= 0, "a monotonic clock cannot go back");
  monotonic_ns_ += duration.count();
  wall_ns_ += duration.count();
}

void ManualClock::jump_wall(Nanoseconds offset) { wall_ns_ += offset.count(); }

}  // namespace hadr
