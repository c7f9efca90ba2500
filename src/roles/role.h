// Role: the shape of every piece of region logic (relay, promoter, worker, checkpointer, and
// later replayer, lease manager, watchdog).
//
// A role is a step-driven state machine over injected interfaces (Clock, Env, stores, bus,
// Random, CrashPoints). step() does one bounded unit of work with synchronous calls and returns;
// it never blocks waiting for work, sleeps, spawns threads or reads the system clock. Two
// drivers run the very same role objects:
//   - the runtime (`hadr node`): a thread per role calls step() in a loop and waits a little
//     when a step was idle;
//   - the simulator (`hadr sim`): one thread steps every role of both regions in a seeded order
//     on simulated time that jumps to the next wake-up.
// Transient failures (kUnavailable, kDeadlineExceeded) are handled inside the role with
// bounded backoff measured on the injected monotonic clock; step() returns an error only when
// the role must stop (kDataLoss: poisoned log; kInternal: a bug), and the driver then stops the
// region's intake.
// Thread-safety: a role is driven by one thread at a time; health() may be read from another.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace hadr {

enum class StepOutcome {
  kProgress,  // did work; step again soon
  kIdle,      // nothing to do now (no input, fenced, backing off); the driver may wait
};

// What a role reports in its heartbeat and in `hadr status`.
struct RoleHealth {
  std::uint64_t progress_total = 0;  // units of work done (records appended, messages handled, ...)
  std::uint64_t errors_total = 0;    // transient errors seen
  // Failed calls since the role's last successful one (0: its last call worked). Unlike the
  // totals it says whether the role is failing NOW, even while a backoff spaces its errors
  // seconds apart (the watchdog's region health, found by the broker-kill drill F16).
  std::uint64_t consecutive_errors = 0;
  std::int64_t lag = 0;              // role-specific backlog (e.g. records not yet published)
  std::string last_error;            // the most recent transient error, for operators
};

class Role {
 public:
  virtual ~Role() = default;
  virtual std::string_view name() const = 0;
  virtual Result<StepOutcome> step() = 0;
  virtual RoleHealth health() const = 0;
};

}  // namespace hadr
