// ChildProcess: a child process: a real-process drill's `hadr` (`hadr chaos`, the e2e tests), or
// a program the operator configured (the alias hook, the alert command). Start with arguments,
// an environment and output appended to a log file (created 0600: a child's output may quote
// anything); signal; wait with a deadline (polling waitpid, never blocking forever).
//
// Ownership: owns the child; the destructor SIGKILLs and reaps a child still running, so a
// failed drill never leaves processes behind. Thread-safety: one thread per object.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace hadr {

struct ChildExit {
  bool exited = false;  // normal exit (code valid)
  int code = -1;
  int signal = 0;       // the terminating signal, when killed
};

class ChildProcess {
 public:
  // Starts `program args...` (looked up in this process's PATH when it has no slash); the
  // environment is the parent's minus HADR_CRASH_POINT, plus `extra_environment` ("NAME=value"
  // entries). For drills that start hadr itself, which needs the secrets its config names.
  // stdout and stderr go to `log_path` (appended).
  static Result<ChildProcess> start(const std::string& program, const std::vector<std::string>& args,
                                    const std::string& log_path, const std::vector<std::string>& extra_environment = {});
  // The same with exactly `environment` and nothing inherited: for programs the operator
  // configured (core/child_environment.h builds it).
  static Result<ChildProcess> start_with_environment(const std::string& program, const std::vector<std::string>& args,
                                                     const std::string& log_path,
                                                     const std::vector<std::string>& environment);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();

  // The exit, or nullopt when still running after `timeout`.
  std::optional<ChildExit> wait_for(std::chrono::milliseconds timeout);
  void send_signal(int signal_number);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  void kill_and_reap();
  pid_t pid_ = 0;
};

// The path of the running executable (/proc/self/exe), for drills that start `hadr` itself.
Result<std::string> current_executable();

}  // namespace hadr
