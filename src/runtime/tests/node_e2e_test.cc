// Proves, with the real `hadr` binary as separate processes on the embedded backends in a
// temp dir, that one region loses nothing acknowledged and applies no effect twice:
//   - NodeDrainsAndStopsOnSigterm: `hadr node` + `hadr send --count 2000`; verify is polled
//     (with a deadline, never a fixed sleep) until every sent id has its effect; SIGTERM then
//     stops the node with exit 0; verify reports 0 lost and 0 duplicate effects;
//   - CrashPoint/<point>, one per point a region alone reaches (kRegionCrashPoints but the
//     backup's; the others are armed in failover_e2e_test.cc): the node runs with
//     HADR_CRASH_POINT=<point> until it dies by SIGKILL exactly there, is restarted unarmed,
//     drains, and verify reports 0 lost and 0 duplicate effects;
//   - an unknown crash point name makes the node refuse to start, listing the valid names.
// Lock and claim durations are shortened in the test config so redeliveries after a kill come
// within seconds.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/region_config.h"
#include "roles/crash_points.h"
#include "runtime/child_process.h"
#include "runtime/send_verify.h"

namespace hadr {
namespace {

using Clock = std::chrono::steady_clock;

// Starts `hadr args...` (the binary under test), output appended to the test's log.
ChildProcess start_hadr(const std::vector<std::string>& args, const std::string& log_path,
                        const std::vector<std::string>& environment = {}) {
  auto child = ChildProcess::start(HADR_BINARY, args, log_path, environment);
  EXPECT_TRUE(child.ok()) << child.error().to_string();
  return std::move(child).value();
}

class NodeE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hadr-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    config_path_ = dir_ + "/region.toml";
    std::ofstream(config_path_) << "[region]\nname = \"a\"\ndata_dir = \"data\"\n"
                                   "[backends]\ndir = \"shared\"\n"
                                   "[source]\nvisibility_timeout = \"3s\"\n"
                                   "[promoter]\nlock_duration = \"2s\"\n"
                                   "[workers]\ncount = 4\nlock_duration = \"2s\"\nclaim_ttl = \"3s\"\n"
                                   "[checkpointer]\ninterval = \"100ms\"\n"
                                   "[relay]\nretention_interval = \"200ms\"\n"
                                   "[runtime]\nstats_interval = \"500ms\"\ndrain_timeout = \"5s\"\n";
    auto config = load_region_config(config_path_);
    ASSERT_TRUE(config.ok()) << config.error().to_string();
    config_ = *config;
  }
  void TearDown() override {
    if (!HasFailure()) std::system(("rm -rf " + dir_).c_str());
    else std::fprintf(stderr, "kept %s for inspection\n", dir_.c_str());
  }

  std::string log_path() const { return dir_ + "/processes.log"; }

  ChildProcess start_node(const std::vector<std::string>& environment = {}) {
    return start_hadr({"node", "--config", config_path_}, log_path(), environment);
  }

  void send(std::uint64_t count) {
    ChildProcess sender = start_hadr({"send", "--config", config_path_, "--count", std::to_string(count)}, log_path());
    auto status = sender.wait_for(std::chrono::seconds(30));
    ASSERT_TRUE(status.has_value());
    ASSERT_EQ(status->code, 0);
  }

  // Polls verify until nothing is missing, at most `timeout`. Returns the last report.
  VerifyReport wait_until_drained(std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    VerifyReport report;
    while (Clock::now() < deadline) {
      auto verified = verify_region(config_);
      EXPECT_TRUE(verified.ok()) << verified.error().to_string();
      if (!verified.ok()) return report;
      report = *verified;
      if (report.lost == 0) return report;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return report;
  }

  void stop_and_expect_clean_exit(ChildProcess& node) {
    node.send_signal(SIGTERM);
    auto status = node.wait_for(std::chrono::seconds(15));
    ASSERT_TRUE(status.has_value()) << "the node did not stop after SIGTERM";
    EXPECT_TRUE(status->exited);
    EXPECT_EQ(status->code, 0);
  }

  std::string dir_;
  std::string config_path_;
  RegionConfig config_;
};

TEST_F(NodeE2eTest, NodeDrainsAndStopsOnSigterm) {
  ChildProcess node = start_node();
  send(2000);
  const VerifyReport drained = wait_until_drained(std::chrono::seconds(60));
  EXPECT_EQ(drained.sent, 2000u);
  EXPECT_EQ(drained.lost, 0u);
  stop_and_expect_clean_exit(node);
  auto final_report = verify_region(config_);
  ASSERT_TRUE(final_report.ok());
  EXPECT_EQ(final_report->lost, 0u);
  EXPECT_EQ(final_report->duplicate_effects, 0u);
  EXPECT_EQ(final_report->effects, 2000u);
}

// Hole 11 (issue 12), as reported: two `hadr node` processes named `a` on the same backends,
// each with its own data dir, both wrote epoch-1 WALs with overlapping LSNs. The second must
// exit at once naming the first, and the first keeps delivering everything exactly once.
TEST_F(NodeE2eTest, SecondNodeOfTheSameRegionOnAnotherDataDirIsRefused) {
  ChildProcess first = start_node();
  send(200);
  ASSERT_EQ(wait_until_drained(std::chrono::seconds(30)).lost, 0u);
  const std::string other_config = dir_ + "/region-other-host.toml";
  std::ofstream(other_config) << "[region]\nname = \"a\"\ndata_dir = \"data-other-host\"\n"
                                 "[backends]\ndir = \"shared\"\n";
  ChildProcess second = start_hadr({"node", "--config", other_config}, dir_ + "/second.log");
  auto status = second.wait_for(std::chrono::seconds(15));
  ASSERT_TRUE(status.has_value()) << "a second process of region a kept running";
  EXPECT_NE(status->code, 0);
  std::ifstream log(dir_ + "/second.log");
  const std::string output((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(output.find("region a is already run by pid " + std::to_string(first.pid())), std::string::npos) << output;
  stop_and_expect_clean_exit(first);
  auto report = verify_region(config_);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->lost, 0u);
  EXPECT_EQ(report->duplicate_effects, 0u);
}

TEST_F(NodeE2eTest, UnknownCrashPointRefusesToStart) {
  ChildProcess node = start_node({"HADR_CRASH_POINT=relay.after_lunch"});
  auto status = node.wait_for(std::chrono::seconds(10));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code, 2);
  std::ifstream log(log_path());
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("valid names: relay.after_fsync_before_ack"), std::string::npos) << text;
}

class CrashPointE2eTest : public NodeE2eTest, public ::testing::WithParamInterface<std::string_view> {};

TEST_P(CrashPointE2eTest, KilledThereLosesNothingAndDuplicatesNoEffect) {
  send(300);
  {
    ChildProcess armed = start_node({"HADR_CRASH_POINT=" + std::string(GetParam())});
    auto status = armed.wait_for(std::chrono::seconds(30));
    ASSERT_TRUE(status.has_value()) << "the node never reached " << GetParam();
    EXPECT_EQ(status->signal, SIGKILL) << "exit code " << status->code;
  }
  ChildProcess node = start_node();
  const VerifyReport drained = wait_until_drained(std::chrono::seconds(60));
  EXPECT_EQ(drained.sent, 300u);
  EXPECT_EQ(drained.lost, 0u);
  stop_and_expect_clean_exit(node);
  auto final_report = verify_region(config_);
  ASSERT_TRUE(final_report.ok());
  EXPECT_EQ(final_report->lost, 0u);
  EXPECT_EQ(final_report->duplicate_effects, 0u);
}

// The points one region alone reaches: every point of kRegionCrashPoints but the sync backup's
// (a region alone has no backup); that one and kFailoverCrashPoints are armed in
// failover_e2e_test.cc, where two regions run.
std::vector<std::string_view> single_region_points() {
  std::vector<std::string_view> points;
  for (std::string_view point : kRegionCrashPoints) {
    if (point != "relay.after_backup_before_ack") points.push_back(point);
  }
  return points;
}

INSTANTIATE_TEST_SUITE_P(EveryPoint, CrashPointE2eTest, ::testing::ValuesIn(single_region_points()),
                         [](const ::testing::TestParamInfo<std::string_view>& info) {
                           std::string name(info.param);
                           for (char& c : name) {
                             if (c == '.') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace hadr
