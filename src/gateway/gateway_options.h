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
#include "gateway/bearer_tokens.h"
#include "http/http_server.h"

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
  static constexpr std::size_t kConnectionsMax = 16 * 1024;

  // Adapter (GatewayServer): where to listen, how many threads, how long a slow client may take.
  std::string listen_host = "127.0.0.1";
  int listen_port = 8080;  // 0: any free port (tests)
  // A listener on an address that is not loopback serves plain HTTP only with this set
  // (`--insecure`): hadr has no TLS, so such a listener belongs behind a TLS-terminating proxy.
  bool allow_insecure_listener = false;
  std::size_t server_threads = 16;  // run Gateway::handle (puts, /healthz, /metrics)
  // Whole-request deadlines, counted from when the connection became ready for a request (accept
  // or the end of the previous response), not per read: a slow drip cannot stretch them.
  Milliseconds header_timeout{10'000};  // the whole header section must be in by then (else 408)
  Milliseconds body_timeout{30'000};    // the whole body, counted from the end of the headers (408)
  Milliseconds idle_timeout{5'000};     // a keep-alive connection with no new request is closed
  Milliseconds write_timeout{10'000};   // a response the client does not read in time is dropped
  std::size_t connections_max = 1'024;             // open connections in all; more get 503
  std::size_t connections_per_address_max = 128;   // open connections per client IP; more get 429
  std::size_t header_bytes_max = 16 * 1024;        // request line + header fields (431 above)
  std::size_t header_count_max = 100;              // header fields (431 above)
  // Request bodies held in memory at once across all connections (declared lengths, reserved
  // when the headers end; chunked bodies reserve body_bytes_max). Past it: 503 + Retry-After.
  std::size_t body_buffer_bytes_max = 64 * 1024 * 1024;
  // Ingest authentication (POST /v1/messages): off when empty; /healthz and /metrics stay open.
  BearerTokens tokens;

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
  // The adapter's part, for the HttpServer under GatewayServer.
  HttpServerOptions server_options() const;
};

// Parses "HOST:PORT" ("127.0.0.1:8080", "[::1]:8080", ":8080" = 127.0.0.1) into the options.
Status parse_listen_address(std::string_view text, GatewayOptions& options);

}  // namespace hadr
