// Watchdog: the per-region orchestrator of failover (docs/failover.md). One per region; the
// two watchdogs never talk to each other directly — only through the lease, the Coord records
// below and the heartbeats, so a partition can never make both active (the lease decides).
//
// Phases (one step does at most one store round trip per sub-step and never blocks):
//   standby      every check_interval: read the lease. Free, own region healthy, anti-flap
//                satisfied (or a planned handoff names us) -> acquire -> taking_over.
//                Anti-flap (min_failover_interval after an unplanned failover) keeps the lease
//                from bouncing between two LIVE regions (a flapping partition, F14); it never
//                holds a region back when that only leaves no region active: not when this
//                region took the lease last (it stepped down and the peer never took it), not
//                when the peer released it itself (it stepped down: failover/last says
//                released), not when the peer has no live heartbeat (issue 12, hole 15).
//   taking_over  idempotent sub-steps, each recorded in Coord `failover/last`:
//                epoch check (the grant must be above every epoch recorded anywhere: the
//                alias, failover, handoff, checkpoint and replay records, the dedupe store's
//                highest claim epoch; otherwise the lease store went back: give the lease back,
//                HALT and alert; the lease manager's fence stays closed until this passes)
//                -> flip the alias (Coord `alias/bus`,
//                kEpochAtLeast) -> run the external hook (started, then polled; a failure
//                alerts but does not stop the takeover) -> begin the replay of the peer's WAL
//                (always: the last holder may have been this region's own dead process, which
//                never finished its replay) -> open intake -> active. Crash point
//                "watchdog.after_acquire_before_alias".
//   active       the lease manager renews. Lease lost -> alert, standby. Own region broken
//                for unhealthy_grace -> mark failover/last released, release (step down),
//                alert (with the epoch given up), standby; it yields two check intervals to a
//                healthy standby, then acquires again only once healthy.
//                A switchover request naming the peer -> handing_over.
//   handing_over close intake -> wait until drained (bounded by drain_timeout; past it the
//                handover is abandoned and intake reopens) -> seal the WAL -> write Coord
//                `handoff` naming the peer -> release the lease -> standby.
//   halted       an epoch regression was seen: nothing more until an operator restarts it.
//
// Times written by the other region (failover/last, handoff) come from its wall clock, which
// may be skewed or jump: a hold derived from such a time (anti-flap, a pending handoff) ends
// when either the record's wall age or the time since this watchdog first saw the record
// (monotonic) reaches the interval — so a skewed clock can never hold failover back longer
// than the interval itself (found by the simulator, seed 52).
//
// Region health (from heartbeats, heartbeat.h) is judged on evidence (issue 12, holes 14, 15):
//   - a role is "failing" while active when its last call failed (RoleHealth::consecutive_errors),
//     or when its error count grew since the last check while its progress did not;
//   - a failing call is charged to the dependency it used (failing_dependency()). A store both
//     regions share (source, blob store, coord/lease, dedupe) failing is no reason to step down
//     — the peer would fail the same way — and raises `shared_dependency_down` after
//     unhealthy_grace instead (`shared_dependency_restored` when it clears). Region-local ones
//     (own bus namespace, disk, anything unrecognised) count;
//   - broken: every worker failing with at least one on a region-local dependency, or the relay
//     or promoter failing on a region-local one, for unhealthy_grace; or no live worker
//     heartbeat while the coord store has answered every read for heartbeat_ttl (heartbeats
//     that lapsed while the store was away prove nothing);
//   - fit to take over (standby): at least one live worker heartbeat (positive evidence) and
//     not broken past the grace.
//
// Ownership: borrows every dependency. Thread-safety: step() from one thread (the one that
// also steps the LeaseManager); status() from any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "contracts/blob_store.h"
#include "contracts/coord.h"
#include "contracts/dedupe_store.h"
#include "contracts/lease_store.h"
#include "core/clock.h"
#include "core/ids.h"
#include "roles/crash_points.h"
#include "roles/heartbeat.h"
#include "roles/lease_manager.h"
#include "roles/region_control.h"
#include "roles/role.h"
#include "roles/role_support.h"

namespace hadr {

inline constexpr std::string_view kAliasCoordKey = "alias/bus";
inline constexpr std::string_view kFailoverCoordKey = "failover/last";
inline constexpr std::string_view kSwitchoverRequestCoordKey = "switchover/request";
inline constexpr std::string_view kHandoffCoordKey = "handoff";

// Coord `failover/last`: the latest change of the active region, written by the new active one.
struct FailoverRecord {
  std::string kind;  // "initial" (nobody held it before), "failover", "switchover"
  RegionId from;     // previous holder (empty for initial)
  RegionId to;
  Epoch epoch;
  std::string phase;  // "acquired", "alias_flipped", "hook_done", "completed"
  std::int64_t free_seen_at_ms = 0;  // when the new holder first saw the lease free
  std::int64_t acquired_at_ms = 0;
  std::int64_t alias_at_ms = 0;
  std::int64_t completed_at_ms = 0;
  // Set by the holder when it steps down (releases the lease itself): the peer's anti-flap
  // then does not hold it back (0: not released).
  std::int64_t released_at_ms = 0;
  std::string released_reason;
};
std::string encode_failover_record(const FailoverRecord& record);
Result<FailoverRecord> decode_failover_record(std::string_view value);

struct SwitchoverRequest {
  RegionId to;
  std::int64_t requested_at_ms = 0;
};
std::string encode_switchover_request(const SwitchoverRequest& request);
Result<SwitchoverRequest> decode_switchover_request(std::string_view value);

struct Handoff {
  RegionId from;
  RegionId to;
  Epoch epoch;  // the epoch that was handed over (the next grant is above it)
  std::int64_t at_ms = 0;
};
std::string encode_handoff(const Handoff& handoff);
Result<Handoff> decode_handoff(std::string_view value);

struct WatchdogOptions {
  RegionId region;
  RegionId peer;
  std::string bus_namespace;                      // written to the alias on takeover
  Milliseconds check_interval{100};               // 10 ms .. 10 s
  Milliseconds min_failover_interval{30'000};     // anti-flap between unplanned failovers: 0 .. 1 day
  Milliseconds unhealthy_grace{5'000};            // 10 ms .. 1 h
  Milliseconds drain_timeout{60'000};             // switchover: 1 ms .. 1 h
  Milliseconds handoff_timeout{10'000};           // a handoff the peer does not take expires: 1 ms .. 1 h
  // How long a heartbeat record lives (3 heartbeat intervals): missing workers count only
  // after the coord store answered for this long. 30 ms .. 3 min.
  Milliseconds heartbeat_ttl{1'500};

  Status validate() const;
};

struct WatchdogDependencies {
  LeaseManager& lease;
  LeaseStore& lease_store;  // reads only; the manager writes
  Coord& coord;
  RegionControl& control;
  AlertSink& alerts;
  ExternalHook& hook;
  const Clock& clock;
  CrashPoints& crash_points;
  // Optional: its highest claim epoch joins the epoch check (the runtime and the simulator pass one).
  DedupeStore* dedupe = nullptr;
  // Optional (the runtime and the simulator pass the region's blob store): the store witness
  // (roles/store_witness.h), epochs and the shared store's identity recorded where a rollback
  // of the lease/coord/dedupe store cannot reach.
  BlobStore* witness = nullptr;
};

enum class WatchdogPhase { kStandby, kTakingOver, kActive, kHandingOver, kHalted };
std::string_view watchdog_phase_name(WatchdogPhase phase);

struct WatchdogStatus {
  WatchdogPhase phase = WatchdogPhase::kStandby;
  bool region_healthy = false;
  std::string health_reason;  // why unhealthy ("" when healthy)
  std::string shared_outage;  // a shared dependency failing ("" when none): alerted, no step-down
  std::uint64_t takeovers = 0;
  std::uint64_t step_downs = 0;
  std::uint64_t handovers = 0;
  std::uint64_t alerts = 0;
};

class Watchdog final : public Role {
 public:
  static Result<std::unique_ptr<Watchdog>> create(const WatchdogDependencies& dependencies, WatchdogOptions options);

  std::string_view name() const override { return "watchdog"; }
  Result<StepOutcome> step() override;
  RoleHealth health() const override { return health_.snapshot(); }
  WatchdogStatus status() const;

 private:
  enum class TakeoverStep { kEpochCheck, kAlias, kHookStart, kHookWait, kReplay, kDone };
  enum class HandoverStep { kDrain, kSeal, kRelease };

  Watchdog(const WatchdogDependencies& dependencies, WatchdogOptions options);

  Result<StepOutcome> standby_check();
  // The watchdog's own fenced writes (failover record, alias, handoff) go out only before the
  // lease's renew deadline, like every other fenced write: holding() alone is not enough, since
  // a holder cut off from the lease store keeps its epoch until a renew is refused, while the
  // store may already have granted the next one (simulator seed 152 of the default mix).
  bool inside_renew_deadline() const { return deps_.lease.time_to_deadline() > Milliseconds(0); }
  Result<StepOutcome> continue_takeover();
  Result<StepOutcome> active_check();
  Result<StepOutcome> continue_handover();
  Result<StepOutcome> begin_takeover(std::string kind, RegionId from);
  Status evaluate_health();
  struct HealthFindings {
    std::size_t workers = 0;
    std::size_t failing_workers = 0;
    std::size_t failing_local_workers = 0;
    std::string worker_error;   // the last failing worker's "<role>: <error> (<dependency>)"
    std::string failing_core;   // relay/promoter failing on a region-local dependency
    std::string shared_core;    // relay/promoter failing on a shared dependency
  };
  HealthFindings judge_heartbeats(const std::vector<Heartbeat>& beats);
  void track_shared_outage(std::string shared, MonoTime now);
  Result<bool> peer_alive();
  Status mark_released(const std::string& reason);
  Result<StepOutcome> step_down();
  // Whether a recorded handoff forbids (or, for us, invites) acquiring now.
  Result<std::optional<Handoff>> live_handoff(const LeaseState& lease);
  Result<bool> anti_flap_holds();
  Status write_failover_record();
  // The highest epoch recorded anywhere the region writes (see the header).
  Result<Epoch> recorded_epoch_floor();
  struct SeenRecord {
    std::uint64_t epoch = 0;
    std::int64_t stamped_at_ms = 0;
    MonoTime first_seen{};
  };
  // Whether a record stamped at `stamped_at_ms` by its writer is younger than `interval` (see the header).
  bool still_within(SeenRecord& seen, Epoch epoch, std::int64_t stamped_at_ms, Milliseconds interval);
  // `epoch`: the epoch the alert concerns; by default the one held now (0 when none).
  void raise(AlertSeverity severity, std::string event, std::string detail, std::optional<Epoch> epoch = {});
  void set_phase(WatchdogPhase phase);
  Status absorb(std::string_view what, const Error& error);
  void halt(const Error& error, std::string event = "epoch_regression");
  // The witness part of the epoch check: false = not done yet (store errors absorbed), or halted.
  Result<bool> check_witness(Epoch epoch);

  WatchdogDependencies deps_;
  const WatchdogOptions options_;
  HealthRecorder health_;
  Backoff backoff_;
  MonoTime next_check_at_{};

  WatchdogPhase phase_ = WatchdogPhase::kStandby;
  TakeoverStep takeover_step_ = TakeoverStep::kEpochCheck;
  HandoverStep handover_step_ = HandoverStep::kDrain;
  FailoverRecord record_;            // the takeover in progress (or the last one)
  std::int64_t free_seen_at_ms_ = 0;  // first check that found the lease free (0: not free)
  RegionId last_holder_seen_;
  MonoTime yield_until_{};  // after a step-down: let a healthy standby take the lease first
  SeenRecord seen_failover_;
  SeenRecord seen_handoff_;
  MonoTime handover_deadline_{};
  std::optional<MonoTime> unhealthy_since_;
  std::optional<MonoTime> coord_answering_since_;  // every heartbeat read since then succeeded
  bool region_healthy_ = false;  // fit to take over
  bool region_broken_ = false;   // evidence says step down (active)
  std::string health_reason_;
  std::optional<MonoTime> shared_since_;
  std::string shared_outage_;      // what is failing now ("" none)
  bool shared_outage_reported_ = false;
  bool peer_missing_reported_ = false;
  struct ObservedRole {
    RoleHealth health;
    std::int64_t at_ms = 0;  // the heartbeat it came from
    bool failing = false;
  };
  std::map<std::string, ObservedRole> previous_health_;  // "<process>/<role>" -> last seen

  mutable std::mutex status_mutex_;
  WatchdogStatus status_;
};

}  // namespace hadr
