// Proves the C++ handler API (include/hadr/handler.h) end to end: run_worker() runs a region
// node in this process (embedded backends in a temp dir) with the program's function as the
// workers' handler. A TransactionalHandler on a real PostgreSQL (src/postgres/testing) applies a
// non-idempotent payment exactly once per id — also when the first ids are sent again — with
// the inbox row committed with it; a failed statement dead-letters the message even though the
// function answered done(), leaving nothing behind; a PlainHandler sees every message; a
// TransactionalHandler on a config whose handler is not `sql` refuses to start; and the example
// program examples/payment, run as its own process on its own schema (schema.sql), applies
// every payment once (one of them sent twice, an unreadable body beside them) and exits 0 on
// SIGTERM.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <iterator>
#include <set>
#include <thread>

#include <signal.h>

#include "hadr/handler.h"
#include "postgres/testing/postgres_test_environment.h"
#include "runtime/child_process.h"
#include "runtime/region_backends.h"
#include "runtime/send_verify.h"

namespace hadr {
namespace {

using postgres::PgConnection;
using postgres::testing::PostgresTestEnvironment;

class HandlerApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hadr-api-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    database_ = PostgresTestEnvironment::instance().fresh_database("api");
    ASSERT_FALSE(database_.url.empty());
    auto observer = PgConnection::open(database_);
    ASSERT_TRUE(observer.ok()) << observer.error().to_string();
    observer_ = std::move(observer).value();
    ASSERT_TRUE(observer_
                    ->execute("CREATE TABLE accounts (id text PRIMARY KEY, balance bigint NOT NULL);"
                              "INSERT INTO accounts VALUES ('acct', 0);"
                              "CREATE TABLE payments (message_id text PRIMARY KEY, amount bigint NOT NULL"
                              " CHECK (amount > 0))")
                    .ok());
    std::ofstream(dir_ + "/pg-password") << PostgresTestEnvironment::kTestPassword << "\n";
  }
  void TearDown() override {
    if (!HasFailure() && std::system(("rm -rf " + dir_).c_str()) != 0) std::fprintf(stderr, "left %s\n", dir_.c_str());
  }

  std::string write_config(const std::string& handler_kind = "sql") {
    const std::string path = dir_ + "/region.toml";
    std::ofstream(path) << "[region]\nname = \"a\"\ndata_dir = \"data\"\n[backends]\ndir = \"shared\"\n"
                        << "[checkpointer]\ninterval = \"50ms\"\n"
                        << "[handler]\nkind = \"" << handler_kind << "\"\n"
                        << (handler_kind == "sql" ? "sql_url = \"" + database_.url + "\"\nsql_sslmode = \"disable\"\n" +
                                                        "sql_password_file = \"" + dir_ + "/pg-password\"\n"
                                                  : std::string());
    return path;
  }

  static void send(const std::string& config_path, std::uint64_t count) {
    auto config = load_region_config(config_path);
    ASSERT_TRUE(config.ok()) << config.error().to_string();
    SendOptions options;
    options.count = count;
    auto sent = send_messages(*config, options, [] { return false; });
    ASSERT_TRUE(sent.ok()) << sent.error().to_string();
  }

  std::string query(const std::string& sql) {
    auto result = observer_->execute(sql);
    EXPECT_TRUE(result.ok()) << result.error().to_string();
    return result.ok() && result.value().rows() > 0 ? result.value().value(0, 0) : std::string("<none>");
  }

  // Stops when `done` holds, or after 30 s.
  static std::function<bool()> until(std::function<bool()> done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    return [done = std::move(done), deadline] { return std::chrono::steady_clock::now() > deadline || done(); };
  }

  std::string dir_;
  postgres::PgConnectionOptions database_;
  std::unique_ptr<PgConnection> observer_;
};

// The payment of "msg-N" is N: the balance after ids 1..n is n(n+1)/2, and any duplicate shows.
api::HandlerOutcome pay(const api::Message& message, api::Transaction& transaction) {
  const std::string amount = message.id.substr(message.id.find('-') + 1);
  transaction.execute("INSERT INTO payments (message_id, amount) VALUES ($1, $2)", {message.id, amount});
  transaction.execute("UPDATE accounts SET balance = balance + $1::bigint WHERE id = 'acct'", {amount});
  return api::HandlerOutcome::done();
}

TEST_F(HandlerApiTest, TransactionalHandlerAppliesEachPaymentOnce) {
  const std::string config = write_config();
  send(config, 30);
  api::RunOptions options{.config_path = config};
  options.should_stop = until([&] { return query("SELECT count(*) FROM payments") == "30"; });
  ASSERT_EQ(api::run_worker(options, api::TransactionalHandler(pay)), 0);
  EXPECT_EQ(query("SELECT balance FROM accounts"), "465");

  send(config, 40);  // ids 1..30 again, then 31..40
  options.should_stop = until([&] { return query("SELECT count(*) FROM payments") == "40"; });
  ASSERT_EQ(api::run_worker(options, api::TransactionalHandler(pay)), 0);
  EXPECT_EQ(query("SELECT balance FROM accounts"), "820");
  EXPECT_EQ(query("SELECT count(*) FROM hadr_inbox"), "40");
}

TEST_F(HandlerApiTest, FailedStatementDeadLettersWhateverTheFunctionAnswers) {
  const std::string config = write_config();
  send(config, 1);
  std::string seen_error;
  api::RunOptions options{.config_path = config};
  auto loaded = load_region_config(config);
  ASSERT_TRUE(loaded.ok());
  options.should_stop = until([&] {
    auto report = verify_region(*loaded);
    return report.ok() && report->dead_lettered == 1;
  });
  const int exit_code = api::run_worker(options, api::TransactionalHandler([&](const api::Message& message,
                                                                               api::Transaction& transaction) {
    transaction.execute("INSERT INTO payments (message_id, amount) VALUES ($1, 0)", {message.id});
    seen_error = transaction.error();
    return api::HandlerOutcome::done();
  }));
  EXPECT_EQ(exit_code, 0);
  EXPECT_NE(seen_error.find("SQLSTATE 23514"), std::string::npos) << seen_error;
  auto report = verify_region(*loaded);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->dead_lettered, 1u);
  EXPECT_EQ(query("SELECT count(*) FROM hadr_inbox"), "0");
  EXPECT_EQ(query("SELECT count(*) FROM payments"), "0");
}

TEST_F(HandlerApiTest, PlainHandlerSeesEveryMessage) {
  const std::string config = write_config("ledger");
  send(config, 10);
  std::mutex mutex;
  std::set<std::string> seen;
  api::RunOptions options{.config_path = config};
  options.should_stop = until([&] {
    std::lock_guard lock(mutex);
    return seen.size() == 10;
  });
  ASSERT_EQ(api::run_worker(options, api::PlainHandler([&](const api::Message& message) {
              std::lock_guard lock(mutex);
              seen.insert(message.id);
              return api::HandlerOutcome::done();
            })),
            0);
  EXPECT_EQ(seen.size(), 10u);
}

TEST_F(HandlerApiTest, TransactionalHandlerWithoutSqlConfigRefusesToStart) {
  const std::string config = write_config("ledger");
  api::RunOptions options{.config_path = config};
  options.should_stop = [] { return true; };
  EXPECT_EQ(api::run_worker(options, api::TransactionalHandler(pay)), 1);
}

TEST_F(HandlerApiTest, PaymentExampleProgramAppliesEachPaymentOnce) {
  const postgres::PgConnectionOptions payments = PostgresTestEnvironment::instance().fresh_database("payment_example");
  ASSERT_FALSE(payments.url.empty());
  auto admin = PgConnection::open(payments);
  ASSERT_TRUE(admin.ok());
  std::ifstream schema_file(std::string(HADR_SOURCE_DIR) + "/examples/payment/schema.sql");
  const std::string schema((std::istreambuf_iterator<char>(schema_file)), std::istreambuf_iterator<char>());
  ASSERT_TRUE(admin.value()->execute(schema).ok());
  const std::string config_path = dir_ + "/payment.toml";
  std::ofstream(config_path) << "[region]\nname = \"a\"\ndata_dir = \"data\"\n[backends]\ndir = \"shared\"\n"
                             << "[handler]\nkind = \"sql\"\nsql_url = \"" << payments.url << "\"\n"
                             << "sql_sslmode = \"disable\"\nsql_password_file = \"" << dir_ << "/pg-password\"\n";
  auto config = load_region_config(config_path);
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  {
    auto backends = RegionBackends::resolve(*config, process_environment());
    ASSERT_TRUE(backends.ok());
    auto source = backends->open_source("test");
    ASSERT_TRUE(source.ok()) << source.error().to_string();
    std::vector<SourceMessage> batch;
    for (int number = 1; number <= 20; ++number) {
      SourceMessage message;
      message.id = MessageId::parse("pay-" + std::to_string(number)).value();
      message.body = R"({"account": "acct-)" + std::to_string(1 + number % 2) + R"(", "amount_cents": )" +
                     std::to_string(number) + "}";
      batch.push_back(std::move(message));
    }
    SourceMessage unreadable;
    unreadable.id = MessageId::parse("pay-bad").value();
    unreadable.body = "not a payment";
    batch.push_back(std::move(unreadable));
    ASSERT_TRUE((*source)->put(batch).ok());
    ASSERT_TRUE((*source)->put(std::span<const SourceMessage>(batch.data(), 1)).ok());  // pay-1 again
  }
  auto program = ChildProcess::start(HADR_PAYMENT_EXAMPLE, {config_path}, dir_ + "/payment.log");
  ASSERT_TRUE(program.ok()) << program.error().to_string();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  auto count = [&](const std::string& sql) {
    auto rows = admin.value()->execute(sql);
    return rows.ok() ? rows.value().value(0, 0) : std::string("<error>");
  };
  while (std::chrono::steady_clock::now() < deadline && count("SELECT count(*) FROM payments") != "20") {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  program->send_signal(SIGTERM);
  auto exited = program->wait_for(std::chrono::seconds(20));
  ASSERT_TRUE(exited.has_value());
  EXPECT_TRUE(exited->exited);
  EXPECT_EQ(exited->code, 0);
  EXPECT_EQ(count("SELECT count(*) FROM payments"), "20");
  // acct-1 gets the even numbers (2 + 4 + ... + 20), acct-2 the odd ones (1 + 3 + ... + 19).
  EXPECT_EQ(count("SELECT balance_cents FROM accounts WHERE id = 'acct-1'"), "110");
  EXPECT_EQ(count("SELECT balance_cents FROM accounts WHERE id = 'acct-2'"), "100");
  EXPECT_EQ(count("SELECT count(*) FROM hadr_inbox"), "20");
}

}  // namespace
}  // namespace hadr
