// SimRegion: one region of the simulation, wired the way RegionNode wires a region in
// two-region mode (runtime/region_node.cc) — LeaseManager as the fence, the relay's fence gated
// by the watchdog, HeartbeatWriter, Watchdog with a RegionControl, Relay with a synchronous WAL
// backup (WalShipper to the blob store), Promoter, Checkpointer, Replayer and kWorkerCount
// Workers — but on one thread, the region's ManualClock, the in-memory servers of the world and
// a MemEnv. The roles are the production classes, untouched.
//
// What belongs to "the process" (roles, the Wal, every client) is rebuilt by restart(); what
// outlives a process (the MemEnv, the clock, the servers) stays. restart(power_loss) drops the
// process, runs MemEnv::crash in a random mode (drop, tear or bit-flip unsynced bytes), reopens
// the Wal and checks what recovery kept (I7), then creates every role again.
//
// Ownership: owns its clock, MemEnv and process; borrows the world, which must outlive it.
// Thread-safety: none (single-threaded simulation).
// Invariants: at most one process at a time; a crashed process reaches no server and no disk.
#pragma once

#include <bitset>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/mem_env.h"
#include "roles/watchdog.h"
#include "sim/sim_world.h"
#include "wal/wal.h"

namespace hadr::sim {

struct RegionSpec {
  std::string name;  // "a" or "b"
  std::string peer;
  MemoryBusServer* bus_server = nullptr;  // this region's namespace
};

// The timings the simulated regions run with (small, so a 20 s run sees many failovers).
struct SimTimings {
  static constexpr Milliseconds kLeaseTtl{1'000};
  static constexpr Milliseconds kCheckInterval{100};
  static constexpr Milliseconds kMinFailoverInterval{2'000};
  static constexpr Milliseconds kUnhealthyGrace{500};
  static constexpr Milliseconds kDrainTimeout{3'000};
  static constexpr Milliseconds kHandoffTimeout{3'000};
  static constexpr Milliseconds kHeartbeatInterval{100};
  static constexpr Milliseconds kSourceVisibility{3'000};
  static constexpr Milliseconds kLockDuration{2'000};
  static constexpr Milliseconds kClaimTtl{3'000};
  static constexpr Milliseconds kReplayQuietPeriod{1'000};
};

class SimRegion {
 public:
  static constexpr std::size_t kWorkerCount = 2;
  static constexpr std::uint64_t kAsyncBackupLagMax = 16;
  // Role slots: lease side, control side, workers, and with async backup the backup role last.
  static constexpr std::size_t kRoleSlotsMax = 8 + kWorkerCount;

  // async_backup: the region ships its WAL with a WalBackup role (backup.mode = "async") and
  // the relay's intake is bounded by kAsyncBackupLagMax instead of waiting for each shipment.
  SimRegion(SimWorld& world, RegionSpec spec, std::bitset<kSimFaultCount> enabled_faults, bool async_backup = false);
  ~SimRegion();
  SimRegion(const SimRegion&) = delete;
  SimRegion& operator=(const SimRegion&) = delete;

  // Opens a process. false when the Wal cannot be reopened (recorded as an I7 violation): the
  // region then stays down.
  bool start();
  // The process dies and a new one starts. power_loss: unsynced bytes are dropped, torn or
  // bit-flipped first (a kill -9 on a machine that also lost power).
  void restart(bool power_loss);
  // The process dies and stays down (the failover drill), until start().
  void stop(bool power_loss);
  bool running() const { return process_ != nullptr; }

  std::size_t role_count() const;
  std::string_view role_name(std::size_t index) const;
  Result<StepOutcome> step_role(std::size_t index);
  // The process died inside the last step (crash point, or a step error was recorded).
  bool process_died() const;

  // Faults.
  void set_lease_connected(bool connected);
  void arm_crash_point(std::string point);
  void fail_next_sync() { fail_next_sync_ = true; }
  void restart_worker(std::size_t index);
  // Asymmetric cuts: the process's blob store client, or its coord clients, only.
  void set_blob_connected(bool connected);
  void set_coord_connected(bool connected);
  // Power loss, then synced bytes of the WAL are damaged before the restart (synced_corruption):
  // a bit flipped in a synced frame, or a segment cut in the middle.
  void crash_with_synced_corruption();
  bool async_backup() const { return async_backup_; }
  // Ends every fault of this region: connected, not paused, no drift, wall clock put right,
  // nothing armed.
  void heal();
  // An injected fsync failure poisoned this process's WAL (its kDataLoss step error is expected).
  bool injected_sync_failure() const { return injected_sync_failure_; }

  // Observation.
  WatchdogPhase watchdog_phase() const;
  std::optional<Epoch> writable_epoch() const;
  std::uint64_t relay_pending() const;
  // Adds the process's counters (records replayed, fenced checkpoint writes) to the history.
  void harvest();

  const std::string& name() const { return spec_.name; }
  MemoryBusServer& bus_server() { return *spec_.bus_server; }

  ManualClock clock;
  MemEnv env;
  bool paused = false;
  bool halted_for_good = false;  // the Wal could not be reopened
  // Set when start() failed for a reason that passes (an injected EIO, a backup that did not
  // answer): the simulation starts the region again at this time, as a process supervisor would.
  std::optional<std::int64_t> supervisor_restart_at_ms;
  static constexpr std::int64_t kSupervisorRestartDelayMs = 1'000;
  double drift = 0;              // the clock runs (1 + drift) times as fast as sim time

 private:
  struct Process;
  struct WalPrefix {
    std::uint64_t first = 0;
    std::uint64_t durable = 0;
    std::vector<std::uint64_t> digests;  // of each record first, first + 1, … (at most kPrefixRecordsMax)
    std::uint64_t settled = 0;   // the CHECKPOINT file's LSN: every record at or below it is done
    std::uint64_t shipped = 0;   // the backup's shipped LSN (sync backup: every acked record is at or below)
    bool synced_damage = false;  // synced bytes were damaged after the crash (synced_corruption)
  };

  void open_lease_side(Process& process);
  Status open_control_side(Process& process);
  void open_workers(Process& process);
  void open_watchdog(Process& process);
  void open_worker(Process& process, std::size_t index);
  // Digests of (lsn, id, epoch) of the records first..durable (I7 compares them across a crash).
  Result<WalPrefix> read_prefix(const Wal& wal, std::uint64_t first, std::uint64_t durable) const;
  void check_recovery(const WalPrefix& before, const RecoveryReport& report, const Wal& wal);
  void drop_process(bool power_loss);
  // Damages synced WAL bytes; with async backup only records at or below `shipped` (see .cc).
  void damage_synced_wal_bytes(std::uint64_t shipped);
  // Records the WAL's newly durable message records as fenced writes (the real-time I5 check).
  void record_wal_appends();

  SimWorld& world_;
  const RegionSpec spec_;
  const std::bitset<kSimFaultCount> enabled_faults_;
  const bool async_backup_;
  std::uint64_t appends_recorded_through_ = 0;
  Random crash_random_;
  bool fail_next_sync_ = false;
  bool injected_sync_failure_ = false;
  std::unique_ptr<Process> process_;
  std::optional<WalPrefix> prefix_before_crash_;
  std::uint64_t wal_opens_ = 0;  // derives the incarnation of a log this region creates
};

}  // namespace hadr::sim
