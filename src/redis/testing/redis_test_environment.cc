#include "redis/testing/redis_test_environment.h"

#include <unistd.h>

namespace hadr::redis::testing {

namespace {

// GoogleTest owns and deletes registered environments at exit.
RedisTestEnvironment* const registered_environment = static_cast<RedisTestEnvironment*>(
    ::testing::AddGlobalTestEnvironment(new RedisTestEnvironment()));

}  // namespace

RedisTestEnvironment& RedisTestEnvironment::instance() {
  HADR_ASSERT(registered_environment != nullptr);
  return *registered_environment;
}

RedisServer* RedisTestEnvironment::start(std::unique_ptr<RedisServer>& slot, RedisServerOptions options) {
  if (slot == nullptr) {
    auto started = RedisServer::start(std::move(options));
    if (!started.ok()) {
      ADD_FAILURE() << "cannot start redis-server: " << started.error().to_string();
      return nullptr;
    }
    slot = std::move(started).value();
  }
  if (!slot->running()) {
    ADD_FAILURE() << "the test's redis-server was left stopped by an earlier step";
    return nullptr;
  }
  return slot.get();
}

RedisServer* RedisTestEnvironment::server() { return start(server_, RedisServerOptions{}); }

RedisServer* RedisTestEnvironment::auth_server() {
  RedisServerOptions options;
  options.password = Secret(std::string(kTestPassword));
  return start(auth_server_, std::move(options));
}

std::string RedisTestEnvironment::fresh_key_prefix(std::string_view label) {
  ++prefixes_made_;
  return std::string(label) + "-" + std::to_string(::getpid()) + "-" + std::to_string(prefixes_made_);
}

RedisOptions RedisTestEnvironment::options(std::string_view label) {
  RedisServer* redis = server();
  HADR_ASSERT_MSG(redis != nullptr, "redis-server did not start; see the failure above");
  RedisOptions result = redis->client_options(fresh_key_prefix(label));
  result.connect_timeout = Milliseconds(500);
  result.command_timeout = Milliseconds(1000);
  result.max_reconnect_attempts = 3;
  result.reconnect_backoff_initial = Milliseconds(20);
  result.reconnect_backoff_max = Milliseconds(100);
  return result;
}

RedisOptions RedisTestEnvironment::auth_options(std::string_view label) {
  RedisServer* redis = auth_server();
  HADR_ASSERT_MSG(redis != nullptr, "redis-server with a password did not start; see the failure above");
  RedisOptions result = options(label);
  result.port = redis->port();
  result.password = Secret(std::string(kTestPassword));
  return result;
}

void RedisTestEnvironment::TearDown() {
  if (server_ != nullptr) (void)server_->stop();
  if (auth_server_ != nullptr) (void)auth_server_->stop();
  server_.reset();
  auth_server_.reset();
}

}  // namespace hadr::redis::testing
