// What the watchdog needs from the rest of its region and from the outside world, as
// interfaces, so that the runtime (threads, child processes, HTTP) and the simulator (one
// thread, simulated time) can both drive the very same watchdog.
//
//   RegionControl   the region's other roles: open/close intake, start a replay, report
//                   whether the queues are drained, seal the WAL. Calls must not block: the
//                   runtime forwards them to the thread that owns the role (the Wal's owner)
//                   and answers "not yet" until it is done.
//   AlertSink       where alerts go: always a structured log line; optionally a webhook and a
//                   command (runtime/alerting.h). raise() must not block for long.
//   ExternalHook    the configured alias-failover command (e.g. `az servicebus
//                   georecovery-alias fail-over ...`), started and then polled, never waited on:
//                   the watchdog's thread also renews the lease.
// Thread-safety: implementations are called from the watchdog's thread only, unless stated.
#pragma once

#include <optional>
#include <string>

#include "core/clock.h"
#include "core/ids.h"
#include "core/result.h"

namespace hadr {

class RegionControl {
 public:
  virtual ~RegionControl() = default;
  // Intake = the relay (source -> WAL -> staging). Closed: the relay takes nothing new; the
  // promoter and the workers keep draining under the lease.
  virtual void set_intake_open(bool open) = 0;
  // Starts (or restarts) replaying `from`'s WAL from the blob backup under the current epoch.
  virtual void begin_replay(const RegionId& from) = 0;
  // true when nothing of this region is in flight: relay pending empty, staging and main empty.
  virtual Result<bool> drained() = 0;
  // Seals the WAL under `epoch` and ships the seal to the backup. false = not done yet (ask
  // again); an error = cannot seal (the handover is abandoned).
  virtual Result<bool> seal_wal(Epoch epoch) = 0;
};

enum class AlertSeverity { kInfo, kWarning, kCritical };
std::string_view alert_severity_name(AlertSeverity severity);

struct Alert {
  AlertSeverity severity = AlertSeverity::kInfo;
  std::string event;  // short machine name: "failover_started", "lease_lost", "epoch_regression", ...
  RegionId region;    // the region raising it
  Epoch epoch;        // the epoch it concerns (0: none)
  std::string detail;  // one human sentence
  WallTime at;
};

class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual void raise(const Alert& alert) = 0;
};

class ExternalHook {
 public:
  virtual ~ExternalHook() = default;
  virtual bool configured() const = 0;
  // Starts the hook for `new_active` taking over under `epoch`. Only one runs at a time.
  virtual Status start(const RegionId& new_active, Epoch epoch) = 0;
  // nullopt while it runs; then its outcome (a timeout is kDeadlineExceeded).
  virtual std::optional<Status> poll() = 0;
};

}  // namespace hadr
