#include "redis/redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "core/local_server.h"
#include "redis/redis_connection.h"

namespace hadr::redis {

namespace {

constexpr Milliseconds kPollInterval{5};
constexpr Milliseconds kStopTimeout{10'000};

bool is_executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }


// Double-quoted for redis.conf (sdssplitargs): backslash and quote escaped.
std::string config_quoted(std::string_view text) {
  std::string result = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') result += '\\';
    result += c;
  }
  result += '"';
  return result;
}


}  // namespace

Result<std::string> find_redis_server() {
  const char* path = std::getenv("PATH");
  std::vector<std::string> directories;
  std::stringstream stream(path != nullptr ? path : "");
  std::string directory;
  while (std::getline(stream, directory, ':')) {
    if (!directory.empty()) directories.push_back(directory);
  }
  for (const char* fallback : {"/usr/bin", "/usr/sbin", "/usr/local/bin"}) directories.emplace_back(fallback);
  for (const std::string& candidate : directories) {
    const std::string executable = candidate + "/redis-server";
    if (is_executable(executable)) return executable;
  }
  return failed_precondition("redis-server is not on PATH; install it (apt-get install -y redis-server)");
}

RedisServer::RedisServer(RedisServerOptions options, std::string executable, std::string directory)
    : options_(std::move(options)), executable_(std::move(executable)), directory_(std::move(directory)) {}

RedisServer::~RedisServer() {
  if (running()) (void)stop();
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

std::string RedisServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

RedisOptions RedisServer::client_options(std::string key_prefix) const {
  RedisOptions options;
  options.host = "127.0.0.1";
  options.port = port_;
  options.password = options_.password;
  options.key_prefix = std::move(key_prefix);
  return options;
}

Result<std::unique_ptr<RedisServer>> RedisServer::start(RedisServerOptions options) {
  HADR_ASSIGN_OR_RETURN(std::string executable, find_redis_server());
  HADR_ASSIGN_OR_RETURN(std::string directory, make_temporary_directory("hadr-redis"));
  std::unique_ptr<RedisServer> server(new RedisServer(std::move(options), std::move(executable), std::move(directory)));
  Status last_failure = ok_status();
  for (int attempt = 1; attempt <= kMaxPortAttempts; ++attempt) {
    HADR_ASSIGN_OR_RETURN(server->port_, pick_free_loopback_port());
    if (server->options_.tls) {
      HADR_ASSIGN_OR_RETURN(server->tls_port_, pick_free_loopback_port());
    }
    HADR_TRY(server->write_config());
    last_failure = server->spawn();
    if (last_failure.ok()) last_failure = server->wait_until_ready();
    if (last_failure.ok()) return server;
    if (server->running()) (void)server->kill();
    // Lost the race for the port to another process: try another port. Anything else is final.
    if (server->log_tail().find("Address already in use") == std::string::npos) {
      return std::move(last_failure).take_error();
    }
  }
  return std::move(last_failure).take_error();
}

Status RedisServer::write_config() const {
  std::string config;
  config += "port " + std::to_string(port_) + "\n";
  config += "bind 127.0.0.1\n";
  config += "dir " + config_quoted(directory_) + "\n";
  config += "save \"\"\n";
  config += "daemonize no\n";
  config += "logfile \"\"\n";
  config += options_.append_only ? "appendonly yes\nappendfsync always\n" : "appendonly no\n";
  if (!options_.password.empty()) config += "requirepass " + config_quoted(options_.password.reveal()) + "\n";
  if (options_.tls) {
    config += "tls-port " + std::to_string(tls_port_) + "\n";
    config += "tls-cert-file " + config_quoted(options_.tls->certificate_file) + "\n";
    config += "tls-key-file " + config_quoted(options_.tls->key_file) + "\n";
    config += "tls-ca-cert-file " + config_quoted(options_.tls->ca_file) + "\n";
    config += "tls-auth-clients no\n";
  }
  const std::string path = directory_ + "/redis.conf";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return unavailable("cannot write " + path + ": " + std::strerror(errno));
  const ssize_t written = ::write(fd, config.data(), config.size());
  ::close(fd);
  if (written != static_cast<ssize_t>(config.size())) return unavailable("cannot write " + path);
  return ok_status();
}

Status RedisServer::spawn() {
  HADR_ASSERT(!running());
  const std::string config_path = directory_ + "/redis.conf";
  const std::string log_path = directory_ + "/redis.log";
  const char* argv[] = {executable_.c_str(), config_path.c_str(), nullptr};
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) return unavailable(std::string("fork(): ") + std::strerror(errno));
  if (child == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (log_fd >= 0) {
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
    }
    ::execv(argv[0], const_cast<char* const*>(argv));
    ::_exit(127);
  }
  pid_ = child;
  return ok_status();
}

Status RedisServer::wait_until_ready() {
  HADR_ASSERT(running());
  RedisOptions probe = client_options("ready-probe");
  probe.connect_timeout = Milliseconds(200);
  probe.command_timeout = Milliseconds(1000);
  probe.max_reconnect_attempts = 1;
  const auto deadline = std::chrono::steady_clock::now() + options_.ready_timeout;
  Status last_failure = ok_status();
  while (std::chrono::steady_clock::now() < deadline) {
    int wait_status = 0;
    if (::waitpid(pid_, &wait_status, WNOHANG) == pid_) {
      pid_ = -1;
      return unavailable("redis-server exited during start-up: " + log_tail());
    }
    auto connection = RedisConnection::open(probe);
    if (connection.ok()) return ok_status();
    last_failure = std::move(connection).take_error();
    if (last_failure.code() != ErrorCode::kUnavailable) return last_failure;
    std::this_thread::sleep_for(kPollInterval);
  }
  return unavailable("redis-server on port " + std::to_string(port_) + " did not answer PING within " +
                     std::to_string(options_.ready_timeout.count()) + " ms: " + last_failure.error().detail);
}

Status RedisServer::wait_for_exit(Milliseconds timeout) {
  HADR_ASSERT(running());
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int wait_status = 0;
    const pid_t result = ::waitpid(pid_, &wait_status, WNOHANG);
    if (result == pid_ || (result < 0 && errno == ECHILD)) {
      pid_ = -1;
      return ok_status();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return deadline_exceeded("redis-server pid " + std::to_string(pid_) + " did not exit in time");
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

Status RedisServer::stop() {
  if (!running()) return ok_status();
  ::kill(pid_, SIGCONT);  // a paused server cannot act on SIGTERM
  ::kill(pid_, SIGTERM);
  if (wait_for_exit(kStopTimeout).ok()) return ok_status();
  return kill();
}

Status RedisServer::kill() {
  if (!running()) return ok_status();
  ::kill(pid_, SIGKILL);
  return wait_for_exit(kStopTimeout);
}

Status RedisServer::restart() {
  HADR_TRY(stop());
  HADR_TRY(spawn());
  return wait_until_ready();
}

Status RedisServer::pause() {
  HADR_ASSERT(running());
  if (::kill(pid_, SIGSTOP) != 0) return internal_error(std::string("SIGSTOP: ") + std::strerror(errno));
  return ok_status();
}

Status RedisServer::resume() {
  HADR_ASSERT(running());
  if (::kill(pid_, SIGCONT) != 0) return internal_error(std::string("SIGCONT: ") + std::strerror(errno));
  return ok_status();
}

std::string RedisServer::log_tail() const {
  std::ifstream log(directory_ + "/redis.log");
  std::stringstream contents;
  contents << log.rdbuf();
  const std::string text = contents.str();
  constexpr std::size_t kTailBytes = 600;
  return text.size() > kTailBytes ? text.substr(text.size() - kTailBytes) : text;
}

}  // namespace hadr::redis
