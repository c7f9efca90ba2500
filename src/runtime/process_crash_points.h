// ProcessCrashPoints: the runtime's CrashPoints (roles/crash_points.h). Armed from the
// environment, HADR_CRASH_POINT=name (the first hit) or name:N (the Nth hit), it raises
// SIGKILL in the process at that exact point, so an e2e test can kill `hadr node` between,
// say, the WAL fsync and the source ack. Unarmed, hit() is one string compare.
//
// Ownership: plain value. Thread-safety: hit() from any thread (an atomic hit counter).
// Invariant: only names in kAllCrashPoints can be armed; an unknown name is a startup error
// listing the valid ones.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "roles/crash_points.h"

namespace hadr {

inline constexpr std::string_view kCrashPointVariable = "HADR_CRASH_POINT";

class ProcessCrashPoints final : public CrashPoints {
 public:
  // Parses "name" or "name:N" (N >= 1). An empty spec arms nothing.
  static Result<std::unique_ptr<ProcessCrashPoints>> parse(std::string_view spec);
  // Reads HADR_CRASH_POINT from the process environment.
  static Result<std::unique_ptr<ProcessCrashPoints>> from_environment();

  void hit(std::string_view point) override;
  const std::string& armed_point() const { return armed_point_; }
  std::uint64_t armed_hit() const { return armed_hit_; }

 private:
  ProcessCrashPoints(std::string armed_point, std::uint64_t armed_hit)
      : armed_point_(std::move(armed_point)), armed_hit_(armed_hit) {}

  const std::string armed_point_;  // empty: nothing armed
  const std::uint64_t armed_hit_;
  std::atomic<std::uint64_t> hits_{0};
};

}  // namespace hadr
