// Gateway benchmark (`hadr bench gateway`): messages per second POSTed through the gateway
// (HTTP + throttle + idempotency store + SqliteSource::put) against SqliteSource::put of one
// message per call directly, in the same run, in the same directory, with the same body size,
// and their ratio (gateway posts/s ÷ direct puts/s).
//
// The gateway side runs a GatewayServer on a free loopback port over a fresh SqliteSource and
// SqliteIdempotencyStore, throttling off, and posts with `connections` client threads
// (gateway_client.h). The direct side puts one message per call from one thread: each
// gateway request is one durable put too, so the ratio is the cost of the HTTP layer and the
// key store. Uses real clocks, sockets and files: a measurement, not role logic.
// Runs in `dir` or a temporary directory (removed after). Thread-safety: one run at a time.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"

namespace hadr {

struct GatewayBenchOptions {
  std::string dir;  // empty: a temporary directory, removed after
  std::uint64_t messages = 5'000;
  std::size_t body_bytes = 100;
  std::size_t connections = 4;

  Status validate() const;
};

struct GatewayBenchReport {
  std::uint64_t messages = 0;
  std::size_t connections = 0;
  std::size_t body_bytes = 0;
  double gateway_seconds = 0;
  double direct_seconds = 0;
  double gateway_posts_per_s = 0;
  double direct_puts_per_s = 0;
  double ratio = 0;  // gateway_posts_per_s / direct_puts_per_s
  std::uint64_t retried = 0;
  std::uint64_t failed = 0;

  std::string to_json() const;
  std::string to_text() const;
};

Result<GatewayBenchReport> run_gateway_bench(const GatewayBenchOptions& options);

}  // namespace hadr
