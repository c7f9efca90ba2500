// Proves the parts of the shared HTTP server that its users configure: parse_listen_address (the
// forms it accepts, and that every refusal names the key it was given: `--listen` or
// `http.listen`), HttpServerOptions::validate, and one round trip over a real loopback socket
// through a trivial HttpService (its answer, the server's own 400 for a malformed request, and
// the name in the access log). The framing, limits and deadlines are proven by the gateway's
// loopback and hostile tests, which run the same server.
#include "http/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

namespace hadr::http_test {
namespace {

TEST(HttpListenAddress, AcceptsHostPortForms) {
  auto v4 = parse_listen_address("--listen", "127.0.0.1:9100");
  ASSERT_TRUE(v4.ok()) << v4.error().to_string();
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 9100);
  auto v6 = parse_listen_address("--listen", "[::1]:65535");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 65535);
  auto bare = parse_listen_address("--listen", ":0");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->host, "127.0.0.1");
  EXPECT_EQ(bare->port, 0);
}

TEST(HttpListenAddress, RefusesBadTextNamingTheKey) {
  for (const char* text : {"", "localhost", "127.0.0.1", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:65536",
                           "127.0.0.1:-1", "127.0.0.1:99999999999", "::1:9100", "a b:80", "127.0.0.1:80x"}) {
    auto parsed = parse_listen_address("http.listen", text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument) << text;
    EXPECT_NE(parsed.error().detail.find("http.listen"), std::string::npos) << parsed.error().detail;
  }
}

TEST(HttpServerOptions, ValidateNamesTheBrokenBound) {
  HttpServerOptions options;
  EXPECT_TRUE(options.validate().ok());
  options.listen_port = 70000;
  options.listen_key = "http.listen";
  ASSERT_FALSE(options.validate().ok());
  EXPECT_NE(options.validate().error().detail.find("http.listen"), std::string::npos);
  options.listen_port = 0;
  options.connections_max = 0;
  EXPECT_FALSE(options.validate().ok());
}

class EchoPathService final : public HttpService {
 public:
  HttpResponse handle(const HttpRequest& request) override {
    HttpResponse response;
    response.status = request.path == "/hello" ? 200 : 404;
    response.content_type = "text/plain";
    response.body = request.method + " " + request.path + "\n";
    return response;
  }
};

// One request on a fresh connection; the whole answer (the server closes after Connection: close).
std::string exchange(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  EXPECT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  std::string answer;
  char buffer[4096];
  for (int reads = 0; reads < 1000; ++reads) {
    const ssize_t received = recv(fd, buffer, sizeof buffer, 0);
    if (received <= 0) break;
    answer.append(buffer, static_cast<std::size_t>(received));
  }
  close(fd);
  return answer;
}

TEST(HttpServerLoopback, ServesTheServiceAndRefusesMalformedRequests) {
  EchoPathService service;
  HttpServerOptions options;
  options.name = "probe";
  std::mutex log_mutex;
  std::vector<std::string> log;
  auto server = HttpServer::start(service, options, [&](std::string_view line) {
    std::lock_guard lock(log_mutex);
    log.emplace_back(line);
  });
  ASSERT_TRUE(server.ok()) << server.error().to_string();
  const int port = (*server)->port();
  ASSERT_GT(port, 0);
  EXPECT_TRUE((*server)->on_loopback());

  const std::string hello = exchange(port, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(hello.rfind("HTTP/1.1 200 ", 0), 0u) << hello;
  EXPECT_NE(hello.find("GET /hello\n"), std::string::npos) << hello;
  const std::string missing = exchange(port, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(missing.rfind("HTTP/1.1 404 ", 0), 0u) << missing;
  const std::string malformed = exchange(port, "GET /hello HTTP/1.1\nHost: x\n\n");
  EXPECT_EQ(malformed.rfind("HTTP/1.1 400 ", 0), 0u) << malformed;

  (*server)->stop();
  std::lock_guard lock(log_mutex);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].rfind("probe access ", 0), 0u) << log[0];
}

TEST(HttpServerLoopback, RefusesAPortInUseNamingTheKey) {
  EchoPathService service;
  HttpServerOptions options;
  auto first = HttpServer::start(service, options, nullptr);
  ASSERT_TRUE(first.ok());
  options.listen_port = (*first)->port();
  options.listen_key = "http.listen";
  auto second = HttpServer::start(service, options, nullptr);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().detail.find("http.listen"), std::string::npos) << second.error().detail;
}

}  // namespace
}  // namespace hadr::http_test
