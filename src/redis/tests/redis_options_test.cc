// Proves RedisOptions' input checks without a server: addresses parse or name the bad part,
// validate() names the bad field, the password comes from exactly one place (value, environment
// variable or file), and a Secret never prints its value; a password to a host that is not
// loopback is refused unless allow_plaintext_password is set (hiredis 0.14 has no TLS; issue 15).
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "core/mem_env.h"
#include "redis/redis_keys.h"
#include "redis/redis_options.h"

namespace hadr::redis {
namespace {

RedisOptions valid_options() {
  RedisOptions options;
  options.key_prefix = "cluster-1";
  return options;
}

EnvironmentLookup fake_environment(std::map<std::string, std::string> variables) {
  return [variables](const std::string& name) -> std::optional<std::string> {
    auto found = variables.find(name);
    if (found == variables.end()) return std::nullopt;
    return found->second;
  };
}

TEST(RedisAddress, ParsesHostAndPort) {
  auto address = RedisAddress::parse("127.0.0.1:6380");
  ASSERT_TRUE(address.ok()) << address.error().to_string();
  EXPECT_EQ(address->host, "127.0.0.1");
  EXPECT_EQ(address->port, 6380);
}

TEST(RedisAddress, RejectsMissingPort) {
  auto address = RedisAddress::parse("localhost");
  ASSERT_FALSE(address.ok());
  EXPECT_EQ(address.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(address.error().detail.find("HOST:PORT"), std::string::npos);
}

TEST(RedisAddress, RejectsPortOutOfRange) {
  EXPECT_EQ(RedisAddress::parse("h:0").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(RedisAddress::parse("h:65536").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(RedisAddress::parse("h:12x").code(), ErrorCode::kInvalidArgument);
}

TEST(RedisOptions, ValidOptionsPass) { EXPECT_TRUE(valid_options().validate().ok()); }

TEST(RedisOptions, PasswordOnlyToLoopbackUnlessAllowed) {
  RedisOptions options = valid_options();
  options.password = Secret("canary-redis-pw");
  for (const char* host : {"127.0.0.1", "localhost", "::1"}) {
    options.host = host;
    EXPECT_TRUE(options.validate().ok()) << host;
  }
  options.host = "10.0.0.8";
  const Status status = options.validate();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().detail.find("stunnel"), std::string::npos) << status.error().detail;
  EXPECT_EQ(status.error().detail.find("canary-redis-pw"), std::string::npos);
  options.allow_plaintext_password = true;
  EXPECT_TRUE(options.validate().ok());
  RedisOptions no_password = valid_options();
  no_password.host = "10.0.0.8";
  EXPECT_TRUE(no_password.validate().ok());
}

TEST(RedisOptions, EmptyKeyPrefixNamesTheField) {
  RedisOptions options = valid_options();
  options.key_prefix = "";
  const Status status = options.validate();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().detail.find("key_prefix"), std::string::npos);
}

TEST(RedisOptions, KeyPrefixWithColonOrBraceIsRejected) {
  for (const char* prefix : {"a:b", "a{b", "a}b", "a b", "a*"}) {
    RedisOptions options = valid_options();
    options.key_prefix = prefix;
    EXPECT_EQ(options.validate().code(), ErrorCode::kInvalidArgument) << prefix;
  }
}

TEST(RedisOptions, OversizedKeyPrefixIsRejected) {
  RedisOptions options = valid_options();
  options.key_prefix = std::string(RedisOptions::kMaxKeyPrefixBytes + 1, 'a');
  EXPECT_EQ(options.validate().code(), ErrorCode::kInvalidArgument);
}

TEST(RedisOptions, ZeroOrNegativeTimeoutNamesTheField) {
  RedisOptions options = valid_options();
  options.command_timeout = Milliseconds(0);
  Status status = options.validate();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().detail.find("command_timeout"), std::string::npos);
  options = valid_options();
  options.connect_timeout = Milliseconds(-5);
  status = options.validate();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().detail.find("connect_timeout"), std::string::npos);
}

TEST(RedisOptions, ReconnectAttemptsOutOfRangeAreRejected) {
  RedisOptions options = valid_options();
  options.max_reconnect_attempts = 0;
  EXPECT_EQ(options.validate().code(), ErrorCode::kInvalidArgument);
  options.max_reconnect_attempts = RedisOptions::kMaxReconnectAttemptsLimit + 1;
  EXPECT_EQ(options.validate().code(), ErrorCode::kInvalidArgument);
}

TEST(RedisOptions, BadPortIsRejected) {
  RedisOptions options = valid_options();
  options.port = 70000;
  EXPECT_EQ(options.validate().code(), ErrorCode::kInvalidArgument);
}

TEST(Secret, PrintsStarsNeverTheValue) {
  const Secret secret("hunter2-very-secret");
  std::ostringstream stream;
  stream << secret;
  EXPECT_EQ(stream.str(), "***");
  EXPECT_EQ(secret.to_string(), "***");
  EXPECT_EQ(Secret().to_string(), "");
  EXPECT_EQ(secret.reveal(), "hunter2-very-secret");
}

TEST(ResolvePassword, NoSourceLeavesNoPassword) {
  MemEnv env;
  auto resolved = resolve_password(valid_options(), env, fake_environment({}));
  ASSERT_TRUE(resolved.ok());
  EXPECT_TRUE(resolved->password.empty());
}

TEST(ResolvePassword, ReadsTheEnvironmentVariable) {
  MemEnv env;
  RedisOptions options = valid_options();
  options.password_env = "HADR_REDIS_PASSWORD";
  auto resolved = resolve_password(options, env, fake_environment({{"HADR_REDIS_PASSWORD", "s3cret"}}));
  ASSERT_TRUE(resolved.ok()) << resolved.error().to_string();
  EXPECT_EQ(resolved->password.reveal(), "s3cret");
}

TEST(ResolvePassword, UnsetVariableNamesTheVariable) {
  MemEnv env;
  RedisOptions options = valid_options();
  options.password_env = "HADR_MISSING_PASSWORD";
  auto resolved = resolve_password(options, env, fake_environment({}));
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(resolved.error().detail.find("HADR_MISSING_PASSWORD"), std::string::npos);
}

TEST(ResolvePassword, ReadsTheFileWithoutItsTrailingNewline) {
  MemEnv env;
  ASSERT_TRUE(env.create_dirs("/secrets").ok());
  auto file = env.new_writable_file("/secrets/redis");
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->append("from-file\n").ok());
  ASSERT_TRUE((*file)->sync().ok());
  RedisOptions options = valid_options();
  options.password_file = "/secrets/redis";
  auto resolved = resolve_password(options, env, fake_environment({}));
  ASSERT_TRUE(resolved.ok()) << resolved.error().to_string();
  EXPECT_EQ(resolved->password.reveal(), "from-file");
}

TEST(ResolvePassword, MissingFileNamesThePath) {
  MemEnv env;
  RedisOptions options = valid_options();
  options.password_file = "/secrets/none";
  auto resolved = resolve_password(options, env, fake_environment({}));
  ASSERT_FALSE(resolved.ok());
  EXPECT_NE(resolved.error().detail.find("/secrets/none"), std::string::npos);
}

TEST(ResolvePassword, TwoSourcesAreRejected) {
  MemEnv env;
  RedisOptions options = valid_options();
  options.password = Secret("a");
  options.password_env = "X";
  EXPECT_EQ(resolve_password(options, env, fake_environment({{"X", "b"}})).code(), ErrorCode::kInvalidArgument);
}

TEST(ResolvePassword, ErrorsNeverContainThePassword) {
  MemEnv env;
  RedisOptions options = valid_options();
  options.password_env = "HADR_LONG";
  const std::string password(600, 'p');
  auto resolved = resolve_password(options, env, fake_environment({{"HADR_LONG", password}}));
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.error().detail.find(password.substr(0, 16)), std::string::npos);
}

TEST(RedisKeys, NamespaceIsAHashTag) { EXPECT_EQ(key_namespace("c1"), "{c1}:"); }

TEST(RedisKeys, EpochAboveLuaIntegerRangeIsRejected) {
  EXPECT_TRUE(validate_epoch(Epoch{kMaxScriptInteger}).ok());
  EXPECT_EQ(validate_epoch(Epoch{kMaxScriptInteger + 1}).code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace hadr::redis
