// CrashPoints: named places in role logic where a test can kill the process exactly
// (RELIABILITY.md F1), e.g. "relay.after_fsync_before_ack".
//
// Roles call hit(name) at each point. The runtime's implementation raises SIGKILL when the
// point is armed (HADR_CRASH_POINT=name[:count] in the environment); the simulator's records a
// crash and makes the role's next calls fail until the region restarts; NoCrashPoints does
// nothing. Every point a role can hit is listed in kAllCrashPoints so tests can arm each in turn.
// Thread-safety: implementations are safe from any thread.
#pragma once

#include <array>
#include <string_view>

namespace hadr {

// The points of one region's pipeline: a one-region run reaches every one of them
// ("relay.after_backup_before_ack" only with a sync WAL backup configured).
inline constexpr std::array<std::string_view, 7> kRegionCrashPoints = {
    "relay.after_fsync_before_ack",
    "relay.after_ack_before_publish",
    "relay.after_backup_before_ack",
    "promoter.after_send_before_complete",
    "worker.after_claim_before_effect",
    "worker.after_effect_before_complete",
    "checkpointer.after_checkpoint_before_retention",
};

// Points reached only in two-region mode: the watchdog between acquiring the lease and
// flipping the alias (F15), and the replayer republishing the failed region's WAL after a failover.
inline constexpr std::array<std::string_view, 2> kFailoverCrashPoints = {
    "watchdog.after_acquire_before_alias",
    "replayer.after_publish_before_progress",
};

// Every point a role can hit (what the runtime accepts in HADR_CRASH_POINT).
inline constexpr auto kAllCrashPoints = [] {
  std::array<std::string_view, kRegionCrashPoints.size() + kFailoverCrashPoints.size()> all{};
  std::size_t next = 0;
  for (std::string_view point : kRegionCrashPoints) all[next++] = point;
  for (std::string_view point : kFailoverCrashPoints) all[next++] = point;
  return all;
}();

class CrashPoints {
 public:
  virtual ~CrashPoints() = default;
  virtual void hit(std::string_view point) = 0;
};

class NoCrashPoints final : public CrashPoints {
 public:
  void hit(std::string_view) override {}
};

}  // namespace hadr
