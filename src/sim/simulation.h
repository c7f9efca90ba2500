// Simulation: one deterministic run of both regions (issue 6; docs/simulation.md).
//
//   1. Fault phase (options.fault_phase of simulated time): a workload puts messages to the
//      source; at every fault tick each fault category switched on for the run fires with
//      p = 0.25; the store clients' SeededFaultInjector is active when `store` is on.
//   2. Liveness phase, no faults: every fault is healed; an operator raises the lease epoch
//      counter and restarts halted regions; a region must become active; then the failover
//      drill (I6): the active region loses power and stays down, the other must take over within
//      the bound and bring every acknowledged message to an effect by itself (RPO 0 with the
//      synchronous WAL backup); then the dead region restarts and everything must drain (I8).
//   3. Checkers (checkers.h) judge the recorded history: I1, I2, I5, I7 (I6 and I8 are judged
//      during the liveness phase).
// The loop is single-threaded: it picks the next role to step with the seeded Random among the
// roles not known to be idle, and when every role is idle it moves simulated time by a random
// quantum of 1..50 ms. Every random choice comes from one xoshiro seeded with options.seed.
//
// Ownership: owns the world and both regions. Thread-safety: none; run() once per object.
#pragma once

#include <bitset>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sim/sim_history.h"
#include "roles/role.h"
#include "sim/sim_options.h"

namespace hadr::sim {

struct SimWorld;
class SimRegion;

struct SimResult {
  std::uint64_t seed = 0;
  std::vector<Violation> violations;
  RarePathCounts rare;
  std::uint64_t history_hash = 0;
  std::uint64_t steps = 0;
  std::int64_t simulated_ms = 0;
  std::uint64_t messages = 0;
  std::string faults_enabled;  // the categories switched on for this run

  bool ok() const { return violations.empty(); }
  // "hadr sim --seed S --trace" (with --faults/--broken when not the defaults).
  std::string repro(const SimOptions& options) const;
};

class Simulation {
 public:
  explicit Simulation(SimOptions options);
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  SimResult run();

 private:
  struct TimedAction {
    std::size_t region = 0;
    enum class Kind : unsigned char {
      kConnectLease,
      kDisconnectLease,
      kResume,
      kConnectBlob,
      kConnectCoord
    } kind = Kind::kConnectLease;
  };

  void decide_faults();
  bool fault_on(SimFault fault) const { return enabled_.test(static_cast<std::size_t>(fault)); }
  void plan_workload();
  // Steps roles until `done` or `deadline_ms` (sim time); returns whether `done` held.
  bool run_until(const std::function<bool()>& done, std::int64_t deadline_ms);
  bool step_one();
  void after_step(std::size_t region, std::size_t role, const Result<StepOutcome>& outcome);
  void advance_time();
  void run_due_actions();
  void put_due_messages();
  void put_messages(std::size_t count);
  void strike_mid_flow();
  void fault_tick();
  void fire(SimFault fault);
  void fire_partition(std::size_t region, bool flapping);
  void fire_lease_restore();
  void fire_store_rollback();
  void fire_coord_loss();
  void fire_blob_loss();
  void fire_store_clock_step();
  void fire_long_outage(std::size_t region);
  void fire_cut(std::size_t region, TimedAction::Kind reconnect);
  void fire_bus_loss(std::size_t region);
  void fire_epoch_regress();
  // epoch_regress: applies a restore taken earlier once no region holds the lease.
  void apply_pending_epoch_regress();
  void deliver_late_writes();
  void fire_switchover();
  // Liveness phase.
  void heal_everything();
  void report_no_active_region();
  void raise_lease_epoch_floor();
  void operator_restarts_halted_regions();
  // Starts again a region whose start() failed for a passing reason (SimRegion::supervisor_restart_at_ms).
  void supervisor_restarts_failed_starts();
  std::optional<std::size_t> active_region() const;
  void failover_drill(std::size_t active);
  bool everything_acked_took_effect(std::vector<std::string>* missing) const;
  bool drained_all(std::vector<std::string>* missing) const;
  std::set<std::string> dead_lettered_ids() const;
  std::set<std::string> acked_ids() const;

  SimOptions options_;
  std::unique_ptr<SimWorld> world_;
  std::vector<std::unique_ptr<SimRegion>> regions_;
  std::bitset<kSimFaultCount> enabled_;
  std::vector<std::vector<bool>> idle_;  // per region, per role: idle since the last progress
  std::multimap<std::int64_t, TimedAction> actions_;
  std::multimap<std::int64_t, std::size_t> workload_;  // at_ms -> messages to put
  std::vector<std::string> put_ids_;
  std::int64_t next_fault_tick_ms_ = 0;
  std::optional<std::int64_t> lease_snapshot_at_ms_;
  struct LeaseSnapshot;
  std::unique_ptr<LeaseSnapshot> lease_snapshot_;
  struct StoresSnapshot;
  std::unique_ptr<StoresSnapshot> stores_snapshot_;  // store_rollback: lease, coord, dedupe together
  bool long_outage_fired_ = false;
  std::unique_ptr<LeaseSnapshot> regress_snapshot_;  // epoch_regress: taken at the first firing
  bool regress_pending_ = false;
  std::int64_t store_clock_put_back_ms_ = 0;  // how far NTP set the store clock back at the heal
  std::uint64_t steps_ = 0;
  std::uint64_t steps_this_instant_ = 0;
  std::uint64_t operator_interventions_ = 0;
};

// Runs one seed and returns its result (the CLI and the tests).
SimResult run_simulation(const SimOptions& options);

}  // namespace hadr::sim
