// Proves, with real child processes, that the alert command and the alias-failover hook run in
// a clean environment (issue 15: `alerts.command = ["/usr/bin/env"]` wrote the AMQP password
// into alerts.jsonl.command.log, mode 0644): a canary secret in hadr's environment never
// reaches the child or its log, the variables the config names do, and every file the sink
// and the hook write is mode 0600 — also a log an older hadr had created 0644. A command
// without a slash is found in hadr's PATH.
#include "runtime/alerting.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/local_server.h"

namespace hadr {
namespace {

constexpr const char* kCanary = "canary-5e1d-never-in-a-child";

std::string read_file(const std::string& path) {
  std::ifstream file(path);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

unsigned file_mode(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0;
  return info.st_mode & 0777;
}

class AlertingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = make_temporary_directory("hadr-alerting");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
    ASSERT_EQ(::setenv("HADR_ALERTING_TEST_AMQP_PASSWORD", kCanary, 1), 0);
    ASSERT_EQ(::setenv("HADR_ALERTING_TEST_NAMED", "named-value", 1), 0);
  }
  void TearDown() override {
    ::unsetenv("HADR_ALERTING_TEST_AMQP_PASSWORD");
    std::filesystem::remove_all(dir_);
  }
  std::string dir_;
};

TEST_F(AlertingTest, AlertCommandGetsACleanEnvironmentAndPrivateLogs) {
  const std::string log = dir_ + "/alerts.jsonl";
  // A log left 0644 by an older hadr is narrowed when it is next written.
  std::ofstream(log + ".command.log") << "old line\n";
  ASSERT_EQ(::chmod((log + ".command.log").c_str(), 0644), 0);
  {
    AlertOptions options;
    options.command = {"/usr/bin/env"};
    options.environment = {"HADR_ALERTING_TEST_NAMED"};
    RuntimeAlertSink sink(options, log);
    sink.raise(Alert{.severity = AlertSeverity::kCritical, .event = "failover_started", .region = RegionId::parse("a").value(),
                     .epoch = Epoch{3}, .detail = "test", .at = WallTime{}});
  }  // the destructor delivers what is queued: the command has run
  const std::string output = read_file(log + ".command.log");
  EXPECT_EQ(output.find(kCanary), std::string::npos) << output;
  EXPECT_EQ(output.find("HADR_ALERTING_TEST_AMQP_PASSWORD"), std::string::npos) << output;
  EXPECT_NE(output.find("HADR_ALERTING_TEST_NAMED=named-value"), std::string::npos) << output;
  EXPECT_NE(output.find("HADR_ALERT_EVENT=failover_started"), std::string::npos) << output;
  EXPECT_NE(output.find("PATH="), std::string::npos) << output;
  EXPECT_EQ(file_mode(log + ".command.log"), 0600u);
  EXPECT_EQ(file_mode(log), 0600u);
  EXPECT_NE(read_file(log).find("\"alert\":\"failover_started\""), std::string::npos) << read_file(log);
}

TEST_F(AlertingTest, HookGetsACleanEnvironmentAndAPrivateLog) {
  const std::string log = dir_ + "/hook.log";
  HookOptions options;
  options.command = {"env"};  // no slash: found in hadr's PATH, as `az` would be
  options.environment = {"HADR_ALERTING_TEST_NAMED"};
  CommandHook hook(options, log);
  ASSERT_TRUE(hook.start(RegionId::parse("b").value(), Epoch{4}).ok());
  std::optional<Status> done;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!(done = hook.poll()) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(done.has_value());
  ASSERT_TRUE(done->ok()) << done->error().to_string();
  const std::string output = read_file(log);
  EXPECT_EQ(output.find(kCanary), std::string::npos) << output;
  EXPECT_NE(output.find("HADR_NEW_ACTIVE_REGION=b"), std::string::npos) << output;
  EXPECT_NE(output.find("HADR_EPOCH=4"), std::string::npos) << output;
  EXPECT_NE(output.find("HADR_ALERTING_TEST_NAMED=named-value"), std::string::npos) << output;
  EXPECT_EQ(file_mode(log), 0600u);
}

}  // namespace
}  // namespace hadr
