// SimWorld: everything both regions share in a simulation — the simulated store clock, the
// in-memory servers (lease, coord, dedupe, source, blob, one bus namespace per region), the one
// seeded Random every choice is drawn from, the BUGGIFY fault injector of the store clients,
// and the recorded history.
//
// Time: `store_clock` is the servers' clock and the run's reference ("sim time"); each region
// has its own ManualClock (sim_region.h) that the simulation moves together with it, plus that
// region's drift and wall jumps (F12). No real clock, thread, socket or file is used.
// Ownership: owns the servers and the history; borrows nothing. Thread-safety: none (one thread).
// Invariants: the servers only ever see the store clock; every random draw comes from `random`.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/assert.h"
#include "core/clock.h"
#include "core/random.h"
#include "memory/fault_injector.h"
#include "memory/memory_blob_store.h"
#include "memory/memory_bus.h"
#include "memory/memory_coord.h"
#include "memory/memory_dedupe_store.h"
#include "memory/memory_lease_store.h"
#include "memory/memory_source.h"
#include "sim/sim_history.h"
#include "sim/sim_options.h"

namespace hadr::sim {

inline constexpr std::string_view kStagingQueue = "staging";
inline constexpr std::string_view kMainQueue = "main";
inline constexpr std::uint32_t kMainMaxDeliveryCount = 4;  // small, so the dead-letter path is reached
inline constexpr std::uint32_t kStagingMaxDeliveryCount = 10'000;

// A claim "delayed in the network": its caller gave up (deadline exceeded) and the store gets
// it later, after the other region may have claimed under a higher epoch. The store must then
// refuse it as stale — the dedupe store's own fencing, behind the region fence.
struct LateClaim {
  MessageId id;
  std::string owner;
  std::string region;
  Epoch epoch;  // what reaches the store (the broken variant raises it)
  Epoch caller_epoch;
  Milliseconds ttl;
  std::int64_t due_ms = 0;
};

// A write delayed in the network (fault late_write): its caller was told "deadline exceeded"
// (it may have been applied) and the server gets it at due_ms, straight, after the writer may
// have lost its epoch. `apply` records what it wrote itself.
struct LateWrite {
  std::string what;
  std::int64_t due_ms = 0;
  std::function<void()> apply;
};

// A lease grant stamped with the run's reference time (the store's own wall clock may step).
// A restore marker (`restore` true) says the lease store was restarted from an old snapshot at
// `at_ms` and its counter went back to `epoch`: grants above it are forgotten by the store.
struct TimedGrant {
  Epoch epoch;
  std::string holder;
  std::int64_t at_ms = 0;
  bool restore = false;
};

struct SimWorld {
  explicit SimWorld(const SimOptions& run_options)
      : options(run_options), record_ttl(run_options.record_ttl), random(run_options.seed), faults(random) {
    start_mono = store_clock.now_monotonic();
    lease_server.set_grant_observer([this](const LeaseGrant& grant) {
      if (timed_grants.size() < kTimedGrantsMax) timed_grants.push_back(TimedGrant{grant.epoch, grant.holder, now_ms()});
    });
  }
  SimWorld(const SimWorld&) = delete;
  SimWorld& operator=(const SimWorld&) = delete;

  // Restarts the lease store from `snapshot` and marks it in timed_grants for the real-time check.
  void restore_lease_store(const MemoryLeaseServer::Snapshot& snapshot) {
    lease_server.restore(snapshot);
    const auto lease = lease_server.read("active_dc");
    const Epoch counter = lease.ok() ? lease->highest_epoch : Epoch{0};
    if (timed_grants.size() < kTimedGrantsMax) timed_grants.push_back(TimedGrant{counter, "", now_ms(), true});
  }

  // Milliseconds of simulated time since the run started.
  std::int64_t now_ms() const {
    return std::chrono::duration_cast<Milliseconds>(store_clock.now_monotonic() - start_mono).count();
  }
  // One trace line (only with --trace); also mixed into the history digest.
  void note(std::string_view line) {
    history.digest(line);
    if (options.trace) std::printf("%8lld ms  %.*s\n", static_cast<long long>(now_ms()), static_cast<int>(line.size()), line.data());
  }

  // False in the liveness phase: no fault fires and no fault draw is made.
  bool faults_active() const { return fault_phase; }

  // Whether a region may take a late write now (bounded).
  bool room_for_late_write() const { return late_writes.size() < kLateWritesMax; }
  void delay_write(std::string what, std::int64_t delay_ms, std::function<void()> apply) {
    HADR_ASSERT(room_for_late_write());
    note("late write delayed " + std::to_string(delay_ms) + " ms: " + what);
    late_writes.push_back(LateWrite{std::move(what), now_ms() + delay_ms, std::move(apply)});
  }

  const SimOptions options;
  // The dedupe record TTL of every mark (long_outage shortens it for the run).
  Milliseconds record_ttl;
  bool fault_phase = true;
  Random random;
  SeededFaultInjector faults;
  ManualClock store_clock;
  MonoTime start_mono;
  MemoryLeaseServer lease_server{store_clock};
  MemoryCoordServer coord_server{store_clock};
  MemoryDedupeServer dedupe_server{store_clock};
  MemorySourceServer source_server{store_clock, "orders"};
  MemoryBlobServer blob_server;
  MemoryBusServer bus_primary{store_clock, "primary"};
  MemoryBusServer bus_secondary{store_clock, "secondary"};
  SimHistory history;
  std::vector<LateClaim> late_claims;  // at most kLateClaimsMax
  static constexpr std::size_t kLateClaimsMax = 64;
  std::vector<LateWrite> late_writes;  // at most kLateWritesMax
  static constexpr std::size_t kLateWritesMax = 64;
  bool late_writes_on = false;         // fault late_write switched on for the run
  std::vector<TimedGrant> timed_grants;
  static constexpr std::size_t kTimedGrantsMax = 100'000;
  Nanoseconds store_clock_offset{0};   // store_clock steps not yet put right (store_clock fault)
};

}  // namespace hadr::sim
