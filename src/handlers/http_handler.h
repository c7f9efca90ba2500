// HttpHandler: POSTs the message body to a URL with Idempotency-Key: <message id> and the
// message's identity in X-Hadr-* headers.
//   2xx                                   kDone
//   408, 429, 5xx, timeout, connection    retried here with exponential backoff (Retry-After
//   error                                 seconds honoured, both capped by backoff_max) up to
//                                         attempts_max, then kRetryLater
//   other 4xx (and 1xx/3xx)               kReject: "HTTP 4xx: <first 200 bytes of the body>"
// At-least-once: the effect may be repeated after a crash or a lost response; a downstream
// that honours Idempotency-Key keeps it exactly once. URL credentials (user:pass@) never
// appear in a reason: the URL is always shown redacted.
// Keep-alive (issue 12, hole 7): input.keep_alive runs before each attempt, about every second
// while a request is in flight (libcurl's progress function) and every second of a backoff
// wait, so neither a slow request nor a long Retry-After outlives the lock or the claim.
//
// Ownership: owns one libcurl easy handle, reused for every request (keeps the connection).
// Thread-safety: one instance per worker thread; instances are independent.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/ids.h"
#include "roles/handler.h"

namespace hadr {

struct HttpOptions {
  std::string url;
  Milliseconds timeout{10'000};  // whole request; connecting gets min(timeout, 5 s)
  std::uint32_t attempts_max = 3;
  Milliseconds backoff_initial{100};
  Milliseconds backoff_max{5'000};
};

// "https://user:secret@host/x" -> "https://***@host/x"; a URL without credentials unchanged.
std::string redact_url(std::string_view url);

class HttpHandler final : public Handler {
 public:
  static constexpr std::size_t kRejectBodyBytesMax = 200;
  // Waits between attempts; a real sleep by default (this is an adapter). Tests record them.
  using Sleeper = std::function<void(Milliseconds)>;

  static Result<std::unique_ptr<HttpHandler>> create(HttpOptions options, RegionId region, Sleeper sleeper = nullptr);
  ~HttpHandler() override;

  std::string_view kind() const override { return "http"; }
  HandlerResult handle(const HandlerInput& input) override;

 private:
  struct Attempt;
  HttpHandler(HttpOptions options, RegionId region, Sleeper sleeper, void* curl);
  Attempt post_once(const HandlerInput& input);
  Milliseconds backoff_before(std::uint32_t next_attempt, const Attempt& failed) const;
  // sleeper_(wait), in slices of at most a second with keep_alive between them when given.
  void wait_keeping_alive(Milliseconds wait, HandlerKeepAlive* keep_alive);

  const HttpOptions options_;
  const RegionId region_;
  const std::string redacted_url_;
  Sleeper sleeper_;
  void* curl_;  // CURL*, kept opaque so that users need not include curl.h
};

}  // namespace hadr
