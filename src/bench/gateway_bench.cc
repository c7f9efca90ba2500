#include "bench/gateway_bench.h"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/local_server.h"
#include "embedded/sqlite_source.h"
#include "gateway/gateway.h"
#include "gateway/gateway_client.h"
#include "gateway/gateway_server.h"

namespace hadr {
namespace {

constexpr Milliseconds kVisibilityTimeout{30'000};

Result<double> measure_gateway(const std::string& dir, const GatewayBenchOptions& options, GatewayBenchReport& report) {
  const Clock& clock = RealClock::instance();
  HADR_ASSIGN_OR_RETURN(auto source, SqliteSource::open(dir + "/gateway-source.db", "bench-gateway",
                                                        kVisibilityTimeout, clock));
  HADR_ASSIGN_OR_RETURN(auto keys, SqliteIdempotencyStore::open(dir + "/idempotency.db"));
  GatewayOptions gateway_options;
  gateway_options.listen_port = 0;
  gateway_options.throttle.client_rate_per_second = 0;
  gateway_options.throttle.global_rate_per_second = 0;
  gateway_options.in_flight_max = options.connections;
  gateway_options.server_threads = options.connections;
  Gateway gateway(*source, *keys, clock, [](Milliseconds wait) { std::this_thread::sleep_for(wait); },
                  gateway_options);
  // No access log: thousands of lines on stderr would measure the terminal, not the gateway.
  HADR_ASSIGN_OR_RETURN(auto server, GatewayServer::start(gateway, gateway_options, nullptr));
  PostOptions post;
  post.url = "http://127.0.0.1:" + std::to_string(server->port());
  post.count = options.messages;
  post.body_bytes = options.body_bytes;
  post.connections = options.connections;
  post.key_prefix = "bench";
  HADR_ASSIGN_OR_RETURN(const PostReport posted, post_messages(post, [] { return false; }));
  server->stop();
  report.retried = posted.retried;
  report.failed = posted.failed;
  if (posted.failed > 0) return internal_error("bench gateway: " + std::to_string(posted.failed) +
                                               " posts failed; first: " + posted.first_failure);
  return posted.elapsed_seconds;
}

Result<double> measure_direct(const std::string& dir, const GatewayBenchOptions& options) {
  const Clock& clock = RealClock::instance();
  HADR_ASSIGN_OR_RETURN(auto source, SqliteSource::open(dir + "/direct-source.db", "bench-direct",
                                                        kVisibilityTimeout, clock));
  const std::string body(options.body_bytes, 'x');
  const auto started = std::chrono::steady_clock::now();
  for (std::uint64_t number = 1; number <= options.messages; ++number) {
    HADR_ASSIGN_OR_RETURN(auto id, MessageId::parse("direct-" + std::to_string(number)));
    const SourceMessage message{.id = std::move(id), .enqueued_at = clock.now_wall(), .body = body};
    HADR_TRY(source->put(std::span<const SourceMessage>(&message, 1)));
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

}  // namespace

Status GatewayBenchOptions::validate() const {
  if (messages < 1 || messages > 10'000'000) return invalid_argument("--messages must be between 1 and 10000000");
  if (body_bytes > GatewayOptions::kBodyBytesCeiling) return invalid_argument("--size must be at most 1048576 bytes");
  if (connections < 1 || connections > PostOptions::kConnectionsMax) {
    return invalid_argument("--connections must be between 1 and 64");
  }
  return ok_status();
}

Result<GatewayBenchReport> run_gateway_bench(const GatewayBenchOptions& options) {
  HADR_TRY(options.validate());
  std::string dir = options.dir;
  const bool temporary = dir.empty();
  if (temporary) {
    HADR_ASSIGN_OR_RETURN(dir, make_temporary_directory("hadr-bench-gateway"));
  }
  GatewayBenchReport report{.messages = options.messages, .connections = options.connections,
                            .body_bytes = options.body_bytes};
  auto gateway_seconds = measure_gateway(dir, options, report);
  auto direct_seconds = gateway_seconds.ok() ? measure_direct(dir, options) : Result<double>(0.0);
  if (temporary) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  HADR_TRY(gateway_seconds);
  HADR_TRY(direct_seconds);
  report.gateway_seconds = *gateway_seconds;
  report.direct_seconds = *direct_seconds;
  const auto messages = static_cast<double>(options.messages);
  report.gateway_posts_per_s = report.gateway_seconds > 0 ? messages / report.gateway_seconds : 0;
  report.direct_puts_per_s = report.direct_seconds > 0 ? messages / report.direct_seconds : 0;
  report.ratio = report.direct_puts_per_s > 0 ? report.gateway_posts_per_s / report.direct_puts_per_s : 0;
  return report;
}

std::string GatewayBenchReport::to_json() const {
  return nlohmann::json{{"messages", messages},
                        {"connections", connections},
                        {"body_bytes", body_bytes},
                        {"gateway_seconds", gateway_seconds},
                        {"direct_seconds", direct_seconds},
                        {"gateway_posts_per_s", gateway_posts_per_s},
                        {"direct_puts_per_s", direct_puts_per_s},
                        {"ratio", ratio},
                        {"retried", retried},
                        {"failed", failed}}
      .dump();
}

std::string GatewayBenchReport::to_text() const {
  char text[512];
  std::snprintf(text, sizeof text,
                "gateway: %llu posts of %zu bytes over %zu connections in %.2f s = %.0f posts/s (retried %llu)\n"
                "direct:  %llu SqliteSource::put of one message in %.2f s = %.0f puts/s\n"
                "ratio:   %.3f (gateway / direct)\n",
                static_cast<unsigned long long>(messages), body_bytes, connections, gateway_seconds,
                gateway_posts_per_s, static_cast<unsigned long long>(retried), static_cast<unsigned long long>(messages),
                direct_seconds, direct_puts_per_s, ratio);
  return text;
}

}  // namespace hadr
