// Proves that PostgresServer starts a private PostgreSQL on a free loopback port the way CI
// runs it — as root (the server then runs as an unprivileged account) or as a normal user —
// that a login needs the password and a failed one never shows it, and that stop() and kill()
// end the server and the destructor removes its directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "postgres/testing/postgres_test_environment.h"

namespace hadr::postgres {
namespace {

using testing::PostgresTestEnvironment;

TEST(PostgresServerTest, StartsAndAnswersAQuery) {
  PostgresServer* server = PostgresTestEnvironment::instance().server();
  ASSERT_NE(server, nullptr);
  EXPECT_GT(server->port(), 0);
  auto connection = PgConnection::open(server->connection_options());
  ASSERT_TRUE(connection.ok()) << connection.error().to_string();
  auto result = connection.value()->execute("SELECT current_setting('server_version_num')::int >= 150000");
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(result.value().value(0, 0), "t");
}

TEST(PostgresServerTest, RunsAsAnUnprivilegedAccountWhenStartedByRoot) {
  PostgresServer* server = PostgresTestEnvironment::instance().server();
  ASSERT_NE(server, nullptr);
  if (::geteuid() == 0) {
    EXPECT_FALSE(server->run_as().name.empty());
    EXPECT_NE(server->run_as().uid, 0u);
  } else {
    EXPECT_TRUE(server->run_as().name.empty());
  }
}

TEST(PostgresServerTest, WrongPasswordIsRefusedWithoutShowingEitherPassword) {
  PostgresServer* server = PostgresTestEnvironment::instance().server();
  ASSERT_NE(server, nullptr);
  PgConnectionOptions options = server->connection_options();
  const std::string wrong = "wrong-password-7c2e";
  options.password = Secret(wrong);
  auto connection = PgConnection::open(options);
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.error().code, ErrorCode::kUnavailable);
  const std::string text = connection.error().to_string();
  EXPECT_EQ(text.find(wrong), std::string::npos) << text;
  EXPECT_EQ(text.find(PostgresTestEnvironment::kTestPassword), std::string::npos) << text;
  EXPECT_NE(text.find("password authentication failed"), std::string::npos) << text;
}

TEST(PostgresServerTest, PasswordInTheUrlNeverAppearsInAnError) {
  PostgresServer* server = PostgresTestEnvironment::instance().server();
  ASSERT_NE(server, nullptr);
  PgConnectionOptions options;
  const std::string secret = "url-secret-3f9a";
  options.url = "postgresql://hadr:" + secret + "@127.0.0.1:" + std::to_string(server->port()) + "/nosuchdb";
  options.password = Secret(secret);
  auto connection = PgConnection::open(options);
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.error().to_string().find(secret), std::string::npos) << connection.error().to_string();
}

TEST(PostgresServerTest, StopAndKillEndTheServerAndTheDirectoryIsRemoved) {
  std::string directory;
  {
    auto started = PostgresServer::start(PostgresServerOptions{});
    ASSERT_TRUE(started.ok()) << started.error().to_string();
    PostgresServer& server = *started.value();
    directory = server.directory();
    EXPECT_TRUE(std::filesystem::exists(directory + "/data/PG_VERSION"));
    ASSERT_TRUE(server.kill().ok());
    EXPECT_FALSE(server.running());
    EXPECT_FALSE(PgConnection::open(server.connection_options()).ok());
    ASSERT_TRUE(server.restart().ok());
    EXPECT_TRUE(PgConnection::open(server.connection_options()).ok());
    ASSERT_TRUE(server.stop().ok());
    EXPECT_FALSE(server.running());
  }
  EXPECT_FALSE(std::filesystem::exists(directory));
}

}  // namespace
}  // namespace hadr::postgres
