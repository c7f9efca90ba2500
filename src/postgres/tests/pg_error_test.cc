// Proves, without a server, how PgConnection classifies PostgreSQL errors — the SQLSTATE table
// the sql handler's retry / dead-letter decisions rest on — that a secret is scrubbed from any
// error text, and that bad connection options are refused before libpq sees them.
#include <gtest/gtest.h>

#include "postgres/pg_connection.h"

namespace hadr::postgres {
namespace {

TEST(PgErrorTest, DataAndConstraintErrorsCanNeverSucceed) {
  for (const char* state : {"23505", "23502", "23503", "23514", "22P02", "22021", "22012", "42601", "42P01", "42703",
                            "21000", "44000", "P0001"}) {
    EXPECT_EQ(error_code_for_sqlstate(state), ErrorCode::kInvalidArgument) << state;
  }
}

TEST(PgErrorTest, SerializationFailureAndDeadlockAreAborted) {
  EXPECT_EQ(error_code_for_sqlstate("40001"), ErrorCode::kAborted);
  EXPECT_EQ(error_code_for_sqlstate("40P01"), ErrorCode::kAborted);
}

TEST(PgErrorTest, CancelledOrTimedOutStatementIsDeadlineExceeded) {
  EXPECT_EQ(error_code_for_sqlstate("57014"), ErrorCode::kDeadlineExceeded);
}

TEST(PgErrorTest, ConnectionAndServerStateErrorsAreUnavailable) {
  for (const char* state : {"08006", "08003", "57P01", "57P02", "57P03", "53300", "58030"}) {
    EXPECT_EQ(error_code_for_sqlstate(state), ErrorCode::kUnavailable) << state;
  }
}

TEST(PgErrorTest, UnknownOrMalformedStateIsInternal) {
  EXPECT_EQ(error_code_for_sqlstate("XX000"), ErrorCode::kInternal);
  EXPECT_EQ(error_code_for_sqlstate("25P02"), ErrorCode::kInternal);
  EXPECT_EQ(error_code_for_sqlstate(""), ErrorCode::kInternal);
  EXPECT_EQ(error_code_for_sqlstate("4000"), ErrorCode::kInternal);
}

TEST(PgErrorTest, ScrubSecretReplacesEveryOccurrence) {
  EXPECT_EQ(scrub_secret("a s3cret b s3cret", Secret(std::string("s3cret"))), "a *** b ***");
  EXPECT_EQ(scrub_secret("nothing here", Secret()), "nothing here");
}

TEST(PgErrorTest, EmptyUrlIsRefused) {
  const Status status = validate_connection_options(PgConnectionOptions{});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
}

TEST(PgErrorTest, UnknownSslModeIsRefused) {
  PgConnectionOptions options;
  options.url = "postgresql://app@db.example/payments";
  options.sslmode = "maybe";
  const Status status = validate_connection_options(options);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().detail.find("sslmode"), std::string::npos);
}

}  // namespace
}  // namespace hadr::postgres
