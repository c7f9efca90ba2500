// The producer side of the gateway (`hadr post`): POSTs `count` messages to
// <url>/v1/messages with stable Idempotency-Keys "<key_prefix>-<n>", n = first_number ..
// first_number + count - 1, so that a rerun (or a retry) sends the same keys.
//
// Each POST goes through the http handler's client (handlers/http_handler.h): it retries
// 408/429/5xx, timeouts and connection errors with exponential backoff, honours Retry-After,
// and sends the same Idempotency-Key on every retry. Its Sleeper is wrapped to count retries.
// A message is `sent` when the gateway answered 2xx (a replay counts too: the message is in
// the source), `failed` when the attempts ran out or the gateway refused it (other 4xx).
// `connections` threads post in parallel, each with its own connection; `rate_per_second`
// paces them all to one schedule (message k is due at k / rate seconds after the start).
//
// Uses real clocks and threads: this is an adapter, not role logic.
// Ownership: plain functions. Thread-safety: one run per call.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "handlers/http_handler.h"

namespace hadr {

struct PostOptions {
  static constexpr std::uint64_t kCountMax = 100'000'000;
  static constexpr std::size_t kConnectionsMax = 64;

  std::string url;  // the gateway's base URL, "http://127.0.0.1:8080"
  std::uint64_t count = 0;
  std::uint64_t first_number = 1;
  std::size_t body_bytes = 100;  // 0 .. 1 MiB
  double rate_per_second = 0;    // 0: as fast as the gateway answers
  std::string key_prefix = "post";
  std::size_t connections = 1;
  std::uint32_t attempts_max = 10;  // per message, the first included
  Milliseconds timeout{10'000};     // per attempt
  Milliseconds backoff_initial{100};
  Milliseconds backoff_max{5'000};

  Status validate() const;
};

struct PostReport {
  std::uint64_t sent = 0;     // answered 2xx (replays included)
  std::uint64_t retried = 0;  // retries made (one message may count several)
  std::uint64_t failed = 0;
  std::string first_failure;  // the reason of the first failed message, "" if none
  double elapsed_seconds = 0;
  double posts_per_second() const { return elapsed_seconds > 0 ? static_cast<double>(sent) / elapsed_seconds : 0; }
};

// Stops early (ok, with what was done) when should_stop() answers true between messages.
// `sleeper` (tests) replaces the real wait between retries.
Result<PostReport> post_messages(const PostOptions& options, const std::function<bool()>& should_stop,
                                 HttpHandler::Sleeper sleeper = nullptr);

}  // namespace hadr
