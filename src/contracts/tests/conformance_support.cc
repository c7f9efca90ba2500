// Helpers for the conformance suites (see conformance_support.h); not a test by itself.
#include "contracts/tests/conformance_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <latch>
#include <thread>

namespace hadr::testing {
namespace {

// The child's answer is at most this long; the suites send one character per racing item.
constexpr std::size_t kMaxChildResultBytes = 1 << 20;

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

// Reads until end of file or `limit` bytes.
std::string read_all(int fd, std::size_t limit) {
  std::string data;
  char buffer[4096];
  while (data.size() < limit) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    data.append(buffer, static_cast<std::size_t>(got));
  }
  return data;
}

[[noreturn]] void run_child(const std::function<RaceBody()>& prepare, int ready_fd, int go_fd, int result_fd) {
  const RaceBody body = prepare();
  char byte = 'r';
  if (!write_all(ready_fd, std::string_view(&byte, 1))) ::_exit(3);
  if (read_all(go_fd, 1).size() != 1) ::_exit(4);
  const std::string result = body();
  // _exit, not exit: the child must not run the parent's destructors, atexit handlers or
  // GoogleTest's reporting.
  ::_exit(write_all(result_fd, result) ? 0 : 5);
}

}  // namespace

std::string numbered(std::string_view prefix, std::size_t number) {
  // Appending, not `"m" + std::to_string(n)`: g++ 12 -O3 warns falsely (-Wrestrict) on the latter.
  std::string text(prefix);
  text += std::to_string(number);
  return text;
}

MessageId message_id(std::string_view text) {
  auto id = MessageId::parse(text);
  EXPECT_TRUE(id.ok()) << "test bug: '" << text << "' is not a valid message id";
  return id.ok() ? std::move(id).value() : MessageId();
}

std::vector<MessageId> message_ids(std::string_view prefix, std::size_t count) {
  std::vector<MessageId> ids;
  ids.reserve(count);
  for (std::size_t i = 0; i < count; ++i) ids.push_back(message_id(numbered(std::string(prefix) + "-", i)));
  return ids;
}

std::vector<std::string> race_threads(const std::vector<RaceBody>& bodies) {
  std::vector<std::string> results(bodies.size());
  std::latch start(static_cast<std::ptrdiff_t>(bodies.size()));
  std::vector<std::thread> threads;
  threads.reserve(bodies.size());
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[i] = bodies[i]();
    });
  }
  for (auto& thread : threads) thread.join();
  return results;
}

Result<ProcessRaceResults> race_with_forked_child(const std::function<RaceBody()>& prepare) {
  int ready[2], go[2], result[2];
  if (::pipe(ready) != 0 || ::pipe(go) != 0 || ::pipe(result) != 0) return internal_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) return internal_error("fork failed");
  if (pid == 0) {
    ::close(ready[0]);
    ::close(go[1]);
    ::close(result[0]);
    run_child(prepare, ready[1], go[0], result[1]);
  }
  ::close(ready[1]);
  ::close(go[0]);
  ::close(result[1]);
  const RaceBody body = prepare();
  const bool child_ready = read_all(ready[0], 1).size() == 1;
  char byte = 'g';
  const bool released = child_ready && write_all(go[1], std::string_view(&byte, 1));
  ProcessRaceResults results;
  if (released) results.parent = body();
  ::close(go[1]);
  results.child = read_all(result[0], kMaxChildResultBytes);
  ::close(ready[0]);
  ::close(result[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!released) return internal_error("the child process did not get ready (it died in prepare)");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return internal_error("the child process did not exit cleanly (wait status " + std::to_string(status) + ")");
  }
  return results;
}

}  // namespace hadr::testing
