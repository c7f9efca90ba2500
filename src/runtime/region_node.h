// RegionNode: runs the roles of one region in one process on real adapters — the embedded
// (SQLite) backends named by the config, the Wal on posix_env(), the real clock — and the
// threads that step them (docs/roles.md, "Threading model"):
//   - the control thread steps the Relay, the Promoter and the Checkpointer round-robin (the
//     Wal has one owner) and waits runtime.idle_wait only when all of them were idle;
//   - each Worker has its own thread and its own store connections (SQLite serialises writers
//     across connections; one shared connection would serialise the handlers too);
//   - the caller's thread (run()) watches for a stop request or a failed role and writes one
//     progress line to stderr and the stats file every runtime.stats_interval.
// `hadr relay|promoter|worker` run a subset (NodeRoles): the relay always brings the
// checkpointer, because both need the Wal and only one process may open it.
// The fence is StaticFence(Epoch{1}) until the two-region lease manager replaces it.
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
#include "roles/checkpointer.h"
#include "roles/crash_points.h"
#include "roles/fence.h"
#include "roles/promoter.h"
#include "roles/relay.h"
#include "roles/worker.h"
#include "wal/wal.h"

namespace hadr {

class SqliteDedupeStore;

struct NodeRoles {
  bool relay = true;  // with the checkpointer
  bool promoter = true;
  bool workers = true;
  // Names this process's stats file (stats-<process_name>.json) and, for workers, their
  // owners ("<region>/<process_name>-<n>"): unique per process of a region, stable across
  // restarts, so a restarted worker gets its own live claims back.
  std::string process_name = "node";
};

// Counters of one process, cumulative across its restarts (loaded from its stats file).
struct NodeStats {
  RelayStats relay;
  PromoterStats promoter;
  CheckpointerStats checkpointer;
  WorkerStats workers;  // summed over the workers
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
  std::string stats_path() const;

 private:
  struct WorkerSlot;
  RegionNode(const RegionConfig& config, const NodeRoles& roles, CrashPoints& crash_points);

  Status open_control_roles();
  Status open_workers();
  void run_control_thread();
  void run_worker_thread(WorkerSlot& slot);
  void record_failure(std::string_view role, const Error& error);
  bool draining() const;
  bool past_drain_deadline() const;
  Status write_stats_file() const;
  void log_progress() const;

  const RegionConfig config_;
  const NodeRoles roles_;
  CrashPoints& crash_points_;
  StaticFence fence_{Epoch{1}};
  NodeStats base_;  // counters of earlier runs of this process (from its stats file)

  std::unique_ptr<Source> source_;
  std::unique_ptr<Bus> bus_;
  std::unique_ptr<SqliteDedupeStore> dedupe_;
  std::unique_ptr<Coord> coord_;
  std::unique_ptr<Wal> wal_;
  std::unique_ptr<Relay> relay_;
  std::unique_ptr<Promoter> promoter_;
  std::unique_ptr<Checkpointer> checkpointer_;
  std::vector<std::unique_ptr<WorkerSlot>> workers_;

  std::atomic<bool> stop_{false};            // every thread: stop now
  std::atomic<bool> stop_requested_here_{false};  // request_stop()
  std::atomic<bool> drain_{false};           // a stop was requested: no intake, finish in-flight work
  std::atomic<std::int64_t> drain_deadline_ns_{0};  // monotonic
  mutable std::mutex failure_mutex_;
  std::optional<Error> failure_;
};

// Reads a stats file written by RegionNode (missing: zeros). Used by verify.
Result<NodeStats> read_stats_file(const std::string& path);

}  // namespace hadr
