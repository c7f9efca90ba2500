#include "gateway/gateway_client.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "gateway/gateway.h"

namespace hadr {
namespace {

// What the posting threads share.
struct PostRun {
  const PostOptions& options;
  const std::function<bool()>& should_stop;
  HttpHandler::Sleeper sleeper;
  MonoTime started;
  std::atomic<std::uint64_t> next_index{0};
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> retried{0};
  std::atomic<std::uint64_t> failed{0};
  std::mutex failure_mutex;
  std::string first_failure;
};

void wait_for_schedule(const PostRun& run, std::uint64_t index) {
  if (run.options.rate_per_second <= 0) return;
  const auto due = run.started + std::chrono::duration_cast<Nanoseconds>(std::chrono::duration<double>(
                                     static_cast<double>(index) / run.options.rate_per_second));
  const auto now = std::chrono::steady_clock::now();
  if (due > now) std::this_thread::sleep_for(due - now);
}

Status post_from_one_connection(PostRun& run) {
  const PostOptions& options = run.options;
  HttpOptions http;
  http.url = options.url + "/v1/messages";
  http.timeout = options.timeout;
  http.attempts_max = options.attempts_max;
  http.backoff_initial = options.backoff_initial;
  http.backoff_max = options.backoff_max;
  auto counting_sleeper = [&run](Milliseconds wait) {
    run.retried.fetch_add(1);
    run.sleeper(wait);
  };
  HADR_ASSIGN_OR_RETURN(auto region, RegionId::parse("gateway-client"));
  HADR_ASSIGN_OR_RETURN(auto client, HttpHandler::create(http, region, counting_sleeper));
  const std::string body(options.body_bytes, 'x');
  for (std::uint64_t round = 0; round < options.count && !run.should_stop(); ++round) {
    const std::uint64_t index = run.next_index.fetch_add(1);
    if (index >= options.count) break;
    wait_for_schedule(run, index);
    HADR_ASSIGN_OR_RETURN(auto id, MessageId::parse(options.key_prefix + "-" +
                                                    std::to_string(options.first_number + index)));
    const BusMessage message{.id = std::move(id), .body = body};
    const HandlerResult result = client->handle(HandlerInput{.message = message});
    if (result.verdict == HandlerVerdict::kDone) {
      run.sent.fetch_add(1);
      continue;
    }
    run.failed.fetch_add(1);
    std::lock_guard lock(run.failure_mutex);
    if (run.first_failure.empty()) run.first_failure = message.id.str() + ": " + result.reason;
  }
  return ok_status();
}

}  // namespace

Status PostOptions::validate() const {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return invalid_argument("--url '" + redact_url(url) + "' must start with http:// or https:// (e.g. http://127.0.0.1:8080)");
  }
  if (count < 1 || count > kCountMax) return invalid_argument("--count must be between 1 and 100000000");
  if (first_number < 1) return invalid_argument("--first must be >= 1");
  if (body_bytes > GatewayOptions::kBodyBytesCeiling) return invalid_argument("--size must be at most 1048576 bytes");
  if (!(rate_per_second >= 0)) return invalid_argument("--rate must be >= 0 (0: as fast as possible)");
  if (connections < 1 || connections > kConnectionsMax) return invalid_argument("--connections must be between 1 and 64");
  if (attempts_max < 1 || attempts_max > 100) return invalid_argument("--attempts must be between 1 and 100");
  // The longest key is <prefix>-<20 digits>: keep it inside Gateway::kIdempotencyKeyBytesMax.
  if (key_prefix.empty() || key_prefix.size() > 64 || !Gateway::parse_idempotency_key(&key_prefix).ok()) {
    return invalid_argument("--key-prefix must be 1..64 characters of A-Z a-z 0-9 . _ : ~ -");
  }
  return ok_status();
}

Result<PostReport> post_messages(const PostOptions& options, const std::function<bool()>& should_stop,
                                 HttpHandler::Sleeper sleeper) {
  HADR_TRY(options.validate());
  if (!sleeper) sleeper = [](Milliseconds wait) { std::this_thread::sleep_for(wait); };
  PostRun run{.options = options, .should_stop = should_stop, .sleeper = sleeper,
              .started = std::chrono::steady_clock::now()};
  const std::size_t threads = static_cast<std::size_t>(std::min<std::uint64_t>(options.connections, options.count));
  std::vector<Status> outcomes(threads);
  std::vector<std::thread> posters;
  for (std::size_t index = 0; index < threads; ++index) {
    posters.emplace_back([&run, &outcomes, index] { outcomes[index] = post_from_one_connection(run); });
  }
  for (std::thread& poster : posters) poster.join();
  for (const Status& outcome : outcomes) HADR_TRY(outcome);
  PostReport report;
  report.sent = run.sent.load();
  report.retried = run.retried.load();
  report.failed = run.failed.load();
  report.first_failure = run.first_failure;
  report.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - run.started).count();
  HADR_ASSERT(report.sent + report.failed <= options.count);
  return report;
}

}  // namespace hadr
