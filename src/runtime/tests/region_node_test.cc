// Proves, in one process on the embedded backends in a temp dir, that RegionNode delivers
// every sent message to the ledger exactly once and stops cleanly on request (writing its
// stats file), and that verify counts what it claims: a message not applied is lost, an extra
// ledger row is a duplicate effect, a message the handler refuses is dead-lettered, and an id
// sent twice is one sent id. Hole 11 (issue 12): a second process that opens the WAL of a
// region already run on the same backends — from the same data dir or from another one — is
// refused at open with an error naming the running process; before, both wrote epoch-1 WALs
// with overlapping LSNs.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "embedded/sqlite_connection.h"
#include "roles/crash_points.h"
#include "runtime/region_node.h"
#include "runtime/send_verify.h"

namespace hadr {
namespace {

class RegionNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hadr-node-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    if (!HasFailure() && std::system(("rm -rf " + dir_).c_str()) != 0) std::fprintf(stderr, "left %s\n", dir_.c_str());
  }

  RegionConfig load(const std::string& extra = "") {
    std::ofstream(dir_ + "/region.toml") << "[region]\nname = \"a\"\ndata_dir = \"data\"\n[backends]\ndir = \"shared\"\n"
                                         << "[checkpointer]\ninterval = \"50ms\"\n" << extra;
    auto config = load_region_config(dir_ + "/region.toml");
    EXPECT_TRUE(config.ok()) << config.error().to_string();
    return config.ok() ? *config : RegionConfig{};
  }

  static void send(const RegionConfig& config, std::uint64_t count) {
    SendOptions options;
    options.count = count;
    auto sent = send_messages(config, options, [] { return false; });
    ASSERT_TRUE(sent.ok()) << sent.error().to_string();
    ASSERT_EQ(sent->sent, count);
  }

  // Runs a node until verify finds nothing missing (deadline 30 s), then stops it.
  static VerifyReport run_until_drained(const RegionConfig& config) {
    NoCrashPoints crash_points;
    auto node = RegionNode::open(config, NodeRoles{}, crash_points);
    EXPECT_TRUE(node.ok()) << node.error().to_string();
    if (!node.ok()) return {};
    Status status;
    std::thread runner([&] { status = (*node)->run(); });
    VerifyReport report;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      auto verified = verify_region(config);
      if (verified.ok()) report = *verified;
      if (verified.ok() && report.lost == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    (*node)->request_stop();
    runner.join();
    EXPECT_TRUE(status.ok()) << status.error().to_string();
    return report;
  }

  std::string dir_;
};

TEST_F(RegionNodeTest, DeliversEverySentMessageExactlyOnce) {
  const RegionConfig config = load();
  send(config, 50);
  const VerifyReport report = run_until_drained(config);
  EXPECT_EQ(report.sent, 50u);
  EXPECT_EQ(report.effects, 50u);
  EXPECT_EQ(report.lost, 0u);
  EXPECT_EQ(report.duplicate_effects, 0u);
  EXPECT_TRUE(report.passed());
  auto stats = read_stats_file(config.data_dir + "/stats-node.json");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->workers.effects, 50u);
  EXPECT_EQ(stats->relay.acked, 50u);
}

TEST_F(RegionNodeTest, UnappliedMessagesAreLost) {
  const RegionConfig config = load();
  send(config, 10);
  auto report = verify_region(config);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(report->sent, 10u);
  EXPECT_EQ(report->lost, 10u);
  EXPECT_FALSE(report->passed());
}

TEST_F(RegionNodeTest, IdSentTwiceIsOneSentId) {
  const RegionConfig config = load();
  send(config, 5);
  send(config, 5);
  auto report = verify_region(config);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->sent, 5u);
}

TEST_F(RegionNodeTest, ExtraLedgerRowIsADuplicateEffect) {
  const RegionConfig config = load();
  send(config, 5);
  ASSERT_EQ(run_until_drained(config).effects, 5u);
  auto connection = SqliteConnection::open(config.embedded.dedupe_path(), SqliteOptions{});
  ASSERT_TRUE(connection.ok());
  ASSERT_TRUE((*connection)->execute("INSERT INTO ledger(message_id, region, epoch, source_region, lsn, body_bytes, body_xxh3_64, "
                                       "applied_at_ms) SELECT message_id, region, epoch, source_region, lsn, body_bytes, "
                                       "body_xxh3_64, applied_at_ms FROM ledger WHERE message_id = 'msg-3'").ok());
  auto report = verify_region(config);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->duplicate_effects, 1u);
  EXPECT_EQ(report->lost, 0u);
  EXPECT_FALSE(report->passed());
}

TEST_F(RegionNodeTest, RefusedMessagesAreDeadLetteredNotLost) {
  const RegionConfig config =
      load("[workers]\nmax_delivery_count = 1\n[handler]\nkind = \"exec\"\nexec_command = [\"/bin/false\"]\n");
  send(config, 5);
  NoCrashPoints crash_points;
  auto node = RegionNode::open(config, NodeRoles{}, crash_points);
  ASSERT_TRUE(node.ok()) << node.error().to_string();
  Status status;
  std::thread runner([&] { status = (*node)->run(); });
  VerifyReport report;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline && report.dead_lettered < 5) {
    auto verified = verify_region(config);
    if (verified.ok()) report = *verified;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  (*node)->request_stop();
  runner.join();
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(report.dead_lettered, 5u);
  EXPECT_EQ(report.lost, 0u);
  EXPECT_EQ(report.effects, 0u);
}

// The second RegionNode of region a, opened while the first runs, must be refused and say who
// runs the region; once the first is gone, the region opens again at once from its data dir.
void expect_refused_as_already_running(const Result<std::unique_ptr<RegionNode>>& second) {
  ASSERT_FALSE(second.ok()) << "a second process opened the WAL of a running region";
  EXPECT_EQ(second.error().code, ErrorCode::kFailedPrecondition) << second.error().to_string();
  EXPECT_NE(second.error().detail.find("already run"), std::string::npos) << second.error().to_string();
  EXPECT_NE(second.error().detail.find("pid"), std::string::npos) << second.error().to_string();
}

TEST_F(RegionNodeTest, SecondProcessOnTheSameDataDirIsRefused) {
  const RegionConfig config = load();
  NoCrashPoints crash_points;
  auto first = RegionNode::open(config, NodeRoles{}, crash_points);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  expect_refused_as_already_running(RegionNode::open(config, NodeRoles{}, crash_points));
  first->reset();
  auto again = RegionNode::open(config, NodeRoles{}, crash_points);
  EXPECT_TRUE(again.ok()) << "a restart on the same data dir must not wait: " << again.error().to_string();
}

TEST_F(RegionNodeTest, SecondProcessOnAnotherDataDirWithTheSameBackendsIsRefused) {
  const RegionConfig config = load();
  RegionConfig other = config;
  other.data_dir = dir_ + "/data-of-another-host";
  NoCrashPoints crash_points;
  auto first = RegionNode::open(config, NodeRoles{}, crash_points);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  expect_refused_as_already_running(RegionNode::open(other, NodeRoles{}, crash_points));
}

// Hole 7 (issue 12): every process started with one process name had the same worker owners
// ("a/node-1"), and a live claim is granted again to its owner, so two such processes (or a
// restart beside a still-running command) both ran one handler. Owners carry a random
// incarnation per start: "<region>/<process>-<n>#<16 hex>", different at each start.
std::set<std::string> claim_owners(const RegionConfig& config) {
  std::set<std::string> owners;
  auto connection = SqliteConnection::open(config.embedded.dedupe_path(), SqliteOptions{});
  EXPECT_TRUE(connection.ok());
  if (!connection.ok()) return owners;
  auto query = (*connection)->query("SELECT DISTINCT owner FROM dedupe_records");
  EXPECT_TRUE(query.ok());
  if (!query.ok()) return owners;
  while (true) {
    auto row = query->next_row();
    if (!row.ok() || !*row) break;
    owners.insert(query->column_text(0));
  }
  return owners;
}

TEST_F(RegionNodeTest, WorkerOwnersAreUniquePerProcessIncarnation) {
  const RegionConfig config = load();
  send(config, 5);
  ASSERT_EQ(run_until_drained(config).effects, 5u);
  const std::set<std::string> first = claim_owners(config);
  ASSERT_FALSE(first.empty());
  SendOptions more;
  more.count = 5;
  more.first_number = 6;
  ASSERT_TRUE(send_messages(config, more, [] { return false; }).ok());
  ASSERT_EQ(run_until_drained(config).effects, 10u);
  const std::set<std::string> both = claim_owners(config);
  for (const std::string& owner : both) {
    const std::size_t hash = owner.find('#');
    ASSERT_NE(hash, std::string::npos) << owner << " names no incarnation";
    EXPECT_EQ(owner.substr(0, hash).rfind("a/node-", 0), 0u) << owner;
    EXPECT_EQ(owner.size() - hash - 1, 16u) << owner;
  }
  std::set<std::string> incarnations;
  for (const std::string& owner : both) incarnations.insert(owner.substr(owner.find('#') + 1));
  EXPECT_EQ(incarnations.size(), 2u) << "two starts of one process name must be two owners";
}

TEST_F(RegionNodeTest, WorkerOnlyProcessesBesideTheRelayAreAllowed) {
  const RegionConfig config = load();
  NoCrashPoints crash_points;
  auto node = RegionNode::open(config, NodeRoles{}, crash_points);
  ASSERT_TRUE(node.ok()) << node.error().to_string();
  NodeRoles workers_only{.relay = false, .promoter = false, .workers = true, .process_name = "w2"};
  auto workers = RegionNode::open(config, workers_only, crash_points);
  EXPECT_TRUE(workers.ok()) << workers.error().to_string();
}

}  // namespace
}  // namespace hadr
