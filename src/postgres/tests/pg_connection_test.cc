// Proves on a real PostgreSQL that PgConnection binds values as parameters (text, bytea, NULL;
// a value full of SQL stays data), counts a prepared statement's parameters, and reports each
// class of failure with the code the sql handler acts on: a syntax or constraint error is
// kInvalidArgument with its SQLSTATE, a statement past statement_timeout is kDeadlineExceeded,
// and a backend terminated from a second connection is kUnavailable with the connection marked
// broken.
#include <gtest/gtest.h>

#include "postgres/testing/postgres_test_environment.h"

namespace hadr::postgres {
namespace {

using testing::PostgresTestEnvironment;

class PgConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const PgConnectionOptions options = PostgresTestEnvironment::instance().fresh_database("connection");
    ASSERT_FALSE(options.url.empty());
    auto opened = PgConnection::open(options);
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    connection_ = std::move(opened).value();
  }

  std::unique_ptr<PgConnection> connection_;
};

TEST_F(PgConnectionTest, ParametersAreBoundNeverSpliced) {
  ASSERT_TRUE(connection_->execute("CREATE TABLE t (a text, b bytea)").ok());
  const std::string hostile = "x'); DROP TABLE t; --";
  const std::string bytes("\0\x01\xff", 3);
  const PgParameter parameters[] = {{hostile, false}, {bytes, true}};
  auto inserted = connection_->execute("INSERT INTO t VALUES ($1, $2)", parameters);
  ASSERT_TRUE(inserted.ok()) << inserted.error().to_string();
  EXPECT_EQ(inserted.value().affected_rows(), 1u);
  auto selected = connection_->execute("SELECT a, length(b), encode(b, 'hex') FROM t");
  ASSERT_TRUE(selected.ok());
  EXPECT_EQ(selected.value().value(0, 0), hostile);
  EXPECT_EQ(selected.value().value(0, 1), "3");
  EXPECT_EQ(selected.value().value(0, 2), "0001ff");
}

TEST_F(PgConnectionTest, NullParameterIsSqlNull) {
  const PgParameter parameters[] = {{std::nullopt, false}};
  auto selected = connection_->execute("SELECT $1::text IS NULL", parameters);
  ASSERT_TRUE(selected.ok()) << selected.error().to_string();
  EXPECT_EQ(selected.value().value(0, 0), "t");
}

TEST_F(PgConnectionTest, PrepareReportsTheParameterCount) {
  const unsigned types[] = {kUnspecifiedType, kJsonbType};
  auto count = connection_->prepare("s1", "SELECT $1::int + ($2->>'n')::int", types);
  ASSERT_TRUE(count.ok()) << count.error().to_string();
  EXPECT_EQ(count.value(), 2);
  const PgParameter parameters[] = {{"40", false}, {R"({"n": 2})", false}};
  auto result = connection_->execute_prepared("s1", parameters);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(result.value().value(0, 0), "42");
}

TEST_F(PgConnectionTest, SyntaxErrorIsInvalidArgumentWithItsState) {
  auto count = connection_->prepare("bad", "SELEKT 1", {});
  ASSERT_FALSE(count.ok());
  EXPECT_EQ(count.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(count.error().detail.find("SQLSTATE 42601"), std::string::npos) << count.error().detail;
  EXPECT_TRUE(connection_->healthy());
}

TEST_F(PgConnectionTest, UniqueViolationIsInvalidArgumentWithItsState) {
  ASSERT_TRUE(connection_->execute("CREATE TABLE u (id int PRIMARY KEY); INSERT INTO u VALUES (1)").ok());
  auto inserted = connection_->execute("INSERT INTO u VALUES (1)");
  ASSERT_FALSE(inserted.ok());
  EXPECT_EQ(inserted.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(inserted.error().detail.find("SQLSTATE 23505"), std::string::npos) << inserted.error().detail;
}

TEST_F(PgConnectionTest, StatementTimeoutIsDeadlineExceeded) {
  ASSERT_TRUE(connection_->execute("SET statement_timeout = 100").ok());
  auto slept = connection_->execute("SELECT pg_sleep(10)");
  ASSERT_FALSE(slept.ok());
  EXPECT_EQ(slept.error().code, ErrorCode::kDeadlineExceeded) << slept.error().to_string();
  EXPECT_NE(slept.error().detail.find("SQLSTATE 57014"), std::string::npos);
  EXPECT_TRUE(connection_->healthy());
}

TEST_F(PgConnectionTest, TerminatedBackendIsUnavailableAndMarksTheConnectionBroken) {
  std::unique_ptr<PgConnection> admin = PostgresTestEnvironment::instance().admin_connection();
  ASSERT_NE(admin, nullptr);
  const PgParameter pid[] = {{std::to_string(connection_->backend_pid()), false}};
  ASSERT_TRUE(admin->execute("SELECT pg_terminate_backend($1::int)", pid).ok());
  auto selected = connection_->execute("SELECT 1");
  ASSERT_FALSE(selected.ok());
  EXPECT_EQ(selected.error().code, ErrorCode::kUnavailable) << selected.error().to_string();
  EXPECT_FALSE(connection_->healthy());
}

}  // namespace
}  // namespace hadr::postgres
