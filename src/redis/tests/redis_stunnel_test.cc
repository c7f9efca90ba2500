// Proves the Redis TLS deployment docs/redis.md describes, with real processes: hiredis 0.14
// has no TLS, so hadr talks to a local stunnel client on loopback, which verifies the server's
// certificate (a CA the test makes with openssl) and carries the connection to Redis's
// tls-port. Through it the password (a canary, via requirepass) authenticates and commands
// run; a RedisOptions on the stunnel's loopback port needs no allow_plaintext_password, while
// the same password to the server's own (remote-looking) name is refused. A stunnel that
// checks for another host name than the certificate's never lets the connection through.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "core/local_server.h"
#include "redis/redis_connection.h"
#include "redis/redis_server.h"

namespace hadr::redis {
namespace {

constexpr const char* kCanary = "canary-redis-over-stunnel";

// The first of stunnel4 / stunnel found in the usual places ("" when none).
std::string find_stunnel() {
  for (const char* path : {"/usr/bin/stunnel4", "/usr/bin/stunnel", "/usr/local/bin/stunnel"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

// A stunnel client in the foreground, killed (and reaped) by the destructor.
class Stunnel {
 public:
  Stunnel(const std::string& executable, const std::string& config, const std::string& log) {
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(126);
      const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (log_fd >= 0) {
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
      }
      ::execl(executable.c_str(), executable.c_str(), config.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~Stunnel() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  bool started() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

class RedisStunnelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stunnel_ = find_stunnel();
    ASSERT_FALSE(stunnel_.empty()) << "stunnel is missing: apt-get install -y stunnel4 (scripts/bootstrap does)";
    auto dir = make_temporary_directory("hadr-redis-stunnel");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
    const Status made = make_test_certificates(dir_);
    ASSERT_TRUE(made.ok()) << made.error().to_string();
    RedisServerOptions options;
    options.password = Secret(kCanary);
    options.tls = RedisTlsFiles{dir_ + "/server.pem", dir_ + "/server.key", dir_ + "/ca.pem"};
    auto server = RedisServer::start(options);
    ASSERT_TRUE(server.ok()) << server.error().to_string();
    server_ = std::move(server).value();
  }
  void TearDown() override {
    stunnels_.clear();
    server_.reset();
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
  }

  // Starts stunnel forwarding 127.0.0.1:<returned port> to the server's TLS port, verifying
  // the certificate against the test CA and the name `check_host`.
  int start_stunnel(const std::string& check_host) {
    auto port = pick_free_loopback_port();
    EXPECT_TRUE(port.ok());
    const std::string name = "stunnel-" + std::to_string(*port);
    std::ofstream(dir_ + "/" + name + ".conf") << "foreground = yes\npid =\n[redis]\nclient = yes\n"
                                               << "accept = 127.0.0.1:" << *port << "\n"
                                               << "connect = 127.0.0.1:" << server_->tls_port() << "\n"
                                               << "CAfile = " << dir_ << "/ca.pem\nverifyChain = yes\n"
                                               << "checkHost = " << check_host << "\n";
    stunnels_.push_back(std::make_unique<Stunnel>(stunnel_, dir_ + "/" + name + ".conf", dir_ + "/" + name + ".log"));
    EXPECT_TRUE(stunnels_.back()->started());
    return *port;
  }

  RedisOptions through(int port) const {
    RedisOptions options = server_->client_options("stunnel");
    options.host = "127.0.0.1";
    options.port = port;
    options.connect_timeout = Milliseconds(1'000);
    options.command_timeout = Milliseconds(2'000);
    options.max_reconnect_attempts = 1;
    return options;
  }

  // Connects through the stunnel on `port`, retrying while stunnel starts (up to 10 s).
  Result<std::unique_ptr<RedisConnection>> connect(int port) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    Result<std::unique_ptr<RedisConnection>> connection = RedisConnection::open(through(port));
    while (!connection.ok() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      connection = RedisConnection::open(through(port));
    }
    return connection;
  }

  // True once something accepts TCP connections on 127.0.0.1:port (up to 10 s).
  static bool wait_listening(int port) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      address.sin_port = htons(static_cast<std::uint16_t>(port));
      const bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
      ::close(fd);
      if (connected) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  std::string stunnel_;
  std::string dir_;
  std::unique_ptr<RedisServer> server_;
  std::vector<std::unique_ptr<Stunnel>> stunnels_;
};

TEST_F(RedisStunnelTest, PasswordAuthenticatesThroughALocalStunnel) {
  const int port = start_stunnel("localhost");
  EXPECT_TRUE(through(port).validate().ok()) << "a loopback stunnel needs no allow_plaintext_password";
  auto connection = connect(port);
  ASSERT_TRUE(connection.ok()) << connection.error().to_string();
  ASSERT_TRUE((*connection)->command({"SET", "stunnel:k", "over tls"}, CommandKind::kMutating).ok());
  auto value = (*connection)->command({"GET", "stunnel:k"}, CommandKind::kReadOnly);
  ASSERT_TRUE(value.ok()) << value.error().to_string();
  auto text = value->view().expect_text("GET");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "over tls");
  // The same password straight to a server name that is not loopback is refused.
  RedisOptions direct = through(port);
  direct.host = "redis.internal.example";
  EXPECT_FALSE(direct.validate().ok());
}

TEST_F(RedisStunnelTest, StunnelCheckingAnotherNameLetsNothingThrough) {
  const int port = start_stunnel("not-the-server.example");
  ASSERT_TRUE(wait_listening(port)) << "stunnel did not listen";
  auto connection = RedisConnection::open(through(port));
  EXPECT_FALSE(connection.ok());
  // Refused for the certificate's name, not for anything else.
  std::ifstream log(dir_ + "/stunnel-" + std::to_string(port) + ".log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("CERT: Subject checks failed"), std::string::npos) << text;
}

}  // namespace
}  // namespace hadr::redis
