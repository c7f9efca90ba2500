// In-memory LeaseStore for the deterministic simulator and role unit tests.
//
// MemoryLeaseServer is "the Redis": it holds every lease and its stored epoch counter. Several
// MemoryLeaseStore clients (one per region or process) share one server, each with its own
// connection state and optional FaultInjector (see memory_client.h). The contract is the one
// in contracts/lease_store.h, exactly; TTLs are measured by the server's TTL clock (expiry.h:
// monotonic by default, the wall clock to model Redis).
//
// For the simulator's checkers and fault workloads the server also offers:
//   - grant_history(): every grant (name, epoch, holder, granted_at) in grant order — kept
//     across restore(), because it records what happened, not what the store remembers;
//   - snapshot() / restore(): a store restarted from an old snapshot forgets later grants and
//     its epoch counter goes back (fault F17); the next grant may then reuse an epoch.
//
// Ownership: a server borrows its clock; a client borrows its server and injector. Each must
// outlive its borrower.
// Thread-safety: the server is guarded by one mutex; clients follow memory_client.h.
// Invariants: per name, highest_epoch >= the epoch of the live grant; grants in the history
// carry strictly increasing epochs per name except across a restore().
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/lease_store.h"
#include "core/clock.h"
#include "memory/expiry.h"
#include "memory/memory_client.h"

namespace hadr {

struct LeaseGrant {
  std::string name;
  Epoch epoch;
  std::string holder;
  WallTime granted_at;  // by the server's clock
};

class MemoryLeaseServer {
  struct Lease {
    std::string holder;
    Epoch epoch;  // epoch of the latest grant
    WallTime expires_at;
    bool released = false;
    Epoch highest_epoch;  // the stored counter: never reset except by restore()
  };

 public:
  // Bounds: distinct lease names kept, and grant history entries (the oldest are dropped past
  // it, and counted, so a checker can refuse to judge an incomplete history).
  static constexpr std::size_t kMaxNames = 1000;
  static constexpr std::size_t kMaxGrantHistory = 100'000;

  class Snapshot {
    friend class MemoryLeaseServer;
    std::map<std::string, Lease, std::less<>> leases_;
  };

  explicit MemoryLeaseServer(const Clock& clock, TtlClock ttl_clock = TtlClock::kMonotonic)
      : clock_(clock), ttl_clock_(ttl_clock) {}
  MemoryLeaseServer(const MemoryLeaseServer&) = delete;
  MemoryLeaseServer& operator=(const MemoryLeaseServer&) = delete;

  Result<LeaseAcquireOutcome> acquire(std::string_view name, std::string_view holder, Milliseconds ttl);
  Status renew(std::string_view name, std::string_view holder, Epoch epoch, Milliseconds ttl);
  Status release(std::string_view name, std::string_view holder, Epoch epoch);
  Result<LeaseState> read(std::string_view name) const;

  Snapshot snapshot() const;
  void restore(const Snapshot& snapshot);

  std::vector<LeaseGrant> grant_history() const;
  // Called (under the server's lock: it must not call back into the server) with every grant
  // as it is made, so a checker can stamp it with its own reference time.
  void set_grant_observer(std::function<void(const LeaseGrant&)> observer);
  std::uint64_t grant_history_dropped() const;

 private:
  // The store's one "now": every TTL decision reads it here.
  WallTime now() const { return ttl_now(clock_, ttl_clock_); }
  // The live grant of `name` held by holder/epoch, or kAborted saying who holds it instead.
  Result<Lease*> live_grant_of(std::string_view name, std::string_view holder, Epoch epoch, WallTime now);
  void record_grant(std::string_view name, const Lease& lease, WallTime now);

  const Clock& clock_;
  const TtlClock ttl_clock_;
  mutable std::mutex mutex_;
  std::map<std::string, Lease, std::less<>> leases_;
  std::deque<LeaseGrant> history_;
  std::function<void(const LeaseGrant&)> grant_observer_;
  std::uint64_t history_dropped_ = 0;
};

class MemoryLeaseStore final : public LeaseStore, public MemoryClient {
 public:
  explicit MemoryLeaseStore(MemoryLeaseServer& server, FaultInjector* faults = nullptr)
      : MemoryClient(faults), server_(server) {}

  // Write sites: kUnavailable, kTimeoutAfterApply. read(): kUnavailable.
  Result<LeaseAcquireOutcome> acquire(std::string_view name, std::string_view holder, Milliseconds ttl) override;
  Status renew(std::string_view name, std::string_view holder, Epoch epoch, Milliseconds ttl) override;
  Status release(std::string_view name, std::string_view holder, Epoch epoch) override;
  Result<LeaseState> read(std::string_view name) override;

 private:
  MemoryLeaseServer& server_;
};

}  // namespace hadr
