// RegionNode: runs the roles of one region in one process on real adapters — the backends
// named by the config (embedded SQLite or the real engines, opened through RegionBackends), the Wal on posix_env(), the real clock — and the
// threads that step them (docs/roles.md, "Threading model"):
//   - the control thread steps the Relay, the Promoter and the Checkpointer round-robin (the
//     Wal has one owner) and waits runtime.idle_wait only when all of them were idle;
//   - each Worker has its own thread and its own store connections (SQLite serialises writers
//     across connections; one shared connection would serialise the handlers too);
//   - the caller's thread (run()) watches for a stop request or a failed role and writes one
//     progress line to stderr and the stats file every runtime.stats_interval.
// `hadr relay|promoter|worker` run a subset (NodeRoles): the relay always brings the
// checkpointer, because both need the Wal and only one process may open it.
// Fencing: alone (no [region] peer) the region is always active under StaticFence(Epoch{1}).
// With a peer (docs/failover.md) a fourth thread, the lease thread, steps the LeaseManager (the
// fence of every role), the HeartbeatWriter and the Watchdog, each on connections of its own;
// the relay's fence is gated by the watchdog (intake opens only when a takeover completed), and
// the control thread also steps the WAL backup (async mode) and the Replayer. The watchdog's
// requests that touch the Wal or the replayer (seal, begin replay) are handed to the control
// thread through NodeControl and answered on its next round. A clean stop releases the lease
// after the drain, so the peer takes over at once instead of after the TTL.
//
// Membership (issue 12, hole 11): a process with the relay role first takes the region's
// membership (region_membership.h) — a second process of the same region is refused at open —
// and a fifth thread renews it until every other thread stopped; losing it fails the run.
//
// Stopping: run() returns when stop_requested() (SIGTERM/SIGINT) or a role's step failed.
// On a stop request intake stops at once (the relay is no longer stepped; its unpublished
// records are in the WAL and publication recovery republishes them on the next start), then
// the promoter, checkpointer and workers keep stepping until they are all idle or
// runtime.drain_timeout passed. A step error (kDataLoss, kInternal) stops every thread and
// run() returns it: the command exits 1 with the error on stderr.
//
// Ownership: owns its backends, Wal, roles and threads; borrows the crash points, which must
// outlive it. Thread-safety: run() from one thread, once.
// Invariants: every thread is joined before run() returns; the stats file is written last
// after all threads stopped.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/region_config.h"
#include "contracts/bus.h"
#include "contracts/coord.h"
#include "contracts/source.h"
#include "contracts/blob_store.h"
#include "contracts/lease_store.h"
#include "handlers/handler_factory.h"
#include "roles/checkpointer.h"
#include "roles/heartbeat.h"
#include "roles/lease_manager.h"
#include "roles/replayer.h"
#include "roles/wal_backup.h"
#include "roles/watchdog.h"
#include "runtime/alerting.h"
#include "runtime/progress_line.h"
#include "runtime/region_backends.h"
#include "runtime/region_membership.h"
#include "roles/crash_points.h"
#include "roles/fence.h"
#include "roles/promoter.h"
#include "roles/relay.h"
#include "roles/worker.h"
#include "wal/wal.h"

namespace hadr {

class NodeControl;

struct NodeRoles {
  bool relay = true;  // with the checkpointer
  bool promoter = true;
  bool workers = true;
  // Names this process's stats file (stats-<process_name>.json) and starts its workers'
  // owners ("<region>/<process_name>-<n>#<incarnation>", the incarnation random per open):
  // owners are unique per process incarnation, so a second process started with the same
  // name, or this one restarted, never takes over a live claim whose handler may still run
  // (issue 12, hole 7); it waits until that claim expires. At most 64 characters, no '/'.
  std::string process_name = "node";
  // Set: builds each worker's handler in place of make_handler(config.handler, context) — a
  // program using the C++ handler API (include/hadr/handler.h, src/api). Called once per
  // worker, on the thread that opens the node.
  std::function<Result<std::unique_ptr<Handler>>(const HandlerContext&)> handler_factory;
};

// Two-region counters of one process.
struct FailoverCounters {
  std::uint64_t replayed = 0;             // records the replayer republished
  std::uint64_t replay_skipped_done = 0;  // records the replayer found done
  std::uint64_t lease_acquired = 0;
  std::uint64_t lease_lost = 0;
  std::uint64_t self_fenced = 0;
  std::uint64_t takeovers = 0;
  std::uint64_t step_downs = 0;
  std::uint64_t handovers = 0;
};

// Counters of one process, cumulative across its restarts (loaded from its stats file).
struct NodeStats {
  FailoverCounters failover;
  RelayStats relay;
  PromoterStats promoter;
  CheckpointerStats checkpointer;
  WorkerStats workers;  // summed over the workers
};

// What the node's operator endpoints show (runtime/node_http.h): one consistent-enough read of
// the thread-safe accessors every role has (atomics or a role's own mutex), from any thread.
struct NodeObservation {
  RegionId region;
  std::string process_name;
  bool two_regions = false;
  bool draining = false;           // a stop was requested: no intake, in-flight work finishing
  // Cumulative across this process's restarts (its stats file), but for the counters the stats
  // file does not keep (relay backup_holds and backup_lag_pauses, checkpointer fenced_writes):
  // those count since this start.
  NodeStats stats;
  std::vector<NamedHealth> roles;  // every role of this process: progress, errors, lag
  std::size_t worker_count = 0;
  // The fence: alone, always held under the static epoch 1; with a peer, the lease manager's.
  bool lease_holding = false;
  std::uint64_t lease_epoch = 0;
  Milliseconds lease_time_to_deadline{0};  // two regions only: 0 when not holding
  std::optional<LeaseStats> lease;         // two regions only
  std::optional<WatchdogStatus> watchdog;  // two regions only
  std::optional<WalShipperStats> backup;   // a backup is configured
  std::optional<std::int64_t> backup_lag_records;  // async backup: durable WAL records not yet shipped
  std::optional<ReplayerStats> replay;     // two regions only
};

class RegionNode {
 public:
  static Result<std::unique_ptr<RegionNode>> open(const RegionConfig& config, const NodeRoles& roles,
                                                  CrashPoints& crash_points);
  ~RegionNode();
  RegionNode(const RegionNode&) = delete;
  RegionNode& operator=(const RegionNode&) = delete;

  // Runs until a stop request (then drains) or a failed step; see the header comment.
  Status run();
  // Asks run() to drain and return, as SIGTERM does (for in-process drivers: tests, bench).
  void request_stop() { stop_requested_here_ = true; }
  NodeStats stats() const;
  // From any thread, while run() runs (the operator endpoints).
  NodeObservation observe() const;
  const RegionConfig& config() const { return config_; }
  std::string stats_path() const;
  // Two-region mode only (nullptr otherwise).
  const LeaseManager* lease() const { return lease_.get(); }
  const Watchdog* watchdog() const { return watchdog_.get(); }

 private:
  struct WorkerSlot;
  RegionNode(const RegionConfig& config, const NodeRoles& roles, CrashPoints& crash_points);

  Status open_failover();
  Status open_failover_control_roles();
  Status open_control_roles();
  Status check_wal_reaches_settled_floor();
  Status open_workers();
  void run_control_thread();
  void run_lease_thread();
  // Control thread: answers the watchdog's requests (begin replay, seal).
  Status serve_control_requests();
  std::vector<NamedHealth> health_snapshot() const;
  WatchdogOptions watchdog_options() const;  // config_.watchdog with the heartbeat TTL filled in
  void run_worker_thread(WorkerSlot& slot);
  // Renews the region's membership until membership_stop_; a lost membership fails the run.
  void run_membership_thread();
  void record_failure(std::string_view role, const Error& error);
  bool draining() const;
  bool past_drain_deadline() const;
  Status write_stats_file() const;
  // The progress line (runtime/progress_line.h); `always` at a stop, else only when changed.
  void log_progress(bool always);

  const RegionConfig config_;
  const NodeRoles roles_;
  ProgressLine progress_line_{roles_.process_name, config_.region.str()};  // the watcher thread's
  CrashPoints& crash_points_;
  StaticFence static_fence_{Epoch{1}};
  const RegionFence* fence_ = &static_fence_;  // the lease manager in two-region mode
  std::unique_ptr<GatedFence> intake_fence_;    // the relay's: fence_ behind the watchdog's gate
  NodeStats base_;  // counters of earlier runs of this process (from its stats file)

  std::unique_ptr<RegionBackends> backends_;  // opens every connection below
  const std::string incarnation_;  // random per open: in worker owners and the membership record
  // The process that opens the WAL holds the region's membership (hole 11); renewed by run().
  std::unique_ptr<RegionMembership> membership_;
  std::unique_ptr<Source> source_;
  std::unique_ptr<Bus> bus_;
  DedupeConnection dedupe_;
  std::unique_ptr<Coord> coord_;
  std::unique_ptr<Wal> wal_;
  std::unique_ptr<Relay> relay_;
  std::unique_ptr<Promoter> promoter_;
  std::unique_ptr<Checkpointer> checkpointer_;
  std::vector<std::unique_ptr<WorkerSlot>> workers_;

  // Two-region mode. The lease thread's own connections:
  std::unique_ptr<LeaseStore> lease_store_;
  std::unique_ptr<LeaseManager> lease_;
  std::unique_ptr<Coord> lease_thread_coord_;
  std::unique_ptr<Bus> lease_thread_bus_;  // queue depths for the switchover drain
  DedupeConnection lease_thread_dedupe_;  // the watchdog's epoch check
  std::unique_ptr<RuntimeAlertSink> alerts_;
  std::unique_ptr<CommandHook> hook_;
  std::unique_ptr<NodeControl> control_;
  std::unique_ptr<HeartbeatWriter> heartbeat_;
  std::unique_ptr<Watchdog> watchdog_;
  // ... and the control thread's:
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<WalShipper> shipper_;
  std::unique_ptr<WalBackup> backup_;  // ships in async mode; repairs lost objects in both
  std::unique_ptr<Replayer> replayer_;
  std::atomic<std::uint64_t> relay_pending_{0};  // mirror of relay_->unpublished_count() for the drain check

  std::atomic<bool> stop_{false};            // every thread: stop now
  std::atomic<bool> lease_thread_stop_{false};  // the lease thread: after every other thread
  std::atomic<bool> membership_stop_{false};    // the membership thread: last of all
  std::atomic<bool> stop_requested_here_{false};  // request_stop()
  std::atomic<bool> drain_{false};           // a stop was requested: no intake, finish in-flight work
  std::atomic<std::int64_t> drain_deadline_ns_{0};  // monotonic
  mutable std::mutex failure_mutex_;
  std::optional<Error> failure_;
};

// Reads a stats file written by RegionNode (missing: zeros). Used by verify.
Result<NodeStats> read_stats_file(const std::string& path);

}  // namespace hadr
