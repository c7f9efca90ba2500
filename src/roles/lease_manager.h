// LeaseManager: holds the `active_dc` lease for its region and is that region's RegionFence.
// Protocol: docs/failover.md ("Lease and self-fencing").
//
//   - try_acquire() asks the LeaseStore for the lease (the watchdog decides when: only when it
//     is free and the region is healthy). A grant brings a new epoch, strictly above every
//     epoch this manager saw before; a lower or equal one is an epoch regression (the store
//     lost its state, e.g. restored from an old snapshot): the grant is given back and
//     kFailedPrecondition returned, so the watchdog halts and alerts instead of "fixing" it.
//   - A grant is held but NOT writable until confirm() — the watchdog first checks the epoch
//     against every epoch recorded elsewhere (alias, checkpoints, the dedupe store's highest):
//     a process that has just started knows no epoch, so a store that went back could hand it
//     an epoch another region already wrote under (found by the simulator, seed 240).
//   - step() renews every ttl/3. The *renew deadline* is sent_at + ttl - ttl/4 on the
//     monotonic clock, where sent_at is when the renew request was SENT: the store measures the
//     TTL from when it received the request, which is later, so the deadline always falls
//     before the store lets the lease expire, whatever the request's latency.
//   - writable_epoch() answers the epoch only while the lease is held and the deadline has not
//     passed: past it the region stops every fenced write at once, even when the store is
//     unreachable (self-fencing). A late renew that the store still accepts makes it writable
//     again; kAborted from the store means the lease is lost: the manager forgets the epoch.
//   - release() gives the lease up (planned switchover, step-down on an unhealthy region).
//
// Ownership: borrows the store and clock. Thread-safety: try_acquire/step/release from one
// driver thread; writable_epoch(), holding() and stats() from any thread (atomics).
// Invariants: epochs granted to this manager strictly increase; writable_epoch() never
// answers after the renew deadline of the last successful acquire/renew.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "contracts/lease_store.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/result.h"
#include "roles/backoff.h"
#include "roles/fence.h"
#include "roles/role.h"
#include "roles/role_support.h"

namespace hadr {

struct LeaseOptions {
  std::string name = "active_dc";
  std::string holder;            // the region's name
  Milliseconds ttl{2'000};       // 30 ms .. 1 h
  BackoffOptions backoff{.initial = Milliseconds(20), .max = Milliseconds(200)};

  Status validate() const;
  Milliseconds renew_interval() const { return ttl / 3; }
  Milliseconds deadline_after_send() const { return ttl - ttl / 4; }
};

struct LeaseStats {
  std::uint64_t epoch = 0;  // the epoch held now (0: none)
  std::uint64_t acquired = 0;
  std::uint64_t renewed = 0;
  std::uint64_t renew_failures = 0;  // unreachable store; the deadline keeps running
  std::uint64_t lost = 0;            // the store refused a renew: someone else may hold it
  std::uint64_t self_fenced = 0;     // times the deadline passed while holding
  std::uint64_t highest_epoch_seen = 0;
};

class LeaseManager final : public Role, public RegionFence {
 public:
  static Result<std::unique_ptr<LeaseManager>> create(LeaseStore& store, const Clock& clock, LeaseOptions options);

  std::string_view name() const override { return "lease"; }
  Result<StepOutcome> step() override;
  RoleHealth health() const override { return health_.snapshot(); }

  std::optional<Epoch> writable_epoch() const override;

  // true: granted (holding() is true). false: someone holds it (`holder_out` says who).
  // kFailedPrecondition: epoch regression (the grant was given back).
  Result<bool> try_acquire(LeaseAcquireOutcome* outcome_out = nullptr);
  Status release();
  // Raises the epoch floor: an epoch seen elsewhere (the alias record, the store's highest).
  void observe_epoch(Epoch epoch);
  // Opens the fence for the held grant (after the caller checked its epoch).
  void confirm();
  bool confirmed() const { return confirmed_.load(); }

  bool holding() const { return epoch_.load() != 0; }
  Epoch epoch() const { return Epoch{epoch_.load()}; }
  // Time left before the renew deadline (0 when not holding or past it).
  Milliseconds time_to_deadline() const;
  LeaseStats stats() const;
  const LeaseOptions& options() const { return options_; }

 private:
  LeaseManager(LeaseStore& store, const Clock& clock, LeaseOptions options);
  void hold(Epoch epoch, MonoTime sent_at);
  void forget();

  LeaseStore& store_;
  const Clock& clock_;
  const LeaseOptions options_;
  Backoff backoff_;
  HealthRecorder health_;
  MonoTime next_renew_at_{};
  bool deadline_reported_ = false;
  std::atomic<std::uint64_t> epoch_{0};
  std::atomic<bool> confirmed_{false};
  std::atomic<std::int64_t> deadline_ns_{0};  // monotonic, since the clock's epoch
  std::atomic<std::uint64_t> highest_epoch_seen_{0};
  std::atomic<std::uint64_t> acquired_{0}, renewed_{0}, renew_failures_{0}, lost_{0}, self_fenced_{0};
};

}  // namespace hadr
