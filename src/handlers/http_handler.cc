#include "handlers/http_handler.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <mutex>
#include <optional>
#include <thread>

namespace hadr {
namespace {

constexpr Milliseconds kConnectTimeoutMax{5'000};
// keep_alive runs at least this often while a request is in flight or a backoff waits (libcurl
// calls its progress function about once a second or more often; waits are cut in slices).
constexpr Milliseconds kKeepAliveSliceMax{1'000};
constexpr std::int64_t kRetryAfterSecondsMax = 24 * 3600;  // parsed value bound (then capped)

// curl_global_init is not thread-safe: once per process, before the first handle.
void initialize_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The "user:pass" of "scheme://user:pass@host/...", or empty.
std::string_view url_userinfo(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  const std::size_t authority_begin = scheme_end + 3;
  const std::size_t authority_end = url.find_first_of("/?#", authority_begin);
  const std::string_view authority = url.substr(authority_begin, authority_end - authority_begin);
  const std::size_t at = authority.rfind('@');
  return at == std::string_view::npos ? std::string_view{} : authority.substr(0, at);
}

// Removes every occurrence of the URL's credentials from `text` (curl's messages quote hosts
// and sometimes URLs).
std::string scrub(std::string text, std::string_view userinfo) {
  if (userinfo.empty()) return text;
  std::size_t position = 0;
  for (std::size_t replaced = 0; replaced < 64; ++replaced) {
    position = text.find(userinfo, position);
    if (position == std::string::npos) break;
    text.replace(position, userinfo.size(), "***");
    position += 3;
  }
  return text;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

struct ResponseCapture {
  std::string body_head;  // the first HttpHandler::kRejectBodyBytesMax bytes
  std::optional<Milliseconds> retry_after;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* capture = static_cast<ResponseCapture*>(user);
  const std::size_t bytes = size * count;
  const std::size_t room = HttpHandler::kRejectBodyBytesMax - std::min(capture->body_head.size(),
                                                                       HttpHandler::kRejectBodyBytesMax);
  capture->body_head.append(data, std::min(room, bytes));
  return bytes;  // the rest is read and dropped: the body only matters for a reject reason
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* capture = static_cast<ResponseCapture*>(user);
  const std::size_t bytes = size * count;
  const std::string_view line(data, bytes);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size() &&
      std::equal(kName.begin(), kName.end(), line.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    // Seconds only; an HTTP-date is ignored (the exponential backoff applies).
    const std::string_view value = trim(line.substr(kName.size()));
    std::int64_t seconds = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (error == std::errc() && end == value.data() + value.size() && seconds >= 0) {
      capture->retry_after = std::chrono::seconds(std::min(seconds, kRetryAfterSecondsMax));
    }
  }
  return bytes;
}

bool is_retryable_status(long status) { return status == 408 || status == 429 || (status >= 500 && status <= 599); }

// libcurl's progress function: keeps the message's lock and claim alive while the request is
// in flight (hole 7, issue 12: one slow request used to outlive both). Rate-limited, because
// libcurl may call it many times a second; returning 0 lets the transfer go on.
struct InFlightKeepAlive {
  HandlerKeepAlive* keep_alive = nullptr;
  std::chrono::steady_clock::time_point last_call;
};

int on_progress(void* data, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* state = static_cast<InFlightKeepAlive*>(data);
  const auto now = std::chrono::steady_clock::now();
  if (state->keep_alive != nullptr && now - state->last_call >= kKeepAliveSliceMax / 4) {
    state->last_call = now;
    state->keep_alive->keep_alive();
  }
  return 0;
}

}  // namespace


struct HttpHandler::Attempt {
  enum class Outcome { kDone, kRetry, kReject };
  Outcome outcome = Outcome::kRetry;
  long status = 0;  // 0: no response (timeout, connection error)
  std::string description;
  std::optional<Milliseconds> retry_after;
};

std::string redact_url(std::string_view url) {
  const std::string_view userinfo = url_userinfo(url);
  if (userinfo.empty()) return std::string(url);
  const std::size_t begin = static_cast<std::size_t>(userinfo.data() - url.data());
  return std::string(url.substr(0, begin)) + "***" + std::string(url.substr(begin + userinfo.size()));
}

Result<std::unique_ptr<HttpHandler>> HttpHandler::create(HttpOptions options, RegionId region, Sleeper sleeper) {
  if (options.url.rfind("http://", 0) != 0 && options.url.rfind("https://", 0) != 0) {
    return invalid_argument("handler.http_url '" + redact_url(options.url) + "' must start with http:// or https://");
  }
  if (options.attempts_max == 0) return invalid_argument("handler.http_attempts_max is 0; use at least 1");
  if (options.timeout <= Milliseconds(0)) return invalid_argument("handler.http_timeout must be positive");
  initialize_curl_once();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return internal_error("http handler: curl_easy_init failed (out of memory?)");
  if (!sleeper) sleeper = [](Milliseconds duration) { std::this_thread::sleep_for(duration); };
  return std::unique_ptr<HttpHandler>(new HttpHandler(std::move(options), std::move(region), std::move(sleeper), curl));
}

HttpHandler::HttpHandler(HttpOptions options, RegionId region, Sleeper sleeper, void* curl)
    : options_(std::move(options)),
      region_(std::move(region)),
      redacted_url_(redact_url(options_.url)),
      sleeper_(std::move(sleeper)),
      curl_(curl) {
  HADR_ASSERT(curl_ != nullptr && sleeper_ != nullptr);
  HADR_ASSERT(options_.attempts_max >= 1);
}

HttpHandler::~HttpHandler() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

HttpHandler::Attempt HttpHandler::post_once(const HandlerInput& input) {
  CURL* curl = static_cast<CURL*>(curl_);
  const BusMessage& message = input.message;
  curl_easy_reset(curl);  // options only: the connection cache survives
  std::array<std::string, 7> header_lines = {
      "Idempotency-Key: " + message.id.str(),
      "Content-Type: application/octet-stream",
      "X-Hadr-Epoch: " + std::to_string(message.epoch.value),
      "X-Hadr-Region: " + region_.str(),
      "X-Hadr-Source-Region: " + message.source_region.str(),
      "X-Hadr-Lsn: " + std::to_string(message.lsn.value),
      "Expect:",  // no 100-continue round trip for large bodies
  };
  curl_slist* headers = nullptr;
  for (const std::string& line : header_lines) headers = curl_slist_append(headers, line.c_str());
  ResponseCapture capture;
  std::array<char, CURL_ERROR_SIZE> error_buffer{};
  const Milliseconds connect_timeout = std::min(options_.timeout, kConnectTimeoutMax);
  curl_easy_setopt(curl, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM from a worker thread
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, message.body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(message.body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &capture);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &capture);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer.data());
  InFlightKeepAlive in_flight{input.keep_alive, std::chrono::steady_clock::now()};
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &in_flight);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  const CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);

  Attempt attempt;
  if (code != CURLE_OK) {
    const std::string detail = error_buffer[0] != '\0' ? std::string(error_buffer.data()) : curl_easy_strerror(code);
    attempt.description = scrub("POST " + redacted_url_ + " failed: " + detail, url_userinfo(options_.url));
    return attempt;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &attempt.status);
  attempt.retry_after = capture.retry_after;
  if (attempt.status >= 200 && attempt.status <= 299) {
    attempt.outcome = Attempt::Outcome::kDone;
  } else if (is_retryable_status(attempt.status)) {
    attempt.description = "POST " + redacted_url_ + " answered HTTP " + std::to_string(attempt.status);
  } else {
    attempt.outcome = Attempt::Outcome::kReject;
    attempt.description = scrub("HTTP " + std::to_string(attempt.status) + ": " + capture.body_head,
                                url_userinfo(options_.url));
  }
  return attempt;
}

Milliseconds HttpHandler::backoff_before(std::uint32_t next_attempt, const Attempt& failed) const {
  HADR_ASSERT(next_attempt >= 2);
  Milliseconds wait = options_.backoff_initial;
  for (std::uint32_t doubling = 2; doubling < next_attempt && wait < options_.backoff_max; ++doubling) wait *= 2;
  if (failed.retry_after) wait = std::max(wait, *failed.retry_after);
  return std::min(wait, options_.backoff_max);
}

void HttpHandler::wait_keeping_alive(Milliseconds wait, HandlerKeepAlive* keep_alive) {
  if (keep_alive == nullptr) {
    sleeper_(wait);
    return;
  }
  // In slices, so that a long backoff (Retry-After, up to backoff_max) keeps the lock and claim.
  while (wait > Milliseconds(0)) {
    const Milliseconds slice = std::min(wait, kKeepAliveSliceMax);
    sleeper_(slice);
    wait -= slice;
    keep_alive->keep_alive();
  }
}

HandlerResult HttpHandler::handle(const HandlerInput& input) {
  Attempt last;
  std::uint32_t attempts = 0;
  for (std::uint32_t attempt = 1; attempt <= options_.attempts_max; ++attempt) {
    if (attempt > 1) wait_keeping_alive(backoff_before(attempt, last), input.keep_alive);
    if (input.keep_alive != nullptr) input.keep_alive->keep_alive();  // retries keep the lock and claim
    last = post_once(input);
    attempts = attempt;
    if (last.outcome != Attempt::Outcome::kRetry) break;
  }
  HADR_ASSERT(attempts >= 1);
  switch (last.outcome) {
    case Attempt::Outcome::kDone:
      return HandlerResult{.verdict = HandlerVerdict::kDone};
    case Attempt::Outcome::kReject:
      return HandlerResult{.verdict = HandlerVerdict::kReject, .reason = last.description};
    case Attempt::Outcome::kRetry:
      break;
  }
  return HandlerResult{.verdict = HandlerVerdict::kRetryLater,
                       .reason = last.description + " (attempt " + std::to_string(attempts) + " of " +
                                 std::to_string(options_.attempts_max) + ", handler.http_attempts_max)"};
}

}  // namespace hadr
