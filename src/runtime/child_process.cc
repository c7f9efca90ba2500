#include "runtime/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace hadr {

namespace {
constexpr std::size_t kEnvironmentEntriesMax = 10'000;
}  // namespace

Result<ChildProcess> ChildProcess::start(const std::string& program, const std::vector<std::string>& args,
                                         const std::string& log_path,
                                         const std::vector<std::string>& extra_environment) {
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr && environment.size() < kEnvironmentEntriesMax; ++entry) {
    // A drill arms crash points explicitly per child; an inherited one would kill the wrong process.
    if (std::strncmp(*entry, "HADR_CRASH_POINT=", 17) != 0) environment.push_back(*entry);
  }
  environment.insert(environment.end(), extra_environment.begin(), extra_environment.end());
  return start_with_environment(program, args, log_path, environment);
}

Result<ChildProcess> ChildProcess::start_with_environment(const std::string& program, const std::vector<std::string>& args,
                                                          const std::string& log_path,
                                                          const std::vector<std::string>& environment) {
  HADR_ASSERT(!program.empty());
  std::vector<std::string> argv_storage = {program};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage = environment;
  std::vector<char*> envp;
  for (auto& entry : env_storage) envp.push_back(entry.data());
  envp.push_back(nullptr);
  // A log created 0644 by an older hadr is narrowed as well: it may hold what a child printed.
  if (::chmod(log_path.c_str(), 0600) != 0 && errno != ENOENT) {
    return unavailable("cannot restrict " + log_path + " to mode 0600: " + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // 0600: a child's output may quote anything it was given (issue 15).
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  // spawnp: a program without a slash (`az`) is looked up in hadr's own PATH.
  const int error = posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) return unavailable("cannot start " + program + ": " + std::strerror(error));
  HADR_ASSERT(pid > 0);
  return ChildProcess(pid);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_) { other.pid_ = 0; }

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    pid_ = other.pid_;
    other.pid_ = 0;
  }
  return *this;
}

ChildProcess::~ChildProcess() { kill_and_reap(); }

void ChildProcess::kill_and_reap() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = 0;
}

std::optional<ChildExit> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (pid_ > 0) {
    int status = 0;
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      pid_ = 0;
      ChildExit result;
      result.exited = WIFEXITED(status);
      result.code = result.exited ? WEXITSTATUS(status) : -1;
      result.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
      return result;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

void ChildProcess::send_signal(int signal_number) {
  if (pid_ > 0) kill(pid_, signal_number);
}

Result<std::string> current_executable() {
  char path[4096];
  const ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (length <= 0) return unavailable("cannot read /proc/self/exe");
  return std::string(path, static_cast<std::size_t>(length));
}

}  // namespace hadr
