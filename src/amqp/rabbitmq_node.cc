#include "amqp/rabbitmq_node.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "amqp/amqp_connection.h"
#include "core/local_server.h"

extern char** environ;

namespace hadr::amqp {

namespace {

constexpr Milliseconds kPollInterval{20};
constexpr const char* kBrokerScript = "/usr/lib/rabbitmq/bin/rabbitmq-server";

std::atomic<int> nodes_made{0};



Status write_file(const std::string& path, const std::string& contents, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return unavailable("cannot write " + path + ": " + std::strerror(errno));
  const ssize_t written = ::write(fd, contents.data(), contents.size());
  ::close(fd);
  if (written != static_cast<ssize_t>(contents.size())) return unavailable("cannot write " + path);
  if (::chmod(path.c_str(), mode) != 0) return unavailable("cannot chmod " + path + ": " + std::strerror(errno));
  return ok_status();
}

// The parent's environment plus `overrides` (NAME=value strings), which win.
std::vector<std::string> child_environment(const std::vector<std::string>& overrides) {
  std::vector<std::string> result = overrides;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const std::string_view name = text.substr(0, text.find('='));
    bool overridden = false;
    for (const std::string& override_entry : overrides) {
      if (std::string_view(override_entry).substr(0, override_entry.find('=')) == name) overridden = true;
    }
    if (!overridden) result.emplace_back(text);
  }
  return result;
}

// fork + exec with PR_SET_PDEATHSIG; stdin from `stdin_fd` (or /dev/null), output to `log_path`.
Result<pid_t> spawn(const std::vector<std::string>& argv_strings, const std::vector<std::string>& environment,
                    int stdin_fd, const std::string& log_path) {
  std::vector<char*> argv;
  for (const std::string& arg : argv_strings) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& entry : environment) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) return unavailable(std::string("fork(): ") + std::strerror(errno));
  if (child == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    const int input = stdin_fd >= 0 ? stdin_fd : ::open("/dev/null", O_RDONLY);
    if (input >= 0) ::dup2(input, STDIN_FILENO);
    const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (log_fd >= 0) {
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  return child;
}

}  // namespace

RabbitmqNode::RabbitmqNode(RabbitmqNodeOptions options, std::string directory)
    : options_(options), directory_(std::move(directory)) {
  node_name_ = "hadr-" + std::to_string(::getpid()) + "-" + std::to_string(++nodes_made) + "@localhost";
}

RabbitmqNode::~RabbitmqNode() {
  if (running()) (void)stop();
  if (epmd_pid_ > 0) {
    ::kill(epmd_pid_, SIGTERM);
    (void)wait_for_exit(epmd_pid_, options_.stop_timeout);
  }
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

std::string RabbitmqNode::url() const { return "amqp://127.0.0.1:" + std::to_string(amqp_port_); }

AmqpOptions RabbitmqNode::client_options(std::string queue_prefix) const {
  AmqpOptions options;
  options.url = url();
  options.user = std::string(kRabbitmqTestUser);
  options.password = Secret(std::string(kRabbitmqTestPassword));
  options.queue_prefix = std::move(queue_prefix);
  return options;
}

Result<std::unique_ptr<RabbitmqNode>> RabbitmqNode::start(RabbitmqNodeOptions options) {
  if (::access(kBrokerScript, X_OK) != 0) {
    return failed_precondition(std::string(kBrokerScript) +
                               " is missing; install RabbitMQ (apt-get install -y rabbitmq-server)");
  }
  HADR_ASSIGN_OR_RETURN(std::string directory, make_temporary_directory("hadr-rabbitmq"));
  std::unique_ptr<RabbitmqNode> node(new RabbitmqNode(options, std::move(directory)));
  Status last_failure = ok_status();
  for (int attempt = 1; attempt <= kMaxPortAttempts; ++attempt) {
    HADR_TRY(node->pick_ports());
    HADR_TRY(node->write_files());
    last_failure = node->spawn_epmd();
    if (last_failure.ok()) last_failure = node->spawn_broker();
    if (last_failure.ok()) last_failure = node->wait_until_ready();
    if (last_failure.ok()) return node;
    (void)node->kill();
    if (node->epmd_pid_ > 0) {
      ::kill(node->epmd_pid_, SIGKILL);
      (void)node->wait_for_exit(node->epmd_pid_, options.stop_timeout);
    }
    // Lost a port to another process: try other ports. Anything else is final.
    const std::string log = node->log_tail();
    if (log.find("eaddrinuse") == std::string::npos && log.find("Address already in use") == std::string::npos) {
      return std::move(last_failure).take_error();
    }
  }
  return std::move(last_failure).take_error();
}

Status RabbitmqNode::pick_ports() {
  HADR_ASSIGN_OR_RETURN(amqp_port_, pick_free_loopback_port());
  HADR_ASSIGN_OR_RETURN(distribution_port_, pick_free_loopback_port());
  HADR_ASSIGN_OR_RETURN(epmd_port_, pick_free_loopback_port());
  if (options_.tls) {
    HADR_ASSIGN_OR_RETURN(tls_port_, pick_free_loopback_port());
  }
  const bool tls_clash = options_.tls && (tls_port_ == amqp_port_ || tls_port_ == distribution_port_ || tls_port_ == epmd_port_);
  if (tls_clash || amqp_port_ == distribution_port_ || amqp_port_ == epmd_port_ || distribution_port_ == epmd_port_) {
    return pick_ports();  // the kernel handed out the same port twice: draw again (rare)
  }
  return ok_status();
}

Status RabbitmqNode::write_files() const {
  for (const char* sub : {"/home", "/mnesia", "/log"}) {
    std::error_code error;
    std::filesystem::create_directories(directory_ + sub, error);
    if (error) return unavailable("cannot create " + directory_ + sub + ": " + error.message());
  }
  std::string config = "listeners.tcp.default = 127.0.0.1:" + std::to_string(amqp_port_) +
                       "\nloopback_users = none\namqp1_0.default_user = guest\n";
  if (options_.tls) {
    config += "listeners.ssl.default = 127.0.0.1:" + std::to_string(tls_port_) + "\nssl_options.cacertfile = " +
              options_.tls->ca_file + "\nssl_options.certfile = " + options_.tls->certificate_file +
              "\nssl_options.keyfile = " + options_.tls->key_file +
              "\nssl_options.verify = verify_none\nssl_options.fail_if_no_peer_cert = false\n";
  }
  HADR_TRY(write_file(directory_ + "/rabbitmq.conf", config, 0600));
  HADR_TRY(write_file(directory_ + "/enabled_plugins", "[rabbitmq_amqp1_0].\n", 0600));
  // The node and its CLI tools share this cookie; Erlang refuses one readable by others.
  const std::string cookie = "HADRTESTCOOKIE" + std::to_string(::getpid()) + std::to_string(amqp_port_);
  const std::string cookie_path = directory_ + "/home/.erlang.cookie";
  ::chmod(cookie_path.c_str(), 0600);  // restart: the old one is read-only
  return write_file(cookie_path, cookie, 0400);
}

Status RabbitmqNode::spawn_epmd() {
  if (epmd_pid_ > 0) return ok_status();
  const std::vector<std::string> environment = child_environment({"HOME=" + directory_ + "/home"});
  HADR_ASSIGN_OR_RETURN(epmd_pid_, spawn({"/usr/bin/epmd", "-port", std::to_string(epmd_port_)}, environment, -1,
                                         directory_ + "/log/epmd.log"));
  return ok_status();
}

Status RabbitmqNode::spawn_broker() {
  HADR_ASSERT(!running());
  int stdin_pipe[2];
  if (::pipe2(stdin_pipe, O_CLOEXEC) != 0) return unavailable(std::string("pipe2(): ") + std::strerror(errno));
  const std::vector<std::string> environment = child_environment({
      "HOME=" + directory_ + "/home",
      "ERL_EPMD_PORT=" + std::to_string(epmd_port_),
      "RABBITMQ_NODENAME=" + node_name_,
      "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
      "RABBITMQ_NODE_PORT=" + std::to_string(amqp_port_),
      "RABBITMQ_DIST_PORT=" + std::to_string(distribution_port_),
      "RABBITMQ_CONFIG_FILE=" + directory_ + "/rabbitmq.conf",
      "RABBITMQ_MNESIA_BASE=" + directory_ + "/mnesia",
      "RABBITMQ_LOG_BASE=" + directory_ + "/log",
      "RABBITMQ_ENABLED_PLUGINS_FILE=" + directory_ + "/enabled_plugins",
      "RABBITMQ_PID_FILE=" + directory_ + "/rabbitmq.pid",
      // Makes the script exec the VM (our child's pid is the broker's) and keep stdin open.
      "RABBITMQ_ALLOW_INPUT=1",
  });
  auto pid = spawn({kBrokerScript}, environment, stdin_pipe[0], directory_ + "/log/console.log");
  ::close(stdin_pipe[0]);
  if (!pid.ok()) {
    ::close(stdin_pipe[1]);
    return std::move(pid).take_error();
  }
  broker_pid_ = *pid;
  stdin_write_fd_ = stdin_pipe[1];
  return ok_status();
}

Status RabbitmqNode::wait_until_ready() {
  HADR_ASSERT(running());
  AmqpOptions probe = client_options("ready-probe");
  probe.connect_timeout = Milliseconds(1'000);
  probe.max_reconnect_attempts = 1;
  const auto deadline = std::chrono::steady_clock::now() + options_.ready_timeout;
  Status last_failure = ok_status();
  while (std::chrono::steady_clock::now() < deadline) {
    int wait_status = 0;
    if (::waitpid(broker_pid_, &wait_status, WNOHANG) == broker_pid_) {
      broker_pid_ = -1;
      return unavailable("rabbitmq-server exited during start-up: " + log_tail());
    }
    auto connection = AmqpConnection::open(probe);
    if (connection.ok()) return ok_status();
    last_failure = std::move(connection).take_error();
    std::this_thread::sleep_for(kPollInterval * 10);
  }
  return unavailable("RabbitMQ on port " + std::to_string(amqp_port_) + " did not accept AMQP 1.0 within " +
                     std::to_string(options_.ready_timeout.count()) + " ms: " + last_failure.error().detail +
                     "; log: " + log_tail());
}

Status RabbitmqNode::wait_for_exit(pid_t& pid, Milliseconds timeout) {
  HADR_ASSERT(pid > 0);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int wait_status = 0;
    const pid_t result = ::waitpid(pid, &wait_status, WNOHANG);
    if (result == pid || (result < 0 && errno == ECHILD)) {
      pid = -1;
      return ok_status();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return deadline_exceeded("pid " + std::to_string(pid) + " did not exit in time");
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

Status RabbitmqNode::stop() {
  if (!running()) return ok_status();
  ::kill(broker_pid_, SIGCONT);  // a paused broker cannot act on SIGTERM
  ::kill(broker_pid_, SIGTERM);
  Status stopped = wait_for_exit(broker_pid_, options_.stop_timeout);
  if (!stopped.ok()) return kill();
  ::close(stdin_write_fd_);
  stdin_write_fd_ = -1;
  return ok_status();
}

Status RabbitmqNode::kill() {
  if (!running()) return ok_status();
  ::kill(broker_pid_, SIGKILL);
  HADR_TRY(wait_for_exit(broker_pid_, options_.stop_timeout));
  ::close(stdin_write_fd_);
  stdin_write_fd_ = -1;
  return ok_status();
}

Status RabbitmqNode::pause() {
  HADR_ASSERT(running());
  if (::kill(broker_pid_, SIGSTOP) != 0) return internal_error(std::string("SIGSTOP: ") + std::strerror(errno));
  return ok_status();
}

Status RabbitmqNode::resume() {
  HADR_ASSERT(running());
  if (::kill(broker_pid_, SIGCONT) != 0) return internal_error(std::string("SIGCONT: ") + std::strerror(errno));
  return ok_status();
}

Status RabbitmqNode::restart() {
  HADR_TRY(stop());
  HADR_TRY(spawn_broker());
  return wait_until_ready();
}

std::string RabbitmqNode::log_tail() const {
  std::ifstream log(directory_ + "/log/console.log");
  std::stringstream contents;
  contents << log.rdbuf();
  const std::string text = contents.str();
  constexpr std::size_t kTailBytes = 800;
  return text.size() > kTailBytes ? text.substr(text.size() - kTailBytes) : text;
}

}  // namespace hadr::amqp
