// `hadr chaos --scenario kill-roles`: a real-process fault drill on one region. In a temp dir
// (or --keep DIR) it writes an embedded config with short locks, starts `hadr relay`,
// `hadr promoter` and two `hadr worker` processes plus a `hadr send` of N messages, then
// SIGKILLs a role chosen by a seeded Random K times at random moments (200 ms .. 2 s apart)
// while messages flow, restarting each at once; then it waits for the sender, polls verify
// until nothing is missing (bounded by drain_timeout), stops every role with SIGTERM and
// reports what verify found. The same seed gives the same kill sequence (the moments depend on
// the machine's speed, so the outcome is compared by its invariants, not replayed).
//
// Ownership: owns its child processes (killed and reaped on every path). Thread-safety: one
// thread. The progress callback receives one line per event.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "core/result.h"
#include "runtime/send_verify.h"

namespace hadr {

struct ChaosOptions {
  std::string scenario = "kill-roles";
  std::uint64_t messages = 10'000;  // 1 .. SendOptions::kCountMax
  std::uint32_t kills = 10;         // 0 .. 10,000
  std::uint64_t seed = 1;
  std::string keep_dir;             // empty: a temp dir, removed after a passing run
  std::string hadr_binary;          // the `hadr` to start (default: this executable)
  std::chrono::seconds drain_timeout{1800};

  Status validate() const;
};

struct ChaosReport {
  VerifyReport verify;
  std::uint32_t kills = 0;
  std::string dir;
  double elapsed_seconds = 0;
  std::string to_json() const;
};

Result<ChaosReport> run_chaos(const ChaosOptions& options, const std::function<void(const std::string&)>& progress);

}  // namespace hadr
