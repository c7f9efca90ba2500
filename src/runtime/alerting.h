// The runtime's side of alerts and of the alias-failover hook (roles/region_control.h).
//
// RuntimeAlertSink: every alert becomes one JSON line on stderr and in `<data_dir>/alerts.jsonl`
// (mode 0600) at once (the record an operator and `hadr demo` read back); the optional webhook (POST of the
// same JSON, 5 s timeout) and command (with HADR_ALERT_EVENT, _SEVERITY, _REGION, _EPOCH,
// _DETAIL in a clean environment: core/child_environment.h, plus alerts.environment; output in
// `<data_dir>/alerts.jsonl.command.log`, mode 0600; 30 s timeout) run on a dispatcher thread behind a bounded queue
// (kQueueMax; when full the oldest is dropped and counted), so raise() never blocks the
// watchdog's thread, which also renews the lease. The webhook URL is never printed (it may hold
// a token).
//
// CommandHook: runs the configured command as a child process (stdout/stderr appended to
// `<data_dir>/hook.log`, mode 0600; HADR_NEW_ACTIVE_REGION and HADR_EPOCH in a clean environment
// with hook.environment, core/child_environment.h); poll()
// reaps it without blocking and kills it past the timeout (kDeadlineExceeded).
//
// Ownership: the sink owns its thread (joined by the destructor after the queue drains, bounded
// by the timeouts); the hook owns its child. Thread-safety: raise() from any thread; the hook
// from one thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "config/region_config.h"
#include "roles/region_control.h"
#include "runtime/child_process.h"

namespace hadr {

std::string alert_to_json(const Alert& alert);

class RuntimeAlertSink final : public AlertSink {
 public:
  static constexpr std::size_t kQueueMax = 64;

  // `environment` is where the variables alerts.environment names are read (tests inject one).
  RuntimeAlertSink(AlertOptions options, std::string log_path, EnvironmentLookup environment = process_environment());
  ~RuntimeAlertSink() override;
  RuntimeAlertSink(const RuntimeAlertSink&) = delete;
  RuntimeAlertSink& operator=(const RuntimeAlertSink&) = delete;

  void raise(const Alert& alert) override;
  std::uint64_t dropped() const;

 private:
  void dispatch_loop();
  void deliver(const Alert& alert);

  const AlertOptions options_;
  const std::string log_path_;
  const EnvironmentLookup environment_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Alert> queue_;
  std::uint64_t dropped_ = 0;
  bool stopping_ = false;
  std::thread dispatcher_;
};

class CommandHook final : public ExternalHook {
 public:
  CommandHook(HookOptions options, std::string log_path, EnvironmentLookup environment = process_environment());
  bool configured() const override { return !options_.command.empty(); }
  Status start(const RegionId& new_active, Epoch epoch) override;
  std::optional<Status> poll() override;

 private:
  const HookOptions options_;
  const std::string log_path_;
  const EnvironmentLookup environment_;
  std::optional<ChildProcess> child_;
  MonoTime deadline_{};
};

}  // namespace hadr
