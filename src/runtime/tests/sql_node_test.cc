// Proves, in one process on the embedded backends in a temp dir and a real PostgreSQL (started
// by src/postgres/testing), that a RegionNode whose [handler] is `sql` applies every sent
// message exactly once into the user's database — a counter the statements increment (not
// idempotent) equals the number of distinct ids, also after the first 40 ids are sent again in
// front of 40 new ones — and that
// `hadr verify` (verify_region) then counts effects from hadr_inbox: lost = sent ids without an
// inbox row, effects_without_sent = rows of ids this data dir never sent, and a missing
// hadr_inbox (no handler ever started) means everything sent is lost.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "handlers/handler_factory.h"
#include "postgres/testing/postgres_test_environment.h"
#include "roles/crash_points.h"
#include "runtime/region_node.h"
#include "runtime/send_verify.h"

namespace hadr {
namespace {

using postgres::PgConnection;
using postgres::testing::PostgresTestEnvironment;

class SqlNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hadr-sql-node-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    database_ = PostgresTestEnvironment::instance().fresh_database("sql_node");
    ASSERT_FALSE(database_.url.empty());
    auto observer = PgConnection::open(database_);
    ASSERT_TRUE(observer.ok()) << observer.error().to_string();
    observer_ = std::move(observer).value();
    ASSERT_TRUE(observer_
                    ->execute("CREATE TABLE effects (message_id text PRIMARY KEY, body_bytes int NOT NULL);"
                              "CREATE TABLE counter (n bigint NOT NULL); INSERT INTO counter VALUES (0)")
                    .ok());
    std::ofstream(dir_ + "/pg-password") << PostgresTestEnvironment::kTestPassword << "\n";
  }
  void TearDown() override {
    if (!HasFailure() && std::system(("rm -rf " + dir_).c_str()) != 0) std::fprintf(stderr, "left %s\n", dir_.c_str());
  }

  RegionConfig load() {
    std::ofstream(dir_ + "/region.toml")
        << "[region]\nname = \"a\"\ndata_dir = \"data\"\n[backends]\ndir = \"shared\"\n"
        << "[checkpointer]\ninterval = \"50ms\"\n"
        << "[handler]\nkind = \"sql\"\nsql_url = \"" << database_.url << "\"\nsql_sslmode = \"disable\"\n"
        << "sql_password_file = \"" << dir_ << "/pg-password\"\n"
        << "[[handler.sql_statements]]\nsql = \"INSERT INTO effects VALUES ($1, length($2))\"\n"
        << "parameters = [\"$message_id\", \"$body\"]\n"
        << "[[handler.sql_statements]]\nsql = \"UPDATE counter SET n = n + 1\"\n";
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

  // Runs a node until verify finds nothing missing and `done` holds (deadline 30 s), then stops it.
  static VerifyReport run_until(const RegionConfig& config, const std::function<bool()>& done) {
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
      if (verified.ok() && report.lost == 0 && done()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    (*node)->request_stop();
    runner.join();
    EXPECT_TRUE(status.ok()) << status.error().to_string();
    return report;
  }

  std::string query(const std::string& sql) {
    auto result = observer_->execute(sql);
    EXPECT_TRUE(result.ok()) << result.error().to_string();
    return result.ok() && result.value().rows() > 0 ? result.value().value(0, 0) : std::string("<none>");
  }

  std::string dir_;
  postgres::PgConnectionOptions database_;
  std::unique_ptr<PgConnection> observer_;
};

TEST_F(SqlNodeTest, NodeAppliesEverySentMessageOnceIntoPostgres) {
  const RegionConfig config = load();
  send(config, 40);
  VerifyReport report = run_until(config, [] { return true; });
  EXPECT_EQ(report.sent, 40u);
  EXPECT_EQ(report.effects, 40u);
  EXPECT_EQ(report.lost, 0u);
  EXPECT_EQ(report.effects_source, "hadr_inbox");
  EXPECT_TRUE(report.passed()) << report.to_text();
  EXPECT_EQ(query("SELECT n FROM counter"), "40");

  // Ids 1..80: the first 40 again (each finds its id done), then 40 new ones behind them.
  send(config, 80);
  report = run_until(config, [] { return true; });
  EXPECT_EQ(report.sent, 80u);
  EXPECT_EQ(report.effects, 80u);
  EXPECT_EQ(report.lost, 0u);
  EXPECT_EQ(query("SELECT n FROM counter"), "80");
  EXPECT_EQ(query("SELECT count(*) FROM effects"), "80");
}

TEST_F(SqlNodeTest, VerifyCountsLostAndForeignEffectsFromTheInbox) {
  const RegionConfig config = load();
  send(config, 5);
  auto before = verify_region(config);
  ASSERT_TRUE(before.ok()) << before.error().to_string();
  EXPECT_EQ(before->lost, 5u);  // no hadr_inbox yet: nothing applied
  EXPECT_NE(before->to_text().find("hadr_inbox"), std::string::npos) << before->to_text();

  // A handler's start creates hadr_inbox; then two sent ids and one foreign id are applied.
  HandlerContext context{.region = config.region};
  ASSERT_TRUE(make_handler(config.handler, context).ok());
  ASSERT_TRUE(observer_
                  ->execute("INSERT INTO hadr_inbox (message_id, region, epoch, source_region, lsn) VALUES"
                            " ('msg-1', 'a', 1, 'a', 1), ('msg-2', 'a', 1, 'a', 2), ('gateway-9', 'a', 1, 'a', 3)")
                  .ok());
  auto after = verify_region(config);
  ASSERT_TRUE(after.ok()) << after.error().to_string();
  EXPECT_EQ(after->sent, 5u);
  EXPECT_EQ(after->effects, 3u);
  EXPECT_EQ(after->lost, 3u);
  EXPECT_EQ(after->effects_without_sent, 1u);
  EXPECT_EQ(after->duplicate_effects, 0u);
  EXPECT_FALSE(after->passed());
}

}  // namespace
}  // namespace hadr
