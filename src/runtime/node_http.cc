#include "runtime/node_http.h"

#include <cinttypes>
#include <cstdio>
#include <string_view>

#include "core/assert.h"
#include "runtime/cluster.h"

namespace hadr {
namespace {

// Writes one metric family at a time: HELP and TYPE once, then its samples. Names and label
// values come from this file and the role names (relay, worker-1, ...), never from input.
class MetricsText {
 public:
  enum class Type { kCounter, kGauge };

  void family(std::string_view name, Type type, std::string_view help) {
    HADR_ASSERT(!name.empty());
    HADR_ASSERT(type != Type::kCounter || name.ends_with("_total"));
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += type == Type::kCounter ? " counter\n" : " gauge\n";
  }
  void sample(std::string_view name, std::uint64_t value, std::string_view labels = {}) {
    start_sample(name, labels);
    char text[32];
    std::snprintf(text, sizeof text, "%" PRIu64 "\n", value);
    out_ += text;
  }
  void signed_sample(std::string_view name, std::int64_t value, std::string_view labels = {}) {
    start_sample(name, labels);
    char text[32];
    std::snprintf(text, sizeof text, "%" PRId64 "\n", value);
    out_ += text;
  }
  void seconds_sample(std::string_view name, Milliseconds value) {
    start_sample(name, {});
    char text[40];
    std::snprintf(text, sizeof text, "%.3f\n", static_cast<double>(value.count()) / 1000.0);
    out_ += text;
  }
  // One family with one unlabelled sample.
  void counter(std::string_view name, std::string_view help, std::uint64_t value) {
    family(name, Type::kCounter, help);
    sample(name, value);
  }
  void gauge(std::string_view name, std::string_view help, std::int64_t value) {
    family(name, Type::kGauge, help);
    signed_sample(name, value);
  }
  std::string take() { return std::move(out_); }

 private:
  void start_sample(std::string_view name, std::string_view labels) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
  }

  std::string out_;
};

std::string role_label(const std::string& role) { return "role=\"" + role + "\""; }

void render_flow(MetricsText& text, const NodeStats& stats) {
  const RelayStats& r = stats.relay;
  text.counter("hadr_relay_appended_records_total", "Source messages the relay appended to the WAL.", r.appended);
  text.counter("hadr_relay_acked_messages_total", "Source messages the relay acknowledged after their WAL append.",
               r.acked);
  text.counter("hadr_relay_ack_failures_total", "Source acknowledgements refused or lost (the records are published anyway).",
               r.ack_failures);
  text.counter("hadr_relay_fenced_after_append_total", "Records appended, then fenced: neither acked nor published.",
               r.fenced_after_append);
  text.counter("hadr_relay_published_records_total", "WAL records the relay sent to the staging queue (recovered ones included).",
               r.published);
  text.counter("hadr_relay_recovered_records_total", "WAL records publication recovery queued again after a restart.",
               r.recovered);
  text.counter("hadr_relay_backup_holds_total", "Sync backup: ship attempts that left a batch held (not acked).",
               r.backup_holds);
  text.counter("hadr_relay_backup_lag_pauses_total", "Async backup: intake steps skipped because the backup lag reached backup.lag_max.",
               r.backup_lag_pauses);

  const PromoterStats& p = stats.promoter;
  text.counter("hadr_promoter_promoted_messages_total", "Messages sent to the main queue and completed in staging.",
               p.promoted);
  text.counter("hadr_promoter_send_failures_total", "Promoter batches whose send failed or was not confirmed.",
               p.send_failures);
  text.counter("hadr_promoter_complete_failures_total", "Messages sent to main whose staging complete failed (promoted again).",
               p.complete_failures);

  const WorkerStats& w = stats.workers;
  text.counter("hadr_worker_received_messages_total", "Messages the workers received from the main queue.", w.received);
  text.counter("hadr_worker_effects_total", "Handler runs that answered done (effects).", w.effects);
  text.counter("hadr_worker_completed_messages_total", "Messages the workers completed (suppressed duplicates included).",
               w.completed);
  text.counter("hadr_worker_duplicates_suppressed_total", "Messages already done by id: the handler was not run.",
               w.suppressed_duplicates);
  text.counter("hadr_worker_settled_suppressed_total", "Messages at or below their region's settled floor: the handler was not run.",
               w.suppressed_settled);
  text.counter("hadr_worker_dead_lettered_total", "Messages the workers moved to the dead-letter queue.", w.dead_lettered);
  text.counter("hadr_worker_handler_failures_total", "Handler runs that answered retry-later or failed.", w.handler_failures);
  text.counter("hadr_worker_claims_lost_after_effect_total", "Claims lost after the effect ran: the effect may run twice (alert).",
               w.claim_lost_after_effect);
  text.counter("hadr_worker_settle_failures_total", "Complete, abandon or dead-letter calls the bus refused.",
               w.settle_failures);
  text.counter("hadr_worker_lock_renewal_failures_total", "Message lock renewals that failed.", w.lock_renewal_failures);
  text.counter("hadr_worker_stale_epoch_total", "Claims refused for a stale epoch: the message was abandoned.", w.stale_epoch);
  text.counter("hadr_worker_fenced_abandoned_total", "Messages abandoned because the region had no writable epoch.",
               w.fenced_abandoned);

  const CheckpointerStats& c = stats.checkpointer;
  text.counter("hadr_checkpointer_persisted_total", "Checkpoint writes that reached coord and the checkpoint file.",
               c.persisted);
  text.counter("hadr_checkpointer_fenced_writes_total", "Checkpoint writes coord refused because a higher epoch wrote the key.",
               c.fenced_writes);
  text.gauge("hadr_checkpoint_lsn", "The last checkpoint LSN persisted or loaded: every record up to it is settled.",
             static_cast<std::int64_t>(c.checkpoint));
}

void render_roles(MetricsText& text, const std::vector<NamedHealth>& roles) {
  text.family("hadr_role_progress_total", MetricsText::Type::kCounter,
              "Units of work each role did since this process started (records appended, messages handled, ...).");
  for (const NamedHealth& role : roles) text.sample("hadr_role_progress_total", role.health.progress_total, role_label(role.name));
  text.family("hadr_role_errors_total", MetricsText::Type::kCounter,
              "Transient errors each role saw since this process started.");
  for (const NamedHealth& role : roles) text.sample("hadr_role_errors_total", role.health.errors_total, role_label(role.name));
  text.family("hadr_role_consecutive_errors", MetricsText::Type::kGauge,
              "Failed calls since the role's last successful one (0: its last call worked).");
  for (const NamedHealth& role : roles) {
    text.sample("hadr_role_consecutive_errors", role.health.consecutive_errors, role_label(role.name));
  }
  text.family("hadr_role_lag", MetricsText::Type::kGauge,
              "Each role's own backlog (relay: records not yet published; backup: records not yet shipped; "
              "others: see docs/operations.md).");
  for (const NamedHealth& role : roles) text.signed_sample("hadr_role_lag", role.health.lag, role_label(role.name));
}

void render_failover(MetricsText& text, const NodeObservation& node) {
  text.gauge("hadr_lease_holder", "1 when this region holds the lease (a single region always does), else 0.",
             node.lease_holding ? 1 : 0);
  text.gauge("hadr_lease_epoch", "The fencing epoch this region holds (a single region: the static epoch 1; 0: none).",
             static_cast<std::int64_t>(node.lease_epoch));
  if (node.lease) {
    text.family("hadr_lease_renew_deadline_seconds", MetricsText::Type::kGauge,
                "Time left before the lease manager's renew deadline, when it fences itself (0 when not holding).");
    text.seconds_sample("hadr_lease_renew_deadline_seconds", node.lease_time_to_deadline);
    text.counter("hadr_lease_acquired_total", "Lease grants this region took.", node.stats.failover.lease_acquired);
    text.counter("hadr_lease_lost_total", "Renewals the lease store refused: another region may hold it.",
                 node.stats.failover.lease_lost);
    text.counter("hadr_lease_self_fenced_total", "Times the renew deadline passed while holding: the region fenced itself.",
                 node.stats.failover.self_fenced);
    text.counter("hadr_lease_renewals_total", "Lease renewals since this process started.", node.lease->renewed);
    text.counter("hadr_lease_renew_failures_total", "Lease renewals that could not reach the store since this process started.",
                 node.lease->renew_failures);
    text.gauge("hadr_lease_highest_epoch_seen", "The highest epoch this region saw anywhere (store, alias record).",
               static_cast<std::int64_t>(node.lease->highest_epoch_seen));
  }
  if (node.watchdog) {
    text.counter("hadr_watchdog_takeovers_total", "Takeovers this region's watchdog completed.", node.stats.failover.takeovers);
    text.counter("hadr_watchdog_step_downs_total", "Times the watchdog stepped down an unhealthy active region.",
                 node.stats.failover.step_downs);
    text.counter("hadr_watchdog_handovers_total", "Planned switchovers this region handed over.", node.stats.failover.handovers);
    text.counter("hadr_watchdog_alerts_total", "Alerts the watchdog raised since this process started.",
                 node.watchdog->alerts);
    text.gauge("hadr_watchdog_region_healthy", "1 when the watchdog finds this region healthy, else 0.",
               node.watchdog->region_healthy ? 1 : 0);
  }
  if (node.backup) {
    text.gauge("hadr_wal_backup_shipped_lsn", "Every WAL record up to this LSN is in the blob backup.",
               static_cast<std::int64_t>(node.backup->shipped_lsn));
    text.counter("hadr_wal_backup_shipped_records_total", "WAL records shipped to the blob backup since this process started.",
                 node.backup->records_shipped);
    text.counter("hadr_wal_backup_shipped_bytes_total", "Bytes shipped to the blob backup since this process started.",
                 node.backup->bytes_shipped);
  }
  if (node.backup_lag_records) {
    text.gauge("hadr_wal_backup_lag_records", "Async backup: durable WAL records not yet in the blob backup.",
               *node.backup_lag_records);
  }
  if (node.replay) {
    text.counter("hadr_replayer_replayed_records_total", "Records of a failed region's WAL the replayer republished.",
                 node.stats.failover.replayed);
    text.counter("hadr_replayer_skipped_done_records_total", "Records the replayer found done or dead-lettered.",
                 node.stats.failover.replay_skipped_done);
    text.gauge("hadr_replay_progress_lsn", "Every LSN of the replayed WAL up to this one is republished or done.",
               static_cast<std::int64_t>(node.replay->progress_lsn));
    text.gauge("hadr_replay_caught_up", "1 when the replay listed the whole backup and it stopped growing.",
               node.replay->caught_up ? 1 : 0);
  }
}

HttpResponse text_response(int status, std::string body, std::string content_type = "text/plain; charset=utf-8") {
  HttpResponse response;
  response.status = status;
  response.content_type = std::move(content_type);
  response.body = std::move(body);
  return response;
}

}  // namespace

std::string render_node_metrics(const NodeObservation& node) {
  MetricsText text;
  text.gauge("hadr_node_draining", "1 while the node drains after a stop request, else 0.", node.draining ? 1 : 0);
  text.gauge("hadr_node_workers", "Worker threads this process runs.", static_cast<std::int64_t>(node.worker_count));
  render_failover(text, node);
  render_flow(text, node.stats);
  render_roles(text, node.roles);
  return text.take();
}

NodeReadiness node_readiness(const NodeObservation& node) {
  if (node.draining) return {false, "draining: a stop was requested"};
  if (node.watchdog && node.watchdog->phase == WatchdogPhase::kHalted) {
    return {false, "the watchdog halted: " + node.watchdog->health_reason};
  }
  if (node.lease_holding) {
    if (!node.two_regions) return {true, "active: a single region (static epoch " + std::to_string(node.lease_epoch) + ")"};
    return {true, "active: holds the lease at epoch " + std::to_string(node.lease_epoch)};
  }
  std::size_t live_workers = 0;
  std::string last_error;
  for (const NamedHealth& role : node.roles) {
    if (!role.name.starts_with("worker-")) continue;
    if (role.health.consecutive_errors == 0) ++live_workers;
    else if (last_error.empty()) last_error = role.health.last_error;
  }
  if (live_workers > 0) {
    return {true, "standby: can take the lease (" + std::to_string(live_workers) + " of " +
                      std::to_string(node.worker_count) + " workers live)"};
  }
  std::string reason = "standby with no live worker (" + std::to_string(node.worker_count) + " workers";
  if (!last_error.empty()) reason += "; last error: " + last_error.substr(0, 200);
  reason += ")";
  for (char& c : reason) {
    if (c == '\n' || c == '\r') c = ' ';  // one line
  }
  return {false, reason};
}

NodeHttpService::NodeHttpService(Observe observe, StatusJson status_json)
    : observe_(std::move(observe)), status_json_(std::move(status_json)) {
  HADR_ASSERT(observe_ != nullptr && status_json_ != nullptr);
}

HttpResponse NodeHttpService::handle(const HttpRequest& request) {
  const std::string& path = request.path;
  const bool known = path == "/metrics" || path == "/healthz" || path == "/readyz" || path == "/status";
  if (!known) return text_response(404, "not found: the node serves /metrics, /healthz, /readyz and /status\n");
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse refused = text_response(405, "method not allowed: use GET or HEAD\n");
    refused.headers.emplace_back("Allow", "GET, HEAD");
    return refused;
  }
  if (path == "/healthz") return text_response(200, "ok\n");
  if (path == "/metrics") {
    return text_response(200, render_node_metrics(observe_()), "text/plain; version=0.0.4; charset=utf-8");
  }
  if (path == "/readyz") {
    const NodeReadiness readiness = node_readiness(observe_());
    return text_response(readiness.ready ? 200 : 503, readiness.reason + "\n");
  }
  Result<std::string> status = status_json_();
  if (!status.ok()) return error_response(503, "status: " + status.error().to_string());
  return text_response(200, *status + "\n", "application/json");
}

HttpServerOptions node_http_options(const ListenAddress& address, std::string listen_key) {
  HttpServerOptions options;
  options.name = "node";
  options.listen_key = std::move(listen_key);
  options.listen_host = address.host;
  options.listen_port = address.port;
  // The operator asked for this address explicitly, and the endpoints carry no secret.
  options.allow_insecure_listener = true;
  options.threads = 2;
  options.header_timeout = Milliseconds(5'000);
  options.body_timeout = Milliseconds(5'000);
  options.idle_timeout = Milliseconds(5'000);
  options.write_timeout = Milliseconds(10'000);
  options.connections_max = 64;
  options.connections_per_address_max = 32;
  options.limits.request_line_bytes_max = 1024;
  options.limits.header_bytes_max = 8 * 1024;
  options.limits.header_count_max = 50;
  options.limits.body_bytes_max = 1024;  // the endpoints read no body
  options.body_buffer_bytes_max = 64 * 1024;
  return options;
}

Result<std::optional<ListenAddress>> choose_node_listen_address(const std::optional<std::string>& listen_flag,
                                                                const RegionConfig& config) {
  if (listen_flag.has_value()) {
    HADR_ASSIGN_OR_RETURN(ListenAddress address, parse_listen_address("--listen", *listen_flag));
    return std::optional<ListenAddress>(std::move(address));
  }
  return config.http_listen;
}

Result<std::unique_ptr<NodeHttpServer>> NodeHttpServer::start(const RegionNode& node, const ListenAddress& address,
                                                               const std::string& listen_key) {
  const RegionConfig config = node.config();
  auto service = std::make_unique<NodeHttpService>([&node] { return node.observe(); },
                                                   [config]() -> Result<std::string> {
                                                     HADR_ASSIGN_OR_RETURN(const ClusterStatus status,
                                                                           read_cluster_status(config));
                                                     return status.to_json();
                                                   });
  HADR_ASSIGN_OR_RETURN(std::unique_ptr<HttpServer> server,
                        HttpServer::start(*service, node_http_options(address, listen_key)));
  return std::unique_ptr<NodeHttpServer>(new NodeHttpServer(std::move(service), std::move(server)));
}

}  // namespace hadr
