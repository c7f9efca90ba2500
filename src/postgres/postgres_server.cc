#include "postgres/postgres_server.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "core/assert.h"
#include "core/local_server.h"

namespace hadr::postgres {

namespace {

constexpr Milliseconds kPollInterval{10};
constexpr Milliseconds kStopTimeout{15'000};
constexpr Milliseconds kInitdbTimeout{120'000};
// The account Debian's postgresql package creates; `nobody` exists everywhere else.
constexpr const char* kRunAsCandidates[] = {"postgres", "nobody"};

bool is_executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

bool holds_server(const std::string& directory) {
  return is_executable(directory + "/initdb") && is_executable(directory + "/postgres");
}

Milliseconds elapsed_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<Milliseconds>(std::chrono::steady_clock::now() - start);
}

Status chown_to(const std::string& path, const RunAs& run_as) {
  if (run_as.name.empty()) return ok_status();
  if (::chown(path.c_str(), run_as.uid, run_as.gid) != 0) {
    return unavailable("chown " + path + " to " + run_as.name + ": " + std::strerror(errno));
  }
  return ok_status();
}

// fork + exec of argv[0] with stdout and stderr into log_path, in `directory`, as `run_as`.
// Only async-signal-safe calls between fork and exec.
Result<pid_t> spawn_child(const std::vector<std::string>& arguments, const std::string& log_path,
                          const std::string& directory, const RunAs& run_as) {
  std::vector<const char*> argv;
  for (const std::string& argument : arguments) argv.push_back(argument.c_str());
  argv.push_back(nullptr);
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0) return unavailable("cannot open " + log_path + ": " + std::strerror(errno));
  if (Status owned = chown_to(log_path, run_as); !owned.ok()) {
    ::close(log_fd);
    return std::move(owned).take_error();
  }
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(log_fd);
    return unavailable(std::string("fork(): ") + std::strerror(errno));
  }
  if (child == 0) {
    if (!run_as.name.empty()) {
      // Group first: after setuid the process may no longer change it.
      if (::setgroups(0, nullptr) != 0 || ::setgid(run_as.gid) != 0 || ::setuid(run_as.uid) != 0) ::_exit(125);
    }
    // After the uid change: a credential change clears the parent-death signal.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    // initdb and postgres resolve paths against the working directory, which the unprivileged
    // account may not be able to read (root's home).
    if (::chdir(directory.c_str()) != 0) ::_exit(124);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(argv[0], const_cast<char* const*>(argv.data()));
    ::_exit(127);
  }
  ::close(log_fd);
  return child;
}

// Waits for `pid` to exit within `timeout`; its exit status, or kDeadlineExceeded (still running).
Result<int> wait_exit_status(pid_t pid, Milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int wait_status = 0;
    const pid_t result = ::waitpid(pid, &wait_status, WNOHANG);
    if (result == pid) return wait_status;
    if (result < 0 && errno != EINTR) return internal_error(std::string("waitpid: ") + std::strerror(errno));
    if (std::chrono::steady_clock::now() >= deadline) {
      return deadline_exceeded("pid " + std::to_string(pid) + " did not exit in time");
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

std::string file_tail(const std::string& path) {
  std::ifstream file(path);
  std::stringstream contents;
  contents << file.rdbuf();
  const std::string text = contents.str();
  constexpr std::size_t kTailBytes = 800;
  return text.size() > kTailBytes ? text.substr(text.size() - kTailBytes) : text;
}

Status write_private_file(const std::string& path, const std::string& contents, const RunAs& run_as) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return unavailable("cannot write " + path + ": " + std::strerror(errno));
  const ssize_t written = ::write(fd, contents.data(), contents.size());
  ::close(fd);
  if (written != static_cast<ssize_t>(contents.size())) return unavailable("cannot write " + path);
  return chown_to(path, run_as);
}

}  // namespace

Result<std::string> find_postgres_bin_directory() {
  if (const char* configured = std::getenv("HADR_POSTGRES_BIN"); configured != nullptr && *configured != '\0') {
    if (holds_server(configured)) return std::string(configured);
    return failed_precondition(std::string("HADR_POSTGRES_BIN=") + configured + " holds no initdb and postgres");
  }
  const char* path = std::getenv("PATH");
  std::stringstream stream(path != nullptr ? path : "");
  std::string directory;
  while (std::getline(stream, directory, ':')) {
    if (!directory.empty() && holds_server(directory)) return directory;
  }
  // Debian keeps the server binaries off PATH, one directory per major version: take the newest.
  std::vector<int> majors;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", error)) {
    const std::string name = entry.path().filename().string();
    if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
        name.size() <= 4 && holds_server(entry.path().string() + "/bin")) {
      majors.push_back(std::stoi(name));
    }
  }
  if (!majors.empty()) return "/usr/lib/postgresql/" + std::to_string(*std::max_element(majors.begin(), majors.end())) + "/bin";
  return failed_precondition(
      "initdb and postgres were found neither on PATH nor under /usr/lib/postgresql/<major>/bin; install the "
      "server (apt-get install -y postgresql, or run scripts/bootstrap) or set HADR_POSTGRES_BIN");
}

Result<RunAs> postgres_run_as() {
  if (::geteuid() != 0) return RunAs{};
  for (const char* name : kRunAsCandidates) {
    const passwd* account = ::getpwnam(name);
    if (account != nullptr && account->pw_uid != 0) return RunAs{account->pw_uid, account->pw_gid, name};
  }
  return failed_precondition(
      "running as root, and PostgreSQL refuses root: no unprivileged account 'postgres' or 'nobody' to run it as");
}

PostgresServer::PostgresServer(PostgresServerOptions options, std::string bin_directory, std::string directory,
                               RunAs run_as)
    : options_(std::move(options)),
      bin_directory_(std::move(bin_directory)),
      directory_(std::move(directory)),
      run_as_(std::move(run_as)) {}

PostgresServer::~PostgresServer() {
  if (running()) (void)stop();
  if (owns_directory_) {
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }
}

std::string PostgresServer::url(std::string_view database) const {
  return "postgresql://" + std::string(kSuperuser) + "@127.0.0.1:" + std::to_string(port_) + "/" + std::string(database);
}

PgConnectionOptions PostgresServer::connection_options(std::string_view database) const {
  PgConnectionOptions options;
  options.url = url(database);
  options.password = options_.password;
  options.sslmode = "disable";
  return options;
}

Result<std::unique_ptr<PostgresServer>> PostgresServer::start(PostgresServerOptions options) {
  HADR_ASSIGN_OR_RETURN(std::string bin_directory, find_postgres_bin_directory());
  HADR_ASSIGN_OR_RETURN(RunAs run_as, postgres_run_as());
  // Absolute: the children run in it, and initdb and postgres resolve -D against it.
  std::string directory = options.directory.empty() ? std::string() : std::filesystem::absolute(options.directory).string();
  const bool owns_directory = directory.empty();
  if (owns_directory) {
    HADR_ASSIGN_OR_RETURN(directory, make_temporary_directory("hadr-postgres"));
  }
  std::unique_ptr<PostgresServer> server(
      new PostgresServer(std::move(options), std::move(bin_directory), std::move(directory), std::move(run_as)));
  server->owns_directory_ = owns_directory;
  HADR_TRY(server->prepare_directory());
  HADR_TRY(server->initialize_data());
  const auto started = std::chrono::steady_clock::now();
  Status last_failure = ok_status();
  for (int attempt = 1; attempt <= kMaxPortAttempts; ++attempt) {
    HADR_ASSIGN_OR_RETURN(server->port_, pick_free_loopback_port());
    last_failure = server->spawn();
    if (last_failure.ok()) last_failure = server->wait_until_ready();
    if (last_failure.ok()) {
      server->start_time_ = elapsed_since(started);
      return server;
    }
    if (server->running()) (void)server->kill();
    // Lost the race for the port to another process: try another port. Anything else is final.
    if (server->log_tail().find("Address already in use") == std::string::npos) {
      return std::move(last_failure).take_error();
    }
  }
  return std::move(last_failure).take_error();
}

Status PostgresServer::prepare_directory() {
  std::error_code error;
  std::filesystem::create_directories(directory_, error);
  if (error) return unavailable("cannot create " + directory_ + ": " + error.message());
  // PostgreSQL wants its directories private to the account that runs it.
  if (::chmod(directory_.c_str(), 0700) != 0) return unavailable("chmod " + directory_ + ": " + std::strerror(errno));
  return chown_to(directory_, run_as_);
}

Status PostgresServer::initialize_data() {
  const std::string data = directory_ + "/data";
  if (std::filesystem::exists(data + "/PG_VERSION")) return ok_status();  // a kept directory
  const auto started = std::chrono::steady_clock::now();
  if (!options_.template_cache.empty()) {
    // A failing cache is only slower: fall back to initdb below.
    if (copy_from_template(data).ok()) {
      initdb_time_ = elapsed_since(started);
      return ok_status();
    }
    std::error_code ignored;
    std::filesystem::remove_all(data, ignored);
  }
  HADR_TRY(run_initdb(data, directory_));
  initdb_time_ = elapsed_since(started);
  return ok_status();
}

// initdb into `data` (which must not exist; its parent `work` is writable by run_as_).
Status PostgresServer::run_initdb(const std::string& data, const std::string& work) const {
  std::vector<std::string> arguments = {bin_directory_ + "/initdb", "-D", data, "-U", kSuperuser,
                                        "--encoding=UTF8", "--locale=C", "--no-instructions", "--auth-local=trust"};
  if (!options_.durable) {
    arguments.emplace_back("--no-sync");
    // 1 MiB WAL segments instead of 16: a fresh data directory is 23 MB instead of 39, which
    // is what a test start copies from the template.
    arguments.emplace_back("--wal-segsize=1");
  }
  const std::string password_file = work + "/initdb-password";
  if (options_.password.empty()) {
    arguments.emplace_back("--auth-host=trust");
  } else {
    HADR_TRY(write_private_file(password_file, options_.password.reveal() + "\n", run_as_));
    arguments.emplace_back("--auth-host=scram-sha-256");
    arguments.emplace_back("--pwfile=" + password_file);
  }
  const std::string log_path = work + "/initdb.log";
  auto child = spawn_child(arguments, log_path, work, run_as_);
  Result<int> exit_status = child.ok() ? wait_exit_status(child.value(), kInitdbTimeout) : std::move(child).take_error();
  if (!exit_status.ok() && child.ok()) {
    ::kill(child.value(), SIGKILL);
    (void)wait_exit_status(child.value(), kStopTimeout);
  }
  std::error_code ignored;
  std::filesystem::remove(password_file, ignored);
  HADR_TRY(exit_status);
  if (!WIFEXITED(exit_status.value()) || WEXITSTATUS(exit_status.value()) != 0) {
    return unavailable("initdb failed" + (run_as_.name.empty() ? std::string() : " (as " + run_as_.name + ")") + ": " +
                       file_tail(log_path));
  }
  return ok_status();
}

// The template: "<template_cache>/<key>/data", made once by initdb into a private staging
// directory and renamed into place (a concurrent maker's rename loses harmlessly), then copied.
// The key covers what makes two data directories differ: the binaries, the password, durable.
Status PostgresServer::copy_from_template(const std::string& data) const {
  struct stat binary {};
  if (::stat((bin_directory_ + "/postgres").c_str(), &binary) != 0) return unavailable("stat postgres");
  // Bump kTemplateFormat when run_initdb's arguments change, so that old templates are not used.
  constexpr const char* kTemplateFormat = "2";
  const std::string identity = std::string(kTemplateFormat) + "|" + bin_directory_ + "|" + std::to_string(binary.st_mtime) + "|" +
                               std::to_string(binary.st_size) + "|" + options_.password.reveal() + "|" +
                               (options_.durable ? "durable" : "fast") + "|" + std::to_string(run_as_.uid);
  std::uint64_t key = 14695981039346656037ull;  // FNV-1a: a name, not a secret's protection
  for (unsigned char c : identity) key = (key ^ c) * 1099511628211ull;
  char key_text[17];
  std::snprintf(key_text, sizeof key_text, "%016llx", static_cast<unsigned long long>(key));
  const std::string cache = options_.template_cache;
  const std::string template_directory = cache + "/" + key_text;
  std::error_code error;
  if (!std::filesystem::exists(template_directory + "/data/PG_VERSION")) {
    std::filesystem::create_directories(cache, error);
    if (error || ::chmod(cache.c_str(), 0700) != 0) return unavailable("template cache " + cache);
    HADR_TRY(chown_to(cache, run_as_));
    std::string staging = template_directory + ".tmp-XXXXXX";
    if (::mkdtemp(staging.data()) == nullptr) return unavailable("template staging in " + cache);
    Status made = chown_to(staging, run_as_);
    if (made.ok()) made = run_initdb(staging + "/data", staging);
    if (made.ok() && ::rename(staging.c_str(), template_directory.c_str()) == 0) {
      staging.clear();
    }
    if (!staging.empty()) std::filesystem::remove_all(staging, error);
    HADR_TRY(made);
  }
  std::filesystem::copy(template_directory + "/data", data,
                        std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks, error);
  if (error) return unavailable("copying the template data directory: " + error.message());
  if (::chmod(data.c_str(), 0700) != 0) return unavailable("chmod " + data);
  if (!run_as_.name.empty()) {
    HADR_TRY(chown_to(data, run_as_));
    for (const auto& entry : std::filesystem::recursive_directory_iterator(data, error)) {
      if (::lchown(entry.path().c_str(), run_as_.uid, run_as_.gid) != 0) return unavailable("chown " + entry.path().string());
    }
    if (error) return unavailable("walking " + data + ": " + error.message());
  }
  return ok_status();
}

Status PostgresServer::spawn() {
  HADR_ASSERT(!running());
  std::vector<std::string> arguments = {bin_directory_ + "/postgres", "-D", directory_ + "/data",
                                        "-p", std::to_string(port_),
                                        "-c", "listen_addresses=127.0.0.1",
                                        "-c", "unix_socket_directories=",
                                        "-c", "max_connections=50",
                                        "-c", "log_min_messages=warning"};
  if (!options_.durable) {
    for (const char* setting : {"fsync=off", "synchronous_commit=off", "full_page_writes=off"}) {
      arguments.emplace_back("-c");
      arguments.emplace_back(setting);
    }
  }
  HADR_ASSIGN_OR_RETURN(pid_, spawn_child(arguments, directory_ + "/postgres.log", directory_, run_as_));
  return ok_status();
}

Status PostgresServer::wait_until_ready() {
  HADR_ASSERT(running());
  const std::string probe =
      "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=postgres user=" + kSuperuser + " connect_timeout=2";
  const auto deadline = std::chrono::steady_clock::now() + options_.ready_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int wait_status = 0;
    if (::waitpid(pid_, &wait_status, WNOHANG) == pid_) {
      pid_ = -1;
      return unavailable("postgres exited during start-up: " + log_tail());
    }
    if (PQping(probe.c_str()) == PQPING_OK) return ok_status();
    std::this_thread::sleep_for(kPollInterval);
  }
  return unavailable("postgres on port " + std::to_string(port_) + " did not accept connections within " +
                     std::to_string(options_.ready_timeout.count()) + " ms: " + log_tail());
}

Status PostgresServer::wait_for_exit(Milliseconds timeout) {
  HADR_ASSERT(running());
  auto exit_status = wait_exit_status(pid_, timeout);
  if (exit_status.ok() || exit_status.error().code != ErrorCode::kDeadlineExceeded) pid_ = -1;
  if (!exit_status.ok()) return std::move(exit_status).take_error();
  return ok_status();
}

Status PostgresServer::stop() {
  if (!running()) return ok_status();
  ::kill(pid_, SIGINT);  // fast shutdown: roll back open transactions, checkpoint, exit
  if (wait_for_exit(kStopTimeout).ok()) return ok_status();
  return kill();
}

Status PostgresServer::kill() {
  if (!running()) return ok_status();
  ::kill(pid_, SIGKILL);
  return wait_for_exit(kStopTimeout);
}

Status PostgresServer::restart() {
  HADR_TRY(stop());
  // After kill() the old backends notice their postmaster's death and exit within moments; a
  // new postmaster refuses to start while they still hold the shared memory. Bounded retries.
  constexpr int kRestartAttemptsMax = 100;
  Status last_failure = ok_status();
  for (int attempt = 1; attempt <= kRestartAttemptsMax; ++attempt) {
    HADR_TRY(spawn());
    last_failure = wait_until_ready();
    if (last_failure.ok()) return ok_status();
    if (running()) (void)kill();
    if (last_failure.error().detail.find("pre-existing shared memory block") == std::string::npos) break;
    std::this_thread::sleep_for(Milliseconds(50));
  }
  return last_failure;
}

std::string PostgresServer::log_tail() const { return file_tail(directory_ + "/postgres.log"); }

}  // namespace hadr::postgres
