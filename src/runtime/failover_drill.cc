#include "runtime/failover_drill.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "config/region_config.h"
#include "core/secret.h"
#include "postgres/pg_connection.h"
#include "postgres/postgres_server.h"
#include "roles/heartbeat.h"
#include "roles/watchdog.h"
#include "runtime/child_process.h"
#include "runtime/cluster.h"
#include "runtime/region_backends.h"
#include "runtime/region_node.h"

namespace hadr {
namespace {

using Progress = std::function<void(const std::string&)>;
using SteadyClock = std::chrono::steady_clock;

constexpr Milliseconds kPollInterval{20};
constexpr Milliseconds kStartTimeout{30'000};
constexpr Milliseconds kTakeoverTimeout{60'000};

struct NodeProcess {
  std::string label;
  std::string config_path;
  std::optional<ChildProcess> child;
};

std::string duration_text(Milliseconds duration) { return std::to_string(duration.count()) + "ms"; }

// Short locks, claims and visibility so that what the dead region held comes back within
// seconds; a lease TTL of the user's choosing; the watchdog checks every TTL/10. With
// `services` (backend real) the stores are those servers; otherwise SQLite files in shared/.
std::string region_config_text(std::string_view name, std::string_view peer, std::string_view bus_namespace,
                               Milliseconds lease_ttl, const LocalServices* services, const std::string& extra) {
  // The sql handler keeps a message's lock and claim alive only between attempts, so one
  // attempt must fit in half of each (region_config's keep-alive check): 10 s and 20 s.
  const bool sql = extra.find("kind = \"sql\"") != std::string::npos;
  const Milliseconds check = std::max(Milliseconds(20), lease_ttl / 10);
  std::ostringstream out;
  out << "[region]\nname = \"" << name << "\"\npeer = \"" << peer << "\"\ndata_dir = \"" << name << "\"\n";
  if (services != nullptr) {
    services->write_config_sections(out, bus_namespace, "hadr-demo");  // ends with the [source] section
  } else {
    out << "[backends]\ndir = \"shared\"\nbus_namespace = \"" << bus_namespace << "\"\n[source]\n";
  }
  out << "visibility_timeout = \"3s\"\n"
      << "[promoter]\nlock_duration = \"5s\"\n"
      << "[workers]\ncount = 2\nlock_duration = \"" << (sql ? "10s" : "5s") << "\"\nclaim_ttl = \""
      << (sql ? "20s" : "10s") << "\"\nmax_delivery_count = 100\n"
      << "[checkpointer]\ninterval = \"500ms\"\n"
      << "[lease]\nttl = \"" << duration_text(lease_ttl) << "\"\n"
      << "[watchdog]\ncheck_interval = \"" << duration_text(check) << "\"\nmin_failover_interval = \"30s\"\n"
      << "unhealthy_grace = \"" << (services != nullptr ? duration_text(DemoOptions::kBrokerKillGrace) : "5000ms") << "\"\ndrain_timeout = \"60s\"\n"
      << "[heartbeat]\ninterval = \"" << duration_text(std::max(Milliseconds(50), lease_ttl / 8)) << "\"\n"
      << "[backup]\nmode = \"sync\"\n"
      << "[replay]\nquiet_period = \"" << duration_text(lease_ttl * 2) << "\"\n"
      << "[runtime]\nstats_interval = \"1s\"\ndrain_timeout = \"10s\"\n" << extra;
  return out.str();
}

// The --effects postgres handler: the amount of "msg-N" is N.
std::string postgres_handler_text(const postgres::PostgresServer& server, const std::string& password_file) {
  return "[handler]\nkind = \"sql\"\nsql_url = \"" + server.url("demo") +
         "\"\nsql_sslmode = \"disable\"\nsql_password_file = \"" + password_file +
         "\"\nsql_statement_timeout = \"500ms\"\n"
         "[[handler.sql_statements]]\n"
         "sql = \"INSERT INTO payments (message_id, amount) VALUES ($1::text, substring($1::text from '[0-9]+$')::bigint)\"\n"
         "parameters = [\"$message_id\"]\n"
         "[[handler.sql_statements]]\n"
         "sql = \"UPDATE accounts SET balance = balance + substring($1::text from '[0-9]+$')::bigint WHERE id = 'demo'\"\n"
         "parameters = [\"$message_id\"]\n";
}

// The sum of the numbers of the distinct ids in sent.log ("msg-N" counts N), and their count.
Result<std::pair<std::int64_t, std::uint64_t>> expected_payments(const std::string& sent_log) {
  std::ifstream file(sent_log);
  if (!file) return failed_precondition("cannot read " + sent_log);
  std::set<std::string> ids;
  std::string line;
  while (std::getline(file, line)) {
    if (!line.empty()) ids.insert(line);
  }
  std::int64_t sum = 0;
  for (const std::string& id : ids) {
    const std::size_t dash = id.rfind('-');
    if (dash == std::string::npos) return data_loss("sent.log holds an id without a number: " + id);
    sum += std::stoll(id.substr(dash + 1));
  }
  return std::pair{sum, static_cast<std::uint64_t>(ids.size())};
}

Result<std::string> prepare_dir(const DemoOptions& options) {
  std::string dir = options.keep_dir;
  if (dir.empty()) {
    char pattern[] = "/tmp/hadr-demo-XXXXXX";
    if (mkdtemp(pattern) == nullptr) return unavailable("cannot create a temp dir under /tmp");
    dir = pattern;
  } else {
    HADR_TRY(posix_env().create_dirs(dir));
  }
  return dir;
}

// Read-only probes of the shared stores, and the lease epochs seen.
class Probe {
 public:
  static Result<Probe> open(const RegionConfig& config) {
    Probe probe;
    probe.config_ = &config;
    HADR_ASSIGN_OR_RETURN(const RegionBackends backends, RegionBackends::resolve(config, process_environment()));
    HADR_ASSIGN_OR_RETURN(probe.lease_, backends.open_lease_store());
    HADR_ASSIGN_OR_RETURN(probe.coord_, backends.open_coord());
    HADR_ASSIGN_OR_RETURN(probe.ledger_, backends.open_ledger_reader());
    return probe;
  }
  Result<LeaseState> lease() {
    HADR_ASSIGN_OR_RETURN(LeaseState state, lease_->read(config_->lease.name));
    if (state.held && (epochs.empty() || epochs.back() != state.epoch.value)) epochs.push_back(state.epoch.value);
    return state;
  }
  Result<bool> holder_is(std::string_view region) {
    HADR_ASSIGN_OR_RETURN(LeaseState state, lease());
    return state.held && state.holder == region;
  }
  // --effects postgres: effects are hadr_inbox rows in the user's database, not ledger rows.
  Status use_inbox(const postgres::PgConnectionOptions& options) {
    HADR_ASSIGN_OR_RETURN(inbox_, postgres::PgConnection::open(options));
    return ok_status();
  }
  Result<std::uint64_t> effects() {
    if (inbox_ == nullptr) return ledger_->effect_rows();
    auto rows = inbox_->execute("SELECT count(*) FROM hadr_inbox");
    // Before the first worker starts, the table does not exist yet: no effect.
    if (!rows.ok() && rows.error().detail.find("SQLSTATE 42P01") != std::string::npos) return std::uint64_t{0};
    if (!rows.ok()) return std::move(rows).take_error();
    return static_cast<std::uint64_t>(std::stoull(rows.value().value(0, 0)));
  }
  Result<std::optional<std::int64_t>> first_effect(const RegionId& region, std::int64_t since_ms) {
    if (inbox_ == nullptr) return ledger_->first_effect_at_ms(region, since_ms);
    const postgres::PgParameter parameters[] = {{region.str(), false}, {std::to_string(since_ms), false}};
    HADR_ASSIGN_OR_RETURN(auto rows, inbox_->execute("SELECT (extract(epoch FROM min(applied_at)) * 1000)::bigint"
                                                     " FROM hadr_inbox WHERE region = $1"
                                                     " AND applied_at >= to_timestamp($2::bigint / 1000.0)",
                                                     parameters));
    if (rows.is_null(0, 0)) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(std::stoll(rows.value(0, 0)));
  }
  Result<bool> has_heartbeat(const RegionId& region) {
    HADR_ASSIGN_OR_RETURN(std::vector<Heartbeat> beats, read_heartbeats(*coord_, region));
    return !beats.empty();
  }
  Result<std::optional<Handoff>> handoff() {
    HADR_ASSIGN_OR_RETURN(std::optional<CoordRecord> record, coord_->get(kHandoffCoordKey));
    if (!record) return std::optional<Handoff>();
    HADR_ASSIGN_OR_RETURN(Handoff decoded, decode_handoff(record->value));
    return std::optional<Handoff>(decoded);
  }
  Result<std::optional<FailoverRecord>> failover_record() {
    HADR_ASSIGN_OR_RETURN(std::optional<CoordRecord> record, coord_->get(kFailoverCoordKey));
    if (!record) return std::optional<FailoverRecord>();
    HADR_ASSIGN_OR_RETURN(FailoverRecord decoded, decode_failover_record(record->value));
    return std::optional<FailoverRecord>(decoded);
  }

  std::vector<std::uint64_t> epochs;

 private:
  const RegionConfig* config_ = nullptr;
  std::unique_ptr<LeaseStore> lease_;
  std::unique_ptr<Coord> coord_;
  std::unique_ptr<EffectLedgerReader> ledger_;
  std::unique_ptr<postgres::PgConnection> inbox_;  // set: effects are read from hadr_inbox
};

std::int64_t now_ms() { return unix_millis(RealClock::instance().now_wall()); }

// Polls `condition` every kPollInterval until true; kDeadlineExceeded naming `what` after `timeout`.
Status wait_until(const std::function<Result<bool>()>& condition, Milliseconds timeout, const std::string& what) {
  const auto deadline = SteadyClock::now() + timeout;
  while (true) {
    // A store busy for a moment (SQLite recovering the WAL of a process just killed) is "not yet".
    Result<bool> done = condition();
    if (!done.ok() && done.code() != ErrorCode::kUnavailable) return std::move(done).take_error();
    if (done.ok() && *done) return ok_status();
    if (SteadyClock::now() >= deadline) {
      return deadline_exceeded("the demo waited " + std::to_string(timeout.count() / 1000) + " s for " + what +
                               "; see the logs in the demo dir (--keep DIR keeps them)");
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

class Drill {
 public:
  Drill(const DemoOptions& options, const Progress& progress) : options_(options), progress_(progress) {}
  Result<DemoReport> run();
  ~Drill() {
    if (!report_.dir.empty() && passed_ && options_.keep_dir.empty()) std::system(("rm -rf '" + report_.dir + "'").c_str());
  }

 private:
  Status start(NodeProcess& node) {
    HADR_ASSIGN_OR_RETURN(ChildProcess child,
                          ChildProcess::start(options_.hadr_binary, {"node", "--config", node.config_path},
                                              report_.dir + "/" + node.label + ".log"));
    node.child.emplace(std::move(child));
    return ok_status();
  }
  Status start_cluster();
  // Starts `hadr send` for part `part` of options_.parts() (waiting for the previous one), so
  // that load keeps coming after each kill or switchover.
  Status send_part(std::size_t part);
  // Sends progress lines while waiting for `effects` effects.
  Status wait_effects(std::uint64_t effects);
  // The event; each returns when it happened (wall ms), the start of the failover_ms window.
  Result<std::int64_t> kill_a();
  Result<std::int64_t> kill_primary_broker();
  Result<std::int64_t> switchover_to(const RegionId& to, const RegionConfig& from_config);
  Status record_takeover(const RegionId& to, std::int64_t since_ms);
  Status finish();
  Status stop_nodes();
  // --effects postgres: starts the server in DIR/postgres, creates the user's tables, and
  // returns the [handler] section of both configs.
  Result<std::string> start_postgres();
  Status measure_postgres_effects();
  void line(const std::string& text) {
    char prefix[32];
    std::snprintf(prefix, sizeof prefix, "[%6.1fs] ",
                  std::chrono::duration<double>(SteadyClock::now() - started_).count());
    progress_(prefix + text);
  }

  const DemoOptions& options_;
  const Progress& progress_;
  const SteadyClock::time_point started_ = SteadyClock::now();
  DemoReport report_;
  bool passed_ = false;
  RegionConfig config_a_, config_b_;
  std::optional<Probe> probe_;
  // Before the processes: destroyed after them, so no worker sees its database go first.
  std::unique_ptr<postgres::PostgresServer> postgres_;
  NodeProcess a_{"a", "", {}}, b_{"b", "", {}};
  std::optional<ChildProcess> sender_;
  // Declared last so that it is destroyed first: the servers outlive no process of the drill
  // only after stop_nodes(); on an error path the children are killed by their destructors.
  std::unique_ptr<LocalServices> services_;
};

Status Drill::start_cluster() {
  if (options_.backend == "real") {
    line("starting the real engines on this machine (Redis, Azurite, three RabbitMQ nodes: up to a minute)");
    HADR_ASSIGN_OR_RETURN(services_, LocalServices::start([&](const std::string& text) { line(text); }));
    LocalServices::export_secrets();
  }
  HADR_ASSIGN_OR_RETURN(report_.dir, prepare_dir(options_));
  std::string handler_section;
  if (options_.effects == "postgres") {
    HADR_ASSIGN_OR_RETURN(handler_section, start_postgres());
  }
  HADR_TRY(write_demo_configs(report_.dir, options_.lease_ttl, services_.get(), handler_section));
  a_.config_path = report_.dir + "/a.toml";
  b_.config_path = report_.dir + "/b.toml";
  HADR_ASSIGN_OR_RETURN(config_a_, load_region_config(a_.config_path));
  HADR_ASSIGN_OR_RETURN(config_b_, load_region_config(b_.config_path));
  line("dir " + report_.dir + " (a.toml, b.toml; logs a.log, b.log, send.log; alerts in a/ and b/alerts.jsonl)");
  HADR_TRY(start(a_));
  HADR_ASSIGN_OR_RETURN(Probe probe, Probe::open(config_a_));
  if (postgres_ != nullptr) HADR_TRY(probe.use_inbox(postgres_->connection_options("demo")));
  probe_.emplace(std::move(probe));
  HADR_TRY(wait_until([&] { return probe_->holder_is("a"); }, kStartTimeout, "region a to acquire the lease"));
  line("region a is active (epoch " + std::to_string(probe_->epochs.back()) + "); starting region b as the standby");
  HADR_TRY(start(b_));
  HADR_TRY(wait_until([&] { return probe_->has_heartbeat(config_b_.region); }, kStartTimeout,
                      "region b's first heartbeat"));
  return ok_status();
}

Result<std::string> Drill::start_postgres() {
  // As root the server runs as an unprivileged account, which must reach DIR/postgres: the demo
  // dir becomes traversable (not listable) by others.
  if (::geteuid() == 0 && ::chmod(report_.dir.c_str(), 0711) != 0) return unavailable("chmod " + report_.dir);
  line("starting PostgreSQL in " + report_.dir + "/postgres (initdb: a few seconds)");
  const std::string password = "demo-" + std::to_string(::getpid()) + "-" +
                               std::to_string(SteadyClock::now().time_since_epoch().count());
  const std::string password_file = report_.dir + "/postgres-password";
  {
    const int fd = ::open(password_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return unavailable("cannot write " + password_file);
    const bool written = ::write(fd, password.data(), password.size()) == static_cast<ssize_t>(password.size());
    ::close(fd);
    if (!written) return unavailable("cannot write " + password_file);
  }
  postgres::PostgresServerOptions server_options;
  server_options.password = Secret(password);
  server_options.directory = report_.dir + "/postgres";
  HADR_ASSIGN_OR_RETURN(postgres_, postgres::PostgresServer::start(std::move(server_options)));
  HADR_ASSIGN_OR_RETURN(auto admin, postgres::PgConnection::open(postgres_->connection_options()));
  HADR_TRY(admin->execute("CREATE DATABASE demo"));
  HADR_ASSIGN_OR_RETURN(auto demo, postgres::PgConnection::open(postgres_->connection_options("demo")));
  // payments has no key on message_id on purpose: a duplicate effect must show, not fail.
  HADR_TRY(demo->execute("CREATE TABLE payments (message_id text NOT NULL, amount bigint NOT NULL);"
                         "CREATE TABLE accounts (id text PRIMARY KEY, balance bigint NOT NULL);"
                         "INSERT INTO accounts VALUES ('demo', 0)"));
  line("PostgreSQL on 127.0.0.1:" + std::to_string(postgres_->port()) + " (database demo; psql \"" +
       postgres_->url("demo") + "\", password in " + password_file + ")");
  return postgres_handler_text(*postgres_, password_file);
}

Status Drill::measure_postgres_effects() {
  HADR_ASSIGN_OR_RETURN(auto demo, postgres::PgConnection::open(postgres_->connection_options("demo")));
  HADR_ASSIGN_OR_RETURN(auto rows, demo->execute("SELECT count(*), count(DISTINCT message_id),"
                                                 " (SELECT balance FROM accounts WHERE id = 'demo') FROM payments"));
  PostgresEffects effects;
  effects.effect_rows = std::stoull(rows.value(0, 0));
  effects.distinct_effect_ids = std::stoull(rows.value(0, 1));
  effects.balance = std::stoll(rows.value(0, 2));
  HADR_ASSIGN_OR_RETURN(const auto expected, expected_payments(config_a_.sent_log_path()));
  effects.expected_balance = expected.first;
  effects.sent = expected.second;
  report_.postgres = effects;
  return postgres_->stop();  // before the demo dir may be removed; --keep DIR keeps its data
}

Status Drill::send_part(std::size_t part) {
  const std::uint64_t parts = options_.parts();
  const std::uint64_t size = options_.messages / parts;
  const std::uint64_t first = 1 + part * size;
  const std::uint64_t count = part + 1 == parts ? options_.messages - part * size : size;
  if (sender_) {
    // The previous part must be fully acknowledged first: sent.log is one file.
    auto sent = sender_->wait_for(std::chrono::duration_cast<Milliseconds>(options_.timeout));
    if (!sent || !sent->exited || sent->code != 0) return internal_error("the sender failed; see " + report_.dir + "/send.log");
    sender_.reset();
  }
  std::vector<std::string> send_args = {"send", "--config", a_.config_path, "--count", std::to_string(count),
                                        "--first", std::to_string(first)};
  if (options_.rate > 0) {
    send_args.push_back("--rate");
    send_args.push_back(std::to_string(options_.rate));
  }
  HADR_ASSIGN_OR_RETURN(ChildProcess sender, ChildProcess::start(options_.hadr_binary, send_args, report_.dir + "/send.log"));
  sender_.emplace(std::move(sender));
  line("sending messages " + std::to_string(first) + ".." + std::to_string(first + count - 1) +
       (options_.rate > 0 ? " at " + std::to_string(static_cast<std::uint64_t>(options_.rate)) + "/s" : ""));
  return ok_status();
}

Status Drill::wait_effects(std::uint64_t effects) {
  auto next_line = SteadyClock::now();
  const auto deadline = started_ + options_.timeout;
  while (true) {
    Result<std::uint64_t> counted = probe_->effects();
    if (!counted.ok() && counted.code() != ErrorCode::kUnavailable) return std::move(counted).take_error();
    const std::uint64_t applied = counted.ok() ? *counted : 0;
    if (applied >= effects) return ok_status();
    if (SteadyClock::now() >= deadline) return deadline_exceeded("the demo timed out waiting for effects");
    if (SteadyClock::now() >= next_line) {
      Result<LeaseState> lease = probe_->lease();
      const std::string active = !lease.ok() ? std::string("unknown (lease store busy)")
                                 : lease->held ? lease->holder + " (epoch " + std::to_string(lease->epoch.value) + ")"
                                               : std::string("none");
      line("effects " + std::to_string(applied) + "/" + std::to_string(options_.messages) + ", active " + active);
      next_line = SteadyClock::now() + std::chrono::seconds(1);
    }
    std::this_thread::sleep_for(Milliseconds(50));
  }
}

Status Drill::record_takeover(const RegionId& to, std::int64_t since_ms) {
  HADR_TRY(wait_until(
      [&]() -> Result<bool> {
        HADR_ASSIGN_OR_RETURN(std::optional<std::int64_t> first, probe_->first_effect(to, since_ms));
        if (first) report_.timeline.first_effect_ms = *first - since_ms;
        return first.has_value();
      },
      kTakeoverTimeout, "the first effect in region " + to.str()));
  HADR_TRY(wait_until(
      [&]() -> Result<bool> {
        HADR_ASSIGN_OR_RETURN(std::optional<FailoverRecord> record, probe_->failover_record());
        if (!record || record->to != to || record->phase != "completed") return false;
        report_.timeline.detection_ms = record->free_seen_at_ms - since_ms;
        report_.timeline.acquired_ms = record->acquired_at_ms - since_ms;
        report_.timeline.alias_ms = record->alias_at_ms - since_ms;
        report_.timeline.intake_open_ms = record->completed_at_ms - since_ms;
        return true;
      },
      kTakeoverTimeout, "region " + to.str() + "'s takeover record"));
  (void)probe_->lease();
  report_.failover_ms = report_.timeline.first_effect_ms;
  line("region " + to.str() + " active at epoch " + std::to_string(probe_->epochs.back()) + "; first effect " +
       std::to_string(report_.failover_ms) + " ms after the " +
       (report_.scenario == "switchover" ? "old region released the lease" : "kill"));
  return ok_status();
}

Result<std::int64_t> Drill::kill_a() {
  const std::int64_t kill_ms = now_ms();
  a_.child->send_signal(SIGKILL);
  (void)a_.child->wait_for(std::chrono::seconds(10));
  a_.child.reset();
  line("SIGKILL region a (every process); region b must take over within " +
       std::to_string(options_.failover_bound().count()) + " ms");
  return kill_ms;
}

Result<std::int64_t> Drill::kill_primary_broker() {
  const std::int64_t kill_ms = now_ms();
  HADR_TRY(services_->kill_primary_broker());
  line("SIGKILL the RabbitMQ node of namespace primary (region a's bus); region a must see itself unhealthy, step "
       "down, and region b take over and replay what was stranded, within " +
       std::to_string(options_.failover_bound().count()) + " ms");
  return kill_ms;
}

Result<std::int64_t> Drill::switchover_to(const RegionId& to, const RegionConfig& from_config) {
  line("switchover to " + to.str() + " requested");
  HADR_ASSIGN_OR_RETURN(SwitchoverReport switched,
                        request_switchover(from_config, to, kTakeoverTimeout, [&](const std::string& text) { line(text); }));
  line("switchover done in " + std::to_string(switched.elapsed_ms) + " ms (the old region drained first): " + to.str() +
       " active at epoch " + std::to_string(switched.epoch_after));
  (void)probe_->lease();
  // Effects never stop during the drain (the old region applies its backlog); the gap is from
  // the moment the old region released the lease to the first effect in the new one.
  HADR_ASSIGN_OR_RETURN(std::optional<Handoff> handoff, probe_->handoff());
  if (!handoff || handoff->to != to) return internal_error("the switchover left no handoff record naming " + to.str());
  return handoff->at_ms;
}

Status Drill::stop_nodes() {
  for (NodeProcess* node : {&a_, &b_}) {
    if (node->child) node->child->send_signal(SIGTERM);
  }
  for (NodeProcess* node : {&a_, &b_}) {
    if (!node->child) continue;
    auto exit = node->child->wait_for(std::chrono::seconds(60));
    if (!exit) return deadline_exceeded("region " + node->label + " did not stop within 60 s of SIGTERM");
    if (!exit->exited || exit->code != 0) {
      return internal_error("region " + node->label + " exited with code " + std::to_string(exit->code) + " signal " +
                            std::to_string(exit->signal) + " after SIGTERM; see " + report_.dir + "/" + node->label + ".log");
    }
    node->child.reset();
  }
  return ok_status();
}

Status Drill::finish() {
  auto sent = sender_->wait_for(std::chrono::duration_cast<Milliseconds>(options_.timeout));
  if (!sent || !sent->exited || sent->code != 0) return internal_error("the sender failed; see " + report_.dir + "/send.log");
  line("all " + std::to_string(options_.messages) + " messages sent; waiting until each has its effect");
  const auto deadline = started_ + options_.timeout;
  auto next_line = SteadyClock::now();
  while (true) {
    Result<VerifyReport> verified = verify_region(config_a_);
    if (!verified.ok() && verified.code() != ErrorCode::kUnavailable) return std::move(verified).take_error();
    if (verified.ok()) report_.verify = *verified;
    if (verified.ok() && report_.verify.lost == 0) break;
    if (SteadyClock::now() >= deadline) {
      line("timed out with " + std::to_string(report_.verify.lost) + " messages without effect");
      break;
    }
    if (SteadyClock::now() >= next_line) {
      line("draining: " + std::to_string(report_.verify.effects) + " effects, " + std::to_string(report_.verify.lost) +
           " not applied yet");
      next_line = SteadyClock::now() + std::chrono::seconds(5);
    }
    // verify reads the whole ledger and sent.log: polling faster would slow the drain it waits for.
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
  HADR_TRY(stop_nodes());
  HADR_ASSIGN_OR_RETURN(report_.verify, verify_region(config_a_));
  // verify counted region a's duplicate deliveries (its data dir); add region b's.
  HADR_ASSIGN_OR_RETURN(NodeStats b_stats, read_stats_file(config_b_.data_dir + "/stats-node.json"));
  HADR_ASSIGN_OR_RETURN(NodeStats a_stats, read_stats_file(config_a_.data_dir + "/stats-node.json"));
  report_.verify.duplicate_deliveries += b_stats.workers.suppressed_duplicates;
  report_.replayed = a_stats.failover.replayed + b_stats.failover.replayed;
  if (postgres_ != nullptr) HADR_TRY(measure_postgres_effects());
  return ok_status();
}

Result<DemoReport> Drill::run() {
  report_.scenario = options_.scenario;
  report_.backend = options_.backend;
  report_.effects = options_.effects;
  report_.failover_bound = options_.failover_bound();
  HADR_TRY(start_cluster());
  const std::uint64_t part_size = options_.messages / options_.parts();
  const std::uint64_t kill_at = options_.effective_kill_at();
  HADR_TRY(send_part(0));
  HADR_TRY(wait_effects(kill_at));
  std::int64_t event_ms = 0;
  if (options_.scenario == "switchover") {
    HADR_ASSIGN_OR_RETURN(event_ms, switchover_to(config_b_.region, config_a_));
  } else if (options_.scenario == "broker-kill") {
    HADR_ASSIGN_OR_RETURN(event_ms, kill_primary_broker());
  } else {
    HADR_ASSIGN_OR_RETURN(event_ms, kill_a());
  }
  HADR_TRY(send_part(1));  // before waiting for b: its first effect may be a new message
  HADR_TRY(record_takeover(config_b_.region, event_ms));
  if (options_.scenario == "failback") {
    line("restarting region a as the standby");
    HADR_TRY(start(a_));
    HADR_TRY(wait_until([&] { return probe_->has_heartbeat(config_a_.region); }, kStartTimeout, "region a's heartbeat"));
    HADR_TRY(wait_effects(part_size + kill_at));
    auto back = switchover_to(config_a_.region, config_b_);
    if (!back.ok()) return back.error();
    HADR_TRY(send_part(2));
  }
  HADR_TRY(finish());
  report_.epochs = probe_->epochs;
  report_.elapsed_seconds = std::chrono::duration<double>(SteadyClock::now() - started_).count();
  passed_ = report_.passed();
  return report_;
}

std::string ms_text(std::int64_t ms) {
  if (ms < 0) return "    -   ";
  char text[32];
  std::snprintf(text, sizeof text, "+%6.2f s", static_cast<double>(ms) / 1000.0);
  return text;
}

}  // namespace

Status write_demo_configs(const std::string& dir, Milliseconds lease_ttl, const LocalServices* services,
                          const std::string& extra) {
  for (const auto& [name, peer, bus_namespace] :
       {std::tuple{"a", "b", "primary"}, std::tuple{"b", "a", "secondary"}}) {
    std::ofstream config(dir + "/" + name + ".toml", std::ios::trunc);
    config << region_config_text(name, peer, bus_namespace, lease_ttl, services, extra);
    if (!config.flush()) return unavailable("cannot write " + dir + "/" + name + ".toml; is the directory writable?");
  }
  return ok_status();
}

Status DemoOptions::validate() const {
  if (scenario != "failover" && scenario != "switchover" && scenario != "failback" && scenario != "broker-kill") {
    return invalid_argument("--scenario " + scenario + " is unknown; use failover, switchover, failback or broker-kill");
  }
  if (backend != "embedded" && backend != "real") {
    return invalid_argument("--backend " + backend + " is unknown; use embedded (SQLite files) or real (Redis, RabbitMQ, Azurite)");
  }
  if (scenario == "broker-kill" && backend != "real") {
    return invalid_argument("--scenario broker-kill kills a RabbitMQ node: it needs --backend real");
  }
  if (effects != "ledger" && effects != "postgres") {
    return invalid_argument("--effects " + effects + " is unknown; use ledger (hadr's own store) or postgres (the sql handler)");
  }
  if (messages < 100 || messages > 10'000'000) return invalid_argument("--messages must be 100 .. 10,000,000");
  if (kill_at >= messages / parts()) {
    return invalid_argument("--kill-at must be below " + std::to_string(messages / parts()) +
                            ": the load is sent in " + std::to_string(parts()) +
                            " parts, one before each kill or switchover and one after the last");
  }
  if (lease_ttl < Milliseconds(300) || lease_ttl > Milliseconds(60'000)) {
    return invalid_argument("--lease-ttl must be between 300ms and 60s");
  }
  if (rate < 0) return invalid_argument("--rate must be >= 0");
  if (hadr_binary.empty()) return invalid_argument("the hadr binary path is empty");
  return ok_status();
}

bool DemoReport::passed() const {
  if (!verify.passed()) return false;
  if (!failover_within_bound()) return false;
  if (scenario == "switchover" && verify.duplicate_deliveries != 0) return false;
  if (effects == "postgres" && (!postgres || !postgres->consistent())) return false;
  return true;
}

std::string DemoReport::to_json() const {
  nlohmann::json json = nlohmann::json::parse(verify.to_json());
  json["scenario"] = scenario;
  json["backend"] = backend;
  json["failover_ms"] = failover_ms;
  json["failover_bound_ms"] = failover_bound.count();
  json["timeline_ms"] = {{"detection", timeline.detection_ms},
                         {"acquire", timeline.acquired_ms},
                         {"alias", timeline.alias_ms},
                         {"intake_open", timeline.intake_open_ms},
                         {"first_effect", timeline.first_effect_ms}};
  json["replayed"] = replayed;
  json["epochs"] = epochs;
  json["elapsed_seconds"] = elapsed_seconds;
  json["effects"] = effects;
  if (postgres) {
    json["postgres"] = {{"effect_rows", postgres->effect_rows},
                        {"distinct_effect_ids", postgres->distinct_effect_ids},
                        {"balance", postgres->balance},
                        {"expected_balance", postgres->expected_balance}};
  }
  json["passed"] = passed();
  return json.dump();
}

std::string DemoReport::to_text() const {
  std::ostringstream out;
  const char* after = scenario == "switchover" ? "old region released the lease" : "kill";
  out << "\nhadr demo: " << scenario << " drill, two regions on this machine, " << backend << " backends (" << dir
      << ")\n\n"
      << "  where the time went, after the " << after << ":\n"
      << "    " << ms_text(timeline.detection_ms) << "  the standby saw the lease free (detection)\n"
      << "    " << ms_text(timeline.acquired_ms) << "  it acquired the lease\n"
      << "    " << ms_text(timeline.alias_ms) << "  the bus alias names its namespace\n"
      << "    " << ms_text(timeline.intake_open_ms) << "  replay of the old region's WAL begun, intake open\n"
      << "    " << ms_text(timeline.first_effect_ms) << "  first effect in the new region\n\n"
      << "  failover_ms " << failover_ms << " (bound: lease TTL + 1.5 s"
      << (scenario == "broker-kill" ? " + watchdog.unhealthy_grace" : "") << " = " << failover_bound.count() << " ms) "
      << (failover_within_bound() ? "ok" : "EXCEEDED") << "\n"
      << "  replayed " << replayed << " records from the blob backup; lease epochs";
  for (std::uint64_t epoch : epochs) out << " " << epoch;
  out << "\n\n  sent " << verify.sent << ", effects " << verify.effects << ", lost " << verify.lost
      << ", duplicate effects " << verify.duplicate_effects << ", dead-lettered " << verify.dead_lettered
      << ", duplicate deliveries " << verify.duplicate_deliveries << "\n";
  if (postgres) {
    out << "  postgres: effect_rows " << postgres->effect_rows << ", distinct_effect_ids "
        << postgres->distinct_effect_ids << ", balance " << postgres->balance << ", expected_balance "
        << postgres->expected_balance << " " << (postgres->consistent() ? "ok" : "MISMATCH") << "\n";
  }
  char elapsed[64];
  std::snprintf(elapsed, sizeof elapsed, "%.1f s", elapsed_seconds);
  out << "\n  " << (passed() ? "PASSED" : "FAILED") << " in " << elapsed;
  if (!passed()) {
    if (verify.lost > 0) out << " — messages lost";
    if (verify.duplicate_effects > 0) out << " — duplicate effects";
    if (!failover_within_bound()) out << " — failover slower than the bound";
    if (scenario == "switchover" && verify.duplicate_deliveries > 0) out << " — a switchover must not deliver twice";
    if (postgres && !postgres->consistent()) out << " — the payments in PostgreSQL do not match what was sent";
  }
  out << "\n";
  return out.str();
}

Result<DemoReport> run_demo(const DemoOptions& options, const Progress& progress) {
  HADR_TRY(options.validate());
  Drill drill(options, progress);
  return drill.run();
}

}  // namespace hadr
