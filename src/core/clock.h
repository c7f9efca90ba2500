// Clock: the only way role logic learns the time.
//
// Two clocks, for two jobs:
//   monotonic  deadlines and timeouts (lease renew deadline, lock renewal, backoff). Never jumps.
//   wall       timestamps that leave the process (enqueue time, TTLs measured by embedded stores,
//              heartbeats). May jump or drift; never used for a local deadline.
// RealClock reads the system clocks; ManualClock is moved by tests and the simulator, which
// may also make its wall clock jump or drift to inject fault F12.
// Thread-safety: RealClock is safe from any thread; ManualClock is safe too (atomics), but it
// only moves when its owner moves it.
#pragma once

#include <atomic>
#include <chrono>

namespace hadr {

using MonoTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Nanoseconds = std::chrono::nanoseconds;
using Milliseconds = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime now_monotonic() const = 0;
  virtual WallTime now_wall() const = 0;
};

// The process-wide real clock (CLOCK_MONOTONIC and CLOCK_REALTIME).
class RealClock final : public Clock {
 public:
  MonoTime now_monotonic() const override;
  WallTime now_wall() const override;
  static RealClock& instance();
};

// A clock that only moves when told. Starts at monotonic 1 s and wall 2026-01-01T00:00:00Z so
// that "zero" never looks like a valid timestamp.
class ManualClock final : public Clock {
 public:
  ManualClock();
  MonoTime now_monotonic() const override;
  WallTime now_wall() const override;

  // Moves both clocks forward together.
  void advance(Nanoseconds duration);
  // Moves only the wall clock (a jump; may be negative). Monotonic time is unaffected.
  void jump_wall(Nanoseconds offset);

 private:
  std::atomic<std::int64_t> monotonic_ns_;
  std::atomic<std::int64_t> wall_ns_;
};

// Milliseconds since the Unix epoch, the unit stores persist.
inline std::int64_t unix_millis(WallTime time) {
  return std::chrono::duration_cast<Milliseconds>(time.time_since_epoch()).count();
}

}  // namespace hadr
