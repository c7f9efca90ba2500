// Gateway: the deterministic core of the HTTP ingest gateway (docs/gateway.md). It turns one
// HttpRequest into one HttpResponse over injected interfaces — the Source (where accepted
// messages go), the IdempotencyStore, the Clock and a Sleeper for the waits between put
// attempts — and owns no sockets or threads. GatewayServer (gateway_server.h) feeds it the
// requests its strict parser framed, from its worker threads.
//
// POST /v1/messages (body = the message) is answered 2xx only once Source::put returned ok:
// acknowledged = durable. The message id is derived from the Idempotency-Key ("gw-<key>"), so
// every retry of a request — even one after a gateway crash between the put and the recording
// of the key — puts the same message id, and hadr's dedupe downstream keeps one effect.
// Order of checks (each refusal changes nothing):
//   401 + WWW-Authenticate when bearer tokens are configured and none matches (also checked by
//   the adapter as soon as the headers are in, before the body is read) · 400 bad X-Client-Id · 429 throttled (client or global bucket; Retry-After) · 503 too many
//   requests in flight (Retry-After) · 400 missing/invalid Idempotency-Key · 413 body too large
//   · 400 a body whose Content-Type says JSON is not JSON (declared_content.h)
//   · 409 the key's first request is still in progress · 422 key reused with another body ·
//   replay of the stored response with `Idempotent-Replayed: true` (no new put) · put with
//   retries (kUnavailable, kDeadlineExceeded, kAborted: bounded exponential backoff, at most
//   put_attempts_max attempts and put_retry_total_max of waiting) · 503 + Retry-After when the
//   retries ran out, 500 for any other put error — in both cases the key is NOT recorded, so a
//   client retry may succeed · 202 and the key recorded with the response for idempotency_ttl.
// GET /healthz: 200 when the source answers and the last put succeeded, else 503 (JSON).
// GET /metrics: Prometheus text. Anything else: 404, or 405 with Allow on a known path.
//
// Ownership: borrows the source, the store and the clock (they must outlive the gateway).
// Thread-safety: handle() may be called from many threads at once; one mutex guards the
// throttle, the in-flight count, the keys in progress and the metrics, and is never held
// across a put, a store call or a sleep (so one slow put delays no other request).
// Invariants: in_flight <= in_flight_max; a key is in progress in at most one request.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>

#include "contracts/source.h"
#include "core/clock.h"
#include "core/ids.h"
#include "gateway/gateway_options.h"
#include "http/http_server.h"
#include "http/http_types.h"
#include "gateway/idempotency_store.h"
#include "gateway/throttle.h"

namespace hadr {

// Put latency buckets (upper bounds, seconds) for the Prometheus histogram.
inline constexpr std::array<double, 12> kPutLatencyBucketsSeconds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                                     0.05,   0.1,   0.25,   0.5,   1,    5};

struct GatewayMetrics {
  std::map<int, std::uint64_t> responses_by_status;
  std::uint64_t throttled_by_client = 0;
  std::uint64_t throttled_globally = 0;
  std::uint64_t replayed = 0;
  std::uint64_t put_retries = 0;        // attempts after the first
  std::uint64_t put_failures = 0;       // requests whose put finally failed (503/500)
  std::uint64_t key_save_failures = 0;  // message durable and acknowledged, key not recorded
  std::uint64_t in_flight = 0;
  std::size_t tracked_clients = 0;
  // Requests and connections refused before the core's own checks (framing, limits, deadlines,
  // connection caps) or by authentication and content checks, by a reason from a closed set.
  std::map<std::string, std::uint64_t, std::less<>> rejected_by_reason;
  std::uint64_t connections_open = 0;
  std::uint64_t connections_accepted = 0;
  // Put latency (all attempts and waits of one request): count per bucket (not cumulative),
  // the last slot counts what exceeded every bound.
  std::array<std::uint64_t, kPutLatencyBucketsSeconds.size() + 1> put_latency_counts{};
  std::uint64_t put_latency_count = 0;
  double put_latency_seconds_sum = 0;

  std::uint64_t responses(int status) const;
  std::string to_prometheus() const;
};

class Gateway final : public HttpService {
 public:
  // Waits between put attempts. The adapter passes a real sleep; tests move a ManualClock.
  using Sleeper = std::function<void(Milliseconds)>;

  static constexpr std::size_t kIdempotencyKeyBytesMax = 100;
  static constexpr std::size_t kClientIdBytesMax = 64;
  static constexpr std::string_view kMessageIdPrefix = "gw-";
  static constexpr std::string_view kKeyForm =
      "1..100 characters of A-Z a-z 0-9 . _ : ~ - (a UUID is ideal), optionally in double quotes";

  Gateway(Source& source, IdempotencyStore& store, const Clock& clock, Sleeper sleeper, const GatewayOptions& options);

  HttpResponse handle(const HttpRequest& request) override;
  GatewayMetrics metrics() const;

  // The adapter's questions and reports, so that every refusal shows in /metrics:
  // the refusal for a request whose headers are in but whose body is not read yet (401 for a
  // POST without a valid token), counted like a response of handle(); nullopt to read on.
  std::optional<HttpResponse> refuse_before_body(const HttpRequest& head) override;
  // A response the adapter made itself (status) for `reason` (a fixed name; 0 = no response).
  void record_rejection(int status, std::string_view reason) override;
  void record_connections(std::size_t open, std::uint64_t accepted_total) override;

  // The key in an Idempotency-Key header value (quotes removed), or an error saying the form.
  static Result<std::string> parse_idempotency_key(const std::string* header_value);
  // The stable message id of a valid key.
  static MessageId message_id_for_key(std::string_view key);
  // The hex digest the store keeps to recognise a body.
  static std::string body_hash(std::string_view body);

 private:
  class InFlightSlot;
  struct Admission;

  HttpResponse route(const HttpRequest& request);
  std::optional<HttpResponse> check_token(const HttpRequest& request);
  HttpResponse post_message(const HttpRequest& request);
  HttpResponse accept_message(const HttpRequest& request, const std::string& key, const std::string& hash);
  HttpResponse health();
  std::optional<HttpResponse> admit(const HttpRequest& request);
  std::optional<HttpResponse> check_key_history(const std::string& key, const std::string& hash);
  Status put_with_retries(const SourceMessage& message);
  void record_put(const Status& status, Nanoseconds latency);
  void finish_key(const std::string& key);

  Source& source_;
  IdempotencyStore& store_;
  const Clock& clock_;
  const Sleeper sleeper_;
  const GatewayOptions options_;

  mutable std::mutex mutex_;
  Throttle throttle_;
  std::size_t in_flight_ = 0;
  std::unordered_set<std::string> keys_in_progress_;
  GatewayMetrics metrics_;
  bool put_path_failing_ = false;
  std::string last_put_error_;
};

}  // namespace hadr
