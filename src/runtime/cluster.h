// The two-region view an operator asks for, and the planned switchover (docs/failover.md,
// docs/operations.md):
//
//   read_cluster_status()  `hadr status`: the lease (holder, epoch, time left, highest epoch),
//                          the bus alias, the last failover and where its time went, a pending
//                          switchover, and per region its heartbeats (roles with progress,
//                          errors, lag), its checkpoint, what its backup holds and the progress
//                          of a replay of its WAL; plus the queue depths of this config's bus
//                          namespace. Read-only: opens its own connections, writes nothing,
//                          and creates nothing: on the embedded backends a missing store
//                          directory is an error naming it (kFailedPrecondition), a missing
//                          store file is shown as missing. A store it cannot reach (a server
//                          down) does not fail the whole view: that part is listed in
//                          `unreachable` and the rest is shown. A single region (no peer) has
//                          no lease: it is always active under the static epoch 1, and its
//                          process is the one that holds its membership record.
//   request_switchover()   `hadr switchover --to B`: writes the request the active region's
//                          watchdog acts on (drain, seal, hand over) and waits, with progress,
//                          until B holds the lease under a higher epoch and its takeover
//                          completed, or the timeout passes.
//
// Ownership: plain functions over the embedded stores named by the config.
// Thread-safety: none needed.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/region_config.h"
#include "contracts/bus.h"
#include "contracts/lease_store.h"
#include "roles/heartbeat.h"
#include "roles/watchdog.h"

namespace hadr {

struct RegionView {
  RegionId region;
  std::vector<Heartbeat> heartbeats;  // live ones
  // The live membership record of the process that runs this region's WAL
  // ("nonce=… pid=… host=… process=… data_dir=…"; RegionMembership), if any.
  std::optional<std::string> member;
  std::uint64_t checkpoint = 0;
  std::uint64_t backup_last_lsn = 0;  // highest LSN in the blob backup (0: none)
  std::uint64_t backup_objects = 0;
  std::optional<std::string> replay_progress;  // "epoch lsn" of a replay of this region's WAL
};

struct QueueView {
  std::string queue;
  QueueDepth depth;
};

struct ClusterStatus {
  static constexpr std::uint64_t kSingleRegionEpoch = 1;  // RegionNode's StaticFence

  bool single_region = false;  // no [region] peer: no lease, always active
  LeaseState lease;
  std::string lease_name;
  std::optional<CoordRecord> alias;
  std::optional<FailoverRecord> last_failover;
  std::optional<SwitchoverRequest> switchover_pending;
  std::vector<RegionView> regions;  // this config's region, then its peer
  std::string bus_namespace;
  std::vector<QueueView> queues;    // staging, main and their dead-letter queues
  // What could not be read: "lease: <error>", "coord: …", "backup: …", "bus: …" (empty: all).
  std::vector<std::string> unreachable;

  bool active(const RegionId& region) const {
    return single_region || (lease.held && lease.holder == region.str());
  }
  // Whether a part ("lease", "coord", "backup", "bus") is listed in `unreachable`.
  bool unreachable_part(std::string_view part) const;

  std::string to_json() const;
  std::string to_text() const;
};

Result<ClusterStatus> read_cluster_status(const RegionConfig& config);

struct SwitchoverReport {
  RegionId from;
  RegionId to;
  std::uint64_t epoch_before = 0;
  std::uint64_t epoch_after = 0;
  std::int64_t elapsed_ms = 0;
  bool already_there = false;
  std::string to_json() const;
};

// Errors: kFailedPrecondition when no region holds the lease or `to` is not the peer;
// kDeadlineExceeded when the handover did not finish in time (the request is withdrawn).
Result<SwitchoverReport> request_switchover(const RegionConfig& config, const RegionId& to, Milliseconds timeout,
                                            const std::function<void(const std::string&)>& progress);

}  // namespace hadr
