// GatewayOptions: every knob of the HTTP ingest gateway (docs/gateway.md, "Limits"), with the
// bounds validate() enforces. Until the region config grows a [gateway] section these come from
// `hadr gateway` flags; each error names the flag and the accepted range.
//
// Ownership: plain values. Thread-safety: none needed (immutable once validated).
// Invariant: a Gateway or GatewayServer is only built from options that passed validate().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace hadr {

// Token-bucket limits. rate_per_second = 0 switches the bucket off (no limit).
struct ThrottleOptions {
  double client_rate_per_second = 1'000;  // per client (X-Client-Id, else remote address)
  double client_burst = 2'000;            // tokens a client bucket holds when full
  double global_rate_per_second = 20'000;
  double global_burst = 40'000;
  std::size_t clients_tracked_max = 10'000;  // least recently used clients are forgotten past this

  Status validate() const;
};

struct GatewayOptions {
  static constexpr std::size_t kBodyBytesCeiling = 1024 * 1024;  // Bus::kMaxBodyBytes: the bus must carry it
  static constexpr std::size_t kThreadsMax = 256;

  // Adapter (GatewayServer): where to listen, how many threads, how long a slow client may take.
  std::string listen_host = "127.0.0.1";
  int listen_port = 8080;  // 0: any free port (tests)
  std::size_t server_threads = 16;
  Milliseconds read_timeout{10'000};  // per read on a connection (slow drip -> connection closed)

  // Core (Gateway).
  std::size_t body_bytes_max = kBodyBytesCeiling;
  Milliseconds idempotency_ttl{std::chrono::hours(24)};  // 1 min .. 30 days
  std::size_t in_flight_max = 8;                          // concurrent POSTs doing work; more -> 503
  ThrottleOptions throttle;
  std::uint32_t put_attempts_max = 5;       // Source::put attempts per request (1 .. 100)
  Milliseconds put_backoff_initial{10};     // first wait between attempts, doubled up to the max
  Milliseconds put_backoff_max{1'000};
  Milliseconds put_retry_total_max{5'000};  // no new attempt once this much time went by

  Status validate() const;
};

// Parses "HOST:PORT" ("127.0.0.1:8080", "[::1]:8080", ":8080" = 127.0.0.1) into the options.
Status parse_listen_address(std::string_view text, GatewayOptions& options);

}  // namespace hadr
