// GatewayMetrics (gateway.h): the Prometheus text exposition of the gateway's counters.
#include <cstdio>

#include "gateway/gateway.h"

namespace hadr {
namespace {

void append_line(std::string& out, const char* format, auto... values) {
  char line[256];
  const int written = std::snprintf(line, sizeof line, format, values...);
  HADR_ASSERT(written > 0 && static_cast<std::size_t>(written) < sizeof line);
  out += line;
}

}  // namespace

std::uint64_t GatewayMetrics::responses(int status) const {
  const auto found = responses_by_status.find(status);
  return found == responses_by_status.end() ? 0 : found->second;
}

std::string GatewayMetrics::to_prometheus() const {
  using ull = unsigned long long;
  std::string out;
  out += "# HELP hadr_gateway_requests_total Requests answered, by HTTP status (the core's answers and the adapter's refusals).\n";
  out += "# TYPE hadr_gateway_requests_total counter\n";
  for (const auto& [status, count] : responses_by_status) {
    append_line(out, "hadr_gateway_requests_total{status=\"%d\"} %llu\n", status, static_cast<ull>(count));
  }
  out += "# HELP hadr_gateway_throttled_total Requests refused with 429, by the bucket that refused them.\n";
  out += "# TYPE hadr_gateway_throttled_total counter\n";
  append_line(out, "hadr_gateway_throttled_total{scope=\"client\"} %llu\n", static_cast<ull>(throttled_by_client));
  append_line(out, "hadr_gateway_throttled_total{scope=\"global\"} %llu\n", static_cast<ull>(throttled_globally));
  out += "# TYPE hadr_gateway_replayed_total counter\n";
  append_line(out, "hadr_gateway_replayed_total %llu\n", static_cast<ull>(replayed));
  out += "# TYPE hadr_gateway_put_retries_total counter\n";
  append_line(out, "hadr_gateway_put_retries_total %llu\n", static_cast<ull>(put_retries));
  out += "# TYPE hadr_gateway_put_failures_total counter\n";
  append_line(out, "hadr_gateway_put_failures_total %llu\n", static_cast<ull>(put_failures));
  out += "# TYPE hadr_gateway_key_save_failures_total counter\n";
  append_line(out, "hadr_gateway_key_save_failures_total %llu\n", static_cast<ull>(key_save_failures));
  out += "# TYPE hadr_gateway_in_flight gauge\n";
  append_line(out, "hadr_gateway_in_flight %llu\n", static_cast<ull>(in_flight));
  out += "# TYPE hadr_gateway_tracked_clients gauge\n";
  append_line(out, "hadr_gateway_tracked_clients %llu\n", static_cast<ull>(tracked_clients));
  out += "# HELP hadr_gateway_rejected_total Requests or connections refused by framing, limits, deadlines, "
         "connection caps, authentication or content checks, by reason.\n";
  out += "# TYPE hadr_gateway_rejected_total counter\n";
  for (const auto& [reason, count] : rejected_by_reason) {
    append_line(out, "hadr_gateway_rejected_total{reason=\"%s\"} %llu\n", reason.c_str(), static_cast<ull>(count));
  }
  out += "# TYPE hadr_gateway_connections_open gauge\n";
  append_line(out, "hadr_gateway_connections_open %llu\n", static_cast<ull>(connections_open));
  out += "# TYPE hadr_gateway_connections_accepted_total counter\n";
  append_line(out, "hadr_gateway_connections_accepted_total %llu\n", static_cast<ull>(connections_accepted));
  out += "# HELP hadr_gateway_put_latency_seconds Source put time per request, retries included.\n";
  out += "# TYPE hadr_gateway_put_latency_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t bucket = 0; bucket < kPutLatencyBucketsSeconds.size(); ++bucket) {
    cumulative += put_latency_counts[bucket];
    append_line(out, "hadr_gateway_put_latency_seconds_bucket{le=\"%g\"} %llu\n", kPutLatencyBucketsSeconds[bucket],
                static_cast<ull>(cumulative));
  }
  cumulative += put_latency_counts.back();
  HADR_ASSERT(cumulative == put_latency_count);
  append_line(out, "hadr_gateway_put_latency_seconds_bucket{le=\"+Inf\"} %llu\n", static_cast<ull>(cumulative));
  append_line(out, "hadr_gateway_put_latency_seconds_sum %.6f\n", put_latency_seconds_sum);
  append_line(out, "hadr_gateway_put_latency_seconds_count %llu\n", static_cast<ull>(put_latency_count));
  return out;
}

}  // namespace hadr
