#include "handlers/exec_handler.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>

#include "core/child_environment.h"

namespace hadr {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::size_t kReasonTailBytesMax = 1024;
// poll() wakes at least this often to check on the child with waitpid(WNOHANG).
constexpr Milliseconds kPollSliceMax{50};
// A safety net far beyond timeout / slice: the deadline ends the loop first.
constexpr std::size_t kPollRoundsMax = 100'000'000;
constexpr std::size_t kReadsPerRoundMax = 16;
constexpr std::size_t kChunkBytes = 64 * 1024;
// Descriptors marked close-on-exec one by one when close_range() is missing (kernels < 5.11).
constexpr int kDescriptorsScannedMax = 4096;
constexpr int kEintrRetriesMax = 1000;

std::string system_error(std::string_view what, int error_number) {
  return std::string(what) + ": " + std::strerror(error_number);
}

class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileDescriptor& operator=(FileDescriptor&&) = delete;
  ~FileDescriptor() { reset(); }
  int get() const { return fd_; }
  bool is_open() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  FileDescriptor read_end;
  FileDescriptor write_end;
};

Result<Pipe> make_pipe() {
  std::array<int, 2> fds{};
  // CLOEXEC: the child keeps only the ends dup2'ed onto 0, 1, 2 (dup2 clears the flag).
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) return internal_error(system_error("exec handler: pipe2", errno));
  return Pipe{FileDescriptor(fds[0]), FileDescriptor(fds[1])};
}

Status set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return internal_error(system_error("exec handler: fcntl O_NONBLOCK", errno));
  }
  return ok_status();
}

// write() that turns a reader that went away into EPIPE without killing this process with
// SIGPIPE: SIGPIPE is blocked on this thread for the call and a SIGPIPE it raised is consumed.
ssize_t write_without_sigpipe(int fd, const char* data, std::size_t size) {
  sigset_t pipe_signal;
  sigset_t previous;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &previous);
  sigset_t pending;
  sigpending(&pending);
  const bool already_pending = sigismember(&pending, SIGPIPE) == 1;
  const ssize_t written = ::write(fd, data, size);
  const int saved_errno = errno;
  if (written < 0 && saved_errno == EPIPE && !already_pending) {
    const timespec no_wait{};
    sigtimedwait(&pipe_signal, nullptr, &no_wait);
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  errno = saved_errno;
  return written;
}

void keep_tail(std::string& tail, std::string_view chunk, std::size_t bytes_max, std::uint64_t& dropped) {
  tail.append(chunk);
  if (tail.size() > bytes_max) {
    dropped += tail.size() - bytes_max;
    tail.erase(0, tail.size() - bytes_max);
  }
}

// Reads what `fd` holds now into `tail`; closes it at end of file.
void drain(FileDescriptor& fd, std::string& tail, std::size_t bytes_max, std::uint64_t& dropped) {
  std::array<char, kChunkBytes> buffer;
  for (std::size_t reads = 0; fd.is_open() && reads < kReadsPerRoundMax; ++reads) {
    const ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
    if (got > 0) {
      keep_tail(tail, std::string_view(buffer.data(), static_cast<std::size_t>(got)), bytes_max, dropped);
      continue;
    }
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && errno == EAGAIN) return;
    fd.reset();  // end of file, or an error: nothing more will come
  }
}

// Owns a started child: kills its process group and reaps it unless reaped already, so that
// no early return leaves a zombie or a runaway process.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) { HADR_ASSERT(pid > 0); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (!reaped_) kill_and_reap();
  }
  bool try_reap() {
    HADR_ASSERT(!reaped_);
    const pid_t got = ::waitpid(pid_, &status_, WNOHANG);
    reaped_ = got == pid_;
    return reaped_;
  }
  void kill_and_reap() {
    HADR_ASSERT(!reaped_);
    ::kill(-pid_, SIGKILL);  // the whole group: the command's own children too
    for (int attempt = 0; attempt < kEintrRetriesMax && !reaped_; ++attempt) {
      const pid_t got = ::waitpid(pid_, &status_, 0);
      reaped_ = got == pid_ || (got < 0 && errno != EINTR);
    }
  }
  int status() const {
    HADR_ASSERT(reaped_);
    return status_;
  }

 private:
  pid_t pid_;
  int status_ = 0;
  bool reaped_ = false;
};

// The path execve() runs for `program`: as given when it names a file (has a '/'), else the
// first executable match in the worker's PATH — what posix_spawnp did; resolved before fork()
// because the PATH search allocates, which a forked child of a threaded process must not.
Result<std::string> resolve_program(const std::string& program) {
  const std::string fix = "; fix handler.exec_command";
  if (program.find('/') != std::string::npos) {
    if (::access(program.c_str(), F_OK) != 0) {
      return not_found("exec command '" + program + "' was not found (not in PATH, or no such file)" + fix);
    }
    return program;
  }
  const char* path = ::getenv("PATH");
  const std::string_view directories = path != nullptr && *path != '\0' ? path : "/usr/local/bin:/usr/bin:/bin";
  for (std::size_t begin = 0; begin <= directories.size();) {
    std::size_t end = directories.find(':', begin);
    if (end == std::string_view::npos) end = directories.size();
    const std::string_view directory = directories.substr(begin, end - begin);
    const std::string candidate = (directory.empty() ? std::string(".") : std::string(directory)) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    begin = end + 1;
  }
  return not_found("exec command '" + program + "' was not found (not in PATH, or no such file)" + fix);
}

// In the forked child, before execve: only async-signal-safe calls. Never returns.
[[noreturn]] void exec_child(pid_t worker, const char* program, char* const* argv, char* const* envp, int input,
                             int output, int errors, int report) {
  // Dies with the worker (hole 7, issue 12): a command must not outlive a SIGKILLed worker,
  // whose restart would run it again beside this one. If the worker died before this line,
  // the signal was never armed: give up.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != worker) ::_exit(127);
  ::setpgid(0, 0);  // its own group, killed as one on timeout
  sigset_t no_signals;
  sigemptyset(&no_signals);
  ::sigprocmask(SIG_SETMASK, &no_signals, nullptr);
  ::signal(SIGPIPE, SIG_DFL);  // a parent that ignores SIGPIPE must not pass that on
  if (::dup2(input, STDIN_FILENO) < 0 || ::dup2(output, STDOUT_FILENO) < 0 || ::dup2(errors, STDERR_FILENO) < 0) {
    const int error = errno;
    (void)!::write(report, &error, sizeof(error));
    ::_exit(127);
  }
  // Descriptors the worker opened without O_CLOEXEC (sockets, files) stay with the worker.
  if (::syscall(SYS_close_range, STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = STDERR_FILENO + 1; fd < kDescriptorsScannedMax; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  ::execve(program, argv, envp);
  const int error = errno;
  (void)!::write(report, &error, sizeof(error));
  ::_exit(127);
}

// Starts the command. posix_spawn cannot arm PR_SET_PDEATHSIG, so the child is forked by hand;
// an exec failure comes back as errno through a close-on-exec pipe.
Result<pid_t> spawn(const std::vector<std::string>& command, const std::vector<std::string>& environment,
                    const Pipe& input, const Pipe& output, const Pipe& errors) {
  HADR_ASSERT(!command.empty());
  HADR_ASSIGN_OR_RETURN(const std::string program, resolve_program(command[0]));
  std::vector<char*> argv;
  for (const std::string& argument : command) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& entry : environment) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);
  HADR_ASSIGN_OR_RETURN(Pipe report, make_pipe());
  const pid_t worker = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    return failed_precondition(system_error("exec command '" + command[0] + "' could not be started (fork)", errno));
  }
  if (pid == 0) {
    exec_child(worker, program.c_str(), argv.data(), envp.data(), input.read_end.get(), output.write_end.get(),
               errors.write_end.get(), report.write_end.get());
  }
  ::setpgid(pid, pid);  // also here, so that a kill of the group right after fork() finds it
  report.write_end.reset();
  int error = 0;
  ssize_t got = -1;
  for (int attempt = 0; attempt < kEintrRetriesMax && got < 0; ++attempt) {
    got = ::read(report.read_end.get(), &error, sizeof(error));
    if (got < 0 && errno != EINTR) break;
  }
  if (got == 0) return pid;  // the pipe closed at execve: the command runs
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (got != static_cast<ssize_t>(sizeof(error))) error = EIO;
  if (error == ENOENT) {
    return not_found("exec command '" + command[0] +
                     "' was not found (not in PATH, or no such file); fix handler.exec_command");
  }
  return failed_precondition(system_error("exec command '" + command[0] + "' could not be started", error) +
                             "; check handler.exec_command and the file's permissions");
}

std::string reason_tail(const ExecRun& run) {
  std::string_view text = run.stderr_tail.empty() ? run.stdout_tail : run.stderr_tail;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.size() > kReasonTailBytesMax) text = text.substr(text.size() - kReasonTailBytesMax);
  return std::string(text);
}

}  // namespace

ExecHandler::ExecHandler(ExecOptions options, RegionId region, const EnvironmentLookup& environment)
    : options_(std::move(options)),
      region_(std::move(region)),
      inherited_(child_environment(options_.environment, {}, environment)) {
  HADR_ASSERT(!options_.command.empty() && !options_.command[0].empty());
  HADR_ASSERT(options_.timeout > Milliseconds(0) && options_.output_bytes_max > 0);
}

std::vector<std::string> ExecHandler::environment_for(const HandlerInput& input) const {
  const BusMessage& message = input.message;
  const std::vector<std::string> ours = {
      "HADR_MESSAGE_ID=" + message.id.str(),
      "HADR_EPOCH=" + std::to_string(message.epoch.value),
      "HADR_REGION=" + region_.str(),
      "HADR_SOURCE_REGION=" + message.source_region.str(),
      "HADR_LSN=" + std::to_string(message.lsn.value),
      "HADR_DELIVERY_COUNT=" + std::to_string(input.delivery_count),
  };
  const auto name_of = [](std::string_view entry) { return entry.substr(0, entry.find('=')); };
  std::vector<std::string> environment;
  for (const std::string& entry : inherited_) {
    // Ours replace a named variable of the same name (child_environment.h, item 3).
    const bool replaced = std::any_of(ours.begin(), ours.end(),
                                      [&](const std::string& own) { return name_of(own) == name_of(entry); });
    if (!replaced) environment.push_back(entry);
  }
  environment.insert(environment.end(), ours.begin(), ours.end());
  return environment;
}

Result<ExecRun> ExecHandler::run(const HandlerInput& input) {
  HADR_ASSIGN_OR_RETURN(Pipe input_pipe, make_pipe());
  HADR_ASSIGN_OR_RETURN(Pipe output_pipe, make_pipe());
  HADR_ASSIGN_OR_RETURN(Pipe error_pipe, make_pipe());
  const SteadyClock::time_point deadline = SteadyClock::now() + options_.timeout;
  HADR_ASSIGN_OR_RETURN(const pid_t pid,
                        spawn(options_.command, environment_for(input), input_pipe, output_pipe, error_pipe));
  Child child(pid);
  input_pipe.read_end.reset();
  output_pipe.write_end.reset();
  error_pipe.write_end.reset();
  HADR_TRY(set_nonblocking(input_pipe.write_end.get()));
  HADR_TRY(set_nonblocking(output_pipe.read_end.get()));
  HADR_TRY(set_nonblocking(error_pipe.read_end.get()));

  ExecRun run;
  const std::string& payload = input.message.body;
  std::size_t payload_written = 0;
  if (payload.empty()) input_pipe.write_end.reset();
  bool exited = false;
  for (std::size_t round = 0; round < kPollRoundsMax && !exited; ++round) {
    if (input.keep_alive != nullptr) input.keep_alive->keep_alive();  // a long command keeps its lock and claim
    if (child.try_reap()) {
      exited = true;
      break;
    }
    const auto now = SteadyClock::now();
    if (now >= deadline) {
      child.kill_and_reap();
      run.end = ExecRun::End::kTimedOut;
      break;
    }
    std::array<pollfd, 3> fds{};
    fds[0] = {input_pipe.write_end.get(), POLLOUT, 0};  // poll() skips negative fds
    fds[1] = {output_pipe.read_end.get(), POLLIN, 0};
    fds[2] = {error_pipe.read_end.get(), POLLIN, 0};
    const auto slice = std::min(kPollSliceMax, std::chrono::ceil<Milliseconds>(deadline - now));
    if (::poll(fds.data(), fds.size(), static_cast<int>(slice.count())) < 0 && errno != EINTR) {
      return internal_error(system_error("exec handler: poll", errno));
    }
    if (input_pipe.write_end.is_open() && fds[0].revents != 0) {
      const ssize_t written = write_without_sigpipe(input_pipe.write_end.get(), payload.data() + payload_written,
                                                    std::min(kChunkBytes, payload.size() - payload_written));
      if (written > 0) payload_written += static_cast<std::size_t>(written);
      // EPIPE: the command does not read its stdin; that is allowed.
      if (written < 0 && errno != EAGAIN && errno != EINTR) run.stdin_closed_early = true;
      if (run.stdin_closed_early || payload_written == payload.size()) input_pipe.write_end.reset();
    }
    drain(output_pipe.read_end, run.stdout_tail, options_.output_bytes_max, run.output_bytes_dropped);
    drain(error_pipe.read_end, run.stderr_tail, options_.output_bytes_max, run.output_bytes_dropped);
  }
  if (!exited && run.end != ExecRun::End::kTimedOut) child.kill_and_reap();  // the safety net ran out
  // What the command wrote before it ended is still in the pipes.
  drain(output_pipe.read_end, run.stdout_tail, options_.output_bytes_max, run.output_bytes_dropped);
  drain(error_pipe.read_end, run.stderr_tail, options_.output_bytes_max, run.output_bytes_dropped);
  if (input_pipe.write_end.is_open()) run.stdin_closed_early = true;
  if (run.end != ExecRun::End::kTimedOut) {
    const int status = child.status();
    if (WIFEXITED(status)) {
      run.end = ExecRun::End::kExited;
      run.exit_code = WEXITSTATUS(status);
    } else {
      run.end = ExecRun::End::kSignalled;
      run.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    }
  }
  return run;
}

HandlerResult ExecHandler::handle(const HandlerInput& input) {
  Result<ExecRun> run = this->run(input);
  const std::string what = "exec '" + options_.command[0] + "' for message '" + input.message.id.str() + "'";
  if (!run.ok()) return HandlerResult{.verdict = HandlerVerdict::kFailed, .reason = what + ": " + run.error().to_string()};
  switch (run->end) {
    case ExecRun::End::kTimedOut:
      return HandlerResult{.verdict = HandlerVerdict::kRetryLater,
                           .reason = what + ": timed out after " + std::to_string(options_.timeout.count()) +
                                     " ms (handler.exec_timeout); its process group was killed"};
    case ExecRun::End::kSignalled:
      return HandlerResult{.verdict = HandlerVerdict::kFailed,
                           .reason = what + ": killed by signal " + std::to_string(run->signal) + " (" +
                                     strsignal(run->signal) + "): " + reason_tail(*run)};
    case ExecRun::End::kExited:
      break;
  }
  if (run->exit_code == 0) return HandlerResult{.verdict = HandlerVerdict::kDone};
  const HandlerVerdict verdict =
      run->exit_code == kRetryLaterExitCode ? HandlerVerdict::kRetryLater : HandlerVerdict::kFailed;
  return HandlerResult{.verdict = verdict,
                       .reason = "exit " + std::to_string(run->exit_code) + ": " + reason_tail(*run) + " (" + what + ")"};
}

}  // namespace hadr
