// Proves that the gateway holds against hostile HTTP clients (RELIABILITY.md S1–S3, issue 15):
// a real GatewayServer on a loopback port in front of a ScriptedSource is driven over raw TCP
// sockets, so that the test can send what no well-behaved client library would — Content-Length
// with Transfer-Encoding, two lengths, `gzip, chunked`, a negative length, two Idempotency-Keys,
// obs-fold, bare CR, 300 KB of headers, a 100 KB header, a 20 MB body, a declared 10 GB, bodies
// that claim JSON and are not, half-sent headers and bodies, too many connections. For every
// refusal each test checks the status, that the body is the documented JSON error, whether the
// connection was closed (framing errors and limits close it; the core's refusals keep it), that
// the Source saw no put, and that /metrics counts the refusal. Authentication: a POST without a
// valid bearer token is 401 before its body is read, /healthz and /metrics stay open, and no
// access-log line ever holds the token. The slow-drip test keeps 100 connections dripping one
// header byte at a time and measures /healthz on fresh connections meanwhile (each answer within
// 100 ms), then sees every drip answered 408 at its header deadline. Deadlines in these tests are
// a few hundred milliseconds, so the whole file runs in seconds (also under ASan).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/local_server.h"
#include "gateway/gateway.h"
#include "gateway/gateway_server.h"
#include "gateway/tests/gateway_test_support.h"

namespace hadr::gateway_test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kAnswerWait{5'000};
constexpr std::string_view kToken = "test-token-0123456789abcdef";

struct RawResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;

  const std::string* header(std::string_view name) const { return find_header(headers, name); }
};

// A blocking TCP client that sends exactly the bytes it is given and reads responses by hand.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawClient() {
    if (fd_ >= 0) close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  // False when the server closed or reset the connection before everything went out (a server
  // that refuses early may do that; the answer is still readable).
  bool send_all(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t sent = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent < 0 && errno == EINTR) continue;
      if (sent <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
  }

  // Sends without blocking for longer than `wait` in all (for bodies the server may stop reading).
  void send_for(std::string_view bytes, milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    while (!bytes.empty() && Clock::now() < deadline) {
      pollfd entry{fd_, POLLOUT, 0};
      if (poll(&entry, 1, 50) <= 0) continue;
      if ((entry.revents & (POLLERR | POLLHUP)) != 0) return;
      const ssize_t sent = send(fd_, bytes.data(), std::min<std::size_t>(bytes.size(), 64 * 1024), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (sent < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (sent <= 0) return;
      bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
  }

  // One response (status line, headers, Content-Length body), or nullopt if none came in time.
  std::optional<RawResponse> read_response(milliseconds wait = kAnswerWait) {
    const auto deadline = Clock::now() + wait;
    std::size_t header_end = std::string::npos;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!receive_some(deadline)) return std::nullopt;
    }
    RawResponse response;
    const std::string head = buffer_.substr(0, header_end);
    if (head.size() < 12 || head.compare(0, 9, "HTTP/1.1 ") != 0) return std::nullopt;
    response.status = std::stoi(head.substr(9, 3));
    std::size_t line_start = head.find("\r\n");
    while (line_start != std::string::npos) {
      const std::size_t next = head.find("\r\n", line_start + 2);
      const std::string line = head.substr(line_start + 2, next == std::string::npos ? std::string::npos : next - line_start - 2);
      const std::size_t colon = line.find(':');
      if (colon != std::string::npos) response.headers.emplace_back(line.substr(0, colon), line.substr(colon + 2));
      line_start = next;
    }
    const std::string* length = response.header("Content-Length");
    const std::size_t body_bytes = length == nullptr ? 0 : std::stoul(*length);
    while (buffer_.size() < header_end + 4 + body_bytes) {
      if (!receive_some(deadline)) return std::nullopt;
    }
    response.body = buffer_.substr(header_end + 4, body_bytes);
    buffer_.erase(0, header_end + 4 + body_bytes);
    return response;
  }

  // Whether the server closed (or reset) the connection within `wait`, with nothing more sent.
  bool closed_by_server(milliseconds wait = milliseconds(3'000)) {
    if (!buffer_.empty()) return false;
    const auto deadline = Clock::now() + wait;
    while (Clock::now() < deadline) {
      pollfd entry{fd_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
      if (poll(&entry, 1, static_cast<int>(std::max<long>(left, 1))) <= 0) continue;
      char byte[4096];
      const ssize_t received = recv(fd_, byte, sizeof byte, 0);
      if (received == 0 || (received < 0 && errno == ECONNRESET)) return true;
      if (received > 0) return false;
    }
    return false;
  }

 private:
  bool receive_some(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd entry{fd_, POLLIN, 0};
    if (poll(&entry, 1, static_cast<int>(left)) <= 0) return false;
    char chunk[16 * 1024];
    const ssize_t received = recv(fd_, chunk, sizeof chunk, 0);
    if (received <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(received));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

std::string post_request(std::string_view key, std::string_view body, std::string_view extra = "") {
  return "POST /v1/messages HTTP/1.1\r\nHost: gw\r\nIdempotency-Key: " + std::string(key) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + std::string(extra) + "\r\n" + std::string(body);
}

constexpr std::string_view kHealthz = "GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n";

class GatewayHostileHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = make_temporary_directory("hadr-gateway-hostile");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
    auto store = SqliteIdempotencyStore::open(dir_ + "/idempotency.db");
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    options_.listen_port = 0;
    options_.throttle.client_rate_per_second = 0;
    options_.throttle.global_rate_per_second = 0;
    options_.server_threads = 4;
    options_.body_bytes_max = 64 * 1024;
  }
  void TearDown() override {
    if (server_) server_->stop();
    std::filesystem::remove_all(dir_);
  }

  void start() {
    gateway_ = std::make_unique<Gateway>(source_, *store_, RealClock::instance(), [](Milliseconds) {}, options_);
    auto server = GatewayServer::start(*gateway_, options_, [this](std::string_view line) {
      std::lock_guard lock(log_mutex_);
      access_log_.emplace_back(line);
    });
    ASSERT_TRUE(server.ok()) << server.error().to_string();
    server_ = std::move(*server);
  }

  std::unique_ptr<RawClient> connect() {
    auto client = std::make_unique<RawClient>(server_->port());
    EXPECT_TRUE(client->connected());
    return client;
  }

  // Sends `bytes` on a new connection and expects a JSON error with `status`, the connection
  // closed, nothing put into the source and the refusal counted under `reason` in /metrics.
  void expect_refused_and_closed(std::string_view bytes, int status, std::string_view reason) {
    auto client = connect();
    client->send_all(bytes);
    auto response = client->read_response();
    ASSERT_TRUE(response.has_value()) << "no answer to: " << bytes.substr(0, 200);
    EXPECT_EQ(response->status, status) << response->body;
    expect_json_error(*response);
    EXPECT_TRUE(client->closed_by_server()) << "the connection must be closed after " << reason;
    EXPECT_EQ(source_.put_calls(), 0) << "nothing may reach the source";
    EXPECT_EQ(gateway_->metrics().rejected_by_reason.count(std::string(reason)), 1u) << reason;
  }

  static void expect_json_error(const RawResponse& response) {
    ASSERT_NE(response.header("Content-Type"), nullptr);
    EXPECT_EQ(*response.header("Content-Type"), "application/json");
    const auto body = nlohmann::json::parse(response.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << response.body;
    ASSERT_TRUE(body.contains("error") && body["error"].is_string()) << response.body;
    EXPECT_FALSE(body["error"].get<std::string>().empty());
  }

  // The connection still serves: a /healthz on it is answered 200.
  static void expect_still_open(RawClient& client) {
    ASSERT_TRUE(client.send_all(kHealthz));
    auto health = client.read_response();
    ASSERT_TRUE(health.has_value()) << "the connection should have stayed open";
    EXPECT_EQ(health->status, 200);
  }

  std::string metrics_text() {
    auto client = connect();
    client->send_all("GET /metrics HTTP/1.1\r\nHost: gw\r\n\r\n");
    auto response = client->read_response();
    EXPECT_TRUE(response.has_value());
    return response ? response->body : std::string();
  }

  std::vector<std::string> access_log() {
    std::lock_guard lock(log_mutex_);
    return access_log_;
  }

  std::string dir_;
  ScriptedSource source_;
  std::unique_ptr<SqliteIdempotencyStore> store_;
  GatewayOptions options_;
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<GatewayServer> server_;
  std::mutex log_mutex_;
  std::vector<std::string> access_log_;
};

// --- framing (RFC 9112): refused, closed, nothing stored -------------------------------------

TEST_F(GatewayHostileHttp, ContentLengthWithTransferEncodingIsRefusedAndClosed) {
  start();
  expect_refused_and_closed(post_request("k1", "0\r\n\r\n", "Transfer-Encoding: chunked\r\n"), 400,
                            "content_length_and_transfer_encoding");
}

TEST_F(GatewayHostileHttp, TwoDifferentContentLengthsAreRefused) {
  start();
  expect_refused_and_closed(post_request("k1", "hello", "Content-Length: 6\r\n"), 400, "duplicate_content_length");
}

TEST_F(GatewayHostileHttp, GzipChunkedIsNotImplemented) {
  start();
  expect_refused_and_closed(
      "POST /v1/messages HTTP/1.1\r\nHost: gw\r\nIdempotency-Key: k1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n",
      501, "unsupported_transfer_encoding");
}

TEST_F(GatewayHostileHttp, ChunkedGzipIsRefused) {
  start();
  expect_refused_and_closed(
      "POST /v1/messages HTTP/1.1\r\nHost: gw\r\nIdempotency-Key: k1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
      "0\r\n\r\nPOST /v1/messages HTTP/1.1\r\nHost: gw\r\nIdempotency-Key: smuggled\r\nContent-Length: 1\r\n\r\nx",
      400, "invalid_transfer_encoding");
}

TEST_F(GatewayHostileHttp, NegativeContentLengthIsRefused) {
  start();
  expect_refused_and_closed(
      "POST /v1/messages HTTP/1.1\r\nHost: gw\r\nIdempotency-Key: k1\r\nContent-Length: -5\r\n\r\nhello", 400,
      "invalid_content_length");
}

TEST_F(GatewayHostileHttp, TwoIdempotencyKeysAreRefused) {
  start();
  expect_refused_and_closed(post_request("k1", "hello", "Idempotency-Key: k2\r\n"), 400, "duplicate_field");
}

TEST_F(GatewayHostileHttp, ObsFoldIsRefused) {
  start();
  expect_refused_and_closed(post_request("k1", "hello", "X-Client-Id: c1\r\n\tfolded\r\n"), 400, "obs_fold");
}

TEST_F(GatewayHostileHttp, CrlfInjectionWithABareCrIsRefused) {
  start();
  expect_refused_and_closed(post_request("k1", "hello", "X-Client-Id: c1\rIdempotency-Key: k2\r\n"), 400, "bare_cr");
}

TEST_F(GatewayHostileHttp, BareLineFeedsAreRefused) {
  start();
  expect_refused_and_closed("GET /healthz HTTP/1.1\nHost: gw\n\n", 400, "bare_lf");
}

TEST_F(GatewayHostileHttp, MissingHostIsRefused) {
  start();
  expect_refused_and_closed("GET /healthz HTTP/1.1\r\n\r\n", 400, "missing_host");
}

TEST_F(GatewayHostileHttp, NulInAHeaderIsRefused) {
  start();
  using namespace std::string_literals;
  expect_refused_and_closed(post_request("k1", "hello", "X-Client-Id: c\0"s + "1\r\n"), 400, "invalid_field");
}

// --- limits (S1): answered before buffering ----------------------------------------------------

TEST_F(GatewayHostileHttp, ThreeHundredKilobytesOfHeadersAre431) {
  start();
  std::string headers = "POST /v1/messages HTTP/1.1\r\nHost: gw\r\nIdempotency-Key: k1\r\n";
  for (int index = 0; headers.size() < 300 * 1024; ++index) {
    headers += "X-Pad-" + std::to_string(index) + ": " + std::string(1000, 'p') + "\r\n";
  }
  expect_refused_and_closed(headers + "Content-Length: 5\r\n\r\nhello", 431, "header_section_too_large");
}

TEST_F(GatewayHostileHttp, OneHundredKilobyteHeaderIs431WithAJsonBody) {
  start();
  expect_refused_and_closed(post_request("k1", "hello", "X-Big: " + std::string(100 * 1024, 'b') + "\r\n"), 431,
                            "header_section_too_large");
}

TEST_F(GatewayHostileHttp, TooManyHeaderFieldsAre431) {
  start();
  std::string fields;
  for (int index = 0; index < 200; ++index) fields += "X-" + std::to_string(index) + ": v\r\n";
  expect_refused_and_closed(post_request("k1", "hello", fields), 431, "too_many_fields");
}

TEST_F(GatewayHostileHttp, TwentyMegabyteBodyIs413BeforeTheBodyIsRead) {
  start();
  auto client = connect();
  const std::string head = "POST /v1/messages HTTP/1.1\r\nHost: gw\r\nIdempotency-Key: k1\r\nContent-Length: " +
                           std::to_string(20 * 1024 * 1024) + "\r\n\r\n";
  ASSERT_TRUE(client->send_all(head));
  client->send_for(std::string(1024 * 1024, 'x'), milliseconds(500));  // the client does not wait: it streams
  auto response = client->read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 413);
  expect_json_error(*response);
  EXPECT_TRUE(client->closed_by_server());
  EXPECT_EQ(source_.put_calls(), 0);
}

TEST_F(GatewayHostileHttp, ExpectContinueWithAnOversizedLengthGets413NotContinue) {
  start();
  auto client = connect();
  ASSERT_TRUE(client->send_all("POST /v1/messages HTTP/1.1\r\nHost: gw\r\nIdempotency-Key: k1\r\n"
                               "Expect: 100-continue\r\nContent-Length: 20971520\r\n\r\n"));
  auto response = client->read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 413) << "no 100 Continue for a body that will be refused";
  expect_json_error(*response);
  EXPECT_TRUE(client->closed_by_server());
}

TEST_F(GatewayHostileHttp, DeclaredTenGigabytesIs413AtOnce) {
  start();
  auto client = connect();
  const auto started = Clock::now();
  ASSERT_TRUE(client->send_all("POST /v1/messages HTTP/1.1\r\nHost: gw\r\nIdempotency-Key: k1\r\n"
                               "Content-Length: 10737418240\r\n\r\n"));
  auto response = client->read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 413);
  EXPECT_LT(Clock::now() - started, milliseconds(1'000)) << "answered from the declared length, not after a timeout";
  expect_json_error(*response);
  EXPECT_TRUE(client->closed_by_server());
  EXPECT_EQ(gateway_->metrics().rejected_by_reason.count("body_too_large"), 1u);
}

TEST_F(GatewayHostileHttp, ExpectContinueWithAnAcceptableBodyGetsContinueThenAccepted) {
  start();
  auto client = connect();
  ASSERT_TRUE(client->send_all("POST /v1/messages HTTP/1.1\r\nHost: gw\r\nIdempotency-Key: k1\r\n"
                               "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  auto interim = client->read_response();
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client->send_all("hello"));
  auto response = client->read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 202);
  EXPECT_EQ(source_.stored().size(), 1u);
}

TEST_F(GatewayHostileHttp, BodiesInMemoryAreBoundedAcrossConnections) {
  options_.body_bytes_max = 64 * 1024;
  options_.body_buffer_bytes_max = 100 * 1024;  // room for one full body, not two
  start();
  auto first = connect();
  ASSERT_TRUE(first->send_all("POST /v1/messages HTTP/1.1\r\nHost: gw\r\nIdempotency-Key: k1\r\n"
                              "Expect: 100-continue\r\nContent-Length: 65536\r\n\r\n"));
  auto interim = first->read_response();  // its 64 KiB are reserved once it is asked to continue
  ASSERT_TRUE(interim.has_value());
  ASSERT_EQ(interim->status, 100);
  first->send_all("partial");
  auto second = connect();
  second->send_all("POST /v1/messages HTTP/1.1\r\nHost: gw\r\nIdempotency-Key: k2\r\nContent-Length: 65536\r\n\r\n");
  auto response = second->read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 503);
  EXPECT_NE(response->header("Retry-After"), nullptr);
  expect_json_error(*response);
  EXPECT_TRUE(second->closed_by_server());
  EXPECT_EQ(source_.put_calls(), 0);
}

// --- deadlines ---------------------------------------------------------------------------------

TEST_F(GatewayHostileHttp, HeadersNotInByTheHeaderDeadlineAre408) {
  options_.header_timeout = milliseconds(300);
  start();
  auto client = connect();
  const auto started = Clock::now();
  ASSERT_TRUE(client->send_all("POST /v1/messages HTTP/1.1\r\nHost: gw\r\n"));
  // Keep sending, one byte at a time: each byte must not restart the deadline.
  for (int index = 0; index < 6; ++index) {
    std::this_thread::sleep_for(milliseconds(100));
    client->send_all("X");
  }
  auto response = client->read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 408);
  EXPECT_LT(Clock::now() - started, milliseconds(1'500));
  expect_json_error(*response);
  EXPECT_TRUE(client->closed_by_server());
  EXPECT_EQ(gateway_->metrics().rejected_by_reason.count("header_timeout"), 1u);
}

TEST_F(GatewayHostileHttp, BodyNotInByTheBodyDeadlineIs408AndNothingIsStored) {
  options_.body_timeout = milliseconds(300);
  start();
  auto client = connect();
  ASSERT_TRUE(client->send_all("POST /v1/messages HTTP/1.1\r\nHost: gw\r\nIdempotency-Key: k1\r\n"
                               "Content-Length: 100\r\n\r\nonly part of it"));
  auto response = client->read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 408);
  expect_json_error(*response);
  EXPECT_TRUE(client->closed_by_server());
  EXPECT_EQ(source_.put_calls(), 0);
}

TEST_F(GatewayHostileHttp, IdleKeepAliveConnectionIsClosed) {
  options_.idle_timeout = milliseconds(200);
  start();
  auto client = connect();
  expect_still_open(*client);
  EXPECT_TRUE(client->closed_by_server(milliseconds(2'000)));
}

// --- connection caps ---------------------------------------------------------------------------

TEST_F(GatewayHostileHttp, ConnectionsPerAddressAreCappedWith429) {
  options_.connections_per_address_max = 3;
  start();
  std::vector<std::unique_ptr<RawClient>> held;
  for (int index = 0; index < 3; ++index) {
    held.push_back(connect());
    expect_still_open(*held.back());  // accepted and served, so counted before the next connect
  }
  auto over = connect();
  auto response = over->read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 429);
  expect_json_error(*response);
  EXPECT_TRUE(over->closed_by_server());
  held.pop_back();  // one closes: room again
  const auto deadline = Clock::now() + milliseconds(2'000);
  std::optional<RawResponse> health;
  while (Clock::now() < deadline) {
    auto again = connect();
    again->send_all(kHealthz);
    health = again->read_response();
    if (health && health->status == 200) break;
  }
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200);
  EXPECT_GE(gateway_->metrics().rejected_by_reason.at("connections_per_address"), 1u);
}

TEST_F(GatewayHostileHttp, ConnectionsInAllAreCappedWith503) {
  options_.connections_max = 2;
  options_.connections_per_address_max = 2;
  start();
  auto first = connect();
  expect_still_open(*first);
  auto second = connect();
  expect_still_open(*second);
  auto over = connect();
  auto response = over->read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 503);
  ASSERT_NE(response->header("Retry-After"), nullptr);
  expect_json_error(*response);
  EXPECT_TRUE(over->closed_by_server());
}

// --- bodies that claim JSON (S2) -----------------------------------------------------------------

TEST_F(GatewayHostileHttp, MalformedJsonIs400AndTheConnectionStays) {
  start();
  auto client = connect();
  ASSERT_TRUE(client->send_all(post_request("k1", "{\"a\": ", "Content-Type: application/json\r\n")));
  auto response = client->read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 400);
  expect_json_error(*response);
  expect_still_open(*client);  // the framing was fine: only the content was refused
  EXPECT_EQ(source_.put_calls(), 0);
  EXPECT_EQ(gateway_->metrics().rejected_by_reason.at("invalid_json"), 1u);
}

TEST_F(GatewayHostileHttp, InvalidUtf8InJsonIs400) {
  start();
  auto client = connect();
  ASSERT_TRUE(client->send_all(post_request("k1", "{\"a\": \"\xff\xfe\"}", "Content-Type: application/json; charset=utf-8\r\n")));
  auto response = client->read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 400);
  expect_json_error(*response);
  EXPECT_EQ(source_.put_calls(), 0);
}

TEST_F(GatewayHostileHttp, DeeplyNestedJsonIs400) {
  start();
  auto client = connect();
  ASSERT_TRUE(client->send_all(post_request("k1", std::string(50'000, '['), "Content-Type: application/json\r\n")));
  auto response = client->read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 400);
  expect_json_error(*response);
  EXPECT_EQ(source_.put_calls(), 0);
}

TEST_F(GatewayHostileHttp, ValidJsonAndOpaqueBytesAreAccepted) {
  start();
  auto client = connect();
  ASSERT_TRUE(client->send_all(post_request("k1", "{\"a\": [1, \"\xc3\xa9\"]}", "Content-Type: application/json\r\n")));
  auto json = client->read_response();
  ASSERT_TRUE(json.has_value());
  EXPECT_EQ(json->status, 202) << json->body;
  const std::string binary("\xff\x00\x01not json", 11);
  ASSERT_TRUE(client->send_all(post_request("k2", binary, "Content-Type: application/octet-stream\r\n")));
  auto opaque = client->read_response();
  ASSERT_TRUE(opaque.has_value());
  EXPECT_EQ(opaque->status, 202) << opaque->body;
  ASSERT_EQ(source_.stored().size(), 2u);
  EXPECT_EQ(source_.stored()[1].body, binary);
}

// --- idempotency and throttling (S3) -------------------------------------------------------------

TEST_F(GatewayHostileHttp, MissingKeyIs400ReusedKeyIs422ReplayIsTheSame) {
  start();
  auto client = connect();
  ASSERT_TRUE(client->send_all("POST /v1/messages HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n\r\nhello"));
  auto missing = client->read_response();
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 400);
  expect_json_error(*missing);
  ASSERT_TRUE(client->send_all(post_request("k1", "hello")));
  auto first = client->read_response();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->status, 202);
  ASSERT_TRUE(client->send_all(post_request("k1", "other body")));
  auto reused = client->read_response();
  ASSERT_TRUE(reused.has_value());
  EXPECT_EQ(reused->status, 422);
  expect_json_error(*reused);
  ASSERT_TRUE(client->send_all(post_request("k1", "hello")));
  auto replay = client->read_response();
  ASSERT_TRUE(replay.has_value());
  EXPECT_EQ(replay->status, 202);
  ASSERT_NE(replay->header("Idempotent-Replayed"), nullptr);
  EXPECT_EQ(source_.put_calls(), 1);
}

TEST_F(GatewayHostileHttp, ConcurrentRequestWithTheSameKeyIs409) {
  start();
  std::optional<RawResponse> concurrent;
  source_.during_next_put([&] {
    RawClient second(server_->port());
    second.send_all(post_request("k1", "hello"));
    concurrent = second.read_response();
  });
  auto client = connect();
  ASSERT_TRUE(client->send_all(post_request("k1", "hello")));
  auto first = client->read_response();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->status, 202);
  ASSERT_TRUE(concurrent.has_value());
  EXPECT_EQ(concurrent->status, 409);
  expect_json_error(*concurrent);
  EXPECT_EQ(source_.put_calls(), 1);
}

TEST_F(GatewayHostileHttp, ThrottledClientGets429WithRetryAfter) {
  options_.throttle.client_rate_per_second = 0.001;
  options_.throttle.client_burst = 1;
  start();
  auto client = connect();
  ASSERT_TRUE(client->send_all(post_request("k1", "hello", "X-Client-Id: c1\r\n")));
  ASSERT_EQ(client->read_response()->status, 202);
  ASSERT_TRUE(client->send_all(post_request("k2", "hello", "X-Client-Id: c1\r\n")));
  auto throttled = client->read_response();
  ASSERT_TRUE(throttled.has_value());
  EXPECT_EQ(throttled->status, 429);
  EXPECT_NE(throttled->header("Retry-After"), nullptr);
  expect_json_error(*throttled);
  EXPECT_EQ(source_.put_calls(), 1);
}

// --- authentication ----------------------------------------------------------------------------

TEST_F(GatewayHostileHttp, PostWithoutAValidTokenIs401BeforeTheBody) {
  auto tokens = BearerTokens::from_secrets({Secret(std::string(kToken))});
  ASSERT_TRUE(tokens.ok());
  options_.tokens = *tokens;
  start();
  // No token, with Expect: refused without 100 Continue, before the body.
  expect_refused_and_closed("POST /v1/messages HTTP/1.1\r\nHost: gw\r\nIdempotency-Key: k1\r\n"
                            "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n",
                            401, "unauthorized");
  auto wrong = connect();
  wrong->send_all(post_request("k1", "hello", "Authorization: Bearer test-token-0123456789abcdeX\r\n"));
  auto refused = wrong->read_response();
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 401);
  ASSERT_NE(refused->header("WWW-Authenticate"), nullptr);
  EXPECT_TRUE(wrong->closed_by_server());
  auto right = connect();
  ASSERT_TRUE(right->send_all(post_request("k1", "hello", "Authorization: Bearer " + std::string(kToken) + "\r\n")));
  auto accepted = right->read_response();
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ(accepted->status, 202);
  expect_still_open(*right);  // /healthz needs no token
  EXPECT_EQ(source_.put_calls(), 1);
  EXPECT_NE(metrics_text().find("hadr_gateway_rejected_total{reason=\"unauthorized\"} 2"), std::string::npos);
}

TEST_F(GatewayHostileHttp, AccessLogHasOneLinePerRequestAndNoToken) {
  auto tokens = BearerTokens::from_secrets({Secret(std::string(kToken))});
  ASSERT_TRUE(tokens.ok());
  options_.tokens = *tokens;
  start();
  auto client = connect();
  ASSERT_TRUE(client->send_all(post_request("k1", "hello", "Authorization: Bearer " + std::string(kToken) + "\r\n")));
  ASSERT_TRUE(client->read_response().has_value());
  expect_still_open(*client);
  auto refused = connect();
  refused->send_all(post_request("k2", "hello", "Authorization: Bearer not-the-token-but-long-enough\r\n"));
  ASSERT_TRUE(refused->read_response().has_value());
  const std::vector<std::string> lines = access_log();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find("status=202"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("path=/healthz"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("reason=unauthorized"), std::string::npos) << lines[2];
  for (const std::string& line : lines) {
    EXPECT_EQ(line.find(kToken), std::string::npos) << line;
    EXPECT_EQ(line.find("not-the-token"), std::string::npos) << line;
  }
}

TEST(GatewayListener, NonLoopbackAddressNeedsInsecure) {
  ScriptedSource source;
  auto dir = make_temporary_directory("hadr-gateway-listener");
  ASSERT_TRUE(dir.ok());
  auto store = SqliteIdempotencyStore::open(*dir + "/idempotency.db");
  ASSERT_TRUE(store.ok());
  GatewayOptions options;
  options.listen_host = "0.0.0.0";
  options.listen_port = 0;
  Gateway gateway(source, **store, RealClock::instance(), [](Milliseconds) {}, options);
  auto refused = GatewayServer::start(gateway, options, nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(refused.error().detail.find("--insecure"), std::string::npos) << refused.error().detail;
  options.allow_insecure_listener = true;
  auto allowed = GatewayServer::start(gateway, options, nullptr);
  ASSERT_TRUE(allowed.ok()) << allowed.error().to_string();
  EXPECT_FALSE((*allowed)->on_loopback());
  (*allowed)->stop();
  std::filesystem::remove_all(*dir);
}

// --- metrics -----------------------------------------------------------------------------------

TEST_F(GatewayHostileHttp, RejectionsAreCountedInMetrics) {
  start();
  expect_refused_and_closed(post_request("k1", "0\r\n\r\n", "Transfer-Encoding: chunked\r\n"), 400,
                            "content_length_and_transfer_encoding");
  const std::string text = metrics_text();
  EXPECT_NE(text.find("hadr_gateway_rejected_total{reason=\"content_length_and_transfer_encoding\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("hadr_gateway_requests_total{status=\"400\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("hadr_gateway_connections_accepted_total"), std::string::npos) << text;
}

TEST_F(GatewayHostileHttp, PipelinedRequestsAreAnsweredInOrder) {
  start();
  auto client = connect();
  ASSERT_TRUE(client->send_all(post_request("k1", "one") + post_request("k2", "two") + std::string(kHealthz)));
  for (const int status : {202, 202, 200}) {
    auto response = client->read_response();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, status);
  }
  ASSERT_EQ(source_.stored().size(), 2u);
  EXPECT_EQ(source_.stored()[0].body, "one");
}

// --- slow drip ---------------------------------------------------------------------------------

TEST_F(GatewayHostileHttp, HealthzAnswersWithin100msWhile100ConnectionsDripHeaders) {
  options_.header_timeout = milliseconds(2'000);
  start();
  constexpr int kDrips = 100;
  std::vector<std::unique_ptr<RawClient>> drips;
  for (int index = 0; index < kDrips; ++index) drips.push_back(connect());
  const std::string request = "POST /v1/messages HTTP/1.1\r\nHost: gw\r\nIdempotency-Key: drip\r\nContent-Length: 5\r\n";
  std::atomic<bool> dripping{true};
  std::thread dripper([&] {
    // One byte per connection every 50 ms: each connection is always "almost" sending headers.
    for (std::size_t offset = 0; dripping && offset < request.size(); ++offset) {
      for (auto& drip : drips) send(drip->fd(), request.data() + offset, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      std::this_thread::sleep_for(milliseconds(50));
    }
  });
  std::vector<double> latencies_ms;
  const auto measuring_until = Clock::now() + milliseconds(1'500);
  while (Clock::now() < measuring_until) {
    const auto started = Clock::now();
    RawClient probe(server_->port());
    ASSERT_TRUE(probe.connected());
    ASSERT_TRUE(probe.send_all(kHealthz));
    auto health = probe.read_response(milliseconds(1'000));
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - started).count());
    ASSERT_TRUE(health.has_value());
    EXPECT_EQ(health->status, 200);
    std::this_thread::sleep_for(milliseconds(50));
  }
  dripping = false;
  dripper.join();
  ASSERT_GE(latencies_ms.size(), 10u);
  const double worst_ms = *std::max_element(latencies_ms.begin(), latencies_ms.end());
  EXPECT_LT(worst_ms, 100.0) << "/healthz under " << kDrips << " slow-drip connections";
  std::printf("slow drip: %zu /healthz probes under %d dripping connections, worst %.2f ms\n", latencies_ms.size(),
              kDrips, worst_ms);
  // At the header deadline every drip is answered 408 and closed.
  int answered_408 = 0;
  for (auto& drip : drips) {
    auto response = drip->read_response(milliseconds(3'000));
    if (response && response->status == 408 && drip->closed_by_server()) ++answered_408;
  }
  EXPECT_EQ(answered_408, kDrips);
  EXPECT_EQ(source_.put_calls(), 0);
  EXPECT_EQ(gateway_->metrics().rejected_by_reason.at("header_timeout"), static_cast<std::uint64_t>(kDrips));
}

}  // namespace
}  // namespace hadr::gateway_test
