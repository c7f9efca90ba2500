// Proves the sql handler's exactly-once effects end to end with real parts: a Worker
// (src/roles) over a MemoryBus and a SqliteDedupeStore, with the SqlHandler made by
// make_handler() from a HandlerConfig, on a real PostgreSQL (src/postgres/testing). The same id
// delivered four times moves the balance once; a worker whose dedupe store has never seen the
// id (the other region, or a record past its TTL) finds the inbox row, runs nothing and marks
// the id done; a constraint error dead-letters the message with its SQLSTATE in the reason.
#include <gtest/gtest.h>

#include "embedded/sqlite_dedupe_store.h"
#include "handlers/handler_factory.h"
#include "handlers/tests/handler_test_support.h"
#include "memory/memory_bus.h"
#include "memory/memory_coord.h"
#include "postgres/testing/postgres_test_environment.h"
#include "roles/worker.h"

namespace hadr::handlers_test {
namespace {

using postgres::PgConnection;
using postgres::testing::PostgresTestEnvironment;

constexpr std::string_view kMain = "main";

// A worker with its own dedupe store (one region's view) and its own sql handler.
struct RegionWorker {
  TemporaryDirectory directory;
  std::unique_ptr<SqliteDedupeStore> store;
  std::unique_ptr<Handler> handler;
  std::unique_ptr<Worker> worker;
};

class SqlWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const postgres::PgConnectionOptions database = PostgresTestEnvironment::instance().fresh_database("sql_worker");
    ASSERT_FALSE(database.url.empty());
    auto observer = PgConnection::open(database);
    ASSERT_TRUE(observer.ok()) << observer.error().to_string();
    observer_ = std::move(observer).value();
    ASSERT_TRUE(observer_
                    ->execute("CREATE TABLE accounts (id text PRIMARY KEY, balance bigint NOT NULL);"
                              "INSERT INTO accounts VALUES ('acct', 0);"
                              "CREATE TABLE payments (message_id text PRIMARY KEY, amount bigint NOT NULL"
                              " CHECK (amount > 0))")
                    .ok());
    config_.kind = "sql";
    config_.sql_url = database.url;
    config_.sql_sslmode = "disable";
    config_.sql_password_env = "PAYMENTS_DB_PASSWORD";
    config_.sql_statements = {
        {"INSERT INTO payments (message_id, amount) VALUES ($1, $2)", {"$message_id", "$body.amount"}},
        {"UPDATE accounts SET balance = balance + $1::bigint WHERE id = 'acct'", {"$body.amount"}}};
    ASSERT_TRUE(bus_server_.create_queue(kMain, QueueOptions{.max_delivery_count = 10}).ok());
  }

  std::unique_ptr<RegionWorker> make_worker(std::string owner) {
    auto region = std::make_unique<RegionWorker>();
    region->store = SqliteDedupeStore::open(region->directory.path() + "/dedupe.db", clock_).value();
    HandlerContext context{.region = test_region("b"), .clock = &clock_};
    context.environment = [](const std::string& name) -> std::optional<std::string> {
      if (name == "PAYMENTS_DB_PASSWORD") return std::string(PostgresTestEnvironment::kTestPassword);
      return std::nullopt;
    };
    auto handler = make_handler(config_, context);
    EXPECT_TRUE(handler.ok()) << handler.error().to_string();
    if (!handler.ok()) return nullptr;
    region->handler = std::move(handler).value();
    region->worker = Worker::create(WorkerDependencies{.bus = bus_,
                                                       .dedupe = *region->store,
                                                       .coord = coord_,
                                                       .handler = *region->handler,
                                                       .fence = fence_,
                                                       .clock = clock_,
                                                       .crash_points = crash_points_},
                                    WorkerOptions{.owner = std::move(owner),
                                                  .lock_duration = Milliseconds(5'000),
                                                  .claim_ttl = Milliseconds(10'000)})
                         .value();
    return region;
  }

  void send(std::string_view id, std::string body, std::size_t copies = 1) {
    std::vector<BusMessage> batch(copies, test_message(id, std::move(body)));
    ASSERT_TRUE(bus_server_.send(kMain, batch).ok());
  }

  // Steps until the worker is idle (bounded).
  void run(Worker& worker) {
    for (int step = 0; step < 100; ++step) {
      Result<StepOutcome> outcome = worker.step();
      ASSERT_TRUE(outcome.ok()) << outcome.error().to_string();
      if (*outcome == StepOutcome::kIdle) return;
    }
    FAIL() << "the worker never went idle";
  }

  std::string query(const std::string& sql) {
    auto result = observer_->execute(sql);
    EXPECT_TRUE(result.ok()) << result.error().to_string();
    return result.ok() && result.value().rows() > 0 ? result.value().value(0, 0) : std::string("<none>");
  }

  HandlerConfig config_;
  std::unique_ptr<PgConnection> observer_;
  ManualClock clock_;
  MemoryBusServer bus_server_{clock_, "ns-b"};
  MemoryBus bus_{bus_server_};
  MemoryCoordServer coord_server_{clock_};
  MemoryCoord coord_{coord_server_};
  StaticFence fence_{Epoch{7}};
  NoCrashPoints crash_points_;
};

TEST_F(SqlWorkerTest, SameIdDeliveredFourTimesMovesTheBalanceOnce) {
  auto region = make_worker("b/worker-1");
  ASSERT_NE(region, nullptr);
  send("pay-1", R"({"amount": 25})", 3);
  run(*region->worker);
  send("pay-1", R"({"amount": 25})");  // a later redelivery (a replay after failover)
  run(*region->worker);
  EXPECT_EQ(query("SELECT balance FROM accounts"), "25");
  EXPECT_EQ(query("SELECT count(*) FROM payments"), "1");
  EXPECT_EQ(query("SELECT count(*) FROM hadr_inbox"), "1");
  EXPECT_EQ(region->worker->stats().effects, 1u);
  EXPECT_EQ(region->worker->stats().suppressed_duplicates, 3u);
  EXPECT_EQ(bus_server_.depth(kMain)->available + bus_server_.depth(kMain)->locked, 0u);
}

TEST_F(SqlWorkerTest, WorkerWhoseDedupeStoreNeverSawTheIdFindsTheInboxRow) {
  auto first = make_worker("b/worker-1");
  ASSERT_NE(first, nullptr);
  send("pay-2", R"({"amount": 8})");
  run(*first->worker);
  // Another dedupe store (the other region's, or this one after the record expired).
  auto second = make_worker("a/worker-1");
  ASSERT_NE(second, nullptr);
  send("pay-2", R"({"amount": 8})");
  run(*second->worker);
  EXPECT_EQ(query("SELECT balance FROM accounts"), "8");
  EXPECT_EQ(query("SELECT count(*) FROM payments"), "1");
  const MessageId id = test_id("pay-2");
  EXPECT_EQ(second->store->lookup(std::span<const MessageId>(&id, 1)).value().at(0), RecordState::kDone);
  EXPECT_EQ(bus_server_.depth(kMain)->dead_lettered, 0u);
}

TEST_F(SqlWorkerTest, ConstraintErrorDeadLettersWithTheSqlState) {
  auto region = make_worker("b/worker-1");
  ASSERT_NE(region, nullptr);
  send("pay-3", R"({"amount": 0})");
  run(*region->worker);
  EXPECT_EQ(bus_server_.depth(kMain)->dead_lettered, 1u);
  const MessageId id = test_id("pay-3");
  EXPECT_EQ(region->store->lookup(std::span<const MessageId>(&id, 1)).value().at(0), RecordState::kDeadLettered);
  const std::vector<DeadLetterEvent> moved = bus_server_.dead_letter_log();
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_NE(moved[0].reason.find("SQLSTATE 23514"), std::string::npos) << moved[0].reason;
  EXPECT_EQ(query("SELECT count(*) FROM hadr_inbox"), "0");
  EXPECT_EQ(query("SELECT balance FROM accounts"), "0");
}

}  // namespace
}  // namespace hadr::handlers_test
