// Proves RedisConnection's failure behaviour against real sockets and a real redis-server:
// an unreachable or silent server ends a call with a clear error within the configured
// timeouts (never a hang), a paused server turns a mutating call into kDeadlineExceeded, a
// wrong or missing password is kFailedPrecondition whose text never holds the password, and
// the connection comes back by itself after the server restarts.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>

#include "redis/redis_connection.h"
#include "redis/redis_dedupe_store.h"
#include "redis/testing/redis_test_environment.h"

namespace hadr::redis {
namespace {

using testing::RedisTestEnvironment;

// A loopback socket bound to a free port; listening or not. Closed on destruction.
class LoopbackSocket {
 public:
  explicit LoopbackSocket(bool listening) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    HADR_ASSERT(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    HADR_ASSERT(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    HADR_ASSERT(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    if (listening) HADR_ASSERT(::listen(fd_, 16) == 0);
    port_ = ntohs(address.sin_port);
  }
  ~LoopbackSocket() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

RedisOptions options_for_port(int port) {
  RedisOptions options;
  options.host = "127.0.0.1";
  options.port = port;
  options.key_prefix = "connection-test";
  options.connect_timeout = Milliseconds(300);
  options.command_timeout = Milliseconds(300);
  options.max_reconnect_attempts = 3;
  options.reconnect_backoff_initial = Milliseconds(10);
  options.reconnect_backoff_max = Milliseconds(40);
  return options;
}

// Generous slack on top of the configured bound: the test checks "no hang", not a latency.
constexpr Milliseconds kSlack{2000};

Milliseconds elapsed_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<Milliseconds>(std::chrono::steady_clock::now() - start);
}

TEST(RedisConnection, UnreachableServerIsUnavailableWithinTheReconnectBudget) {
  const LoopbackSocket closed_port(/*listening=*/false);
  const RedisOptions options = options_for_port(closed_port.port());
  const auto start = std::chrono::steady_clock::now();
  auto connection = RedisConnection::open(options);
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.code(), ErrorCode::kUnavailable);
  EXPECT_NE(connection.error().detail.find(options.address()), std::string::npos);
  EXPECT_NE(connection.error().detail.find("3 connect attempts"), std::string::npos);
  EXPECT_LT(elapsed_since(start), options.reconnect_budget() + kSlack);
}

TEST(RedisConnection, SilentServerTimesOutInsteadOfHanging) {
  const LoopbackSocket silent(/*listening=*/true);  // accepts connections, never answers
  RedisOptions options = options_for_port(silent.port());
  options.max_reconnect_attempts = 1;
  const auto start = std::chrono::steady_clock::now();
  auto connection = RedisConnection::open(options);
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.code(), ErrorCode::kUnavailable);
  EXPECT_NE(connection.error().detail.find("did not answer"), std::string::npos) << connection.error().detail;
  EXPECT_LT(elapsed_since(start), options.connect_timeout + options.command_timeout + kSlack);
}

TEST(RedisConnection, InvalidOptionsAreRejectedBeforeConnecting) {
  RedisOptions options = options_for_port(6379);
  options.key_prefix = "bad:prefix";
  auto connection = RedisConnection::open(options);
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.code(), ErrorCode::kInvalidArgument);
}

TEST(RedisConnection, PausedServerMakesAMutatingCallDeadlineExceededThenRecovers) {
  auto& environment = RedisTestEnvironment::instance();
  RedisServer* server = environment.server();
  ASSERT_NE(server, nullptr);
  RedisOptions options = environment.options("paused");
  options.command_timeout = Milliseconds(300);
  auto store = RedisDedupeStore::open(options);
  ASSERT_TRUE(store.ok()) << store.error().to_string();
  const MessageId id = MessageId::parse("m-1").value();
  // A first claim loads the script, so the paused call below is the claim itself (a SCRIPT
  // LOAD that times out is kUnavailable: nothing ran).
  ASSERT_TRUE((*store)->claim(MessageId::parse("m-0").value(), "worker-a", Epoch{1}, Milliseconds(60'000)).ok());

  ASSERT_TRUE(server->pause().ok());
  const auto start = std::chrono::steady_clock::now();
  auto claimed = (*store)->claim(id, "worker-a", Epoch{1}, Milliseconds(60'000));
  const Milliseconds waited = elapsed_since(start);
  ASSERT_TRUE(server->resume().ok());

  ASSERT_FALSE(claimed.ok());
  EXPECT_EQ(claimed.code(), ErrorCode::kDeadlineExceeded);
  EXPECT_NE(claimed.error().detail.find("may have run"), std::string::npos);
  EXPECT_LT(waited, options.command_timeout + kSlack);
  // The claim may have run while the server was paused; either way the store works again.
  auto again = (*store)->claim(id, "worker-a", Epoch{1}, Milliseconds(60'000));
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(again->status, ClaimStatus::kClaimed);
}

TEST(RedisConnection, PausedServerMakesAReadOnlyCallUnavailable) {
  auto& environment = RedisTestEnvironment::instance();
  RedisServer* server = environment.server();
  ASSERT_NE(server, nullptr);
  RedisOptions options = environment.options("paused-read");
  options.command_timeout = Milliseconds(300);
  auto store = RedisDedupeStore::open(options);
  ASSERT_TRUE(store.ok()) << store.error().to_string();
  ASSERT_TRUE(server->pause().ok());
  auto epoch = (*store)->highest_epoch();
  ASSERT_TRUE(server->resume().ok());
  ASSERT_FALSE(epoch.ok());
  EXPECT_EQ(epoch.code(), ErrorCode::kUnavailable);
}

TEST(RedisConnection, WrongPasswordIsFailedPreconditionWithoutThePassword) {
  auto& environment = RedisTestEnvironment::instance();
  RedisOptions options = environment.auth_options("wrong-password");
  const std::string wrong = "not-the-password-b7e2";
  options.password = Secret(wrong);
  auto connection = RedisConnection::open(options);
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(connection.error().detail.find("WRONGPASS"), std::string::npos) << connection.error().detail;
  EXPECT_EQ(connection.error().to_string().find(wrong), std::string::npos);
  EXPECT_EQ(connection.error().to_string().find(RedisTestEnvironment::kTestPassword), std::string::npos);
}

TEST(RedisConnection, MissingPasswordIsFailedPrecondition) {
  auto& environment = RedisTestEnvironment::instance();
  RedisOptions options = environment.auth_options("no-password");
  options.password = Secret();
  auto connection = RedisConnection::open(options);
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(connection.error().detail.find("requires a password"), std::string::npos);
}

TEST(RedisConnection, PasswordForAServerWithoutOneIsFailedPrecondition) {
  RedisOptions options = RedisTestEnvironment::instance().options("extra-password");
  const std::string password = "unexpected-password-91";
  options.password = Secret(password);
  auto connection = RedisConnection::open(options);
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(connection.error().to_string().find(password), std::string::npos);
}

TEST(RedisConnection, RightPasswordConnects) {
  auto connection = RedisConnection::open(RedisTestEnvironment::instance().auth_options("right-password"));
  ASSERT_TRUE(connection.ok()) << connection.error().to_string();
  auto pong = (*connection)->command({"PING"}, CommandKind::kReadOnly);
  ASSERT_TRUE(pong.ok()) << pong.error().to_string();
  EXPECT_EQ(pong->view().text(), "PONG");
}

TEST(RedisConnection, ReconnectsAfterTheServerRestarts) {
  auto& environment = RedisTestEnvironment::instance();
  RedisServer* server = environment.server();
  ASSERT_NE(server, nullptr);
  auto connection = RedisConnection::open(environment.options("restart"));
  ASSERT_TRUE(connection.ok()) << connection.error().to_string();
  EXPECT_EQ((*connection)->connects(), 1u);
  ASSERT_TRUE(server->restart().ok());
  auto pong = (*connection)->command({"PING"}, CommandKind::kMutating);
  ASSERT_TRUE(pong.ok()) << pong.error().to_string();
  EXPECT_EQ((*connection)->connects(), 2u);
}

TEST(RedisConnection, ServerDownDuringCallIsUnavailableAfterBoundedAttempts) {
  auto& environment = RedisTestEnvironment::instance();
  RedisServer* server = environment.server();
  ASSERT_NE(server, nullptr);
  const RedisOptions options = environment.options("down");
  auto connection = RedisConnection::open(options);
  ASSERT_TRUE(connection.ok()) << connection.error().to_string();
  ASSERT_TRUE(server->stop().ok());
  const auto start = std::chrono::steady_clock::now();
  auto pong = (*connection)->command({"PING"}, CommandKind::kMutating);
  ASSERT_FALSE(pong.ok());
  EXPECT_EQ(pong.code(), ErrorCode::kUnavailable) << pong.error().to_string();
  EXPECT_LT(elapsed_since(start), options.reconnect_budget() + kSlack);
  ASSERT_TRUE(server->restart().ok());
  auto back = (*connection)->command({"PING"}, CommandKind::kMutating);
  EXPECT_TRUE(back.ok()) << back.error().to_string();
}

TEST(RedisConnection, ScriptRunsAgainAfterTheServerLostItsScriptCache) {
  auto connection = RedisConnection::open(RedisTestEnvironment::instance().options("noscript"));
  ASSERT_TRUE(connection.ok()) << connection.error().to_string();
  constexpr RedisScript kScript{"test_add", "return tonumber(ARGV[1]) + 1"};
  const std::string_view arguments[] = {"41"};
  auto first = (*connection)->eval(kScript, {}, arguments, CommandKind::kMutating);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  ASSERT_TRUE((*connection)->command({"SCRIPT", "FLUSH"}, CommandKind::kMutating).ok());
  auto second = (*connection)->eval(kScript, {}, arguments, CommandKind::kMutating);
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  EXPECT_EQ(second->view().integer(), 42);
}

TEST(RedisConnection, ErrorReplyIsInternalWithTheServersText) {
  auto connection = RedisConnection::open(RedisTestEnvironment::instance().options("error-reply"));
  ASSERT_TRUE(connection.ok()) << connection.error().to_string();
  auto reply = (*connection)->command({"NOSUCHCOMMAND"}, CommandKind::kMutating);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.code(), ErrorCode::kInternal);
  EXPECT_NE(reply.error().detail.find("unknown command"), std::string::npos) << reply.error().detail;
}

}  // namespace
}  // namespace hadr::redis
