// Proves the two-region drill on the real engines (`hadr demo --backend real`): Redis for the
// lease, dedupe, coord and ledger, two RabbitMQ nodes as the two bus namespaces behind the
// alias (plus a third as the source MQ), and Azurite for the WAL backup — all started by the
// drill on this machine, with `hadr node` processes for regions a and b:
//   - RealDemo.FailoverLosesNothingAndAppliesNothingTwice: SIGKILL of region a mid-stream; b
//     takes over within the lease TTL + 1.5 s, replays a's WAL from the Azurite backup; 0 lost,
//     0 duplicate effects.
//   - RealDemo.BrokerKillIsFailedOverAndStrandedMessagesReplayed (fault F16): SIGKILL of the
//     RabbitMQ node of namespace primary (region a's bus) while a is active; a's watchdog sees its
//     workers failing, steps down after watchdog.unhealthy_grace, b takes over and replays a's WAL
//     from the backup, recovering what was stranded on the dead node; 0 lost, 0 duplicate effects.
// Both need redis-server, rabbitmq-server and Azurite (scripts/bootstrap, scripts/install-azurite).
#include <gtest/gtest.h>

#include <string>

#include "runtime/failover_drill.h"

namespace hadr {
namespace {

void print_progress(const std::string& line) { std::fprintf(stderr, "demo %s\n", line.c_str()); }

DemoOptions real_demo_options(std::string scenario) {
  DemoOptions options;
  options.scenario = std::move(scenario);
  options.backend = "real";
  options.messages = 1'500;
  options.rate = 0;  // as fast as it can: a backlog is in flight when the fault hits
  options.lease_ttl = Milliseconds(1'000);
  options.hadr_binary = HADR_BINARY;
  options.timeout = std::chrono::seconds(300);
  return options;
}

void expect_passed(const DemoReport& report) {
  std::fprintf(stderr, "%s", report.to_text().c_str());
  EXPECT_EQ(report.verify.sent, 1'500u);
  EXPECT_EQ(report.verify.lost, 0u);
  EXPECT_EQ(report.verify.duplicate_effects, 0u);
  EXPECT_TRUE(report.failover_within_bound()) << report.failover_ms << " ms, bound " << report.failover_bound.count();
  EXPECT_EQ(report.epochs, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_TRUE(report.passed());
}

TEST(RealDemo, FailoverLosesNothingAndAppliesNothingTwice) {
  auto report = run_demo(real_demo_options("failover"), print_progress);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  expect_passed(*report);
  EXPECT_GT(report->replayed, 0u);  // a's backlog came back from its Azurite backup
}

TEST(RealDemo, BrokerKillIsFailedOverAndStrandedMessagesReplayed) {
  auto report = run_demo(real_demo_options("broker-kill"), print_progress);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  expect_passed(*report);
  EXPECT_GT(report->replayed, 0u);  // what the dead node held came back from the backup
}

}  // namespace
}  // namespace hadr
