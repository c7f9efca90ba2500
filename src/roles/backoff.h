// Backoff: the bounded exponential delay between attempts of an operation that keeps failing
// transiently (a store, the bus or the source unreachable), measured on the injected monotonic
// clock so that the simulator can jump over it and a wall-clock jump cannot shorten it.
//
// After the k-th consecutive failure the next attempt is allowed `initial * 2^(k-1)` later,
// capped at `max`; a success clears the delay. Roles keep one Backoff per independent path
// (e.g. the relay's intake and its publication), so a slow bus does not stop WAL intake.
// There is no jitter: a role instance retries one thing, and every choice must replay from
// the simulator's seed.
// Ownership: borrows the clock. Thread-safety: none; one role thread drives it.
// Invariants: initial <= delay <= max once a failure was recorded.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace hadr {

struct BackoffOptions {
  Milliseconds initial{10};
  Milliseconds max{5'000};

  // `what` names the owner in the error, e.g. "relay backoff".
  Status validate(std::string_view what) const;
};

class Backoff {
 public:
  // Bounds that validate() accepts: 1 ms .. 10 min.
  static constexpr Milliseconds kDelayMax = std::chrono::minutes(10);

  Backoff(const Clock& clock, const BackoffOptions& options);

  // True when no failure is pending or its delay has passed.
  bool ready() const;
  void record_failure();
  void record_success();

  std::uint32_t consecutive_failures() const { return consecutive_failures_; }
  Milliseconds current_delay() const { return delay_; }
  MonoTime retry_at() const { return retry_at_; }

 private:
  const Clock& clock_;
  BackoffOptions options_;
  std::uint32_t consecutive_failures_ = 0;
  Milliseconds delay_{0};
  MonoTime retry_at_{};
};

}  // namespace hadr
