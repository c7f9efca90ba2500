// Proves HandlerConfig::validate() names the wrong key and says how to fix it (unknown kind,
// empty exec command, bad timeouts, non-http URL without leaking its password; for sql: no URL,
// two password sources, an unknown parameter named with its statement, an unknown isolation or
// sslmode, no statements; an unreadable password file without its contents), and that
// make_handler() builds each kind and refuses a ledger without the SQLite dedupe store.
#include "handlers/handler_factory.h"

#include <gtest/gtest.h>

#include "embedded/sqlite_dedupe_store.h"
#include "handlers/tests/handler_test_support.h"

namespace hadr::handlers_test {
namespace {

std::string validation_error(const HandlerConfig& config) {
  const Status status = config.validate();
  EXPECT_FALSE(status.ok());
  if (status.ok()) return "";
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  return status.error().detail;
}

TEST(HandlerFactoryTest, UnknownKindNamesTheChoices) {
  EXPECT_EQ(validation_error(HandlerConfig{.kind = "lambda"}),
            "handler.kind: 'lambda' is unknown; use ledger, sql, exec or http");
}

TEST(HandlerFactoryTest, DefaultLedgerConfigIsValid) { EXPECT_TRUE(HandlerConfig{}.validate().ok()); }

TEST(HandlerFactoryTest, EmptyExecCommandIsRefused) {
  EXPECT_EQ(validation_error(HandlerConfig{.kind = "exec"}).rfind("handler.exec_command: is empty", 0), 0u);
}

TEST(HandlerFactoryTest, ZeroExecTimeoutIsRefused) {
  const std::string error =
      validation_error(HandlerConfig{.kind = "exec", .exec_command = {"true"}, .exec_timeout = Milliseconds(0)});
  EXPECT_NE(error.find("handler.exec_timeout"), std::string::npos) << error;
}

TEST(HandlerFactoryTest, ZeroOutputBoundIsRefused) {
  const std::string error =
      validation_error(HandlerConfig{.kind = "exec", .exec_command = {"true"}, .exec_output_bytes_max = 0});
  EXPECT_NE(error.find("handler.exec_output_bytes_max"), std::string::npos) << error;
}

TEST(HandlerFactoryTest, NonHttpUrlIsRefusedWithoutItsPassword) {
  const std::string error = validation_error(HandlerConfig{.kind = "http", .http_url = "ftp://me:topsecret@host/"});
  EXPECT_NE(error.find("handler.http_url"), std::string::npos) << error;
  EXPECT_EQ(error.find("topsecret"), std::string::npos) << error;
}

TEST(HandlerFactoryTest, ZeroHttpAttemptsIsRefused) {
  const std::string error =
      validation_error(HandlerConfig{.kind = "http", .http_url = "http://host/", .http_attempts_max = 0});
  EXPECT_NE(error.find("handler.http_attempts_max"), std::string::npos) << error;
}

TEST(HandlerFactoryTest, BackoffInitialAboveMaxIsRefused) {
  const std::string error = validation_error(HandlerConfig{.kind = "http",
                                                           .http_url = "http://host/",
                                                           .http_backoff_initial = Milliseconds(10'000),
                                                           .http_backoff_max = Milliseconds(1'000)});
  EXPECT_NE(error.find("handler.http_backoff_initial"), std::string::npos) << error;
}

TEST(HandlerFactoryTest, LedgerWithoutSqliteStoreIsRefused) {
  auto handler = make_handler(HandlerConfig{}, HandlerContext{.region = test_region("a")});
  ASSERT_FALSE(handler.ok());
  EXPECT_EQ(handler.code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(handler.error().detail.find("'ledger'"), std::string::npos);
}

TEST(HandlerFactoryTest, BuildsEachKind) {
  TemporaryDirectory directory;
  ManualClock clock;
  auto store = SqliteDedupeStore::open(directory.path() + "/dedupe.db", clock).value();
  const HandlerContext context{.region = test_region("a"), .ledger_store = store.get(), .clock = &clock};
  EXPECT_EQ(make_handler(HandlerConfig{}, context).value()->kind(), "ledger");
  EXPECT_EQ(make_handler(HandlerConfig{.kind = "exec", .exec_command = {"true"}}, context).value()->kind(), "exec");
  EXPECT_EQ(make_handler(HandlerConfig{.kind = "http", .http_url = "http://127.0.0.1:1/"}, context).value()->kind(),
            "http");
}

TEST(HandlerFactoryTest, InvalidConfigIsRefusedByMakeHandler) {
  auto handler = make_handler(HandlerConfig{.kind = "exec"}, HandlerContext{.region = test_region("a")});
  ASSERT_FALSE(handler.ok());
  EXPECT_EQ(handler.code(), ErrorCode::kInvalidArgument);
}

HandlerConfig valid_sql_config() {
  HandlerConfig config;
  config.kind = "sql";
  config.sql_url = "postgresql://app@db.example:5432/payments";
  config.sql_statements = {{"INSERT INTO payments VALUES ($1, $2)", {"$message_id", "$body.amount"}}};
  return config;
}

TEST(HandlerFactoryTest, ValidSqlConfigIsAccepted) { EXPECT_TRUE(valid_sql_config().validate().ok()); }

TEST(HandlerFactoryTest, SqlWithoutUrlIsRefused) {
  HandlerConfig config = valid_sql_config();
  config.sql_url.clear();
  EXPECT_EQ(validation_error(config).rfind("handler.sql_url: is empty", 0), 0u);
}

TEST(HandlerFactoryTest, SqlWithTwoPasswordSourcesIsRefused) {
  HandlerConfig config = valid_sql_config();
  config.sql_password_env = "PGPASSWORD_APP";
  config.sql_password_file = "/run/secrets/pg";
  EXPECT_NE(validation_error(config).find("both set"), std::string::npos);
}

TEST(HandlerFactoryTest, SqlUnknownParameterNamesItsStatement) {
  HandlerConfig config = valid_sql_config();
  config.sql_statements.push_back({"SELECT $1", {"$messageid"}});
  const std::string error = validation_error(config);
  EXPECT_NE(error.find("handler.sql_statements[1].parameters: parameter '$messageid' is unknown"), std::string::npos)
      << error;
}

// Valid as a config (a program using the C++ handler API brings its own body), refused when
// the handler is built from the config alone — before connecting.
TEST(HandlerFactoryTest, SqlWithoutStatementsIsRefusedByMakeHandler) {
  HandlerConfig config = valid_sql_config();
  config.sql_statements.clear();
  EXPECT_TRUE(config.validate().ok());
  auto handler = make_handler(config, HandlerContext{.region = test_region("a")});
  ASSERT_FALSE(handler.ok());
  EXPECT_EQ(handler.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(handler.error().detail.find("handler.sql_statements: none"), std::string::npos) << handler.error().detail;
}

TEST(HandlerFactoryTest, SqlUnknownIsolationOrSslModeIsRefused) {
  HandlerConfig config = valid_sql_config();
  config.sql_isolation = "snapshot";
  EXPECT_NE(validation_error(config).find("handler.sql_isolation"), std::string::npos);
  config = valid_sql_config();
  config.sql_sslmode = "on";
  EXPECT_NE(validation_error(config).find("sslmode"), std::string::npos);
}

TEST(HandlerFactoryTest, SqlParameterReferencesParse) {
  for (const char* good : {"$message_id", "$region", "$source_region", "$epoch", "$lsn", "$body", "$body:text",
                           "$body:bytea", "$body:jsonb", "$body.a", "$body.a.0.b", "$property.tenant"}) {
    EXPECT_TRUE(parse_sql_parameter(good).ok()) << good;
  }
  for (const char* bad : {"message_id", "$body.", "$body..a", "$body:xml", "$property.", "$1", ""}) {
    EXPECT_FALSE(parse_sql_parameter(bad).ok()) << bad;
  }
}

TEST(HandlerFactoryTest, SqlMissingPasswordFileIsRefusedBeforeConnecting) {
  HandlerConfig config = valid_sql_config();
  config.sql_password_file = "/nonexistent/hadr-pg-password";
  auto handler = make_handler(config, HandlerContext{.region = test_region("a")});
  ASSERT_FALSE(handler.ok());
  EXPECT_EQ(handler.code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(handler.error().detail.find("handler.sql_password_file"), std::string::npos);
}

TEST(HandlerFactoryTest, SqlUnsetPasswordVariableIsRefusedBeforeConnecting) {
  HandlerConfig config = valid_sql_config();
  config.sql_password_env = "HADR_NO_SUCH_VARIABLE";
  HandlerContext context{.region = test_region("a")};
  context.environment = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  auto handler = make_handler(config, context);
  ASSERT_FALSE(handler.ok());
  EXPECT_NE(handler.error().detail.find("HADR_NO_SUCH_VARIABLE is not set"), std::string::npos);
}

}  // namespace
}  // namespace hadr::handlers_test
