// RedisTestEnvironment: the GoogleTest environment of every test binary that needs Redis.
// It starts private redis-servers (testing/redis_server.h) on first use — a plain one and one
// that requires a password — and stops exactly those at the end of the run, also when tests
// failed (and PR_SET_PDEATHSIG kills them if the test process dies).
// Each caller gets a fresh key prefix, so tests sharing one server never see each other's keys.
// Ownership: GoogleTest owns the registered instance. Thread-safety: main test thread only.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "redis/redis_options.h"
#include "redis/redis_server.h"

namespace hadr::redis::testing {

class RedisTestEnvironment final : public ::testing::Environment {
 public:
  // The password of auth_server(). A test constant, not a secret of any deployment.
  static constexpr std::string_view kTestPassword = "hadr-test-password-5d1c";

  static RedisTestEnvironment& instance();

  // nullptr (with a test failure recorded) when redis-server cannot start.
  RedisServer* server();
  RedisServer* auth_server();

  // "<label>-<pid>-<n>": unique within this process and across concurrent test processes.
  std::string fresh_key_prefix(std::string_view label);
  // Options for server() (or auth_server()) on a fresh key prefix, with short timeouts so that
  // failure tests end quickly.
  RedisOptions options(std::string_view label);
  RedisOptions auth_options(std::string_view label);

  void TearDown() override;

 private:
  RedisServer* start(std::unique_ptr<RedisServer>& slot, RedisServerOptions options);

  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<RedisServer> auth_server_;
  std::uint64_t prefixes_made_ = 0;
};

}  // namespace hadr::redis::testing
