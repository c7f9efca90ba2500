// Proves the gateway core (Gateway::handle) with no sockets: a ScriptedSource, a real SQLite
// key store in a temporary directory, a ManualClock and a Sleeper that moves that clock.
// One test per status path of docs/gateway.md: 202 with the message id derived from the key,
// replay with Idempotent-Replayed and no new put, 422 for another body, 400 for a missing or
// invalid key or client id, 413, 409 while the key's first request is in progress, 503 at the
// in-flight bound, 429 per client and global with Retry-After rounded up, key expiry after the
// TTL, put retries then success, retries exhausted -> 503 with the key not recorded, 500 for a
// put error that is not transient, /healthz, /metrics, 404 and 405. Concurrency is made
// deterministic by running the competing request inside the first one's Source::put.
#include "gateway/gateway.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/local_server.h"
#include "gateway/tests/gateway_test_support.h"

namespace hadr::gateway_test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

HttpRequest post(std::string key, std::string body, std::string client = "client-1") {
  HttpRequest request{.method = "POST", .path = "/v1/messages", .body = std::move(body), .remote_address = "10.0.0.1"};
  if (!key.empty()) request.headers.emplace_back("Idempotency-Key", std::move(key));
  if (!client.empty()) request.headers.emplace_back("X-Client-Id", std::move(client));
  return request;
}

HttpRequest get(std::string path) { return HttpRequest{.method = "GET", .path = std::move(path)}; }

std::string header_or_empty(const HttpResponse& response, std::string_view name) {
  const std::string* value = response.header(name);
  return value == nullptr ? "" : *value;
}

// A key store that fails every save (the message is durable; the key is not recorded).
class FailingSaveStore final : public IdempotencyStore {
 public:
  Result<std::optional<IdempotencyRecord>> find(std::string_view, WallTime) override {
    return std::optional<IdempotencyRecord>();
  }
  Status save(std::string_view, const IdempotencyRecord&, WallTime) override { return unavailable("disk busy"); }
};

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = make_temporary_directory("hadr-gateway-core");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
    auto store = SqliteIdempotencyStore::open(dir_ + "/idempotency.db");
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    options_.throttle.client_rate_per_second = 0;
    options_.throttle.global_rate_per_second = 0;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Gateway& gateway() {
    if (!gateway_) {
      gateway_ = std::make_unique<Gateway>(source_, *store_, clock_, [this](Milliseconds wait) {
        sleeps_.push_back(wait);
        clock_.advance(wait);
      }, options_);
    }
    return *gateway_;
  }

  ManualClock clock_;
  ScriptedSource source_;
  std::string dir_;
  std::unique_ptr<SqliteIdempotencyStore> store_;
  GatewayOptions options_;
  std::vector<Milliseconds> sleeps_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(GatewayTest, AcceptsWith202AndPutsTheMessageIdDerivedFromTheKey) {
  const HttpResponse response = gateway().handle(post("order-17", "hello"));
  EXPECT_EQ(response.status, 202);
  EXPECT_NE(response.body.find("\"message_id\":\"gw-order-17\""), std::string::npos) << response.body;
  ASSERT_EQ(source_.stored().size(), 1u);
  EXPECT_EQ(source_.stored()[0].id.str(), "gw-order-17");
  EXPECT_EQ(source_.stored()[0].body, "hello");
  EXPECT_EQ(source_.stored()[0].enqueued_at, clock_.now_wall());
}

TEST_F(GatewayTest, SameKeyAndBodyReplaysTheOriginalResponseWithoutANewPut) {
  const HttpResponse first = gateway().handle(post("order-17", "hello"));
  const HttpResponse again = gateway().handle(post("order-17", "hello"));
  EXPECT_EQ(again.status, first.status);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(header_or_empty(again, "Idempotent-Replayed"), "true");
  EXPECT_EQ(header_or_empty(first, "Idempotent-Replayed"), "");
  EXPECT_EQ(source_.put_calls(), 1);
  EXPECT_EQ(gateway().metrics().replayed, 1u);
}

TEST_F(GatewayTest, ReplaySurvivesAGatewayRestartOnTheSameStore) {
  ASSERT_EQ(gateway().handle(post("order-17", "hello")).status, 202);
  gateway_.reset();  // a new process on the same data dir
  const HttpResponse again = gateway().handle(post("order-17", "hello"));
  EXPECT_EQ(header_or_empty(again, "Idempotent-Replayed"), "true");
  EXPECT_EQ(source_.put_calls(), 1);
}

TEST_F(GatewayTest, SameKeyWithAnotherBodyIs422AndPutsNothing) {
  ASSERT_EQ(gateway().handle(post("order-17", "hello")).status, 202);
  const HttpResponse response = gateway().handle(post("order-17", "HELLO"));
  EXPECT_EQ(response.status, 422);
  EXPECT_NE(response.body.find("different body"), std::string::npos) << response.body;
  EXPECT_EQ(source_.put_calls(), 1);
}

TEST_F(GatewayTest, MissingKeyIs400NamingTheHeaderAndTheForm) {
  const HttpResponse response = gateway().handle(post("", "hello"));
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("Idempotency-Key"), std::string::npos);
  EXPECT_NE(response.body.find("1..100 characters"), std::string::npos) << response.body;
  EXPECT_EQ(source_.put_calls(), 0);
}

TEST_F(GatewayTest, KeyWithForbiddenCharactersIs400) {
  EXPECT_EQ(gateway().handle(post("a/b", "x")).status, 400);
  EXPECT_EQ(gateway().handle(post("with space", "x")).status, 400);
  EXPECT_EQ(gateway().handle(post("\r\nX-Injected: 1", "x")).status, 400);
  EXPECT_EQ(source_.put_calls(), 0);
}

TEST_F(GatewayTest, KeyLongerThan100CharactersIs400) {
  EXPECT_EQ(gateway().handle(post(std::string(101, 'k'), "x")).status, 400);
  EXPECT_EQ(gateway().handle(post(std::string(100, 'k'), "x")).status, 202);
}

TEST_F(GatewayTest, QuotedKeyIsTheSameKeyAsUnquoted) {
  ASSERT_EQ(gateway().handle(post("\"order-17\"", "hello")).status, 202);
  EXPECT_EQ(source_.stored()[0].id.str(), "gw-order-17");
  EXPECT_EQ(header_or_empty(gateway().handle(post("order-17", "hello")), "Idempotent-Replayed"), "true");
}

TEST_F(GatewayTest, OversizedBodyIs413AndPutsNothing) {
  options_.body_bytes_max = 10;
  EXPECT_EQ(gateway().handle(post("k", std::string(11, 'x'))).status, 413);
  EXPECT_EQ(gateway().handle(post("k", std::string(10, 'x'))).status, 202);
  EXPECT_EQ(source_.put_calls(), 1);
}

TEST_F(GatewayTest, SameKeyWhileTheFirstRequestIsInProgressIs409) {
  HttpResponse concurrent;
  source_.during_next_put([&] { concurrent = gateway().handle(post("order-17", "hello")); });
  const HttpResponse first = gateway().handle(post("order-17", "hello"));
  EXPECT_EQ(first.status, 202);
  EXPECT_EQ(concurrent.status, 409);
  EXPECT_EQ(source_.stored().size(), 1u);
  // Once the first finished, the key is no longer in progress: a retry is a replay.
  EXPECT_EQ(header_or_empty(gateway().handle(post("order-17", "hello")), "Idempotent-Replayed"), "true");
}

TEST_F(GatewayTest, InFlightBoundIs503WithRetryAfter) {
  options_.in_flight_max = 1;
  HttpResponse concurrent;
  source_.during_next_put([&] { concurrent = gateway().handle(post("other-key", "x")); });
  EXPECT_EQ(gateway().handle(post("first-key", "x")).status, 202);
  EXPECT_EQ(concurrent.status, 503);
  EXPECT_EQ(header_or_empty(concurrent, "Retry-After"), "1");
  EXPECT_EQ(gateway().metrics().in_flight, 0u);
  EXPECT_EQ(gateway().handle(post("other-key", "x")).status, 202);  // the slot was released
}

TEST_F(GatewayTest, ClientOverItsRateIs429WithRetryAfterRoundedUp) {
  options_.throttle.client_rate_per_second = 0.4;  // one token every 2.5 s
  options_.throttle.client_burst = 1;
  EXPECT_EQ(gateway().handle(post("k1", "x")).status, 202);
  const HttpResponse limited = gateway().handle(post("k2", "x"));
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(header_or_empty(limited, "Retry-After"), "3");
  EXPECT_EQ(gateway().handle(post("k2", "x", "client-2")).status, 202);  // another client
  clock_.advance(milliseconds(2500));
  EXPECT_EQ(gateway().handle(post("k2", "x")).status, 202);
  EXPECT_EQ(gateway().metrics().throttled_by_client, 1u);
}

TEST_F(GatewayTest, GlobalRateIs429ForEveryClient) {
  options_.throttle.global_rate_per_second = 1;
  options_.throttle.global_burst = 2;
  EXPECT_EQ(gateway().handle(post("k1", "x", "a")).status, 202);
  EXPECT_EQ(gateway().handle(post("k2", "x", "b")).status, 202);
  const HttpResponse limited = gateway().handle(post("k3", "x", "c"));
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(header_or_empty(limited, "Retry-After"), "1");
  EXPECT_EQ(gateway().metrics().throttled_globally, 1u);
  EXPECT_EQ(source_.put_calls(), 2);
}

TEST_F(GatewayTest, WithoutClientIdTheRemoteAddressIsTheClient) {
  options_.throttle.client_rate_per_second = 1;
  options_.throttle.client_burst = 1;
  HttpRequest first = post("k1", "x", "");
  HttpRequest same_address = post("k2", "x", "");
  HttpRequest other_address = post("k3", "x", "");
  other_address.remote_address = "10.0.0.2";
  EXPECT_EQ(gateway().handle(first).status, 202);
  EXPECT_EQ(gateway().handle(same_address).status, 429);
  EXPECT_EQ(gateway().handle(other_address).status, 202);
}

TEST_F(GatewayTest, InvalidClientIdIs400) {
  const HttpResponse response = gateway().handle(post("k", "x", std::string(65, 'c')));
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("X-Client-Id"), std::string::npos);
  EXPECT_EQ(source_.put_calls(), 0);
}

TEST_F(GatewayTest, KeyExpiresAfterItsTtlAndIsAcceptedAgain) {
  options_.idempotency_ttl = std::chrono::minutes(5);
  ASSERT_EQ(gateway().handle(post("k", "x")).status, 202);
  clock_.advance(std::chrono::minutes(5) - milliseconds(1));
  EXPECT_EQ(header_or_empty(gateway().handle(post("k", "x")), "Idempotent-Replayed"), "true");
  clock_.advance(milliseconds(1));
  const HttpResponse after = gateway().handle(post("k", "other body"));
  EXPECT_EQ(after.status, 202);
  EXPECT_EQ(header_or_empty(after, "Idempotent-Replayed"), "");
  EXPECT_EQ(source_.put_calls(), 2);
}

TEST_F(GatewayTest, TransientPutFailuresAreRetriedWithBackoffThenSucceed) {
  source_.fail_next_puts(unavailable("busy"), 1);
  source_.fail_next_puts(deadline_exceeded("slow"), 1);
  source_.fail_next_puts(aborted("fenced"), 1);
  const HttpResponse response = gateway().handle(post("k", "x"));
  EXPECT_EQ(response.status, 202);
  EXPECT_EQ(source_.put_calls(), 4);
  EXPECT_EQ(sleeps_, (std::vector<Milliseconds>{milliseconds(10), milliseconds(20), milliseconds(40)}));
  EXPECT_EQ(gateway().metrics().put_retries, 3u);
}

TEST_F(GatewayTest, ExhaustedRetriesAre503AndTheKeyIsNotRecorded) {
  options_.put_attempts_max = 3;
  source_.fail_next_puts(unavailable("busy"), 3);
  const HttpResponse failed = gateway().handle(post("k", "x"));
  EXPECT_EQ(failed.status, 503);
  EXPECT_EQ(header_or_empty(failed, "Retry-After"), "1");
  EXPECT_EQ(source_.put_calls(), 3);
  EXPECT_TRUE(source_.stored().empty());
  // The client's retry is a new attempt, not a replay of the 503, and it succeeds.
  const HttpResponse retried = gateway().handle(post("k", "x"));
  EXPECT_EQ(retried.status, 202);
  EXPECT_EQ(header_or_empty(retried, "Idempotent-Replayed"), "");
  ASSERT_EQ(source_.stored().size(), 1u);
  EXPECT_EQ(source_.stored()[0].id.str(), "gw-k");
}

TEST_F(GatewayTest, RetriesStopAtTheTotalTimeBudget) {
  options_.put_attempts_max = 100;
  options_.put_backoff_initial = milliseconds(100);
  options_.put_backoff_max = milliseconds(100);
  options_.put_retry_total_max = milliseconds(250);
  source_.fail_next_puts(unavailable("busy"), 100);
  EXPECT_EQ(gateway().handle(post("k", "x")).status, 503);
  EXPECT_EQ(sleeps_.size(), 2u);  // waited 100 + 100; a third wait would pass 250 ms
  EXPECT_EQ(source_.put_calls(), 3);
}

TEST_F(GatewayTest, PermanentPutErrorIs500WithoutRetryAndKeyNotRecorded) {
  source_.fail_next_puts(data_loss("corrupt"), 1);
  const HttpResponse response = gateway().handle(post("k", "x"));
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(source_.put_calls(), 1);
  EXPECT_TRUE(sleeps_.empty());
  EXPECT_EQ(gateway().handle(post("k", "x")).status, 202);
}

TEST_F(GatewayTest, FailedKeySaveStillAcknowledgesTheDurableMessage) {
  FailingSaveStore failing;
  Gateway gateway(source_, failing, clock_, [](Milliseconds) {}, options_);
  EXPECT_EQ(gateway.handle(post("k", "x")).status, 202);
  EXPECT_EQ(gateway.metrics().key_save_failures, 1u);
  // Without the record a retry puts again — the same message id, which dedupe absorbs.
  EXPECT_EQ(gateway.handle(post("k", "x")).status, 202);
  ASSERT_EQ(source_.stored().size(), 2u);
  EXPECT_EQ(source_.stored()[0].id, source_.stored()[1].id);
}

TEST_F(GatewayTest, HealthzFollowsThePutPath) {
  EXPECT_EQ(gateway().handle(get("/healthz")).status, 200);
  options_.put_attempts_max = 1;
  gateway_.reset();
  source_.fail_next_puts(unavailable("busy"), 1);
  ASSERT_EQ(gateway().handle(post("k", "x")).status, 503);
  const HttpResponse sick = gateway().handle(get("/healthz"));
  EXPECT_EQ(sick.status, 503);
  EXPECT_NE(sick.body.find("\"status\":\"unavailable\""), std::string::npos) << sick.body;
  ASSERT_EQ(gateway().handle(post("k", "x")).status, 202);
  const HttpResponse healthy = gateway().handle(get("/healthz"));
  EXPECT_EQ(healthy.status, 200);
  EXPECT_NE(healthy.body.find("\"source_depth\":1"), std::string::npos) << healthy.body;
}

TEST_F(GatewayTest, HealthzIs503WhenTheSourceDoesNotAnswer) {
  source_.fail_depth(unavailable("source down"));
  EXPECT_EQ(gateway().handle(get("/healthz")).status, 503);
}

TEST_F(GatewayTest, MetricsCountStatusesReplaysAndPutLatency) {
  options_.throttle.client_rate_per_second = 1;
  options_.throttle.client_burst = 2;
  source_.fail_next_puts(unavailable("busy"), 1);  // one retry: 10 ms of put latency
  ASSERT_EQ(gateway().handle(post("k", "x")).status, 202);
  ASSERT_EQ(gateway().handle(post("k", "x")).status, 202);  // replay
  ASSERT_EQ(gateway().handle(post("k", "x")).status, 429);
  const HttpResponse metrics = gateway().handle(get("/metrics"));
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4");
  const std::string& text = metrics.body;
  EXPECT_NE(text.find("hadr_gateway_requests_total{status=\"202\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("hadr_gateway_requests_total{status=\"429\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("hadr_gateway_throttled_total{scope=\"client\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("hadr_gateway_replayed_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("hadr_gateway_put_retries_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("hadr_gateway_put_latency_seconds_bucket{le=\"0.005\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("hadr_gateway_put_latency_seconds_bucket{le=\"0.01\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("hadr_gateway_put_latency_seconds_count 1\n"), std::string::npos);
  EXPECT_NE(text.find("hadr_gateway_in_flight 0\n"), std::string::npos);
}

TEST_F(GatewayTest, UnknownPathIs404) { EXPECT_EQ(gateway().handle(get("/v2/messages")).status, 404); }

TEST_F(GatewayTest, WrongMethodIs405WithAllow) {
  const HttpResponse response = gateway().handle(get("/v1/messages"));
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(header_or_empty(response, "Allow"), "POST");
  HttpRequest post_health = get("/healthz");
  post_health.method = "POST";
  EXPECT_EQ(gateway().handle(post_health).status, 405);
}

TEST(GatewayOptionsTest, ValidateNamesTheFlag) {
  GatewayOptions options;
  EXPECT_TRUE(options.validate().ok());
  options.body_bytes_max = 2 * 1024 * 1024;
  EXPECT_NE(options.validate().error().detail.find("--body-max"), std::string::npos);
  options = GatewayOptions{};
  options.put_backoff_initial = milliseconds(2000);
  EXPECT_NE(options.validate().error().detail.find("--put-backoff-initial"), std::string::npos);
  options = GatewayOptions{};
  options.throttle.client_rate_per_second = -1;
  EXPECT_NE(options.validate().error().detail.find("--rate "), std::string::npos);
}

TEST(GatewayOptionsTest, ParsesListenAddresses) {
  GatewayOptions options;
  ASSERT_TRUE(parse_listen_address("0.0.0.0:9000", options).ok());
  EXPECT_EQ(options.listen_host, "0.0.0.0");
  EXPECT_EQ(options.listen_port, 9000);
  ASSERT_TRUE(parse_listen_address(":8081", options).ok());
  EXPECT_EQ(options.listen_host, "127.0.0.1");
  EXPECT_FALSE(parse_listen_address("localhost", options).ok());
  EXPECT_FALSE(parse_listen_address("localhost:http", options).ok());
  EXPECT_FALSE(parse_listen_address("localhost:70000", options).ok());
}

}  // namespace
}  // namespace hadr::gateway_test
