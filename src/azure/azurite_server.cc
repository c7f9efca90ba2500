#include "azure/azurite_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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

#include "azure/azure_http.h"
#include "core/local_server.h"

#ifndef HADR_SOURCE_DIR
#error "HADR_SOURCE_DIR (the repository root) must be defined by the build"
#endif

namespace hadr::azure {

namespace {

constexpr Milliseconds kPollInterval{20};
constexpr Milliseconds kStopTimeout{10'000};
constexpr std::string_view kInstallHint = "run scripts/install-azurite (npm install of azurite@3 into .tools/azurite)";

bool is_executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }



std::vector<std::string> path_directories() {
  const char* path = std::getenv("PATH");
  std::vector<std::string> directories;
  std::stringstream stream(path != nullptr ? path : "");
  std::string directory;
  while (std::getline(stream, directory, ':')) {
    if (!directory.empty()) directories.push_back(directory);
  }
  return directories;
}

}  // namespace

Result<std::string> find_azurite_blob() {
  const char* configured = std::getenv("HADR_AZURITE_BIN");
  if (configured != nullptr && configured[0] != '\0') {
    if (is_executable(configured)) return std::string(configured);
    return failed_precondition("HADR_AZURITE_BIN is '" + std::string(configured) +
                               "', which is not an executable file; unset it or " + std::string(kInstallHint));
  }
  const std::string installed = std::string(HADR_SOURCE_DIR) + "/.tools/azurite/node_modules/.bin/azurite-blob";
  if (is_executable(installed)) return installed;
  for (const std::string& directory : path_directories()) {
    const std::string candidate = directory + "/azurite-blob";
    if (is_executable(candidate)) return candidate;
  }
  return failed_precondition("azurite-blob is not installed (looked at $HADR_AZURITE_BIN, " + installed +
                             " and PATH); " + std::string(kInstallHint));
}

AzuriteServer::AzuriteServer(AzuriteServerOptions options, std::string executable, std::string directory)
    : options_(options), executable_(std::move(executable)), directory_(std::move(directory)) {}

AzuriteServer::~AzuriteServer() {
  if (running()) (void)stop();
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

std::string AzuriteServer::endpoint() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/" + std::string(kAzuriteAccount);
}

AzureBlobOptions AzuriteServer::client_options(std::string container) const {
  AzureBlobOptions options;
  options.endpoint = endpoint();
  options.account = std::string(kAzuriteAccount);
  options.container = std::move(container);
  options.key = Secret(std::string(kAzuriteAccountKey));
  options.connect_timeout = Milliseconds(1'000);
  options.request_timeout = Milliseconds(30'000);
  options.attempts_max = 3;
  options.backoff_initial = Milliseconds(10);
  options.backoff_max = Milliseconds(100);
  return options;
}

Result<std::unique_ptr<AzuriteServer>> AzuriteServer::start(AzuriteServerOptions options) {
  HADR_ASSIGN_OR_RETURN(std::string executable, find_azurite_blob());
  HADR_ASSIGN_OR_RETURN(std::string directory, make_temporary_directory("hadr-azurite"));
  std::unique_ptr<AzuriteServer> server(new AzuriteServer(options, std::move(executable), std::move(directory)));
  Status last_failure = ok_status();
  for (int attempt = 1; attempt <= kPortAttemptsMax; ++attempt) {
    HADR_ASSIGN_OR_RETURN(server->port_, pick_free_loopback_port());
    last_failure = server->spawn();
    if (last_failure.ok()) last_failure = server->wait_until_ready();
    if (last_failure.ok()) return server;
    if (server->running()) (void)server->kill();
    // Lost the race for the port to another process: try another port. Anything else is final.
    if (server->log_tail().find("EADDRINUSE") == std::string::npos) return std::move(last_failure).take_error();
  }
  return std::move(last_failure).take_error();
}

Status AzuriteServer::spawn() {
  HADR_ASSERT(!running());
  const std::string port = std::to_string(port_);
  const std::string log_path = directory_ + "/azurite.log";
  const std::string location = directory_ + "/data";
  std::filesystem::create_directories(location);
  const char* argv[] = {executable_.c_str(), "--blobHost", "127.0.0.1", "--blobPort", port.c_str(),
                        "--location", location.c_str(), "--disableTelemetry", "--skipApiVersionCheck",
                        "--loose", "--silent", nullptr};
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

Status AzuriteServer::wait_until_ready() {
  HADR_ASSERT(running());
  HttpClient probe(Milliseconds(200), Milliseconds(1'000));
  const HttpRequest request{.method = "GET",
                            .url = endpoint() + "?comp=list",
                            .response_bytes_max = 1 << 20,
                            .what = "azurite readiness probe"};
  const auto deadline = std::chrono::steady_clock::now() + options_.ready_timeout;
  std::string last_failure = "no answer yet";
  while (std::chrono::steady_clock::now() < deadline) {
    int wait_status = 0;
    if (::waitpid(pid_, &wait_status, WNOHANG) == pid_) {
      pid_ = -1;
      return unavailable("azurite-blob exited during start-up: " + log_tail());
    }
    // Any HTTP answer (an unsigned request gets 403) means the service is listening.
    auto response = probe.perform(request);
    if (response.ok()) return ok_status();
    last_failure = response.error().detail;
    std::this_thread::sleep_for(kPollInterval);
  }
  return unavailable("azurite-blob on port " + std::to_string(port_) + " did not answer within " +
                     std::to_string(options_.ready_timeout.count()) + " ms: " + last_failure + "; log: " + log_tail());
}

Status AzuriteServer::wait_for_exit(Milliseconds timeout) {
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
      return deadline_exceeded("azurite-blob pid " + std::to_string(pid_) + " did not exit in time");
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

Status AzuriteServer::stop() {
  if (!running()) return ok_status();
  ::kill(pid_, SIGTERM);
  if (wait_for_exit(kStopTimeout).ok()) return ok_status();
  return kill();
}

Status AzuriteServer::kill() {
  if (!running()) return ok_status();
  ::kill(pid_, SIGKILL);
  return wait_for_exit(kStopTimeout);
}

std::string AzuriteServer::log_tail() const {
  std::ifstream log(directory_ + "/azurite.log");
  std::stringstream contents;
  contents << log.rdbuf();
  const std::string text = contents.str();
  constexpr std::size_t kTailBytes = 600;
  return text.size() > kTailBytes ? text.substr(text.size() - kTailBytes) : text;
}

}  // namespace hadr::azure
