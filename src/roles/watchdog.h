// Watchdog: the per-region orchestrator of failover (docs/failover.md). One per region; the
// two watchdogs never talk to each other directly — only through the lease, the Coord records
// below and the heartbeats, so a partition can never make both active (the lease decides).
//
// Phases (one step does at most one store round trip per sub-step and never blocks):
//   standby      every check_interval: read the lease. Free, own region healthy, anti-flap
//                satisfied (or a planned handoff names us) -> acquire -> taking_over.
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
//   active       the lease manager renews. Lease lost -> alert, standby. Own region unhealthy
//                for unhealthy_grace -> release (step down), alert, standby; it yields two
//                check intervals to a healthy standby, then acquires again only once healthy
//                (anti-flap bounds how often).
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
// Region health (from heartbeats, heartbeat.h): healthy when at least one live heartbeat of
// the region carries a worker, and not every worker, nor the relay or promoter, is "failing"
// (while active, its last call failed — RoleHealth::consecutive_errors; or its error count grew
// since the last check while its progress did not).
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
  Result<StepOutcome> continue_takeover();
  Result<StepOutcome> active_check();
  Result<StepOutcome> continue_handover();
  Result<StepOutcome> begin_takeover(std::string kind, RegionId from);
  Status evaluate_health();
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
  void raise(AlertSeverity severity, std::string event, std::string detail);
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
  bool region_healthy_ = false;
  std::string health_reason_;
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
