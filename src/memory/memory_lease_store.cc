#include "memory/memory_lease_store.h"

#include "core/assert.h"
#include "contracts/validation.h"
#include "memory/expiry.h"

namespace hadr {
namespace {

Status validate_name_and_holder(std::string_view name, std::string_view holder) {
  HADR_TRY(validate_printable("lease name", name, kMaxNameBytes));
  return validate_printable("lease holder", holder, kMaxNameBytes);
}

}  // namespace

Result<LeaseAcquireOutcome> MemoryLeaseServer::acquire(std::string_view name, std::string_view holder,
                                                       Milliseconds ttl) {
  HADR_TRY(validate_name_and_holder(name, holder));
  HADR_TRY(validate_ttl("lease ttl", ttl, kMaxLeaseTtl));
  const std::lock_guard lock(mutex_);
  const WallTime time = now();
  auto found = leases_.find(name);
  if (found == leases_.end()) {
    if (leases_.size() >= kMaxNames) {
      return resource_exhausted("memory lease store holds " + std::to_string(kMaxNames) +
                                " lease names, its maximum; use fewer names");
    }
    found = leases_.emplace(std::string(name), Lease{}).first;
  }
  Lease& lease = found->second;
  if (!lease.released && is_live(lease.expires_at, time)) {
    // A live lease is never granted again, not even to its holder: the holder must renew.
    return LeaseAcquireOutcome{.granted = false, .epoch = lease.epoch, .holder = lease.holder,
                               .remaining = remaining_until(lease.expires_at, time)};
  }
  const Epoch granted{lease.highest_epoch.value + 1};
  HADR_ASSERT(granted > lease.epoch);
  lease = Lease{.holder = std::string(holder), .epoch = granted, .expires_at = time + ttl, .released = false,
                .highest_epoch = granted};
  record_grant(name, lease, clock_.now_wall());  // when, for checkers: wall time
  return LeaseAcquireOutcome{.granted = true, .epoch = granted, .holder = lease.holder, .remaining = ttl};
}

Status MemoryLeaseServer::renew(std::string_view name, std::string_view holder, Epoch epoch, Milliseconds ttl) {
  HADR_TRY(validate_name_and_holder(name, holder));
  HADR_TRY(validate_ttl("lease ttl", ttl, kMaxLeaseTtl));
  const std::lock_guard lock(mutex_);
  const WallTime time = now();
  HADR_ASSIGN_OR_RETURN(Lease * lease, live_grant_of(name, holder, epoch, time));
  lease->expires_at = time + ttl;
  return ok_status();
}

Status MemoryLeaseServer::release(std::string_view name, std::string_view holder, Epoch epoch) {
  HADR_TRY(validate_name_and_holder(name, holder));
  const std::lock_guard lock(mutex_);
  HADR_ASSIGN_OR_RETURN(Lease * lease, live_grant_of(name, holder, epoch, now()));
  lease->released = true;
  HADR_ASSERT(lease->highest_epoch >= lease->epoch);
  return ok_status();
}

Result<LeaseState> MemoryLeaseServer::read(std::string_view name) const {
  HADR_TRY(validate_printable("lease name", name, kMaxNameBytes));
  const std::lock_guard lock(mutex_);
  const WallTime time = now();
  const auto found = leases_.find(name);
  if (found == leases_.end()) return LeaseState{};
  const Lease& lease = found->second;
  HADR_ASSERT(lease.highest_epoch >= lease.epoch);
  LeaseState state{.highest_epoch = lease.highest_epoch};
  if (!lease.released && is_live(lease.expires_at, time)) {
    state.held = true;
    state.holder = lease.holder;
    state.epoch = lease.epoch;
    state.remaining = remaining_until(lease.expires_at, time);
  }
  return state;
}

Result<MemoryLeaseServer::Lease*> MemoryLeaseServer::live_grant_of(std::string_view name, std::string_view holder,
                                                                   Epoch epoch, WallTime time) {
  const auto found = leases_.find(name);
  if (found == leases_.end()) {
    return aborted("lease '" + std::string(name) + "' was never granted; acquire it first");
  }
  Lease& lease = found->second;
  if (lease.released || !is_live(lease.expires_at, time)) {
    return aborted("lease '" + std::string(name) + "' is not held (expired or released; epoch " +
                   std::to_string(lease.epoch.value) + "); step down and acquire again");
  }
  if (lease.holder != holder || lease.epoch != epoch) {
    return aborted("lease '" + std::string(name) + "' is held by '" + lease.holder + "' with epoch " +
                   std::to_string(lease.epoch.value) + ", not by '" + std::string(holder) + "' with epoch " +
                   std::to_string(epoch.value) + "; step down");
  }
  return &lease;
}

void MemoryLeaseServer::record_grant(std::string_view name, const Lease& lease, WallTime time) {
  if (history_.size() >= kMaxGrantHistory) {
    history_.pop_front();
    ++history_dropped_;
  }
  history_.push_back(LeaseGrant{.name = std::string(name), .epoch = lease.epoch, .holder = lease.holder,
                                .granted_at = time});
  HADR_ASSERT(history_.size() <= kMaxGrantHistory);
  if (grant_observer_) grant_observer_(history_.back());
}

void MemoryLeaseServer::set_grant_observer(std::function<void(const LeaseGrant&)> observer) {
  const std::lock_guard lock(mutex_);
  grant_observer_ = std::move(observer);
}

MemoryLeaseServer::Snapshot MemoryLeaseServer::snapshot() const {
  const std::lock_guard lock(mutex_);
  Snapshot copy;
  copy.leases_ = leases_;
  return copy;
}

void MemoryLeaseServer::restore(const Snapshot& snapshot) {
  const std::lock_guard lock(mutex_);
  leases_ = snapshot.leases_;
}

std::vector<LeaseGrant> MemoryLeaseServer::grant_history() const {
  const std::lock_guard lock(mutex_);
  return {history_.begin(), history_.end()};
}

std::uint64_t MemoryLeaseServer::grant_history_dropped() const {
  const std::lock_guard lock(mutex_);
  return history_dropped_;
}

Result<LeaseAcquireOutcome> MemoryLeaseStore::acquire(std::string_view name, std::string_view holder,
                                                      Milliseconds ttl) {
  HADR_TRY(admit("lease acquire"));
  return confirm("lease acquire", server_.acquire(name, holder, ttl));
}

Status MemoryLeaseStore::renew(std::string_view name, std::string_view holder, Epoch epoch, Milliseconds ttl) {
  HADR_TRY(admit("lease renew"));
  return confirm("lease renew", server_.renew(name, holder, epoch, ttl));
}

Status MemoryLeaseStore::release(std::string_view name, std::string_view holder, Epoch epoch) {
  HADR_TRY(admit("lease release"));
  return confirm("lease release", server_.release(name, holder, epoch));
}

Result<LeaseState> MemoryLeaseStore::read(std::string_view name) {
  HADR_TRY(admit("lease read"));
  return server_.read(name);
}

}  // namespace hadr
