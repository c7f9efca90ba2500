// Proves, with the real `hadr` binary on the embedded backends in a temp dir, that `hadr node
// --listen 127.0.0.1:<free port>` serves its operator endpoints while it runs:
//   - /healthz answers 200 and /readyz 200 once the (static, single-region) lease is held;
//   - /metrics is Prometheus text with hadr_lease_holder 1 and hadr_lease_epoch >= 1, and its
//     relay and worker counters grow to what `hadr send` put in (polled with a deadline);
//   - /status is one valid JSON object, the `hadr status --json` view of the region;
//   - a path it does not serve is 404, a POST 405;
//   - a bad --listen makes `hadr node` exit 2 naming the flag, before it opens anything (no
//     data dir is created);
//   - SIGTERM still drains and stops the node with exit 0 while the listener runs.
// Each request is a plain HTTP/1.1 GET over a loopback socket with Connection: close.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <thread>

#include "runtime/child_process.h"

namespace hadr {
namespace {

using Clock = std::chrono::steady_clock;

struct Answer {
  int status = 0;  // 0: no answer (nothing listens yet)
  std::string body;
};

Answer http_request(int port, const std::string& method, const std::string& path) {
  Answer answer;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return answer;
  timeval timeout{.tv_sec = 5, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return answer;
  }
  const std::string request = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return answer;
  }
  std::string raw;
  char buffer[16 * 1024];
  for (int reads = 0; reads < 10'000; ++reads) {
    const ssize_t received = recv(fd, buffer, sizeof buffer, 0);
    if (received <= 0) break;
    raw.append(buffer, static_cast<std::size_t>(received));
  }
  close(fd);
  if (!raw.starts_with("HTTP/1.1 ") || raw.size() < 12) return answer;
  answer.status = std::atoi(raw.substr(9, 3).c_str());
  const std::size_t body = raw.find("\r\n\r\n");
  if (body != std::string::npos) answer.body = raw.substr(body + 4);
  return answer;
}

// A port nothing listens on now (the kernel's choice for port 0, released at once).
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t size = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  close(fd);
  return ntohs(address.sin_port);
}

// The value of an unlabelled sample `name` in a metrics text, if present.
std::optional<double> sample(const std::string& metrics, const std::string& name) {
  const std::string prefix = "\n" + name + " ";
  const std::size_t at = ("\n" + metrics).find(prefix);
  if (at == std::string::npos) return std::nullopt;
  return std::strtod(metrics.c_str() + at + prefix.size() - 1, nullptr);
}

// Polls until `done(answer)` or `timeout`; returns the last answer.
template <typename Done>
Answer poll_until(int port, const std::string& path, std::chrono::milliseconds timeout, Done done) {
  const auto deadline = Clock::now() + timeout;
  Answer answer;
  while (Clock::now() < deadline) {
    answer = http_request(port, "GET", path);
    if (done(answer)) return answer;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return answer;
}

class NodeHttpE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hadr-http-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    config_path_ = dir_ + "/region.toml";
    std::ofstream(config_path_) << "[region]\nname = \"a\"\ndata_dir = \"data\"\n"
                                   "[backends]\ndir = \"shared\"\n"
                                   "[checkpointer]\ninterval = \"100ms\"\n"
                                   "[runtime]\nstats_interval = \"500ms\"\ndrain_timeout = \"5s\"\n";
  }
  void TearDown() override {
    if (!HasFailure()) std::system(("rm -rf " + dir_).c_str());
    else std::fprintf(stderr, "kept %s for inspection\n", dir_.c_str());
  }

  ChildProcess start_hadr(const std::vector<std::string>& args, const std::string& log) {
    auto child = ChildProcess::start(HADR_BINARY, args, log, {});
    EXPECT_TRUE(child.ok()) << child.error().to_string();
    return std::move(child).value();
  }
  std::string read_log(const std::string& path) const {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  std::string dir_;
  std::string config_path_;
};

TEST_F(NodeHttpE2eTest, NodeServesHealthReadinessMetricsAndStatus) {
  const int port = free_port();
  ChildProcess node = start_hadr({"node", "--config", config_path_, "--listen", "127.0.0.1:" + std::to_string(port)},
                                 dir_ + "/node.log");
  const Answer health = poll_until(port, "/healthz", std::chrono::seconds(10), [](const Answer& a) { return a.status != 0; });
  ASSERT_EQ(health.status, 200) << read_log(dir_ + "/node.log");
  EXPECT_EQ(health.body, "ok\n");
  const Answer ready = poll_until(port, "/readyz", std::chrono::seconds(10), [](const Answer& a) { return a.status == 200; });
  EXPECT_EQ(ready.status, 200) << ready.body;

  const Answer before = http_request(port, "GET", "/metrics");
  ASSERT_EQ(before.status, 200);
  EXPECT_NE(before.body.find("# TYPE hadr_relay_appended_records_total counter\n"), std::string::npos);
  EXPECT_EQ(sample(before.body, "hadr_lease_holder"), 1.0);
  ASSERT_TRUE(sample(before.body, "hadr_lease_epoch").has_value()) << before.body;
  EXPECT_GE(*sample(before.body, "hadr_lease_epoch"), 1.0);
  const double appended_before = sample(before.body, "hadr_relay_appended_records_total").value_or(-1);
  EXPECT_GE(appended_before, 0.0);

  ChildProcess sender = start_hadr({"send", "--config", config_path_, "--count", "200"}, dir_ + "/send.log");
  const auto sent = sender.wait_for(std::chrono::seconds(15));
  ASSERT_TRUE(sent.has_value());
  ASSERT_EQ(sent->code, 0) << read_log(dir_ + "/send.log");
  const Answer after = poll_until(port, "/metrics", std::chrono::seconds(15), [&](const Answer& a) {
    return sample(a.body, "hadr_worker_effects_total").value_or(0) >= appended_before + 200;
  });
  EXPECT_GE(sample(after.body, "hadr_relay_appended_records_total").value_or(0), appended_before + 200) << after.body;
  EXPECT_GE(sample(after.body, "hadr_relay_published_records_total").value_or(0), appended_before + 200);
  EXPECT_GE(sample(after.body, "hadr_worker_effects_total").value_or(0), appended_before + 200);

  const Answer status = http_request(port, "GET", "/status");
  ASSERT_EQ(status.status, 200) << status.body;
  const auto json = nlohmann::json::parse(status.body, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(json.is_discarded()) << status.body;
  EXPECT_TRUE(json.is_object());
  EXPECT_EQ(json.value("mode", ""), "single_region") << status.body;

  EXPECT_EQ(http_request(port, "GET", "/nothing-here").status, 404);
  EXPECT_EQ(http_request(port, "POST", "/metrics").status, 405);

  node.send_signal(SIGTERM);
  const auto stopped = node.wait_for(std::chrono::seconds(15));
  ASSERT_TRUE(stopped.has_value()) << "the node did not stop after SIGTERM";
  EXPECT_EQ(stopped->code, 0) << read_log(dir_ + "/node.log");
  EXPECT_EQ(http_request(port, "GET", "/healthz").status, 0) << "the listener outlived the node";
}

TEST_F(NodeHttpE2eTest, BadListenFlagIsRefusedBeforeAnythingOpens) {
  ChildProcess node = start_hadr({"node", "--config", config_path_, "--listen", "127.0.0.1:70000"}, dir_ + "/node.log");
  const auto status = node.wait_for(std::chrono::seconds(10));
  ASSERT_TRUE(status.has_value()) << "the node started with a bad --listen";
  EXPECT_EQ(status->code, 2);
  const std::string log = read_log(dir_ + "/node.log");
  EXPECT_NE(log.find("--listen"), std::string::npos) << log;
  struct stat info {};
  EXPECT_NE(stat((dir_ + "/data").c_str(), &info), 0) << "the data dir was created";
  EXPECT_NE(stat((dir_ + "/shared").c_str(), &info), 0) << "the stores were created";
}

}  // namespace
}  // namespace hadr
