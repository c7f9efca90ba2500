#include "roles/watchdog.h"

#include <nlohmann/json.hpp>

#include "core/assert.h"
#include "roles/checkpoint.h"
#include "roles/json_fields.h"
#include "roles/replayer.h"
#include "roles/store_witness.h"

namespace hadr {
namespace {

using Json = nlohmann::json;

Result<Json> parse_object(std::string_view value, std::string_view key) {
  Json parsed = Json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return data_loss("coord record " + std::string(key) + " is not a JSON object; remove it or rewrite it");
  }
  return parsed;
}

Result<RegionId> region_field(const Json& object, const char* field, std::string_view key, bool allow_empty) {
  HADR_ASSIGN_OR_RETURN(const std::string text, json_string_field(object, field, key));
  if (text.empty() && allow_empty) return RegionId();
  auto region = RegionId::parse(text);
  if (!region.ok()) {
    return data_loss("coord record " + std::string(key) + " field " + field + " is not a region name: " +
                     region.error().detail);
  }
  return region;
}

std::string dump(const Json& json) { return json.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace

std::string encode_failover_record(const FailoverRecord& record) {
  return dump({{"kind", record.kind},
               {"from", record.from.str()},
               {"to", record.to.str()},
               {"epoch", record.epoch.value},
               {"phase", record.phase},
               {"free_seen_at_ms", record.free_seen_at_ms},
               {"acquired_at_ms", record.acquired_at_ms},
               {"alias_at_ms", record.alias_at_ms},
               {"completed_at_ms", record.completed_at_ms},
               {"released_at_ms", record.released_at_ms},
               {"released_reason", record.released_reason}});
}

Result<FailoverRecord> decode_failover_record(std::string_view value) {
  HADR_ASSIGN_OR_RETURN(Json json, parse_object(value, kFailoverCoordKey));
  FailoverRecord record;
  HADR_ASSIGN_OR_RETURN(record.kind, json_string_field(json, "kind", kFailoverCoordKey));
  HADR_ASSIGN_OR_RETURN(record.from, region_field(json, "from", kFailoverCoordKey, true));
  HADR_ASSIGN_OR_RETURN(record.to, region_field(json, "to", kFailoverCoordKey, false));
  HADR_ASSIGN_OR_RETURN(record.epoch.value, json_u64_field(json, "epoch", kFailoverCoordKey));
  HADR_ASSIGN_OR_RETURN(record.phase, json_string_field(json, "phase", kFailoverCoordKey));
  HADR_ASSIGN_OR_RETURN(record.free_seen_at_ms, json_i64_field(json, "free_seen_at_ms", kFailoverCoordKey));
  HADR_ASSIGN_OR_RETURN(record.acquired_at_ms, json_i64_field(json, "acquired_at_ms", kFailoverCoordKey));
  HADR_ASSIGN_OR_RETURN(record.alias_at_ms, json_i64_field(json, "alias_at_ms", kFailoverCoordKey));
  HADR_ASSIGN_OR_RETURN(record.completed_at_ms, json_i64_field(json, "completed_at_ms", kFailoverCoordKey));
  HADR_ASSIGN_OR_RETURN(record.released_at_ms, json_i64_field(json, "released_at_ms", kFailoverCoordKey));
  HADR_ASSIGN_OR_RETURN(record.released_reason, json_string_field(json, "released_reason", kFailoverCoordKey));
  return record;
}

std::string encode_switchover_request(const SwitchoverRequest& request) {
  return dump({{"to", request.to.str()}, {"requested_at_ms", request.requested_at_ms}});
}

Result<SwitchoverRequest> decode_switchover_request(std::string_view value) {
  HADR_ASSIGN_OR_RETURN(Json json, parse_object(value, kSwitchoverRequestCoordKey));
  SwitchoverRequest request;
  HADR_ASSIGN_OR_RETURN(request.to, region_field(json, "to", kSwitchoverRequestCoordKey, false));
  HADR_ASSIGN_OR_RETURN(request.requested_at_ms,
                        json_i64_field(json, "requested_at_ms", kSwitchoverRequestCoordKey));
  return request;
}

std::string encode_handoff(const Handoff& handoff) {
  return dump({{"from", handoff.from.str()},
               {"to", handoff.to.str()},
               {"epoch", handoff.epoch.value},
               {"at_ms", handoff.at_ms}});
}

Result<Handoff> decode_handoff(std::string_view value) {
  HADR_ASSIGN_OR_RETURN(Json json, parse_object(value, kHandoffCoordKey));
  Handoff handoff;
  HADR_ASSIGN_OR_RETURN(handoff.from, region_field(json, "from", kHandoffCoordKey, false));
  HADR_ASSIGN_OR_RETURN(handoff.to, region_field(json, "to", kHandoffCoordKey, false));
  HADR_ASSIGN_OR_RETURN(handoff.epoch.value, json_u64_field(json, "epoch", kHandoffCoordKey));
  HADR_ASSIGN_OR_RETURN(handoff.at_ms, json_i64_field(json, "at_ms", kHandoffCoordKey));
  return handoff;
}

std::string_view watchdog_phase_name(WatchdogPhase phase) {
  switch (phase) {
    case WatchdogPhase::kStandby: return "standby";
    case WatchdogPhase::kTakingOver: return "taking_over";
    case WatchdogPhase::kActive: return "active";
    case WatchdogPhase::kHandingOver: return "handing_over";
    case WatchdogPhase::kHalted: return "halted";
  }
  return "unknown";
}

std::string_view alert_severity_name(AlertSeverity severity) {
  switch (severity) {
    case AlertSeverity::kInfo: return "info";
    case AlertSeverity::kWarning: return "warning";
    case AlertSeverity::kCritical: return "critical";
  }
  return "unknown";
}

Status WatchdogOptions::validate() const {
  if (region.empty() || peer.empty()) return invalid_argument("watchdog needs both region names ([region] name and peer)");
  if (region == peer) return invalid_argument("region.peer must differ from region.name (\"" + region.str() + "\")");
  if (bus_namespace.empty()) return invalid_argument("watchdog bus namespace is empty; set backends.bus_namespace");
  const auto in_range = [](Milliseconds value, Milliseconds low, Milliseconds high) { return value >= low && value <= high; };
  const auto bad = [](std::string_view key, Milliseconds value, std::string_view range) {
    return invalid_argument("watchdog." + std::string(key) + " = " + std::to_string(value.count()) +
                            "ms is out of range; use " + std::string(range));
  };
  if (!in_range(check_interval, Milliseconds(10), Milliseconds(10'000))) return bad("check_interval", check_interval, "10ms .. 10s");
  if (!in_range(min_failover_interval, Milliseconds(0), std::chrono::hours(24))) {
    return bad("min_failover_interval", min_failover_interval, "0 .. 1d");
  }
  if (!in_range(unhealthy_grace, Milliseconds(10), std::chrono::hours(1))) return bad("unhealthy_grace", unhealthy_grace, "10ms .. 1h");
  if (!in_range(drain_timeout, Milliseconds(1), std::chrono::hours(1))) return bad("drain_timeout", drain_timeout, "1ms .. 1h");
  if (!in_range(handoff_timeout, Milliseconds(1), std::chrono::hours(1))) return bad("handoff_timeout", handoff_timeout, "1ms .. 1h");
  if (!in_range(heartbeat_ttl, Milliseconds(30), std::chrono::minutes(3))) {
    return bad("heartbeat_ttl (3 x heartbeat.interval)", heartbeat_ttl, "30ms .. 3m: heartbeat.interval 10ms .. 1m");
  }
  return Status();
}

Result<std::unique_ptr<Watchdog>> Watchdog::create(const WatchdogDependencies& dependencies, WatchdogOptions options) {
  HADR_TRY(options.validate());
  return std::unique_ptr<Watchdog>(new Watchdog(dependencies, std::move(options)));
}

Watchdog::Watchdog(const WatchdogDependencies& dependencies, WatchdogOptions options)
    : deps_(dependencies),
      options_(std::move(options)),
      backoff_(dependencies.clock, BackoffOptions{.initial = Milliseconds(20), .max = Milliseconds(500)}) {}

WatchdogStatus Watchdog::status() const {
  std::lock_guard lock(status_mutex_);
  return status_;
}

void Watchdog::set_phase(WatchdogPhase phase) {
  phase_ = phase;
  std::lock_guard lock(status_mutex_);
  status_.phase = phase;
}

void Watchdog::raise(AlertSeverity severity, std::string event, std::string detail, std::optional<Epoch> epoch) {
  deps_.alerts.raise(Alert{.severity = severity,
                           .event = std::move(event),
                           .region = options_.region,
                           .epoch = epoch.value_or(deps_.lease.epoch()),
                           .detail = std::move(detail),
                           .at = deps_.clock.now_wall()});
  std::lock_guard lock(status_mutex_);
  ++status_.alerts;
}

Status Watchdog::absorb(std::string_view what, const Error& error) {
  return absorb_failure(what, error, backoff_, health_);
}

void Watchdog::halt(const Error& error, std::string event) {
  const Epoch granted = deps_.lease.epoch();  // before release(), which forgets it
  (void)deps_.lease.release();
  deps_.control.set_intake_open(false);
  health_.record_error("halted", error);
  raise(AlertSeverity::kCritical, std::move(event), error.detail, granted);
  set_phase(WatchdogPhase::kHalted);
}

Result<StepOutcome> Watchdog::step() {
  if (phase_ == WatchdogPhase::kHalted || !backoff_.ready()) return StepOutcome::kIdle;
  // Takeover and handover sub-steps run back to back; the periodic checks wait for their turn.
  if (phase_ == WatchdogPhase::kTakingOver) return continue_takeover();
  if (phase_ == WatchdogPhase::kHandingOver) return continue_handover();
  const MonoTime now = deps_.clock.now_monotonic();
  if (now < next_check_at_) return StepOutcome::kIdle;
  next_check_at_ = now + options_.check_interval;
  const Status health = evaluate_health();
  if (!health.ok()) {
    HADR_TRY(absorb("watchdog health", health.error()));
    return StepOutcome::kIdle;
  }
  return phase_ == WatchdogPhase::kActive ? active_check() : standby_check();
}

Status Watchdog::evaluate_health() {
  const MonoTime now = deps_.clock.now_monotonic();
  auto beats = read_heartbeats(deps_.coord, options_.region);
  if (!beats.ok()) {
    coord_answering_since_.reset();  // what is missing from now on may be missing because of this
    return beats.error();            // the verdict stays as it was (step() absorbs the error)
  }
  if (!coord_answering_since_) coord_answering_since_ = now;
  const HealthFindings found = judge_heartbeats(*beats);
  std::string reason;
  std::string shared;
  if (found.workers == 0) {
    reason = "no live worker heartbeat in region " + options_.region.str();
  } else if (found.failing_workers == found.workers && found.failing_local_workers > 0) {
    reason = "every worker is failing (" + found.worker_error + ")";
  } else if (!found.failing_core.empty()) {
    reason = found.failing_core;
  }
  if (found.workers > 0 && found.failing_workers == found.workers && found.failing_local_workers == 0) {
    shared = "every worker is failing on a shared store (" + found.worker_error + ")";
  } else if (!found.shared_core.empty()) {
    shared = found.shared_core;
  }
  if (reason.empty()) {
    unhealthy_since_.reset();
  } else if (!unhealthy_since_) {
    unhealthy_since_ = now;
  }
  const bool within_grace = unhealthy_since_ && now - *unhealthy_since_ < options_.unhealthy_grace;
  // Taking over needs positive evidence: a live worker. Stepping down needs evidence too: a
  // failing role past the grace, or workers absent while the store answered for a heartbeat
  // TTL (they would have written again by then) — never their absence during a store outage.
  region_healthy_ = reason.empty() || (found.workers > 0 && within_grace);
  region_broken_ = !reason.empty() && (found.workers == 0
                                           ? now - *coord_answering_since_ >= options_.heartbeat_ttl
                                           : !within_grace);
  health_reason_ = reason;
  track_shared_outage(std::move(shared), now);
  std::lock_guard lock(status_mutex_);
  status_.region_healthy = region_healthy_;
  status_.health_reason = reason;
  status_.shared_outage = shared_outage_;
  return Status();
}

Watchdog::HealthFindings Watchdog::judge_heartbeats(const std::vector<Heartbeat>& beats) {
  HealthFindings found;
  std::map<std::string, ObservedRole> seen;
  for (const Heartbeat& beat : beats) {
    for (const NamedHealth& role : beat.roles) {
      const std::string key = beat.process + "/" + role.name;
      ObservedRole observed{.health = role.health, .at_ms = beat.at_ms};
      const auto previous = previous_health_.find(key);
      if (previous != previous_health_.end()) {
        // Heartbeats arrive less often than checks: judge only a new record, keep the verdict otherwise.
        observed.failing = previous->second.at_ms == beat.at_ms
                               ? previous->second.failing
                               : role.health.errors_total > previous->second.health.errors_total &&
                                     role.health.progress_total == previous->second.health.progress_total;
      }
      // A role whose every call fails backs off up to seconds between errors, so the totals of
      // two close heartbeats often show no new error: its own "last call failed" is the signal.
      // Only while active: a standby's roles are fenced and make no calls, so their last
      // verdict is stale (trusting it left both regions standby forever: simulator seed 204).
      if (phase_ == WatchdogPhase::kActive && role.health.consecutive_errors > 0) observed.failing = true;
      const std::string_view kind = role_kind(role.name);
      const Dependency dependency = failing_dependency(role.health.last_error);
      const std::string error =
          role.name + ": " + role.health.last_error + " (" + std::string(dependency_name(dependency)) + ")";
      if (kind == "worker") {
        ++found.workers;
        if (observed.failing) {
          ++found.failing_workers;
          if (!is_shared(dependency)) ++found.failing_local_workers;
          found.worker_error = error;
        }
      } else if (observed.failing && (kind == "relay" || kind == "promoter")) {
        (is_shared(dependency) ? found.shared_core : found.failing_core) = error;
      }
      seen.emplace(key, std::move(observed));
    }
  }
  previous_health_ = std::move(seen);
  return found;
}

void Watchdog::track_shared_outage(std::string shared, MonoTime now) {
  if (shared.empty()) {
    shared_since_.reset();
    if (shared_outage_reported_) {
      raise(AlertSeverity::kInfo, "shared_dependency_restored",
            "region " + options_.region.str() + ": the shared store answers again (was: " + shared_outage_ + ")");
    }
    shared_outage_reported_ = false;
    shared_outage_.clear();
    return;
  }
  if (!shared_since_) shared_since_ = now;
  shared_outage_ = std::move(shared);
  if (shared_outage_reported_ || now - *shared_since_ < options_.unhealthy_grace) return;
  shared_outage_reported_ = true;
  // A store both regions use: the peer would fail the same way, so a failover cannot help.
  raise(AlertSeverity::kCritical, "shared_dependency_down",
        "region " + options_.region.str() + " stays " + std::string(watchdog_phase_name(phase_)) +
            ": a store both regions use is failing, a failover cannot help: " + shared_outage_);
}

Result<std::optional<Handoff>> Watchdog::live_handoff(const LeaseState& lease) {
  HADR_ASSIGN_OR_RETURN(std::optional<CoordRecord> record, deps_.coord.get(kHandoffCoordKey));
  if (!record) return std::optional<Handoff>();
  HADR_ASSIGN_OR_RETURN(Handoff handoff, decode_handoff(record->value));
  // Obsolete once anyone acquired after it, or when the peer did not take it in time.
  if (handoff.epoch != lease.highest_epoch ||
      !still_within(seen_handoff_, handoff.epoch, handoff.at_ms, options_.handoff_timeout)) {
    return std::optional<Handoff>();
  }
  return std::optional<Handoff>(handoff);
}

bool Watchdog::still_within(SeenRecord& seen, Epoch epoch, std::int64_t stamped_at_ms, Milliseconds interval) {
  const MonoTime now = deps_.clock.now_monotonic();
  if (seen.epoch != epoch.value || seen.stamped_at_ms != stamped_at_ms) {
    seen = SeenRecord{.epoch = epoch.value, .stamped_at_ms = stamped_at_ms, .first_seen = now};
  }
  const std::int64_t wall_age_ms = unix_millis(deps_.clock.now_wall()) - stamped_at_ms;
  return wall_age_ms < interval.count() && now - seen.first_seen < interval;
}

Result<Epoch> Watchdog::recorded_epoch_floor() {
  Epoch floor;
  const std::string keys[] = {std::string(kAliasCoordKey),          std::string(kFailoverCoordKey),
                              std::string(kHandoffCoordKey),        checkpoint_coord_key(options_.region),
                              checkpoint_coord_key(options_.peer),  replay_progress_key(options_.region),
                              replay_progress_key(options_.peer)};
  for (const std::string& key : keys) {
    HADR_ASSIGN_OR_RETURN(std::optional<CoordRecord> record, deps_.coord.get(key));
    if (record) floor = std::max(floor, record->epoch);
  }
  if (deps_.dedupe != nullptr) {
    HADR_ASSIGN_OR_RETURN(const Epoch claimed, deps_.dedupe->highest_epoch());
    floor = std::max(floor, claimed);
  }
  // What the records above cannot show when the whole store went back together (hole 3).
  if (deps_.witness != nullptr) {
    for (const RegionId& region : {options_.region, options_.peer}) {
      HADR_ASSIGN_OR_RETURN(const Epoch witnessed, read_epoch_witness(*deps_.witness, region));
      floor = std::max(floor, witnessed);
    }
  }
  return floor;
}

Result<bool> Watchdog::check_witness(Epoch epoch) {
  if (deps_.witness == nullptr) return true;
  const std::string incarnation = options_.region.str() + "@" + std::to_string(epoch.value) + "@" +
                                  std::to_string(unix_millis(deps_.clock.now_wall()));
  Result<StoreIdentityCheck> identity = check_store_identity(deps_.coord, *deps_.witness, incarnation);
  if (!identity.ok()) {
    HADR_TRY(absorb("store identity check", identity.error()));
    return false;
  }
  if (identity->identity == StoreIdentity::kLost) {
    // Done marks, settled floors and the ledger may be gone with the store: applying anything
    // now could apply it twice. Fail closed until an operator recovers the store.
    halt(failed_precondition("the shared store lost its state: coord record '" + std::string(kStoreIncarnationCoordKey) +
                             "' is " +
                             (identity->coord_incarnation.empty() ? std::string("missing")
                                                                  : "'" + identity->coord_incarnation + "'") +
                             " but the blob witness remembers '" + identity->witness_incarnation +
                             "'; see docs/failover.md, \"A store that lost its state\", before restarting"),
         "store_state_lost");
    return false;
  }
  if (identity->identity == StoreIdentity::kAdopted) {
    raise(AlertSeverity::kWarning, "store_witness_created",
          "the blob store had no witness of the shared store; it now remembers '" + identity->coord_incarnation + "'");
  }
  // Recorded before the fence opens: every epoch that ever writes is witnessed.
  const Status raised = raise_epoch_witness(*deps_.witness, options_.region, epoch);
  if (!raised.ok()) {
    HADR_TRY(absorb("epoch witness", raised.error()));
    return false;
  }
  return true;
}

Result<bool> Watchdog::anti_flap_holds() {
  if (options_.min_failover_interval.count() == 0) return false;
  HADR_ASSIGN_OR_RETURN(std::optional<CoordRecord> record, deps_.coord.get(kFailoverCoordKey));
  if (!record) return false;
  HADR_ASSIGN_OR_RETURN(FailoverRecord last, decode_failover_record(record->value));
  if (last.kind != "failover") return false;  // the first grant and planned handovers do not count
  if (!still_within(seen_failover_, last.epoch, last.acquired_at_ms, options_.min_failover_interval)) return false;
  // Anti-flap keeps the lease from bouncing between two live regions; it must never be what
  // leaves no region active (issue 12, hole 15: 26 s with both regions passive).
  if (last.to == options_.region) return false;  // we took it last: the peer never took it from us
  if (last.released_at_ms != 0) return false;    // the peer stepped down: it gave the lease up itself
  HADR_ASSIGN_OR_RETURN(const bool alive, peer_alive());
  return alive;  // a peer without a live heartbeat cannot take it back
}

Result<bool> Watchdog::peer_alive() {
  HADR_ASSIGN_OR_RETURN(std::vector<Heartbeat> beats, read_heartbeats(deps_.coord, options_.peer));
  return !beats.empty();
}

Status Watchdog::mark_released(const std::string& reason) {
  record_.released_at_ms = unix_millis(deps_.clock.now_wall());
  record_.released_reason = reason.substr(0, 200);
  return write_failover_record();
}

Result<StepOutcome> Watchdog::step_down() {
  deps_.control.set_intake_open(false);
  const Epoch released = deps_.lease.epoch();  // before release(), which forgets it (hole 16)
  // Tell the peer we gave it up ourselves, so that its anti-flap does not hold it back. Written
  // while we still hold the epoch; a failed write only means the peer waits out anti-flap.
  // Past the renew deadline the epoch may already be someone else's: no record then.
  const Status marked =
      record_.epoch == released && inside_renew_deadline() ? mark_released(health_reason_) : Status();
  if (!marked.ok()) health_.record_error("watchdog marking failover/last released", marked.error());
  (void)deps_.lease.release();
  yield_until_ = deps_.clock.now_monotonic() + options_.check_interval * 2;
  {
    std::lock_guard lock(status_mutex_);
    ++status_.step_downs;
  }
  raise(AlertSeverity::kCritical, "step_down",
        "region " + options_.region.str() + " is unhealthy (" + health_reason_ + "); released the lease at epoch " +
            std::to_string(released.value),
        released);
  set_phase(WatchdogPhase::kStandby);
  return StepOutcome::kProgress;
}

Result<StepOutcome> Watchdog::standby_check() {
  auto lease = deps_.lease_store.read(deps_.lease.options().name);
  if (!lease.ok()) {
    HADR_TRY(absorb("lease read", lease.error()));
    return StepOutcome::kIdle;
  }
  deps_.lease.observe_epoch(lease->highest_epoch);
  if (lease->held) {
    free_seen_at_ms_ = 0;
    if (!lease->holder.empty()) {
      auto holder = RegionId::parse(lease->holder);
      if (holder.ok()) last_holder_seen_ = *holder;
    }
    return StepOutcome::kIdle;
  }
  if (free_seen_at_ms_ == 0) free_seen_at_ms_ = unix_millis(deps_.clock.now_wall());
  // After a step-down the region yields two check intervals, so that a healthy standby (which
  // checks as often) takes the free lease first; longer would delay a takeover when the peer is
  // gone too (simulator seed 253). Health gates the acquire, and anti-flap bounds a region that
  // keeps falling ill.
  if (deps_.clock.now_monotonic() < yield_until_ || !region_healthy_) return StepOutcome::kIdle;
  auto handoff = live_handoff(*lease);
  if (!handoff.ok()) {
    HADR_TRY(absorb("handoff read", handoff.error()));
    return StepOutcome::kIdle;
  }
  std::string kind = lease->highest_epoch.value == 0 ? "initial" : "failover";
  if (handoff->has_value()) {
    if ((*handoff)->to != options_.region) return StepOutcome::kIdle;  // handed to someone else
    kind = "switchover";
  } else if (kind == "failover") {
    auto held_back = anti_flap_holds();
    if (!held_back.ok()) {
      HADR_TRY(absorb("failover record read", held_back.error()));
      return StepOutcome::kIdle;
    }
    if (*held_back) return StepOutcome::kIdle;
  }
  const RegionId from = kind == "initial" ? RegionId() : (last_holder_seen_.empty() ? options_.peer : last_holder_seen_);
  return begin_takeover(std::move(kind), from);
}

Result<StepOutcome> Watchdog::begin_takeover(std::string kind, RegionId from) {
  auto granted = deps_.lease.try_acquire();
  if (!granted.ok()) {
    if (granted.code() == ErrorCode::kFailedPrecondition) {
      halt(granted.error());
      return StepOutcome::kProgress;
    }
    HADR_TRY(absorb("lease acquire", granted.error()));
    return StepOutcome::kIdle;
  }
  if (!*granted) return StepOutcome::kIdle;  // the peer was faster
  last_holder_seen_ = options_.region;  // whoever takes it next takes it from us
  const std::int64_t now_ms = unix_millis(deps_.clock.now_wall());
  record_ = FailoverRecord{.kind = std::move(kind),
                           .from = std::move(from),
                           .to = options_.region,
                           .epoch = deps_.lease.epoch(),
                           .phase = "acquired",
                           .free_seen_at_ms = free_seen_at_ms_ != 0 ? free_seen_at_ms_ : now_ms,
                           .acquired_at_ms = now_ms};
  free_seen_at_ms_ = 0;
  takeover_step_ = TakeoverStep::kEpochCheck;
  set_phase(WatchdogPhase::kTakingOver);
  raise(AlertSeverity::kWarning, record_.kind + "_started",
        "region " + options_.region.str() + " acquired the lease at epoch " + std::to_string(record_.epoch.value) +
            (record_.from.empty() ? std::string() : " (previous holder: " + record_.from.str() + ")"));
  deps_.crash_points.hit("watchdog.after_acquire_before_alias");
  return StepOutcome::kProgress;
}

Status Watchdog::write_failover_record() {
  CoordPut write{.key = std::string(kFailoverCoordKey),
                 .value = encode_failover_record(record_),
                 .epoch = record_.epoch,
                 .condition = CoordCondition::kEpochAtLeast};
  auto written = deps_.coord.put(write);
  if (!written.ok()) return written.error();
  return Status();
}

Result<StepOutcome> Watchdog::continue_takeover() {
  if (!deps_.lease.holding()) {
    raise(AlertSeverity::kCritical, "takeover_abandoned", "lost the lease in the middle of a takeover", record_.epoch);
    set_phase(WatchdogPhase::kStandby);
    return StepOutcome::kProgress;
  }
  const Epoch epoch = record_.epoch;
  // Every step below writes under the epoch or opens the intake: wait for a renewal (or the
  // loss of the lease, handled above) once the deadline has passed.
  if (!inside_renew_deadline()) return StepOutcome::kIdle;
  switch (takeover_step_) {
    case TakeoverStep::kEpochCheck: {
      if (!deps_.lease.confirmed()) {  // once confirmed, our own records carry this epoch
        auto floor = recorded_epoch_floor();
        if (!floor.ok()) {
          HADR_TRY(absorb("epoch check", floor.error()));
          return StepOutcome::kIdle;
        }
        if (*floor >= epoch) {
          halt(failed_precondition("epoch regression: granted epoch " + std::to_string(epoch.value) + " but epoch " +
                                   std::to_string(floor->value) +
                                   " is already recorded (alias, checkpoints, dedupe claims or the blob witness); "
                                   "the lease store lost its state. Raise its epoch counter above that before "
                                   "restarting the watchdog"));
          return StepOutcome::kProgress;
        }
        HADR_ASSIGN_OR_RETURN(const bool witnessed, check_witness(epoch));
        if (!witnessed) return phase_ == WatchdogPhase::kHalted ? StepOutcome::kProgress : StepOutcome::kIdle;
        deps_.lease.confirm();  // the fence opens only now
      }
      const Status recorded = write_failover_record();
      if (!recorded.ok()) {
        HADR_TRY(absorb("failover record", recorded.error()));
        return StepOutcome::kIdle;
      }
      takeover_step_ = TakeoverStep::kAlias;
      return StepOutcome::kProgress;
    }
    case TakeoverStep::kAlias: {
      auto flipped = deps_.coord.put(CoordPut{.key = std::string(kAliasCoordKey),
                                              .value = options_.bus_namespace,
                                              .epoch = epoch,
                                              .condition = CoordCondition::kEpochAtLeast});
      if (!flipped.ok()) {
        if (flipped.code() == ErrorCode::kAborted) {
          // A higher epoch wrote the alias: we are already superseded.
          (void)deps_.lease.release();
          raise(AlertSeverity::kCritical, "takeover_superseded", flipped.error().detail, epoch);
          set_phase(WatchdogPhase::kStandby);
          return StepOutcome::kProgress;
        }
        HADR_TRY(absorb("alias flip", flipped.error()));
        return StepOutcome::kIdle;
      }
      record_.phase = "alias_flipped";
      record_.alias_at_ms = unix_millis(deps_.clock.now_wall());
      takeover_step_ = TakeoverStep::kHookStart;
      return StepOutcome::kProgress;
    }
    case TakeoverStep::kHookStart: {
      takeover_step_ = TakeoverStep::kReplay;
      if (deps_.hook.configured() && record_.kind != "initial") {
        const Status started = deps_.hook.start(options_.region, epoch);
        if (started.ok()) {
          takeover_step_ = TakeoverStep::kHookWait;
        } else {
          raise(AlertSeverity::kWarning, "hook_failed", "alias hook did not start: " + started.error().detail);
        }
      }
      return StepOutcome::kProgress;
    }
    case TakeoverStep::kHookWait: {
      const std::optional<Status> outcome = deps_.hook.poll();
      if (!outcome) return StepOutcome::kIdle;
      if (!outcome->ok()) raise(AlertSeverity::kWarning, "hook_failed", "alias hook: " + outcome->error().detail);
      record_.phase = "hook_done";
      takeover_step_ = TakeoverStep::kReplay;
      return StepOutcome::kProgress;
    }
    case TakeoverStep::kReplay: {
      // Always the peer's WAL, whoever held the lease last: when the previous holder was this
      // region's own earlier process (it died mid-takeover), its replay of the peer never ran.
      // Replaying is idempotent (done records are skipped), and an empty backup finishes at once.
      deps_.control.begin_replay(options_.peer);
      deps_.control.set_intake_open(true);
      record_.phase = "completed";
      record_.completed_at_ms = unix_millis(deps_.clock.now_wall());
      takeover_step_ = TakeoverStep::kDone;
      return StepOutcome::kProgress;
    }
    case TakeoverStep::kDone: {
      const Status recorded = write_failover_record();
      if (!recorded.ok()) {
        HADR_TRY(absorb("failover record", recorded.error()));
        return StepOutcome::kIdle;
      }
      {
        std::lock_guard lock(status_mutex_);
        ++status_.takeovers;
      }
      raise(AlertSeverity::kWarning, record_.kind + "_completed",
            "region " + options_.region.str() + " is active at epoch " + std::to_string(epoch.value) + " (" +
                std::to_string(record_.completed_at_ms - record_.free_seen_at_ms) + " ms from lease free to intake open)");
      set_phase(WatchdogPhase::kActive);
      return StepOutcome::kProgress;
    }
  }
  return StepOutcome::kIdle;
}

Result<StepOutcome> Watchdog::active_check() {
  if (!deps_.lease.holding()) {
    deps_.control.set_intake_open(false);
    raise(AlertSeverity::kCritical, "lease_lost", "region " + options_.region.str() + " lost the lease; standing by",
          record_.epoch);
    set_phase(WatchdogPhase::kStandby);
    return StepOutcome::kProgress;
  }
  if (region_broken_) return step_down();
  auto peer_beats = read_heartbeats(deps_.coord, options_.peer);
  if (peer_beats.ok()) {
    const bool missing = peer_beats->empty();
    if (missing && !peer_missing_reported_) {
      raise(AlertSeverity::kWarning, "standby_missing",
            "standby region " + options_.peer.str() + " has no live heartbeat: no failover capacity");
    }
    peer_missing_reported_ = missing;
  }
  auto request = deps_.coord.get(kSwitchoverRequestCoordKey);
  if (!request.ok()) {
    HADR_TRY(absorb("switchover request read", request.error()));
    return StepOutcome::kIdle;
  }
  if (!request->has_value()) return StepOutcome::kIdle;
  auto decoded = decode_switchover_request((*request)->value);
  if (!decoded.ok() || decoded->to == options_.region) {
    // Already here (or unreadable): nothing to hand over; clear it so the requester sees it done.
    (void)deps_.coord.remove(kSwitchoverRequestCoordKey);
    if (!decoded.ok()) raise(AlertSeverity::kWarning, "switchover_refused", decoded.error().detail);
    return StepOutcome::kProgress;
  }
  if (decoded->to != options_.peer) {
    (void)deps_.coord.remove(kSwitchoverRequestCoordKey);
    raise(AlertSeverity::kWarning, "switchover_refused", "switchover to unknown region " + decoded->to.str());
    return StepOutcome::kProgress;
  }
  deps_.control.set_intake_open(false);
  handover_step_ = HandoverStep::kDrain;
  handover_deadline_ = deps_.clock.now_monotonic() + options_.drain_timeout;
  raise(AlertSeverity::kInfo, "switchover_started", "draining region " + options_.region.str() + " to hand over to " +
                                                        options_.peer.str());
  set_phase(WatchdogPhase::kHandingOver);
  return StepOutcome::kProgress;
}

Result<StepOutcome> Watchdog::continue_handover() {
  if (!deps_.lease.holding()) {
    raise(AlertSeverity::kCritical, "lease_lost", "lost the lease during a switchover; standing by", record_.epoch);
    set_phase(WatchdogPhase::kStandby);
    return StepOutcome::kProgress;
  }
  const Epoch epoch = deps_.lease.epoch();
  switch (handover_step_) {
    case HandoverStep::kDrain: {
      if (deps_.clock.now_monotonic() >= handover_deadline_) {
        (void)deps_.coord.remove(kSwitchoverRequestCoordKey);
        deps_.control.set_intake_open(true);
        raise(AlertSeverity::kCritical, "switchover_abandoned",
              "region " + options_.region.str() + " did not drain within " +
                  std::to_string(options_.drain_timeout.count()) + " ms; it stays active");
        set_phase(WatchdogPhase::kActive);
        return StepOutcome::kProgress;
      }
      auto drained = deps_.control.drained();
      if (!drained.ok()) {
        HADR_TRY(absorb("drain check", drained.error()));
        return StepOutcome::kIdle;
      }
      if (!*drained) return StepOutcome::kIdle;
      handover_step_ = HandoverStep::kSeal;
      return StepOutcome::kProgress;
    }
    case HandoverStep::kSeal: {
      auto sealed = deps_.control.seal_wal(epoch);
      if (!sealed.ok()) {
        HADR_TRY(absorb("wal seal", sealed.error()));
        return StepOutcome::kIdle;
      }
      if (!*sealed) return StepOutcome::kIdle;
      handover_step_ = HandoverStep::kRelease;
      return StepOutcome::kProgress;
    }
    case HandoverStep::kRelease: {
      if (!inside_renew_deadline()) return StepOutcome::kIdle;
      const Handoff handoff{.from = options_.region, .to = options_.peer, .epoch = epoch,
                            .at_ms = unix_millis(deps_.clock.now_wall())};
      auto written = deps_.coord.put(CoordPut{.key = std::string(kHandoffCoordKey),
                                              .value = encode_handoff(handoff),
                                              .epoch = epoch,
                                              .condition = CoordCondition::kEpochAtLeast});
      if (!written.ok()) {
        HADR_TRY(absorb("handoff record", written.error()));
        return StepOutcome::kIdle;
      }
      (void)deps_.coord.remove(kSwitchoverRequestCoordKey);
      const Status released = deps_.lease.release();
      if (!released.ok()) health_.record_error("lease release", released.error());
      {
        std::lock_guard lock(status_mutex_);
        ++status_.handovers;
      }
      raise(AlertSeverity::kInfo, "switchover_handed_over",
            "region " + options_.region.str() + " sealed its WAL at epoch " + std::to_string(epoch.value) +
                " and handed the lease to " + options_.peer.str(),
            epoch);
      set_phase(WatchdogPhase::kStandby);
      return StepOutcome::kProgress;
    }
  }
  return StepOutcome::kIdle;
}

}  // namespace hadr
