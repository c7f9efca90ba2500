// Heartbeats: every process of a region writes, every `interval`, one Coord record
// `heartbeat/<region>/<process>` with a TTL of 3 intervals, carrying the health of each of its
// roles (progress, errors, lag, last error). A process that dies stops writing and its record
// expires: absence IS the signal. The watchdog judges region health from these records (its own
// region's to decide whether it may take over or must step down, the peer's to alert), and
// `hadr status` shows them.
//
// Record value: JSON {"region","process","at_ms","roles":[{"name","progress","errors",
// "consecutive_errors","lag","last_error","dependency"}]} — a role's kind is its name up to the
// first '-' ("worker-2" -> "worker"); "dependency" names what the role's last failed call
// depended on (failing_dependency below; for operators — readers classify last_error again).
// Heartbeats are not fenced (a passive region must be seen too): condition kNone.
// The writer retries a failed write at least once per interval (its backoff is capped at the
// interval), so after a store outage every live process has a record again within one
// interval: the watchdog relies on that to tell "absent" from "not written yet" (issue 12, 14).
//
// Ownership: borrows Coord and Clock; owns a copy of the snapshot function.
// Thread-safety: step() from one driver thread; the snapshot function is called from it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "contracts/coord.h"
#include "core/clock.h"
#include "core/ids.h"
#include "roles/backoff.h"
#include "roles/role.h"
#include "roles/role_support.h"

namespace hadr {

struct NamedHealth {
  std::string name;  // "relay", "worker-2", ...
  RoleHealth health;
};

struct Heartbeat {
  RegionId region;
  std::string process;
  std::int64_t at_ms = 0;  // writer's wall clock, for display only
  std::vector<NamedHealth> roles;
  Milliseconds remaining{0};  // TTL left (from the record)
};

std::string heartbeat_prefix(const RegionId& region);  // "heartbeat/<region>/"
std::string heartbeat_key(const RegionId& region, std::string_view process);
std::string encode_heartbeat(const Heartbeat& heartbeat);
// kDataLoss naming the key when the value is not a heartbeat record.
Result<Heartbeat> decode_heartbeat(const CoordRecord& record);
// The live heartbeats of `region` (damaged records are skipped and counted in `damaged`).
Result<std::vector<Heartbeat>> read_heartbeats(Coord& coord, const RegionId& region, std::size_t* damaged = nullptr);
std::string_view role_kind(std::string_view role_name);

// What a failed call depended on, so that region health can tell "my region is broken" from
// "a store both regions use is down" (issue 12, hole 15). Shared: the source, the blob store
// (WAL backups), the coord and lease stores and the dedupe store — a failover cannot help, the
// peer would fail the same way. Region-local: the region's own bus namespace, its disk (WAL,
// checkpoint file) and anything not recognised (the conservative answer: it may step down).
enum class Dependency { kUnknown, kSource, kBlobStore, kCoord, kLease, kDedupe, kBus, kDisk };
std::string_view dependency_name(Dependency dependency);
bool is_shared(Dependency dependency);
// From a RoleHealth::last_error, "<call>: <error>", where <call> is the `what` every role gives
// HealthRecorder::record_error / absorb_failure ("relay sync backup", "worker claim", ...). A
// new call site whose name is not in the table is kUnknown, i.e. region-local.
Dependency failing_dependency(std::string_view last_error);

struct HeartbeatOptions {
  RegionId region;
  std::string process = "node";
  Milliseconds interval{500};  // 10 ms .. 1 min; the record lives 3 intervals
  BackoffOptions backoff{.initial = Milliseconds(50), .max = Milliseconds(1'000)};

  Status validate() const;
};

class HeartbeatWriter final : public Role {
 public:
  using Snapshot = std::function<std::vector<NamedHealth>()>;

  static Result<std::unique_ptr<HeartbeatWriter>> create(Coord& coord, const Clock& clock, Snapshot snapshot,
                                                         HeartbeatOptions options);

  std::string_view name() const override { return "heartbeat"; }
  Result<StepOutcome> step() override;
  RoleHealth health() const override { return health_.snapshot(); }

 private:
  HeartbeatWriter(Coord& coord, const Clock& clock, Snapshot snapshot, HeartbeatOptions options);

  Coord& coord_;
  const Clock& clock_;
  Snapshot snapshot_;
  const HeartbeatOptions options_;
  Backoff backoff_;
  HealthRecorder health_;
  MonoTime next_at_{};
};

}  // namespace hadr
