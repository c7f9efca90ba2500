// Proves the http handler against a real HTTP server (cpp-httplib on a loopback port): 200 is
// done and the request carries Idempotency-Key, X-Hadr-* headers and the body; 503 then 200 is
// done after one retry; 503 forever is retry later after attempts_max; 400 is a reject with the
// body's head; 429's Retry-After sets the wait (capped by backoff_max); connection refused and
// a server slower than the timeout are retry later; credentials in the URL never appear in a
// reason; the exponential backoff doubles up to its cap.
#include "handlers/http_handler.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

#include "handlers/tests/handler_test_support.h"

namespace hadr::handlers_test {
namespace {

struct ReceivedRequest {
  std::string idempotency_key, content_type, epoch, region, lsn, body;
};

// A cpp-httplib server on a free loopback port, answering POST /sink with `respond`, which
// gets the 1-based request number.
class TestServer {
 public:
  using Responder = std::function<void(int request_number, httplib::Response&)>;

  explicit TestServer(Responder respond) : respond_(std::move(respond)) {
    server_.Post("/sink", [this](const httplib::Request& request, httplib::Response& response) {
      int number = 0;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(ReceivedRequest{request.get_header_value("Idempotency-Key"),
                                            request.get_header_value("Content-Type"),
                                            request.get_header_value("X-Hadr-Epoch"),
                                            request.get_header_value("X-Hadr-Region"),
                                            request.get_header_value("X-Hadr-Lsn"), request.body});
        number = static_cast<int>(requests_.size());
      }
      respond_(number, response);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    HADR_ASSERT(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // The server's own thread must start listening: poll with a deadline.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!server_.is_running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    HADR_ASSERT(server_.is_running());
  }
  ~TestServer() { stop(); }
  void stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::string url(std::string_view credentials = "") const {
    return "http://" + std::string(credentials) + "127.0.0.1:" + std::to_string(port_) + "/sink";
  }
  std::vector<ReceivedRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  Responder respond_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<ReceivedRequest> requests_;
};

void respond(httplib::Response& response, int status, std::string body = "") {
  response.status = status;
  response.set_content(std::move(body), "text/plain");
}

struct Fixture {
  std::vector<Milliseconds> sleeps;

  std::unique_ptr<HttpHandler> make(std::string url, std::uint32_t attempts_max = 3,
                                    Milliseconds timeout = Milliseconds(10'000)) {
    auto handler = HttpHandler::create(HttpOptions{.url = std::move(url),
                                                   .timeout = timeout,
                                                   .attempts_max = attempts_max,
                                                   .backoff_initial = Milliseconds(100),
                                                   .backoff_max = Milliseconds(5'000)},
                                       test_region("b"), [this](Milliseconds wait) { sleeps.push_back(wait); });
    HADR_ASSERT(handler.ok());
    return std::move(handler).value();
  }
};

TEST(HttpHandlerTest, OkIsDoneWithIdempotencyKeyAndHeaders) {
  TestServer server([](int, httplib::Response& response) { respond(response, 200); });
  Fixture fixture;
  const BusMessage message = test_message("m-1", std::string("bin\0ary", 7));
  const HandlerResult result = fixture.make(server.url())->handle(test_input(message));
  EXPECT_EQ(result.verdict, HandlerVerdict::kDone) << result.reason;
  const std::vector<ReceivedRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].idempotency_key, "m-1");
  EXPECT_EQ(requests[0].content_type, "application/octet-stream");
  EXPECT_EQ(requests[0].epoch, "7");
  EXPECT_EQ(requests[0].region, "b");
  EXPECT_EQ(requests[0].lsn, "42");
  EXPECT_EQ(requests[0].body, std::string("bin\0ary", 7));
}

TEST(HttpHandlerTest, ServiceUnavailableThenOkIsDoneAfterARetry) {
  TestServer server([](int number, httplib::Response& response) { respond(response, number == 1 ? 503 : 200); });
  Fixture fixture;
  const BusMessage message = test_message("m-1");
  const HandlerResult result = fixture.make(server.url())->handle(test_input(message));
  EXPECT_EQ(result.verdict, HandlerVerdict::kDone) << result.reason;
  const std::vector<ReceivedRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].idempotency_key, "m-1");  // the same key on the retry
  EXPECT_EQ(fixture.sleeps, std::vector<Milliseconds>{Milliseconds(100)});
}

TEST(HttpHandlerTest, AlwaysUnavailableIsRetryLaterAfterAttemptsMax) {
  TestServer server([](int, httplib::Response& response) { respond(response, 503); });
  Fixture fixture;
  const BusMessage message = test_message("m-1");
  const HandlerResult result = fixture.make(server.url(), 4)->handle(test_input(message));
  EXPECT_EQ(result.verdict, HandlerVerdict::kRetryLater);
  EXPECT_NE(result.reason.find("HTTP 503"), std::string::npos) << result.reason;
  EXPECT_NE(result.reason.find("attempt 4 of 4"), std::string::npos) << result.reason;
  EXPECT_EQ(server.requests().size(), 4u);
  const std::vector<Milliseconds> expected = {Milliseconds(100), Milliseconds(200), Milliseconds(400)};
  EXPECT_EQ(fixture.sleeps, expected);  // exponential
}

TEST(HttpHandlerTest, RequestTimeoutStatusIsRetried) {
  TestServer server([](int number, httplib::Response& response) { respond(response, number == 1 ? 408 : 204); });
  Fixture fixture;
  const BusMessage message = test_message("m-1");
  EXPECT_EQ(fixture.make(server.url())->handle(test_input(message)).verdict, HandlerVerdict::kDone);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(HttpHandlerTest, BadRequestIsRejectedWithTheBodyHead) {
  const std::string long_body = "invalid order: " + std::string(500, 'z');
  TestServer server([&](int, httplib::Response& response) { respond(response, 400, long_body); });
  Fixture fixture;
  const BusMessage message = test_message("m-1");
  const HandlerResult result = fixture.make(server.url())->handle(test_input(message));
  EXPECT_EQ(result.verdict, HandlerVerdict::kReject);
  EXPECT_EQ(result.reason, "HTTP 400: " + long_body.substr(0, HttpHandler::kRejectBodyBytesMax));
  EXPECT_EQ(server.requests().size(), 1u);  // never retried
}

TEST(HttpHandlerTest, TooManyRequestsHonoursRetryAfter) {
  TestServer server([](int number, httplib::Response& response) {
    respond(response, number == 1 ? 429 : 200);
    if (number == 1) response.set_header("Retry-After", "2");
  });
  Fixture fixture;
  const BusMessage message = test_message("m-1");
  EXPECT_EQ(fixture.make(server.url())->handle(test_input(message)).verdict, HandlerVerdict::kDone);
  EXPECT_EQ(fixture.sleeps, std::vector<Milliseconds>{Milliseconds(2'000)});
}

TEST(HttpHandlerTest, RetryAfterIsCappedByBackoffMax) {
  TestServer server([](int number, httplib::Response& response) {
    respond(response, number == 1 ? 429 : 200);
    if (number == 1) response.set_header("Retry-After", "3600");
  });
  Fixture fixture;
  const BusMessage message = test_message("m-1");
  EXPECT_EQ(fixture.make(server.url())->handle(test_input(message)).verdict, HandlerVerdict::kDone);
  EXPECT_EQ(fixture.sleeps, std::vector<Milliseconds>{Milliseconds(5'000)});
}

TEST(HttpHandlerTest, ConnectionRefusedIsRetryLater) {
  std::string url;
  {
    TestServer closed([](int, httplib::Response& response) { respond(response, 200); });
    url = closed.url();
  }  // the port is free again: nothing listens there
  Fixture fixture;
  const BusMessage message = test_message("m-1");
  const HandlerResult result = fixture.make(url, 2)->handle(test_input(message));
  EXPECT_EQ(result.verdict, HandlerVerdict::kRetryLater);
  EXPECT_NE(result.reason.find("failed"), std::string::npos) << result.reason;
  EXPECT_EQ(fixture.sleeps.size(), 1u);
}

TEST(HttpHandlerTest, SlowServerTimesOutAndIsRetryLater) {
  std::atomic<bool> release{false};
  TestServer server([&](int, httplib::Response& response) {
    // The server's time must pass for the client to time out; bounded so stop() returns.
    for (int waited = 0; waited < 5'000 && !release; ++waited) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    respond(response, 200);
  });
  Fixture fixture;
  const BusMessage message = test_message("m-1");
  const HandlerResult result = fixture.make(server.url(), 1, Milliseconds(200))->handle(test_input(message));
  release = true;
  EXPECT_EQ(result.verdict, HandlerVerdict::kRetryLater);
  EXPECT_NE(result.reason.find("timed out"), std::string::npos) << result.reason;
}

// Hole 7 (issue 12): the http handler called keep_alive only before each attempt, so one
// request slower than the bus lock (or a third of the claim TTL) ran with both expired and a
// second worker ran the same effect. keep_alive must run while the request is in flight.
class CountingKeepAlive final : public HandlerKeepAlive {
 public:
  void keep_alive() override { ++calls; }
  int calls = 0;
};

TEST(HttpHandlerTest, SlowRequestKeepsItsMessageAliveWhileInFlight) {
  TestServer server([&](int, httplib::Response& response) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2'500));
    respond(response, 200);
  });
  Fixture fixture;
  const BusMessage message = test_message("m-1");
  CountingKeepAlive keep_alive;
  HandlerInput input = test_input(message);
  input.keep_alive = &keep_alive;
  const HandlerResult result = fixture.make(server.url(), 1)->handle(input);
  EXPECT_EQ(result.verdict, HandlerVerdict::kDone) << result.reason;
  EXPECT_GE(keep_alive.calls, 2) << "a 2.5 s request must keep its lock and claim alive while it runs";
}

TEST(HttpHandlerTest, BackoffBetweenAttemptsKeepsItsMessageAlive) {
  TestServer server([](int number, httplib::Response& response) {
    respond(response, number == 1 ? 429 : 200);
    if (number == 1) response.set_header("Retry-After", "3");
  });
  Fixture fixture;
  const BusMessage message = test_message("m-1");
  CountingKeepAlive keep_alive;
  HandlerInput input = test_input(message);
  input.keep_alive = &keep_alive;
  EXPECT_EQ(fixture.make(server.url())->handle(input).verdict, HandlerVerdict::kDone);
  Milliseconds slept{0};
  for (const Milliseconds sleep : fixture.sleeps) slept += sleep;
  EXPECT_EQ(slept, Milliseconds(3'000));
  EXPECT_GE(keep_alive.calls, 4) << "a 3 s backoff must keep the lock and claim alive while it waits";
}

TEST(HttpHandlerTest, CredentialsNeverAppearInReasons) {
  TestServer server([](int, httplib::Response& response) { respond(response, 503); });
  Fixture fixture;
  const BusMessage message = test_message("m-1");
  const HandlerResult result = fixture.make(server.url("alice:s3cr3t-pw@"), 2)->handle(test_input(message));
  EXPECT_EQ(result.verdict, HandlerVerdict::kRetryLater);
  EXPECT_EQ(result.reason.find("s3cr3t-pw"), std::string::npos) << result.reason;
  EXPECT_NE(result.reason.find("http://***@127.0.0.1"), std::string::npos) << result.reason;
}

TEST(HttpHandlerTest, CredentialsAreRedactedFromConnectionErrors) {
  Fixture fixture;
  const BusMessage message = test_message("m-1");
  const HandlerResult result =
      fixture.make("http://bob:hunter2@127.0.0.1:1/sink", 1)->handle(test_input(message));
  EXPECT_EQ(result.verdict, HandlerVerdict::kRetryLater);
  EXPECT_EQ(result.reason.find("hunter2"), std::string::npos) << result.reason;
}

TEST(HttpHandlerTest, RedactUrlHidesOnlyTheUserinfo) {
  EXPECT_EQ(redact_url("https://u:p@host:8443/a?b=c@d"), "https://***@host:8443/a?b=c@d");
  EXPECT_EQ(redact_url("https://host/a@b"), "https://host/a@b");
  EXPECT_EQ(redact_url("http://host"), "http://host");
}

TEST(HttpHandlerTest, NonHttpUrlIsRefused) {
  auto handler = HttpHandler::create(HttpOptions{.url = "ftp://u:pw@host/x"}, test_region("b"));
  ASSERT_FALSE(handler.ok());
  EXPECT_NE(handler.error().detail.find("handler.http_url"), std::string::npos);
  EXPECT_EQ(handler.error().detail.find(":pw"), std::string::npos);
}

}  // namespace
}  // namespace hadr::handlers_test
