// ExecHandler: runs a command per message (argv, no shell) with the payload on stdin and the
// message's identity in a clean environment (core/child_environment.h: PATH, HOME, LANG, the
// variables `environment` names and the HADR_* entries; never the worker's secrets); exit 0 = done, 75 (EX_TEMPFAIL) = retry later,
// anything else (or a signal) = failed with "exit N: <stderr tail>". At-least-once: a crash
// after the command and before the worker's mark re-runs it once the claim expires.
//
// The child runs in its own process group; past the timeout the whole group gets SIGKILL and
// the child is reaped before handle() returns (no zombies, no stray grandchildren holding
// pipes). The child also dies with its worker (PR_SET_PDEATHSIG = SIGKILL, armed by the worker
// thread that started it): a SIGKILLed worker leaves no command running that its restart would
// run a second time (issue 12, hole 7). The signal reaches the command itself, not processes
// the command forked: a command that starts helpers should `exec` into its last step or make
// them die with it. A long command keeps its lock and claim alive: keep_alive runs every poll
// round (at most kPollSliceMax apart). This is an adapter: it uses real time (a monotonic
// deadline) and real processes.
//
// Ownership: owns its options; holds no process between calls.
// Thread-safety: one instance per worker thread; several instances may run concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/secret.h"
#include "core/ids.h"
#include "roles/handler.h"

namespace hadr {

struct ExecOptions {
  std::vector<std::string> command;  // argv; command[0] is looked up in PATH
  Milliseconds timeout{30'000};
  std::size_t output_bytes_max = 64 * 1024;  // per stream; the tail is kept
  // Names of the worker's variables the command also gets (handler.exec_environment).
  std::vector<std::string> environment;
};

// What one run of the command did (exposed for tests and logs).
struct ExecRun {
  enum class End { kExited, kSignalled, kTimedOut };
  End end = End::kExited;
  int exit_code = 0;  // kExited only
  int signal = 0;     // kSignalled only
  std::string stdout_tail;
  std::string stderr_tail;
  std::uint64_t output_bytes_dropped = 0;  // both streams, beyond output_bytes_max
  bool stdin_closed_early = false;         // the child exited or closed stdin before reading it all
};

class ExecHandler final : public Handler {
 public:
  static constexpr int kRetryLaterExitCode = 75;  // EX_TEMPFAIL (sysexits.h)

  // `environment` is where the variables options.environment names are read, once, here.
  ExecHandler(ExecOptions options, RegionId region, const EnvironmentLookup& environment = process_environment());

  std::string_view kind() const override { return "exec"; }
  HandlerResult handle(const HandlerInput& input) override;

  // Runs the command once for `input`. Errors: the command could not be started (kNotFound
  // for a missing binary, naming it) or a system call failed.
  Result<ExecRun> run(const HandlerInput& input);

 private:
  std::vector<std::string> environment_for(const HandlerInput& input) const;

  const ExecOptions options_;
  const RegionId region_;
  // PATH, HOME, LANG and the named variables, read at construction (child_environment.h).
  const std::vector<std::string> inherited_;
};

}  // namespace hadr
