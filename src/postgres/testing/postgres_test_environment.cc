#include "postgres/testing/postgres_test_environment.h"

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <iostream>

namespace hadr::postgres::testing {

namespace {

// GoogleTest owns and deletes registered environments at exit.
PostgresTestEnvironment* const registered_environment = static_cast<PostgresTestEnvironment*>(
    ::testing::AddGlobalTestEnvironment(new PostgresTestEnvironment()));

}  // namespace

PostgresTestEnvironment& PostgresTestEnvironment::instance() {
  HADR_ASSERT(registered_environment != nullptr);
  return *registered_environment;
}

PostgresServer* PostgresTestEnvironment::server() {
  if (server_ == nullptr && !start_failed_) {
    PostgresServerOptions options;
    options.password = Secret(std::string(kTestPassword));
    // Every test case is its own process (gtest_discover_tests): copy one initdb result instead
    // of running initdb each time. Per user: a root-made cache is not writable by others.
    const char* base = std::getenv("TMPDIR");
    options.template_cache = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                             "/hadr-postgres-templates-" + std::to_string(::geteuid());
    auto started = PostgresServer::start(std::move(options));
    if (!started.ok()) {
      start_failed_ = true;  // one attempt per process: every later test fails fast
      ADD_FAILURE() << "cannot start PostgreSQL: " << started.error().to_string();
      return nullptr;
    }
    server_ = std::move(started).value();
    std::cerr << "[postgres] initdb or template copy " << server_->initdb_time().count() << " ms, start "
              << server_->start_time().count() << " ms, port " << server_->port()
              << (server_->run_as().name.empty() ? std::string() : ", as " + server_->run_as().name) << "\n";
  }
  if (server_ == nullptr) {
    ADD_FAILURE() << "PostgreSQL did not start; see the first failure";
    return nullptr;
  }
  return server_.get();
}

std::unique_ptr<PgConnection> PostgresTestEnvironment::admin_connection() {
  PostgresServer* postgres = server();
  if (postgres == nullptr) return nullptr;
  auto connection = PgConnection::open(postgres->connection_options());
  if (!connection.ok()) {
    ADD_FAILURE() << "cannot connect to PostgreSQL: " << connection.error().to_string();
    return nullptr;
  }
  return std::move(connection).value();
}

PgConnectionOptions PostgresTestEnvironment::fresh_database(std::string_view label) {
  std::unique_ptr<PgConnection> admin = admin_connection();
  if (admin == nullptr) return {};
  std::string name;
  for (char c : label) name += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
  name = name.substr(0, 40) + "_" + std::to_string(++databases_made_);
  auto created = admin->execute("CREATE DATABASE " + name);
  if (!created.ok()) {
    ADD_FAILURE() << "CREATE DATABASE " << name << ": " << created.error().to_string();
    return {};
  }
  PgConnectionOptions options = server_->connection_options(name);
  options.connect_timeout = Milliseconds(5'000);
  return options;
}

void PostgresTestEnvironment::TearDown() {
  if (server_ != nullptr) (void)server_->stop();
  server_.reset();
}

}  // namespace hadr::postgres::testing
