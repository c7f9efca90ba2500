// Proves the exec handler's contract with a real child process: exit 0 / 75 / 1 map to done /
// retry later / failed with "exit N: <stderr tail>"; the child sees HADR_* variables and the
// variables handler.exec_environment names, and nothing else of the worker's environment (no
// secret: issue 15); the payload arrives on stdin, and a child that ignores stdin is fine;
// a command past its timeout has its process group killed and reaped; output beyond the bound
// is truncated to its tail; descriptors the worker opened stay closed in the child; a missing
// binary fails with a reason that names it; a running command calls keep_alive while it runs.
// Hole 7 (issue 12): a command outlived a SIGKILL of its worker, and the restarted worker ran
// it again beside the first: the command must die with the worker process.
#include "handlers/exec_handler.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <fstream>
#include <set>
#include <sstream>

#include "handlers/tests/handler_test_support.h"

namespace hadr::handlers_test {
namespace {

ExecHandler shell_handler(const std::string& script, Milliseconds timeout = Milliseconds(20'000),
                          std::size_t output_bytes_max = 64 * 1024) {
  return ExecHandler(ExecOptions{.command = {"sh", "-c", script}, .timeout = timeout, .output_bytes_max = output_bytes_max},
                     test_region("b"));
}

std::string read_file(const std::string& path) {
  std::ifstream file(path);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

TEST(ExecHandlerTest, ExitZeroIsDone) {
  const BusMessage message = test_message("m-1");
  const HandlerResult result = shell_handler("exit 0").handle(test_input(message));
  EXPECT_EQ(result.verdict, HandlerVerdict::kDone) << result.reason;
}

// Counts keep-alive calls, as the worker's would renew locks and claims.
class CountingKeepAlive final : public HandlerKeepAlive {
 public:
  void keep_alive() override { ++calls; }
  int calls = 0;
};

TEST(ExecHandlerTest, RunningCommandKeepsItsMessageAlive) {
  const BusMessage message = test_message("m-1");
  CountingKeepAlive keep_alive;
  HandlerInput input = test_input(message);
  input.keep_alive = &keep_alive;
  const HandlerResult result = shell_handler("sleep 0.5").handle(input);
  EXPECT_EQ(result.verdict, HandlerVerdict::kDone) << result.reason;
  EXPECT_GE(keep_alive.calls, 2);  // at least once per poll slice while the command ran
}

TEST(ExecHandlerTest, ExitSeventyFiveIsRetryLater) {
  const BusMessage message = test_message("m-1");
  const HandlerResult result = shell_handler("echo busy >&2; exit 75").handle(test_input(message));
  EXPECT_EQ(result.verdict, HandlerVerdict::kRetryLater);
  EXPECT_EQ(result.reason.rfind("exit 75: busy", 0), 0u) << result.reason;
}

TEST(ExecHandlerTest, ExitOneIsFailedWithTheStderrTail) {
  const BusMessage message = test_message("m-1");
  const HandlerResult result = shell_handler("echo out; echo 'disk on fire' >&2; exit 1").handle(test_input(message));
  EXPECT_EQ(result.verdict, HandlerVerdict::kFailed);
  EXPECT_EQ(result.reason.rfind("exit 1: disk on fire", 0), 0u) << result.reason;
}

TEST(ExecHandlerTest, KilledBySignalIsFailed) {
  const BusMessage message = test_message("m-1");
  const HandlerResult result = shell_handler("kill -TERM $$").handle(test_input(message));
  EXPECT_EQ(result.verdict, HandlerVerdict::kFailed);
  EXPECT_NE(result.reason.find("signal 15"), std::string::npos) << result.reason;
}

TEST(ExecHandlerTest, ChildSeesTheMessageEnvironment) {
  TemporaryDirectory directory;
  const std::string out = directory.path() + "/env.txt";
  ASSERT_EQ(::setenv("HADR_HANDLER_TEST_PARENT", "inherited", 1), 0);
  const BusMessage message = test_message("m-env");
  ExecHandler handler(ExecOptions{.command = {"sh", "-c",
                                              "echo \"$HADR_MESSAGE_ID|$HADR_EPOCH|$HADR_REGION|$HADR_LSN|$HADR_DELIVERY_COUNT|"
                                              "$HADR_SOURCE_REGION|$HADR_HANDLER_TEST_PARENT\" > " + out},
                                  .environment = {"HADR_HANDLER_TEST_PARENT"}},
                      test_region("b"));
  const HandlerResult result = handler.handle(test_input(message));
  ASSERT_EQ(result.verdict, HandlerVerdict::kDone) << result.reason;
  EXPECT_EQ(read_file(out), "m-env|7|b|42|3|a|inherited\n");
}

// Issue 15: the command ran with the worker's whole environment, secrets included. Now it
// gets PATH, HOME, LANG, the variables handler.exec_environment names and the HADR_* entries.
TEST(ExecHandlerTest, ChildGetsACleanEnvironmentWithoutTheWorkersSecrets) {
  TemporaryDirectory directory;
  const std::string out = directory.path() + "/env.txt";
  ASSERT_EQ(::setenv("HADR_HANDLER_TEST_CANARY_PASSWORD", "canary-7f3a", 1), 0);
  ASSERT_EQ(::setenv("HADR_HANDLER_TEST_NAMED", "named", 1), 0);
  ExecHandler handler(ExecOptions{.command = {"/usr/bin/env"}, .environment = {"HADR_HANDLER_TEST_NAMED"}},
                      test_region("b"));
  const Result<ExecRun> run = handler.run(test_input(test_message("m-clean")));
  ::unsetenv("HADR_HANDLER_TEST_CANARY_PASSWORD");
  ASSERT_TRUE(run.ok()) << run.error().to_string();
  ASSERT_EQ(run->exit_code, 0);
  EXPECT_EQ(run->stdout_tail.find("canary-7f3a"), std::string::npos) << run->stdout_tail;
  std::istringstream lines(run->stdout_tail);
  std::vector<std::string> names;
  for (std::string line; std::getline(lines, line);) names.push_back(line.substr(0, line.find('=')));
  const std::set<std::string> allowed = {"PATH", "HOME", "LANG", "HADR_HANDLER_TEST_NAMED", "HADR_MESSAGE_ID",
                                         "HADR_EPOCH", "HADR_REGION", "HADR_SOURCE_REGION", "HADR_LSN",
                                         "HADR_DELIVERY_COUNT"};
  for (const std::string& name : names) EXPECT_EQ(allowed.count(name), 1u) << name << " reached the command";
  EXPECT_NE(std::find(names.begin(), names.end(), "HADR_HANDLER_TEST_NAMED"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "PATH"), names.end());
}

TEST(ExecHandlerTest, ParentValuesOfOurVariablesAreReplaced) {
  TemporaryDirectory directory;
  const std::string out = directory.path() + "/env.txt";
  ASSERT_EQ(::setenv("HADR_MESSAGE_ID", "stale", 1), 0);
  const BusMessage message = test_message("m-fresh");
  // Even named in exec_environment, the worker's value does not win over the message's.
  ExecHandler handler(ExecOptions{.command = {"sh", "-c", "env | grep '^HADR_MESSAGE_ID=' > " + out},
                                  .environment = {"HADR_MESSAGE_ID"}},
                      test_region("b"));
  const HandlerResult result = handler.handle(test_input(message));
  ::unsetenv("HADR_MESSAGE_ID");
  ASSERT_EQ(result.verdict, HandlerVerdict::kDone) << result.reason;
  EXPECT_EQ(read_file(out), "HADR_MESSAGE_ID=m-fresh\n");
}

TEST(ExecHandlerTest, PayloadArrivesOnStdin) {
  TemporaryDirectory directory;
  const std::string out = directory.path() + "/stdin.bin";
  std::string payload(300 * 1024, 'x');  // several pipe buffers
  payload += "end";
  const BusMessage message = test_message("m-1", payload);
  const HandlerResult result = shell_handler("cat > " + out).handle(test_input(message));
  ASSERT_EQ(result.verdict, HandlerVerdict::kDone) << result.reason;
  EXPECT_EQ(read_file(out), payload);
}

TEST(ExecHandlerTest, ChildThatIgnoresStdinIsFine) {
  const BusMessage message = test_message("m-1", std::string(1024 * 1024, 'y'));
  ExecHandler handler = shell_handler("exit 0");
  const Result<ExecRun> run = handler.run(test_input(message));
  ASSERT_TRUE(run.ok()) << run.error().to_string();
  EXPECT_EQ(run->end, ExecRun::End::kExited);
  EXPECT_EQ(run->exit_code, 0);
  EXPECT_TRUE(run->stdin_closed_early);
  EXPECT_EQ(handler.handle(test_input(message)).verdict, HandlerVerdict::kDone);
}

TEST(ExecHandlerTest, TimeoutKillsTheProcessGroupAndReapsIt) {
  TemporaryDirectory directory;
  const std::string pid_file = directory.path() + "/pid";
  const BusMessage message = test_message("m-1");
  // The shell forks a background sleep (same group) and then becomes a sleep itself.
  ExecHandler handler = shell_handler("sleep 60 & echo $! > " + pid_file + ".bg; echo $$ > " + pid_file + "; exec sleep 60",
                                      Milliseconds(300));
  const auto started = std::chrono::steady_clock::now();
  const HandlerResult result = handler.handle(test_input(message));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(result.verdict, HandlerVerdict::kRetryLater);
  EXPECT_NE(result.reason.find("timed out"), std::string::npos) << result.reason;
  EXPECT_LT(elapsed, std::chrono::seconds(30));  // killed, not waited for
  const pid_t child = std::stoi(read_file(pid_file));
  // Reaped: not even a zombie is left (kill(pid, 0) succeeds on a zombie).
  EXPECT_EQ(::kill(child, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  // The grandchild got SIGKILL with the group (it is reaped by init, possibly a moment later).
  const pid_t grandchild = std::stoi(read_file(pid_file + ".bg"));
  bool grandchild_gone = false;
  for (int poll = 0; poll < 500 && !grandchild_gone; ++poll) {
    grandchild_gone = ::kill(grandchild, 0) == -1 && errno == ESRCH;
    if (!grandchild_gone) ::usleep(10'000);  // init's reaping is outside our control
  }
  EXPECT_TRUE(grandchild_gone);
}

// True while `pid` exists and is not a zombie (a zombie's command has ended).
bool process_alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, name, state;
  if (!(stat >> pid_field >> name >> state)) return false;
  return state != "Z" && state != "X";
}

TEST(ExecHandlerTest, CommandDiesWithItsWorkerProcess) {
  char pattern[] = "/tmp/hadr-exec-orphan-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string pid_file = std::string(pattern) + "/pid";
  // The worker: a child of the test that runs the handler and is SIGKILLed mid-command.
  const pid_t worker = fork();
  ASSERT_GE(worker, 0);
  if (worker == 0) {
    const BusMessage message = test_message("m-1");
    (void)shell_handler("echo $$ > " + pid_file + ".tmp && mv " + pid_file + ".tmp " + pid_file + " && exec sleep 30")
        .handle(test_input(message));
    _exit(0);
  }
  pid_t command = 0;
  for (int waited = 0; waited < 5'000 && command == 0; waited += 10) {
    std::ifstream(pid_file) >> command;
    if (command == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(command, 0) << "the command never started";
  ASSERT_EQ(::kill(worker, SIGKILL), 0);
  ASSERT_EQ(::waitpid(worker, nullptr, 0), worker);
  bool alive = true;
  for (int waited = 0; waited < 3'000 && alive; waited += 10) {
    alive = process_alive(command);
    if (alive) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (alive) ::kill(command, SIGKILL);  // leave nothing behind
  EXPECT_FALSE(alive) << "the exec command outlived its SIGKILLed worker";
  std::filesystem::remove_all(pattern);
}

TEST(ExecHandlerTest, BigOutputIsTruncatedToItsTail) {
  const BusMessage message = test_message("m-1");
  ExecHandler handler = shell_handler("head -c 1000000 /dev/zero | tr '\\0' a; echo; echo last-line >&2; "
                                      "head -c 500000 /dev/zero | tr '\\0' b >&2; echo tail-marker >&2; exit 3",
                                      Milliseconds(20'000), 1000);
  const Result<ExecRun> run = handler.run(test_input(message));
  ASSERT_TRUE(run.ok()) << run.error().to_string();
  EXPECT_EQ(run->exit_code, 3);
  EXPECT_EQ(run->stdout_tail.size(), 1000u);
  EXPECT_EQ(run->stderr_tail.size(), 1000u);
  EXPECT_EQ(run->output_bytes_dropped, 1'000'001u + 10u + 500'000u + 12u - 2000u);
  EXPECT_EQ(run->stderr_tail.substr(run->stderr_tail.size() - 12), "tail-marker\n");
  const HandlerResult result = handler.handle(test_input(message));
  EXPECT_EQ(result.verdict, HandlerVerdict::kFailed);
  EXPECT_LT(result.reason.size(), 1200u);
  EXPECT_NE(result.reason.find("tail-marker"), std::string::npos);
}

TEST(ExecHandlerTest, ChildDoesNotInheritTheWorkersDescriptors) {
  const int inheritable = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC on purpose
  ASSERT_GE(inheritable, 3);
  const BusMessage message = test_message("m-1");
  const std::string fd = std::to_string(inheritable);
  const HandlerResult result =
      shell_handler("if [ -e /proc/$$/fd/" + fd + " ]; then echo leaked >&2; exit 1; fi").handle(test_input(message));
  ::close(inheritable);
  EXPECT_EQ(result.verdict, HandlerVerdict::kDone) << result.reason;
}

TEST(ExecHandlerTest, MissingBinaryFailsWithAClearReason) {
  const BusMessage message = test_message("m-1");
  ExecHandler handler(ExecOptions{.command = {"/nonexistent/hadr-no-such-tool"}}, test_region("b"));
  const HandlerResult result = handler.handle(test_input(message));
  EXPECT_EQ(result.verdict, HandlerVerdict::kFailed);
  EXPECT_NE(result.reason.find("/nonexistent/hadr-no-such-tool"), std::string::npos) << result.reason;
  EXPECT_NE(result.reason.find("not found"), std::string::npos) << result.reason;
}

TEST(ExecHandlerTest, MissingBinaryInPathFailsWithAClearReason) {
  const BusMessage message = test_message("m-1");
  ExecHandler handler(ExecOptions{.command = {"hadr-no-such-tool-in-path"}}, test_region("b"));
  const HandlerResult result = handler.handle(test_input(message));
  EXPECT_EQ(result.verdict, HandlerVerdict::kFailed);
  EXPECT_NE(result.reason.find("'hadr-no-such-tool-in-path' was not found"), std::string::npos) << result.reason;
}

}  // namespace
}  // namespace hadr::handlers_test
