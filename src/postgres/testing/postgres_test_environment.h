// PostgresTestEnvironment: the GoogleTest environment of every test binary that needs
// PostgreSQL. It starts one private server (postgres_server.h) on first use — with a password,
// so that the tests log in the way a deployment does — and stops it at the end of the run, also
// when tests failed (PR_SET_PDEATHSIG kills it if the test process dies). Each caller gets a
// fresh database, so tests sharing the server never see each other's tables (hadr_inbox has a
// fixed name). Since ctest runs every test case as its own process, the data directory is
// copied from a cached initdb result ($TMPDIR/hadr-postgres-templates-<uid>) instead of running
// initdb each time. The server's start-up times are printed once to stderr.
// Ownership: GoogleTest owns the registered instance. Thread-safety: main test thread only.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "postgres/pg_connection.h"
#include "postgres/postgres_server.h"

namespace hadr::postgres::testing {

class PostgresTestEnvironment final : public ::testing::Environment {
 public:
  // The superuser's password. A test constant, not a secret of any deployment.
  static constexpr std::string_view kTestPassword = "hadr-pg-test-password-81f3";

  static PostgresTestEnvironment& instance();

  // nullptr (with a test failure recorded) when the server cannot start.
  PostgresServer* server();
  // A new empty database "<label>_<n>" and options to connect to it as the superuser; the
  // options' url is empty (with a failure recorded) when that is impossible.
  PgConnectionOptions fresh_database(std::string_view label);
  // A connection to the server's `postgres` database, for administration (pg_terminate_backend).
  std::unique_ptr<PgConnection> admin_connection();

  void TearDown() override;

 private:
  std::unique_ptr<PostgresServer> server_;
  bool start_failed_ = false;
  std::uint64_t databases_made_ = 0;
};

}  // namespace hadr::postgres::testing
