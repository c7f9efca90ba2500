// Proves with the real `hadr` binary that a secret never leaves the place it is used (issue 15).
// Each canary is a random string exported under the variable a `*_env` key names:
//   - EveryEnvKeyCanaryStaysInMemory: a real-backends config names a canary through every
//     `*_env` key (redis.password_env, amqp.password_env, azure.key_env, azure.sas_env,
//     source.password_env); Redis is a real server requiring its canary, the AMQP brokers and
//     the blob endpoint are closed ports, so `hadr node` authenticates to Redis, then fails on
//     the bus and exits. `config check`, `node`, `send`, `status` and `verify` run; no canary is
//     in their output, in any file under the test's directory, or in any /proc/*/cmdline
//     while they run.
//   - TwoRegionNodesKeepCanariesFromChildrenFilesAndStatus: two embedded `hadr node` regions run
//     with every canary in their environment, an exec handler that dumps its environment per
//     message, `/usr/bin/env` as the alert command and as the alias hook; a's death makes b take
//     over (the hook runs). No canary is in a child's environment, any file (data dirs, logs,
//     the children's output), `hadr status` or /proc/*/cmdline; every file hadr created in the
//     data and store directories is 0600 or 0640. b serves `--listen` endpoints: ready as a
//     standby before a dies, ready as the lease holder after its takeover, and then its
//     /metrics, /status, /readyz and /healthz hold no canary.
//   - GatewayMetricsCarryNoCanary: `hadr gateway` with the canaries in its environment: GET
//     /metrics and /healthz hold none.
// Waits poll with deadlines; each case takes a few seconds.
#include <gtest/gtest.h>

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <curl/curl.h>

#include "config/region_config.h"
#include "redis/redis_connection.h"
#include "redis/redis_server.h"
#include "runtime/child_process.h"
#include "runtime/failover_drill.h"

namespace hadr {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::size_t kFileBytesScannedMax = 256u << 20;

// The whole file (up to kFileBytesScannedMax), read in chunks: /proc files have no size.
std::string read_all(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::string text;
  char chunk[64 * 1024];
  while (file && text.size() < kFileBytesScannedMax) {
    file.read(chunk, sizeof(chunk));
    text.append(chunk, static_cast<std::size_t>(file.gcount()));
  }
  return text;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  while (SteadyClock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

// One canary per variable, random per run so that no other process on the machine holds it.
struct Canary {
  std::string variable;
  std::string value;
};

std::vector<Canary> make_canaries() {
  std::random_device device;
  std::mt19937_64 random(device());
  // 32 hex digits: letters and digits only, so that the same token also makes a valid base64 key.
  const auto token = [&] {
    std::ostringstream out;
    out << std::hex << std::setfill('0') << std::setw(16) << random() << std::setw(16) << random();
    return out.str();
  };
  return {{"HADR_CANARY_REDIS_PASSWORD", "canary-redis-" + token()},
          {"HADR_CANARY_AMQP_PASSWORD", "canary-amqp-" + token()},
          // An account key must be base64: 44 letters and digits are.
          {"HADR_CANARY_AZURE_KEY", "Y2FuYXJ5" + token() + "Zm9v"},
          {"HADR_CANARY_AZURE_SAS", "sv=2021-08-06&sig=canary" + token()},
          {"HADR_CANARY_MQ_PASSWORD", "canary-mq-" + token()}};
}

size_t append_body(char* data, size_t size, size_t count, void* body) {
  static_cast<std::string*>(body)->append(data, size * count);
  return size * count;
}

std::string http_get(const std::string& url) {
  std::string body;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5'000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  (void)curl_easy_perform(curl);
  curl_easy_cleanup(curl);
  return body;
}

class SecretsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hadr-secrets-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    canaries_ = make_canaries();
    for (const Canary& canary : canaries_) environment_.push_back(canary.variable + "=" + canary.value);
  }
  void TearDown() override {
    children_.clear();  // SIGKILL + reap
    if (!HasFailure() && std::getenv("HADR_TEST_KEEP") == nullptr) std::filesystem::remove_all(dir_);
    else std::fprintf(stderr, "kept %s for inspection\n", dir_.c_str());
  }

  const std::string& canary(std::string_view variable) const {
    for (const Canary& canary : canaries_) {
      if (canary.variable == variable) return canary.value;
    }
    ADD_FAILURE() << "no canary " << variable;
    return canaries_.front().value;
  }

  // `hadr args...` with the canaries in its environment (as an operator exports them).
  ChildProcess& start(const std::vector<std::string>& args, const std::string& log) {
    auto child = ChildProcess::start(HADR_BINARY, args, dir_ + "/" + log, environment_);
    EXPECT_TRUE(child.ok()) << child.error().to_string();
    children_.push_back(std::move(child).value());
    return children_.back();
  }

  // Runs `hadr args...` to its end; returns its output.
  std::string run(const std::vector<std::string>& args, const std::string& log) {
    ChildProcess& child = start(args, log);
    const auto exit = watch_until_exit(child, std::chrono::seconds(30));
    EXPECT_TRUE(exit.has_value()) << args[0] << " did not finish";
    return read_all(dir_ + "/" + log);
  }

  std::optional<ChildExit> watch_until_exit(ChildProcess& child, std::chrono::milliseconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    while (SteadyClock::now() < deadline) {
      expect_no_canary_in_any_command_line();
      if (auto exit = child.wait_for(std::chrono::milliseconds(20))) return exit;
    }
    return std::nullopt;
  }

  void expect_no_canary(const std::string& text, const std::string& where) const {
    for (const Canary& canary : canaries_) {
      EXPECT_EQ(text.find(canary.value), std::string::npos) << canary.variable << "'s value is in " << where;
    }
  }

  // Every process's arguments, hadr's and its children's included.
  void expect_no_canary_in_any_command_line() const {
    DIR* proc = ::opendir("/proc");
    ASSERT_NE(proc, nullptr);
    for (dirent* entry = ::readdir(proc); entry != nullptr; entry = ::readdir(proc)) {
      const std::string name = entry->d_name;
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      expect_no_canary(read_all("/proc/" + name + "/cmdline"), "/proc/" + name + "/cmdline");
    }
    ::closedir(proc);
  }

  void expect_no_canary_in_any_file() const {
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_)) {
      if (!entry.is_regular_file()) continue;
      ++files;
      expect_no_canary(read_all(entry.path()), entry.path());
    }
    EXPECT_GT(files, 0u);
  }

  // Files hadr created under `subdirectory`: at most 0640 (no group write, nothing for others).
  void expect_private_files(const std::string& subdirectory) const {
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_ + "/" + subdirectory)) {
      if (!entry.is_regular_file()) continue;
      ++files;
      struct stat info {};
      ASSERT_EQ(::stat(entry.path().c_str(), &info), 0);
      EXPECT_EQ(info.st_mode & 0037, 0u) << entry.path() << " has mode " << std::oct << (info.st_mode & 0777);
    }
    EXPECT_GT(files, 0u) << subdirectory;
  }

  std::string dir_;
  std::vector<Canary> canaries_;
  std::vector<std::string> environment_;
  std::deque<ChildProcess> children_;  // a deque: start() hands out references that must stay valid
};

TEST_F(SecretsE2eTest, EveryEnvKeyCanaryStaysInMemory) {
  redis::RedisServerOptions redis_options;
  redis_options.password = Secret(canary("HADR_CANARY_REDIS_PASSWORD"));
  auto redis = redis::RedisServer::start(redis_options);
  ASSERT_TRUE(redis.ok()) << redis.error().to_string();
  // Ports nothing listens on: the bus, the source and the blob endpoint fail after their
  // credentials were resolved (and, for the blob store, a request signed with the key).
  const std::string closed = "127.0.0.1:9";
  const std::string sections = "[backends]\nkind = \"real\"\ndir = \"shared\"\n"
                               "[redis]\naddress = \"" + (*redis)->address() + "\"\n"
                               "password_env = \"HADR_CANARY_REDIS_PASSWORD\"\nkey_prefix = \"canary\"\n"
                               "[amqp]\nurl = \"amqp://" + closed + "\"\nuser = \"hadr\"\n"
                               "password_env = \"HADR_CANARY_AMQP_PASSWORD\"\nconnect_timeout = \"300ms\"\n"
                               "[source]\nkind = \"amqp\"\nurl = \"amqp://" + closed + "\"\nuser = \"hadr\"\n"
                               "password_env = \"HADR_CANARY_MQ_PASSWORD\"\nconnect_timeout = \"300ms\"\n";
  const std::string region = "[region]\nname = \"a\"\npeer = \"b\"\ndata_dir = \"a\"\n";
  std::ofstream(dir_ + "/key.toml") << region << sections
                                    << "[azure]\nendpoint = \"http://" + closed + "/canaryacct\"\naccount = \"canaryacct\"\n"
                                       "container = \"hadr-backup\"\nkey_env = \"HADR_CANARY_AZURE_KEY\"\n"
                                       "request_timeout = \"300ms\"\nattempts_max = 1\n";
  std::ofstream(dir_ + "/sas.toml") << region << sections
                                    << "[azure]\nendpoint = \"http://" + closed + "/canaryacct\"\naccount = \"canaryacct\"\n"
                                       "container = \"hadr-backup\"\nsas_env = \"HADR_CANARY_AZURE_SAS\"\n"
                                       "request_timeout = \"300ms\"\nattempts_max = 1\n";
  for (const std::string config : {"key", "sas"}) {
    const std::string path = dir_ + "/" + config + ".toml";
    const std::string checked = run({"config", "check", path}, config + "-check.log");
    EXPECT_NE(checked.find(": ok"), std::string::npos) << checked;
    ChildProcess& node = start({"node", "--config", path}, config + "-node.log");
    const auto exit = watch_until_exit(node, std::chrono::seconds(30));
    ASSERT_TRUE(exit.has_value()) << "hadr node kept running without its bus";
    EXPECT_FALSE(exit->exited && exit->code == 0);
    run({"send", "--config", path, "--count", "1"}, config + "-send.log");
    run({"status", "--config", path}, config + "-status.log");
    run({"verify", "--config", path}, config + "-verify.log");
  }
  // The commands did reach Redis with the canary (more connections than the fixture's own
  // readiness probe and this one), and none was refused.
  auto probe = redis::RedisConnection::open((*redis)->client_options("canary"));
  ASSERT_TRUE(probe.ok()) << probe.error().to_string();
  auto stats = (*probe)->command({"INFO", "stats"}, redis::CommandKind::kReadOnly);
  ASSERT_TRUE(stats.ok()) << stats.error().to_string();
  auto text = stats->view().expect_text("INFO stats");
  ASSERT_TRUE(text.ok());
  const std::size_t at = text->find("total_connections_received:");
  ASSERT_NE(at, std::string_view::npos);
  EXPECT_GE(std::stoi(std::string(text->substr(at + 27, 8))), 4) << *text;
  for (const std::string log : {"key-node.log", "key-status.log", "sas-node.log", "sas-status.log"}) {
    const std::string output = read_all(dir_ + "/" + log);
    EXPECT_EQ(output.find("NOAUTH"), std::string::npos) << output;
    EXPECT_EQ(output.find("WRONGPASS"), std::string::npos) << output;
  }
  expect_no_canary_in_any_file();
}

TEST_F(SecretsE2eTest, TwoRegionNodesKeepCanariesFromChildrenFilesAndStatus) {
  ASSERT_TRUE(write_demo_configs(dir_, Milliseconds(1'000)).ok());
  const std::string out = dir_ + "/children";
  std::filesystem::create_directories(out);
  for (const std::string region : {"a", "b"}) {
    std::ofstream(dir_ + "/" + region + ".toml", std::ios::app)
        << "[handler]\nkind = \"exec\"\nexec_environment = [\"HADR_CANARY_TEST_OUT\"]\n"
           "exec_command = [\"/bin/sh\", \"-c\", \"env > \\\"$HADR_CANARY_TEST_OUT/$HADR_REGION-$HADR_MESSAGE_ID.env\\\"\"]\n"
           "[alerts]\ncommand = [\"/usr/bin/env\"]\n"
           "[hook]\ncommand = [\"/usr/bin/env\"]\n";
  }
  environment_.push_back("HADR_CANARY_TEST_OUT=" + out);
  ChildProcess& a = start({"node", "--config", dir_ + "/a.toml"}, "a.log");
  // a first, so that b is the standby that takes over (and runs its hook) when a dies.
  ASSERT_TRUE(eventually([&] { return read_all(dir_ + "/a/alerts.jsonl").find("initial_completed") != std::string::npos; },
                         std::chrono::seconds(20)));
  // b serves its operator endpoints (any free port: the log names it), read before and after the takeover.
  start({"node", "--config", dir_ + "/b.toml", "--listen", "127.0.0.1:0"}, "b.log");
  run({"send", "--config", dir_ + "/a.toml", "--count", "20"}, "send.log");
  const auto effects = [&] {
    std::size_t count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(out)) count += entry.path().extension() == ".env";
    return count;
  };
  ASSERT_TRUE(eventually([&] { return effects() >= 20; }, std::chrono::seconds(30))) << effects() << " effects";
  std::string b_address;
  ASSERT_TRUE(eventually(
      [&] {
        const std::string log = read_all(dir_ + "/b.log");
        const std::size_t at = log.find("/status on http://");
        if (at == std::string::npos) return false;
        const std::size_t begin = at + std::string_view("/status on ").size();
        b_address = log.substr(begin, log.find_first_of(" \n", begin) - begin);
        return true;
      },
      std::chrono::seconds(5)))
      << read_all(dir_ + "/b.log");
  // Before the failover b is a standby whose workers are live: ready, not the holder.
  EXPECT_EQ(http_get(b_address + "/readyz").rfind("standby: can take the lease", 0), 0u);
  EXPECT_NE(http_get(b_address + "/metrics").find("\nhadr_lease_holder 0\n"), std::string::npos);
  expect_no_canary_in_any_command_line();
  a.send_signal(SIGKILL);
  ASSERT_TRUE(eventually([&] { return read_all(dir_ + "/b/hook.log").find("HADR_NEW_ACTIVE_REGION=b") != std::string::npos; },
                         std::chrono::seconds(30)))
      << "b did not run its alias hook";
  ASSERT_TRUE(eventually([&] { return !read_all(dir_ + "/b/alerts.jsonl.command.log").empty(); }, std::chrono::seconds(10)));
  expect_no_canary_in_any_command_line();
  const std::string status = run({"status", "--config", dir_ + "/b.toml"}, "status.log");
  EXPECT_NE(status.find("b"), std::string::npos) << status;
  for (const std::string path : {"/metrics", "/status", "/readyz", "/healthz"}) {
    const std::string body = http_get(b_address + path);
    EXPECT_FALSE(body.empty()) << path;
    expect_no_canary(body, "b's " + path);
  }
  EXPECT_NE(http_get(b_address + "/metrics").find("\nhadr_lease_holder 1\n"), std::string::npos);
  EXPECT_EQ(http_get(b_address + "/readyz").rfind("active: holds the lease at epoch ", 0), 0u);
  // A child sees what its config names, and the canaries not even by name.
  const std::string hook = read_all(dir_ + "/b/hook.log");
  EXPECT_EQ(hook.find("HADR_CANARY_"), std::string::npos) << hook;
  const std::string alert_output = read_all(dir_ + "/b/alerts.jsonl.command.log");
  EXPECT_NE(alert_output.find("HADR_ALERT_EVENT="), std::string::npos) << alert_output;
  EXPECT_EQ(alert_output.find("HADR_CANARY_"), std::string::npos) << alert_output;
  for (const auto& entry : std::filesystem::directory_iterator(out)) {
    const std::string environment = read_all(entry.path());
    EXPECT_NE(environment.find("HADR_MESSAGE_ID="), std::string::npos) << entry.path();
    EXPECT_EQ(environment.find("HADR_CANARY_AMQP_PASSWORD"), std::string::npos) << entry.path();
  }
  expect_no_canary_in_any_file();
  for (const std::string subdirectory : {"a", "b", "shared"}) expect_private_files(subdirectory);
}

TEST_F(SecretsE2eTest, GatewayMetricsCarryNoCanary) {
  std::ofstream(dir_ + "/region.toml") << "[region]\nname = \"a\"\ndata_dir = \"a\"\n[backends]\ndir = \"shared\"\n";
  start({"gateway", "--config", dir_ + "/region.toml", "--listen", "127.0.0.1:0"}, "gateway.log");
  std::string address;
  ASSERT_TRUE(eventually(
      [&] {
        const std::string log = read_all(dir_ + "/gateway.log");
        const std::size_t at = log.find("listening on http://");
        if (at == std::string::npos) return false;
        const std::size_t begin = at + std::string_view("listening on ").size();
        address = log.substr(begin, log.find(' ', begin) - begin);
        return true;
      },
      std::chrono::seconds(15)))
      << read_all(dir_ + "/gateway.log");
  const std::string metrics = http_get(address + "/metrics");
  EXPECT_FALSE(metrics.empty());
  expect_no_canary(metrics, "/metrics");
  expect_no_canary(http_get(address + "/healthz"), "/healthz");
  expect_no_canary_in_any_command_line();
  expect_no_canary_in_any_file();
}

}  // namespace
}  // namespace hadr
