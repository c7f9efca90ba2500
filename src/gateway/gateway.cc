#include "gateway/gateway.h"

#include "gateway/declared_content.h"

#include <xxhash.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <span>

namespace hadr {
namespace {

constexpr std::string_view kMessagesPath = "/v1/messages";

std::string to_json(const nlohmann::json& value) {
  // Bytes that are not UTF-8 are replaced instead of throwing: bodies echo no client input,
  // but an error detail from a store might carry a file name in any encoding.
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

HttpResponse json_response(int status, const nlohmann::json& body) {
  HttpResponse response;
  response.status = status;
  response.body = to_json(body);
  return response;
}

// Whole seconds, rounded up, at least 1: a client that waits Retry-After finds room.
std::string retry_after_seconds(Nanoseconds wait) {
  const auto seconds = std::max<std::int64_t>(1, (wait.count() + 999'999'999) / 1'000'000'000);
  return std::to_string(seconds);
}

HttpResponse with_retry_after(HttpResponse response, Nanoseconds wait) {
  response.headers.emplace_back("Retry-After", retry_after_seconds(wait));
  return response;
}

bool is_key_character(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == ':' || c == '~' || c == '-';
}

bool is_client_id_valid(std::string_view client) {
  if (client.empty() || client.size() > Gateway::kClientIdBytesMax) return false;
  return std::all_of(client.begin(), client.end(), is_key_character);
}

bool is_retryable(ErrorCode code) {
  return code == ErrorCode::kUnavailable || code == ErrorCode::kDeadlineExceeded || code == ErrorCode::kAborted;
}

}  // namespace

// Counts a request against in_flight_max for as long as it lives.
class Gateway::InFlightSlot {
 public:
  InFlightSlot(std::mutex& mutex, std::size_t& in_flight) : mutex_(mutex), in_flight_(in_flight) {}
  InFlightSlot(const InFlightSlot&) = delete;
  InFlightSlot& operator=(const InFlightSlot&) = delete;
  ~InFlightSlot() {
    std::lock_guard lock(mutex_);
    HADR_ASSERT(in_flight_ >= 1);
    --in_flight_;
  }

 private:
  std::mutex& mutex_;
  std::size_t& in_flight_;
};

Gateway::Gateway(Source& source, IdempotencyStore& store, const Clock& clock, Sleeper sleeper,
                 const GatewayOptions& options)
    : source_(source),
      store_(store),
      clock_(clock),
      sleeper_(std::move(sleeper)),
      options_(options),
      throttle_(options.throttle, clock.now_monotonic()) {
  HADR_ASSERT(options_.validate().ok());
  HADR_ASSERT(sleeper_ != nullptr);
}

Result<std::string> Gateway::parse_idempotency_key(const std::string* header_value) {
  const std::string help = std::string("header Idempotency-Key is required: ") + std::string(kKeyForm);
  if (header_value == nullptr) return invalid_argument(help);
  std::string_view key = *header_value;
  // The IETF draft sends the key as a structured-field string: "…".
  if (key.size() >= 2 && key.front() == '"' && key.back() == '"') key = key.substr(1, key.size() - 2);
  if (key.empty() || key.size() > kIdempotencyKeyBytesMax ||
      !std::all_of(key.begin(), key.end(), is_key_character)) {
    return invalid_argument("header Idempotency-Key is invalid: use " + std::string(kKeyForm));
  }
  return std::string(key);
}

MessageId Gateway::message_id_for_key(std::string_view key) {
  HADR_ASSERT(!key.empty() && key.size() <= kIdempotencyKeyBytesMax);
  auto id = MessageId::parse(std::string(kMessageIdPrefix) + std::string(key));
  HADR_ASSERT_MSG(id.ok(), "a valid key makes a valid message id");
  return std::move(id).value();
}

std::string Gateway::body_hash(std::string_view body) {
  const XXH128_hash_t hash = XXH3_128bits(body.data(), body.size());
  char text[33];
  std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(hash.high64),
                static_cast<unsigned long long>(hash.low64));
  return text;
}

HttpResponse Gateway::handle(const HttpRequest& request) {
  HttpResponse response = route(request);
  HADR_ASSERT(response.status >= 200 && response.status <= 599);
  std::lock_guard lock(mutex_);
  ++metrics_.responses_by_status[response.status];
  return response;
}

HttpResponse Gateway::route(const HttpRequest& request) {
  auto only = [&](std::string_view method) -> std::optional<HttpResponse> {
    if (request.method == method) return std::nullopt;
    HttpResponse response = error_response(405, "method " + request.method + " is not allowed on " + request.path +
                                                    "; use " + std::string(method));
    response.headers.emplace_back("Allow", std::string(method));
    return response;
  };
  if (request.path == kMessagesPath) {
    if (auto refused = only("POST")) return *refused;
    if (auto refused = check_token(request)) return *refused;
    return post_message(request);
  }
  if (request.path == "/healthz") {
    if (auto refused = only("GET")) return *refused;
    return health();
  }
  if (request.path == "/metrics") {
    if (auto refused = only("GET")) return *refused;
    HttpResponse response;
    response.status = 200;
    response.content_type = "text/plain; version=0.0.4";
    response.body = metrics().to_prometheus();
    return response;
  }
  return error_response(404, "no such path; POST /v1/messages, GET /healthz or GET /metrics");
}

// 401 unless authentication is off or the request carries one of the tokens.
std::optional<HttpResponse> Gateway::check_token(const HttpRequest& request) {
  if (!options_.tokens.enabled() || options_.tokens.accepts(request.header("Authorization"))) return std::nullopt;
  HttpResponse refused = error_response(401, "missing or invalid bearer token: send Authorization: Bearer <token>");
  refused.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"hadr-gateway\"");
  std::lock_guard lock(mutex_);
  ++metrics_.rejected_by_reason["unauthorized"];
  return refused;
}

std::optional<HttpResponse> Gateway::refuse_before_body(const HttpRequest& head) {
  if (head.path != kMessagesPath || head.method != "POST") return std::nullopt;
  auto refused = check_token(head);
  if (refused) {
    std::lock_guard lock(mutex_);
    ++metrics_.responses_by_status[refused->status];
  }
  return refused;
}

void Gateway::record_rejection(int status, std::string_view reason) {
  HADR_ASSERT(status == 0 || (status >= 400 && status <= 599));
  HADR_ASSERT(!reason.empty());
  std::lock_guard lock(mutex_);
  if (status != 0) ++metrics_.responses_by_status[status];
  auto found = metrics_.rejected_by_reason.find(reason);
  if (found == metrics_.rejected_by_reason.end()) found = metrics_.rejected_by_reason.emplace(std::string(reason), 0).first;
  ++found->second;
}

void Gateway::record_connections(std::size_t open, std::uint64_t accepted_total) {
  std::lock_guard lock(mutex_);
  metrics_.connections_open = open;
  metrics_.connections_accepted = accepted_total;
}

// Client identity, throttle and the in-flight bound. Returns the refusal, or nullopt after
// taking an in-flight slot (released by the caller's InFlightSlot).
std::optional<HttpResponse> Gateway::admit(const HttpRequest& request) {
  const std::string* client_header = request.header("X-Client-Id");
  if (client_header != nullptr && !is_client_id_valid(*client_header)) {
    return error_response(400, "header X-Client-Id is invalid: use 1..64 characters of A-Z a-z 0-9 . _ : ~ -");
  }
  const std::string client = client_header != nullptr ? "id:" + *client_header : "ip:" + request.remote_address;
  std::lock_guard lock(mutex_);
  const Throttle::Decision decision = throttle_.admit(client, clock_.now_monotonic());
  metrics_.tracked_clients = throttle_.tracked_clients();
  if (decision.verdict == Throttle::Verdict::kClientLimited) {
    ++metrics_.throttled_by_client;
    return with_retry_after(error_response(429, "rate limit of this client exceeded; retry after Retry-After seconds"),
                            decision.retry_after);
  }
  if (decision.verdict == Throttle::Verdict::kGlobalLimited) {
    ++metrics_.throttled_globally;
    return with_retry_after(error_response(429, "gateway rate limit exceeded; retry after Retry-After seconds"),
                            decision.retry_after);
  }
  if (in_flight_ >= options_.in_flight_max) {
    return with_retry_after(error_response(503, "too many requests in flight; retry after Retry-After seconds"),
                            std::chrono::seconds(1));
  }
  ++in_flight_;
  HADR_ASSERT(in_flight_ <= options_.in_flight_max);
  return std::nullopt;
}

HttpResponse Gateway::post_message(const HttpRequest& request) {
  if (auto refused = admit(request)) return *refused;
  InFlightSlot slot(mutex_, in_flight_);
  auto key = parse_idempotency_key(request.header("Idempotency-Key"));
  if (!key.ok()) return error_response(400, key.error().detail);
  if (request.body.size() > options_.body_bytes_max) {
    return error_response(413, "body of " + std::to_string(request.body.size()) + " bytes is larger than the " +
                                   std::to_string(options_.body_bytes_max) + " bytes allowed (--body-max)");
  }
  if (const Status content = check_declared_content(request); !content.ok()) {
    std::lock_guard lock(mutex_);
    ++metrics_.rejected_by_reason["invalid_json"];
    return error_response(400, content.error().detail);
  }
  const std::string hash = body_hash(request.body);
  {
    std::lock_guard lock(mutex_);
    if (!keys_in_progress_.insert(*key).second) {
      return error_response(409, "a request with this Idempotency-Key is still in progress; retry later");
    }
  }
  HttpResponse response = accept_message(request, *key, hash);
  finish_key(*key);
  return response;
}

void Gateway::finish_key(const std::string& key) {
  std::lock_guard lock(mutex_);
  const std::size_t erased = keys_in_progress_.erase(key);
  HADR_ASSERT(erased == 1);
}

// The replay (or refusal) a key's stored history calls for, or nullopt for a new key.
std::optional<HttpResponse> Gateway::check_key_history(const std::string& key, const std::string& hash) {
  auto record = store_.find(key, clock_.now_wall());
  if (!record.ok()) {
    return with_retry_after(error_response(503, "idempotency store unavailable: " +
                                                    std::string(error_code_name(record.code()))),
                            std::chrono::seconds(1));
  }
  if (!record->has_value()) return std::nullopt;
  const IdempotencyRecord& stored = **record;
  if (stored.body_hash != hash) {
    return error_response(422, "Idempotency-Key was already used with a different body; use a new key for a new "
                               "message");
  }
  HttpResponse replay;
  replay.status = stored.status;
  replay.body = stored.response_body;
  replay.headers.emplace_back("Idempotent-Replayed", "true");
  std::lock_guard lock(mutex_);
  ++metrics_.replayed;
  return replay;
}

// Runs with the key marked in progress: no other request of this key can get here meanwhile.
HttpResponse Gateway::accept_message(const HttpRequest& request, const std::string& key, const std::string& hash) {
  if (auto answered = check_key_history(key, hash)) return *answered;
  SourceMessage message;
  message.id = message_id_for_key(key);
  message.enqueued_at = clock_.now_wall();
  message.body = request.body;
  const Status put = put_with_retries(message);
  if (!put.ok()) {
    if (is_retryable(put.code())) {
      return with_retry_after(error_response(503, "source unavailable (" + std::string(error_code_name(put.code())) +
                                                      "); nothing was stored, retry with the same Idempotency-Key"),
                              options_.put_backoff_max);
    }
    return error_response(500, "source refused the message (" + std::string(error_code_name(put.code())) +
                                   "); nothing was acknowledged");
  }
  HttpResponse accepted = json_response(202, nlohmann::json{{"message_id", message.id.str()}, {"status", "accepted"}});
  const WallTime now = clock_.now_wall();
  const IdempotencyRecord record{hash, accepted.status, accepted.body, now + options_.idempotency_ttl};
  if (!store_.save(key, record, now).ok()) {
    // The message is durable: acknowledge it. A retry puts the same id again; dedupe absorbs it.
    std::lock_guard lock(mutex_);
    ++metrics_.key_save_failures;
  }
  return accepted;
}

Status Gateway::put_with_retries(const SourceMessage& message) {
  const MonoTime started = clock_.now_monotonic();
  Milliseconds wait = options_.put_backoff_initial;
  Status status;
  for (std::uint32_t attempt = 1; attempt <= options_.put_attempts_max; ++attempt) {
    status = source_.put(std::span<const SourceMessage>(&message, 1));
    if (status.ok() || !is_retryable(status.code()) || attempt == options_.put_attempts_max) break;
    if (clock_.now_monotonic() - started + wait > options_.put_retry_total_max) break;
    {
      std::lock_guard lock(mutex_);
      ++metrics_.put_retries;
    }
    sleeper_(wait);
    wait = std::min(wait * 2, options_.put_backoff_max);
  }
  record_put(status, clock_.now_monotonic() - started);
  return status;
}

void Gateway::record_put(const Status& status, Nanoseconds latency) {
  const double seconds = std::chrono::duration<double>(latency).count();
  std::size_t bucket = 0;
  while (bucket < kPutLatencyBucketsSeconds.size() && seconds > kPutLatencyBucketsSeconds[bucket]) ++bucket;
  std::lock_guard lock(mutex_);
  ++metrics_.put_latency_counts[bucket];
  ++metrics_.put_latency_count;
  metrics_.put_latency_seconds_sum += seconds;
  put_path_failing_ = !status.ok();
  if (!status.ok()) {
    ++metrics_.put_failures;
    last_put_error_ = status.error().to_string();
  }
}

HttpResponse Gateway::health() {
  const auto depth = source_.depth();
  std::lock_guard lock(mutex_);
  nlohmann::json body{{"in_flight", in_flight_}};
  if (depth.ok()) body["source_depth"] = *depth;
  if (!depth.ok()) {
    body["status"] = "unavailable";
    body["error"] = "source depth: " + depth.error().to_string();
    return json_response(503, body);
  }
  if (put_path_failing_) {
    body["status"] = "unavailable";
    body["error"] = "last put failed: " + last_put_error_;
    return json_response(503, body);
  }
  body["status"] = "ok";
  return json_response(200, body);
}

GatewayMetrics Gateway::metrics() const {
  std::lock_guard lock(mutex_);
  GatewayMetrics snapshot = metrics_;
  snapshot.in_flight = in_flight_;
  return snapshot;
}

}  // namespace hadr
