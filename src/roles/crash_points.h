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

inline constexpr std::array<std::string_view, 6> kAllCrashPoints = {
    "relay.after_fsync_before_ack",
    "relay.after_ack_before_publish",
    "promoter.after_send_before_complete",
    "worker.after_claim_before_effect",
    "worker.after_effect_before_complete",
    "checkpointer.after_checkpoint_before_retention",
};

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
