#include "gateway/gateway_options.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace hadr {
namespace {

constexpr double kRateMax = 1e9;

Status check_bucket(std::string_view rate_flag, double rate, std::string_view burst_flag, double burst) {
  if (!std::isfinite(rate) || rate < 0 || rate > kRateMax) {
    return invalid_argument(std::string(rate_flag) + " must be between 0 (no limit) and 1e9 per second");
  }
  if (rate > 0 && (!std::isfinite(burst) || burst < 1 || burst > kRateMax)) {
    return invalid_argument(std::string(burst_flag) + " must be between 1 and 1e9 tokens when " +
                            std::string(rate_flag) + " is set");
  }
  return ok_status();
}

Status check_timeout(std::string_view flag, Milliseconds timeout) {
  if (timeout < Milliseconds(100) || timeout > std::chrono::minutes(10)) {
    return invalid_argument(std::string(flag) + " must be between 100ms and 10min");
  }
  return ok_status();
}

}  // namespace

Status ThrottleOptions::validate() const {
  HADR_TRY(check_bucket("--rate", client_rate_per_second, "--burst", client_burst));
  HADR_TRY(check_bucket("--global-rate", global_rate_per_second, "--global-burst", global_burst));
  if (clients_tracked_max < 1 || clients_tracked_max > 1'000'000) {
    return invalid_argument("--clients-max must be between 1 and 1000000");
  }
  return ok_status();
}

Status GatewayOptions::validate() const {
  if (listen_host.empty()) return invalid_argument("--listen needs a host, e.g. 127.0.0.1:8080");
  if (listen_port < 0 || listen_port > 65535) return invalid_argument("--listen port must be 0..65535");
  if (server_threads < 1 || server_threads > kThreadsMax) return invalid_argument("--threads must be between 1 and 256");
  HADR_TRY(check_timeout("--header-timeout", header_timeout));
  HADR_TRY(check_timeout("--body-timeout", body_timeout));
  HADR_TRY(check_timeout("--idle-timeout", idle_timeout));
  HADR_TRY(check_timeout("--write-timeout", write_timeout));
  if (connections_max < 1 || connections_max > kConnectionsMax) {
    return invalid_argument("--connections-max must be between 1 and 16384");
  }
  if (connections_per_address_max < 1 || connections_per_address_max > connections_max) {
    return invalid_argument("--connections-per-address-max must be between 1 and --connections-max");
  }
  if (header_bytes_max < 1024 || header_bytes_max > 1024 * 1024) {
    return invalid_argument("--header-max must be between 1024 and 1048576 bytes");
  }
  if (header_count_max < 8 || header_count_max > 1000) return invalid_argument("--header-count-max must be between 8 and 1000");
  if (body_bytes_max < 1 || body_bytes_max > kBodyBytesCeiling) {
    return invalid_argument("--body-max must be between 1 and 1048576 bytes (the bus limit)");
  }
  if (body_buffer_bytes_max < body_bytes_max || body_buffer_bytes_max > (std::size_t{16} << 30)) {
    return invalid_argument("--body-buffer-max must be at least --body-max and at most 16 GiB");
  }
  if (idempotency_ttl < std::chrono::minutes(1) || idempotency_ttl > std::chrono::hours(24 * 30)) {
    return invalid_argument("--key-ttl must be between 1min and 30d");
  }
  if (in_flight_max < 1 || in_flight_max > 10'000) return invalid_argument("--in-flight-max must be between 1 and 10000");
  HADR_TRY(throttle.validate());
  if (put_attempts_max < 1 || put_attempts_max > 100) return invalid_argument("--put-attempts must be between 1 and 100");
  if (put_backoff_initial < Milliseconds(1) || put_backoff_initial > put_backoff_max) {
    return invalid_argument("--put-backoff-initial must be at least 1ms and at most --put-backoff-max");
  }
  if (put_backoff_max > std::chrono::minutes(1)) return invalid_argument("--put-backoff-max must be at most 1min");
  if (put_retry_total_max < Milliseconds(0) || put_retry_total_max > std::chrono::minutes(10)) {
    return invalid_argument("--put-retry-max must be between 0 and 10min");
  }
  return ok_status();
}

Status parse_listen_address(std::string_view text, GatewayOptions& options) {
  HADR_ASSIGN_OR_RETURN(ListenAddress address, parse_listen_address("--listen", text));
  options.listen_host = std::move(address.host);
  options.listen_port = address.port;
  return ok_status();
}

HttpServerOptions GatewayOptions::server_options() const {
  HttpServerOptions server;
  server.name = "gateway";
  server.listen_key = "--listen";
  server.listen_host = listen_host;
  server.listen_port = listen_port;
  server.allow_insecure_listener = allow_insecure_listener;
  server.insecure_listener_fix =
      "listen on 127.0.0.1 behind a TLS-terminating proxy, or pass --insecure to accept plaintext on the network "
      "(then also require tokens with --token-env/--token-file)";
  server.threads = server_threads;
  server.header_timeout = header_timeout;
  server.body_timeout = body_timeout;
  server.idle_timeout = idle_timeout;
  server.write_timeout = write_timeout;
  server.connections_max = connections_max;
  server.connections_per_address_max = connections_per_address_max;
  server.limits.header_bytes_max = header_bytes_max;
  server.limits.request_line_bytes_max = std::min(server.limits.request_line_bytes_max, header_bytes_max);
  server.limits.header_count_max = header_count_max;
  server.limits.body_bytes_max = body_bytes_max;
  server.body_buffer_bytes_max = body_buffer_bytes_max;
  return server;
}

}  // namespace hadr
