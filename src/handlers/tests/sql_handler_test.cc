// Proves the sql handler's exactly-once contract on a real PostgreSQL that the test starts
// (src/postgres/testing): a message's statements and its hadr_inbox row commit together; a
// second apply — sequential, or concurrent and waiting on the first — conflicts on the inbox
// and runs none of the user's statements; a constraint or data error dead-letters with the
// SQLSTATE and leaves nothing behind; a connection killed mid-transaction by
// pg_terminate_backend from a second connection, a serialization failure and a deadlock are
// retried under the same claim without a duplicate effect; a statement past statement_timeout is
// cancelled and released; a bad configuration (unknown parameter, SQL that does not parse, a
// wrong parameter count) is refused at start naming the statement; the password never appears
// in an error. The effect is the issue's non-idempotent one: insert a payment and add it to a
// balance, so a duplicate shows as a wrong balance.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "handlers/handler_factory.h"
#include "handlers/sql_handler.h"
#include "handlers/tests/handler_test_support.h"
#include "postgres/testing/postgres_test_environment.h"

namespace hadr {
namespace {

using handlers_test::test_input;
using handlers_test::test_message;
using handlers_test::test_region;
using postgres::PgConnection;
using postgres::PgConnectionOptions;
using postgres::PgParameter;
using postgres::testing::PostgresTestEnvironment;

constexpr const char* kSchema =
    "CREATE TABLE accounts (id text PRIMARY KEY, balance bigint NOT NULL);"
    "INSERT INTO accounts VALUES ('acct', 0);"
    "CREATE TABLE payments (message_id text PRIMARY KEY, amount bigint NOT NULL CHECK (amount > 0));"
    "CREATE SEQUENCE fail_once;"
    // Raises `state` on its first call only (a sequence is not rolled back with the transaction).
    "CREATE FUNCTION fail_once(state text) RETURNS void LANGUAGE plpgsql AS $$"
    " BEGIN IF nextval('fail_once') = 1 THEN RAISE EXCEPTION 'injected' USING ERRCODE = state; END IF; END $$;";

std::vector<SqlStatementConfig> payment_statements() {
  return {{"INSERT INTO payments (message_id, amount) VALUES ($1, $2)", {"$message_id", "$body.amount"}},
          {"UPDATE accounts SET balance = balance + $1::bigint WHERE id = 'acct'", {"$body.amount"}}};
}

class SqlHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = PostgresTestEnvironment::instance().fresh_database("sql_handler");
    ASSERT_FALSE(database_.url.empty());
    observer_ = open();
    ASSERT_NE(observer_, nullptr);
    auto schema = observer_->execute(kSchema);
    ASSERT_TRUE(schema.ok()) << schema.error().to_string();
  }

  std::unique_ptr<PgConnection> open() {
    auto connection = PgConnection::open(database_);
    EXPECT_TRUE(connection.ok()) << connection.error().to_string();
    return connection.ok() ? std::move(connection).value() : nullptr;
  }

  SqlOptions options(std::vector<SqlStatementConfig> statements = payment_statements()) const {
    SqlOptions result;
    result.connection = database_;
    result.statements = std::move(statements);
    result.statement_timeout = Milliseconds(2'000);
    return result;
  }

  std::unique_ptr<SqlHandler> handler(SqlOptions handler_options) {
    auto created = SqlHandler::create(std::move(handler_options), test_region("b"));
    EXPECT_TRUE(created.ok()) << created.error().to_string();
    return created.ok() ? std::move(created).value() : nullptr;
  }

  std::string query(const std::string& sql) {
    auto result = observer_->execute(sql);
    EXPECT_TRUE(result.ok()) << sql << ": " << result.error().to_string();
    return result.ok() && result.value().rows() > 0 ? result.value().value(0, 0) : std::string("<none>");
  }
  std::string balance() { return query("SELECT balance FROM accounts WHERE id = 'acct'"); }
  std::string payments() { return query("SELECT count(*) FROM payments"); }
  std::string inbox_rows() { return query("SELECT count(*) FROM hadr_inbox"); }

  // The pid of a backend of this database (other than the observer) waiting on a lock, or 0
  // after a 10 s deadline.
  int wait_for_blocked_backend() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string pid = query(
          "SELECT coalesce(max(pid), 0) FROM pg_stat_activity WHERE datname = current_database()"
          " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()");
      if (pid != "0") return std::stoi(pid);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return 0;
  }

  PgConnectionOptions database_;
  std::unique_ptr<PgConnection> observer_;
};

TEST_F(SqlHandlerTest, CommitsTheStatementsAndTheInboxRowTogether) {
  auto sql = handler(options());
  ASSERT_NE(sql, nullptr);
  const BusMessage message = test_message("m-1", R"({"amount": 12})");
  const HandlerResult result = sql->handle(test_input(message));
  EXPECT_EQ(result.verdict, HandlerVerdict::kDone) << result.reason;
  EXPECT_FALSE(result.marked_done);  // the worker marks the dedupe claim
  EXPECT_EQ(balance(), "12");
  EXPECT_EQ(query("SELECT amount FROM payments WHERE message_id = 'm-1'"), "12");
  EXPECT_EQ(query("SELECT message_id || ' ' || region || ' ' || epoch || ' ' || source_region || ' ' || lsn"
                  " FROM hadr_inbox"),
            "m-1 b 7 a 42");
}

TEST_F(SqlHandlerTest, SecondApplyConflictsOnTheInboxAndIsAlreadyDone) {
  auto sql = handler(options());
  ASSERT_NE(sql, nullptr);
  const BusMessage message = test_message("m-2", R"({"amount": 5})");
  ASSERT_EQ(sql->handle(test_input(message)).verdict, HandlerVerdict::kDone);
  const HandlerResult again = sql->handle(test_input(message));
  EXPECT_EQ(again.verdict, HandlerVerdict::kDone);
  EXPECT_NE(again.reason.find("already applied"), std::string::npos) << again.reason;
  EXPECT_EQ(balance(), "5");
  EXPECT_EQ(payments(), "1");
  EXPECT_EQ(inbox_rows(), "1");
}

// Another region (or a replay) applied the message: its inbox row is there, the payment table
// is not touched. With a statement that cannot run twice (a duplicate payment key is 23505,
// which would dead-letter), "done" proves the statements never ran.
TEST_F(SqlHandlerTest, ConflictOnTheInboxRunsNoneOfTheUsersStatements) {
  auto sql = handler(options());
  ASSERT_NE(sql, nullptr);
  ASSERT_EQ(query("INSERT INTO hadr_inbox (message_id, region, epoch, source_region, lsn)"
                  " VALUES ('m-3', 'a', 1, 'a', 1) RETURNING 'ok'"),
            "ok");
  const HandlerResult result = sql->handle(test_input(test_message("m-3", R"({"amount": 9})")));
  EXPECT_EQ(result.verdict, HandlerVerdict::kDone) << result.reason;
  EXPECT_NE(result.reason.find("already applied"), std::string::npos);
  EXPECT_EQ(balance(), "0");
  EXPECT_EQ(payments(), "0");
}

// Two applies at once: the other one has inserted the inbox row and the payment but not
// committed; the handler's inbox insert waits on that row's key, and once the other commits it
// conflicts and rolls back — the balance moves once.
TEST_F(SqlHandlerTest, ConcurrentApplyWaitsForTheFirstAndRollsBack) {
  auto sql = handler(options());
  ASSERT_NE(sql, nullptr);
  std::unique_ptr<PgConnection> first = open();
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(first->execute("BEGIN; INSERT INTO hadr_inbox (message_id, region, epoch, source_region, lsn)"
                             " VALUES ('m-4', 'a', 1, 'a', 1); INSERT INTO payments VALUES ('m-4', 3);"
                             " UPDATE accounts SET balance = balance + 3")
                  .ok());
  HandlerResult second;
  std::thread applying([&] {
    const BusMessage message = test_message("m-4", R"({"amount": 3})");
    second = sql->handle(test_input(message));
  });
  const int blocked = wait_for_blocked_backend();
  EXPECT_NE(blocked, 0);
  ASSERT_TRUE(first->execute("COMMIT").ok());
  applying.join();
  EXPECT_EQ(second.verdict, HandlerVerdict::kDone) << second.reason;
  EXPECT_NE(second.reason.find("already applied"), std::string::npos) << second.reason;
  EXPECT_EQ(balance(), "3");
  EXPECT_EQ(payments(), "1");
}

TEST_F(SqlHandlerTest, ConstraintErrorDeadLettersWithTheSqlStateAndLeavesNothing) {
  auto sql = handler(options());
  ASSERT_NE(sql, nullptr);
  const HandlerResult result = sql->handle(test_input(test_message("m-5", R"({"amount": -5})")));
  EXPECT_EQ(result.verdict, HandlerVerdict::kReject);
  EXPECT_NE(result.reason.find("SQLSTATE 23514"), std::string::npos) << result.reason;
  EXPECT_NE(result.reason.find("handler.sql_statements[0]"), std::string::npos) << result.reason;
  EXPECT_EQ(inbox_rows(), "0");
  EXPECT_EQ(balance(), "0");
}

TEST_F(SqlHandlerTest, DataErrorDeadLetters) {
  auto sql = handler(options());
  ASSERT_NE(sql, nullptr);
  const HandlerResult result = sql->handle(test_input(test_message("m-6", R"({"amount": "twelve"})")));
  EXPECT_EQ(result.verdict, HandlerVerdict::kReject);
  EXPECT_NE(result.reason.find("SQLSTATE 22P02"), std::string::npos) << result.reason;
  EXPECT_EQ(inbox_rows(), "0");
}

TEST_F(SqlHandlerTest, MissingFieldBindsNullAndTheSchemaDecides) {
  auto sql = handler(options());
  ASSERT_NE(sql, nullptr);
  const HandlerResult result = sql->handle(test_input(test_message("m-7", R"({"other": 1})")));
  EXPECT_EQ(result.verdict, HandlerVerdict::kReject);
  EXPECT_NE(result.reason.find("SQLSTATE 23502"), std::string::npos) << result.reason;  // NOT NULL
}

TEST_F(SqlHandlerTest, BodyThatIsNotJsonIsRejectedBeforeAnyTransaction) {
  auto sql = handler(options());
  ASSERT_NE(sql, nullptr);
  const HandlerResult result = sql->handle(test_input(test_message("m-8", "not json")));
  EXPECT_EQ(result.verdict, HandlerVerdict::kReject);
  EXPECT_NE(result.reason.find("not JSON"), std::string::npos) << result.reason;
  EXPECT_EQ(inbox_rows(), "0");
}

// The handler's transaction stops on an advisory lock the test holds, after its inbox row and
// payment are written; the test terminates that backend from a second connection and lets go of
// the lock. The handler reconnects and applies again under the same claim: one payment, one
// inbox row, the balance moved once.
TEST_F(SqlHandlerTest, ConnectionKilledMidTransactionIsRetriedWithoutADuplicate) {
  std::vector<SqlStatementConfig> statements = payment_statements();
  statements.push_back({"SELECT pg_advisory_xact_lock(4242)", {}});
  auto sql = handler(options(statements));
  ASSERT_NE(sql, nullptr);
  std::unique_ptr<PgConnection> holder = open();
  ASSERT_NE(holder, nullptr);
  ASSERT_TRUE(holder->execute("SELECT pg_advisory_lock(4242)").ok());
  HandlerResult result;
  std::thread applying([&] { result = sql->handle(test_input(test_message("m-9", R"({"amount": 7})"))); });
  const int blocked = wait_for_blocked_backend();
  ASSERT_NE(blocked, 0);
  const PgParameter pid[] = {{std::to_string(blocked), false}};
  ASSERT_TRUE(observer_->execute("SELECT pg_terminate_backend($1::int)", pid).ok());
  ASSERT_TRUE(holder->execute("SELECT pg_advisory_unlock(4242)").ok());
  applying.join();
  EXPECT_EQ(result.verdict, HandlerVerdict::kDone) << result.reason;
  EXPECT_EQ(result.reason, "");  // committed by the retry, not found already applied
  EXPECT_EQ(balance(), "7");
  EXPECT_EQ(payments(), "1");
  EXPECT_EQ(inbox_rows(), "1");
}

TEST_F(SqlHandlerTest, SerializationFailureIsRetriedUnderTheSameClaim) {
  std::vector<SqlStatementConfig> statements = payment_statements();
  statements.push_back({"SELECT fail_once('40001')", {}});
  auto sql = handler(options(statements));
  ASSERT_NE(sql, nullptr);
  const HandlerResult result = sql->handle(test_input(test_message("m-10", R"({"amount": 4})")));
  EXPECT_EQ(result.verdict, HandlerVerdict::kDone) << result.reason;
  EXPECT_EQ(balance(), "4");
  EXPECT_EQ(payments(), "1");
}

TEST_F(SqlHandlerTest, DeadlockIsRetriedUnderTheSameClaim) {
  std::vector<SqlStatementConfig> statements = payment_statements();
  statements.push_back({"SELECT fail_once('40P01')", {}});
  auto sql = handler(options(statements));
  ASSERT_NE(sql, nullptr);
  const HandlerResult result = sql->handle(test_input(test_message("m-11", R"({"amount": 6})")));
  EXPECT_EQ(result.verdict, HandlerVerdict::kDone) << result.reason;
  EXPECT_EQ(balance(), "6");
}

TEST_F(SqlHandlerTest, RetriesAreBoundedThenTheMessageIsReleased) {
  std::vector<SqlStatementConfig> statements = payment_statements();
  statements.push_back({"SELECT fail_once('40001')", {}});
  SqlOptions handler_options = options(statements);
  handler_options.attempts_max = 1;
  auto sql = handler(std::move(handler_options));
  ASSERT_NE(sql, nullptr);
  const HandlerResult result = sql->handle(test_input(test_message("m-12", R"({"amount": 6})")));
  EXPECT_EQ(result.verdict, HandlerVerdict::kRetryLater);
  EXPECT_NE(result.reason.find("40001"), std::string::npos) << result.reason;
  EXPECT_EQ(inbox_rows(), "0");
  EXPECT_EQ(balance(), "0");
}

TEST_F(SqlHandlerTest, StatementPastTheTimeoutIsCancelledAndReleased) {
  std::vector<SqlStatementConfig> statements = payment_statements();
  statements.push_back({"SELECT pg_sleep(30)", {}});
  SqlOptions handler_options = options(statements);
  handler_options.statement_timeout = Milliseconds(200);
  auto sql = handler(std::move(handler_options));
  ASSERT_NE(sql, nullptr);
  const auto started = std::chrono::steady_clock::now();
  const HandlerResult result = sql->handle(test_input(test_message("m-13", R"({"amount": 2})")));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_EQ(result.verdict, HandlerVerdict::kRetryLater);
  EXPECT_NE(result.reason.find("57014"), std::string::npos) << result.reason;
  EXPECT_EQ(inbox_rows(), "0");
  EXPECT_EQ(balance(), "0");
}

TEST_F(SqlHandlerTest, ParametersBindBodyFormsPropertiesAndMessageFields) {
  ASSERT_TRUE(observer_->execute("CREATE TABLE seen (id text, raw bytea, doc jsonb, nested text, tenant text,"
                                 " absent text, region text, lsn bigint)")
                  .ok());
  auto sql = handler(options({{"INSERT INTO seen VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                               {"$message_id", "$body:bytea", "$body:jsonb", "$body.customer.ids.1", "$property.tenant",
                                "$property.nope", "$region", "$lsn"}}}));
  ASSERT_NE(sql, nullptr);
  BusMessage message = test_message("m-14", R"({"customer": {"ids": ["x", "y'); DROP TABLE seen; --"]}})");
  message.properties = {{"tenant", "acme"}};
  const HandlerResult result = sql->handle(test_input(message));
  ASSERT_EQ(result.verdict, HandlerVerdict::kDone) << result.reason;
  EXPECT_EQ(query("SELECT id || '|' || length(raw) || '|' || (doc->'customer'->'ids'->>0) || '|' || nested || '|' ||"
                  " tenant || '|' || (absent IS NULL) || '|' || region || '|' || lsn FROM seen"),
            "m-14|" + std::to_string(message.body.size()) + "|x|y'); DROP TABLE seen; --|acme|true|b|42");
}

TEST_F(SqlHandlerTest, StatementThatDoesNotParseIsRefusedAtStartNamingIt) {
  std::vector<SqlStatementConfig> statements = payment_statements();
  statements.push_back({"UPDAT accounts SET balance = 0", {}});
  auto created = SqlHandler::create(options(statements), test_region("b"));
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(created.error().detail.find("handler.sql_statements[2]"), std::string::npos) << created.error().detail;
  EXPECT_NE(created.error().detail.find("42601"), std::string::npos) << created.error().detail;
}

TEST_F(SqlHandlerTest, UnknownParameterIsRefusedAtStartNamingTheStatement) {
  auto created = SqlHandler::create(options({{"SELECT $1", {"$mesage_id"}}}), test_region("b"));
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(created.error().detail.find("handler.sql_statements[0]"), std::string::npos) << created.error().detail;
  EXPECT_NE(created.error().detail.find("$mesage_id"), std::string::npos) << created.error().detail;
}

TEST_F(SqlHandlerTest, WrongParameterCountIsRefusedAtStart) {
  auto created = SqlHandler::create(options({{"INSERT INTO payments VALUES ($1, $2)", {"$message_id"}}}), test_region("b"));
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.error().detail.find("takes 2 parameters but 1"), std::string::npos) << created.error().detail;
}

// The factory path a region's config takes: the password from an environment variable; a
// wrong one fails the start, and neither it nor the right one shows in the error.
TEST_F(SqlHandlerTest, FactoryReadsThePasswordFromTheEnvironmentAndNeverShowsIt) {
  HandlerConfig config;
  config.kind = "sql";
  config.sql_url = database_.url;
  config.sql_sslmode = "disable";
  config.sql_password_env = "HADR_TEST_PG_PASSWORD";
  config.sql_statements = payment_statements();
  std::string password(PostgresTestEnvironment::kTestPassword);
  HandlerContext context{.region = test_region("b")};
  context.environment = [&](const std::string& name) -> std::optional<std::string> {
    if (name == "HADR_TEST_PG_PASSWORD") return password;
    return std::nullopt;
  };
  auto made = make_handler(config, context);
  ASSERT_TRUE(made.ok()) << made.error().to_string();
  EXPECT_EQ(made.value()->kind(), "sql");
  EXPECT_EQ(made.value()->handle(test_input(test_message("m-15", R"({"amount": 1})"))).verdict, HandlerVerdict::kDone);

  password = "wrong-b8d1";
  auto refused = make_handler(config, context);
  ASSERT_FALSE(refused.ok());
  const std::string text = refused.error().to_string();
  EXPECT_EQ(text.find("wrong-b8d1"), std::string::npos) << text;
  EXPECT_EQ(text.find(PostgresTestEnvironment::kTestPassword), std::string::npos) << text;
}

}  // namespace
}  // namespace hadr
