// ChildProcess: a child process of a real-process drill (`hadr chaos`, the e2e tests): start
// with arguments, extra environment and output appended to a log file; signal; wait with a
// deadline (polling waitpid, never blocking forever).
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
  // Starts `program args...`; the environment is the parent's minus HADR_CRASH_POINT, plus
  // `extra_environment` ("NAME=value" entries). stdout and stderr go to `log_path` (appended).
  static Result<ChildProcess> start(const std::string& program, const std::vector<std::string>& args,
                                    const std::string& log_path, const std::vector<std::string>& extra_environment = {});

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
