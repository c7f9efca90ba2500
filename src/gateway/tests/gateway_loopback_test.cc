// Proves the gateway end to end over a real loopback socket: GatewayServer on a free port in
// front of a SqliteSource, driven by two independent client stacks — the `hadr post` client
// (post_messages on the http handler's libcurl client) and cpp-httplib's client. Every acknowledged post is a message in the source with the
// id derived from its key; a put that fails makes the gateway answer 503, the client retries
// with the same key and the source ends with exactly one message of that id; a throttled client
// that runs out of attempts reports the 429; an oversized body is refused with 413 before it
// is buffered; /healthz and /metrics answer over HTTP. The client's waits are recorded, not
// slept, so no test depends on timing.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <set>

#include "core/local_server.h"
#include "embedded/sqlite_source.h"
#include "gateway/gateway.h"
#include "gateway/gateway_client.h"
#include "gateway/gateway_server.h"
#include "gateway/tests/gateway_test_support.h"

namespace hadr::gateway_test {
namespace {

class GatewayLoopbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = make_temporary_directory("hadr-gateway-loopback");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
    auto source = SqliteSource::open(dir_ + "/source.db", "gateway", Milliseconds(30'000), RealClock::instance());
    ASSERT_TRUE(source.ok());
    source_ = std::move(*source);
    auto store = SqliteIdempotencyStore::open(dir_ + "/idempotency.db");
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    options_.throttle.client_rate_per_second = 0;
    options_.throttle.global_rate_per_second = 0;
    options_.server_threads = 4;
  }
  void TearDown() override {
    if (server_) server_->stop();
    std::filesystem::remove_all(dir_);
  }

  // Starts the gateway over `source` on a port pick_free_loopback_port() found.
  void start(Source& source) {
    auto port = pick_free_loopback_port();
    ASSERT_TRUE(port.ok());
    options_.listen_port = *port;
    gateway_ = std::make_unique<Gateway>(source, *store_, RealClock::instance(), [](Milliseconds) {}, options_);
    auto server = GatewayServer::start(*gateway_, options_);
    ASSERT_TRUE(server.ok()) << server.error().to_string();
    server_ = std::move(*server);
    ASSERT_EQ(server_->port(), *port);
  }

  PostOptions post_options(std::uint64_t count, std::string prefix) const {
    PostOptions post;
    post.url = "http://127.0.0.1:" + std::to_string(server_->port());
    post.count = count;
    post.key_prefix = std::move(prefix);
    post.body_bytes = 32;
    return post;
  }

  // Every message id in the source (received under a fresh consumer, never acked).
  std::multiset<std::string> source_ids() {
    auto consumer = SqliteSource::open(dir_ + "/source.db", "checker", Milliseconds(30'000), RealClock::instance());
    EXPECT_TRUE(consumer.ok());
    std::multiset<std::string> ids;
    auto received = (*consumer)->receive(Source::kMaxBatch);
    EXPECT_TRUE(received.ok());
    for (const SourceMessage& message : *received) ids.insert(message.id.str());
    return ids;
  }

  std::string dir_;
  std::unique_ptr<SqliteSource> source_;
  std::unique_ptr<SqliteIdempotencyStore> store_;
  GatewayOptions options_;
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<GatewayServer> server_;
  std::vector<Milliseconds> client_waits_;
};

TEST_F(GatewayLoopbackTest, EveryAcknowledgedPostIsInTheSourceUnderItsKeyDerivedId) {
  start(*source_);
  PostOptions post = post_options(20, "t");
  post.connections = 3;
  auto report = post_messages(post, [] { return false; });
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(report->sent, 20u);
  EXPECT_EQ(report->failed, 0u);
  EXPECT_EQ(report->retried, 0u);
  const auto ids = source_ids();
  ASSERT_EQ(ids.size(), 20u);
  for (int number = 1; number <= 20; ++number) EXPECT_EQ(ids.count("gw-t-" + std::to_string(number)), 1u);
}

TEST_F(GatewayLoopbackTest, RerunningTheSameKeysIsReplayedWithoutNewMessages) {
  start(*source_);
  ASSERT_TRUE(post_messages(post_options(5, "again"), [] { return false; }).ok());
  auto rerun = post_messages(post_options(5, "again"), [] { return false; });
  ASSERT_TRUE(rerun.ok());
  EXPECT_EQ(rerun->sent, 5u);
  EXPECT_EQ(source_ids().size(), 5u);
  EXPECT_EQ(gateway_->metrics().replayed, 5u);
}

TEST_F(GatewayLoopbackTest, RetryAfter503YieldsOneMessageIdInTheSource) {
  options_.put_attempts_max = 1;  // every failed put is a 503 to the client
  FlakySource flaky(*source_, 2);
  start(flaky);
  auto report = post_messages(post_options(1, "once"), [] { return false; },
                              [this](Milliseconds wait) { client_waits_.push_back(wait); });
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(report->sent, 1u);
  EXPECT_EQ(report->retried, 2u);
  EXPECT_EQ(report->failed, 0u);
  // The gateway's Retry-After (1 s) is honoured: each wait is at least that long.
  ASSERT_EQ(client_waits_.size(), 2u);
  for (const Milliseconds wait : client_waits_) EXPECT_GE(wait, std::chrono::seconds(1));
  EXPECT_EQ(source_ids(), std::multiset<std::string>{"gw-once-1"});
  EXPECT_EQ(gateway_->metrics().responses(503), 2u);
}

TEST_F(GatewayLoopbackTest, ThrottledClientOutOfAttemptsReportsThe429) {
  options_.throttle.client_rate_per_second = 0.001;  // one token, then none within the test
  options_.throttle.client_burst = 1;
  start(*source_);
  PostOptions post = post_options(2, "slow");
  post.attempts_max = 2;
  auto report = post_messages(post, [] { return false; }, [](Milliseconds) {});
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->sent, 1u);
  EXPECT_EQ(report->failed, 1u);
  EXPECT_NE(report->first_failure.find("429"), std::string::npos) << report->first_failure;
  EXPECT_EQ(source_ids().size(), 1u);
}

TEST_F(GatewayLoopbackTest, OversizedBodyIs413OverTheSocketAndStoresNothing) {
  options_.body_bytes_max = 1000;
  start(*source_);
  httplib::Client client("127.0.0.1", server_->port());
  const httplib::Headers headers{{"Idempotency-Key", "big"}};
  auto response = client.Post("/v1/messages", headers, std::string(1001, 'x'), "application/octet-stream");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_TRUE(source_ids().empty());
}

TEST_F(GatewayLoopbackTest, HealthzAndMetricsAnswerOverHttp) {
  start(*source_);
  httplib::Client client("127.0.0.1", server_->port());
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_NE(health->body.find("\"status\":\"ok\""), std::string::npos);
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("hadr_gateway_requests_total{status=\"200\"} 1"), std::string::npos) << metrics->body;
}

}  // namespace
}  // namespace hadr::gateway_test
