// RedisLeaseStore: the LeaseStore contract (contracts/lease_store.h) on Redis.
//
// Keys (docs/redis.md): "{prefix}:lease-holder:<name>" holds "<holder>|<epoch>" with a PX
// expiry of the lease TTL; "{prefix}:lease-epoch:<name>" holds the highest epoch ever granted
// and never expires. Acquire is one Lua script (SET NX PX, then INCR of the epoch key);
// renew and release are compare-and-set scripts on the exact "<holder>|<epoch>" value, so a
// holder whose lease expired and was granted again — even to the same holder name — can
// neither renew nor release the new grant. TTLs are measured by Redis's clock.
//
// Clock steps (issue 12, hole 6): Redis measures PX expiry on its host's wall clock, which can
// step (NTP, `date -s`); a forward step of the time a lease has left expires it while its
// holder, whose renew deadline is monotonic, still writes — and expires every claim and lock.
// Redis cannot be made to use another clock, so the step is detected and fenced: acquire and
// renew also return Redis's TIME, and StoreClockStepDetector compares how far it moved since
// the last answer with how far this host's monotonic clock moved. A difference beyond the
// tolerance fails the renew with kAborted "store clock step": the LeaseManager then stops
// writing and steps down at once (its alert names the step), exactly as for a lost lease.
//
// Durability: the epoch counter is only as durable as Redis (fault F17): without AOF, a
// restart loses it and epochs start again at 1. See docs/redis.md, "Durability".
//
// Ownership: owns one RedisConnection. Thread-safety: every method is safe from any thread
// (one mutex serializes the connection); several processes may share one Redis.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "contracts/lease_store.h"
#include "redis/redis_connection.h"
#include "redis/redis_options.h"

namespace hadr::redis {

// Compares a store's clock (Redis TIME, in ms) with this host's monotonic clock between two
// answers. Each observation carries the local monotonic instants just before the request was
// sent and just after its answer arrived: the store read its clock somewhere between them, so
// the round trip is uncertainty, not a step. Pure: the caller supplies every time.
// Thread-safety: none (the owning store's mutex).
class StoreClockStepDetector {
 public:
  // `tolerance`: how far the two clocks may disagree between two observations beyond the
  // round trips (drift, scheduling). Keep it well below a quarter of the shortest TTL.
  explicit StoreClockStepDetector(Milliseconds tolerance) : tolerance_(tolerance) {}

  // Forgets the last observation (a new grant: nothing to compare with yet).
  void reset() { has_last_ = false; }
  // Ok, or kAborted naming the step when the store's clock moved more or less than the
  // monotonic clock did since the last observation, beyond the tolerance and the round trips.
  Status observe(std::int64_t store_ms, MonoTime sent_at, MonoTime answered_at);

 private:
  const Milliseconds tolerance_;
  bool has_last_ = false;
  std::int64_t last_store_ms_ = 0;
  MonoTime last_sent_at_{};
  MonoTime last_answered_at_{};
};

class RedisLeaseStore final : public LeaseStore {
 public:
  // `options` must have its password resolved (resolve_password).
  // `clock`'s monotonic time is compared with Redis's TIME (see above); it must outlive the store.
  static Result<std::unique_ptr<RedisLeaseStore>> open(const RedisOptions& options,
                                                       const Clock& clock = RealClock::instance());

  Result<LeaseAcquireOutcome> acquire(std::string_view name, std::string_view holder, Milliseconds ttl) override;
  Status renew(std::string_view name, std::string_view holder, Epoch epoch, Milliseconds ttl) override;
  Status release(std::string_view name, std::string_view holder, Epoch epoch) override;
  Result<LeaseState> read(std::string_view name) override;

 private:
  RedisLeaseStore(std::unique_ptr<RedisConnection> connection, std::string key_namespace, const Clock& clock);
  // Reads Redis's TIME from answer elements `at` and `at + 1` (seconds, microseconds) and feeds
  // the detector; kAborted on a detected step.
  Status check_store_clock(const ReplyView& answer, std::size_t at, MonoTime sent_at, Milliseconds ttl);

  std::string holder_key(std::string_view name) const;
  std::string epoch_key(std::string_view name) const;
  // Runs the renew or release compare-and-set script; kAborted when the grant is not live.
  Status compare_and_set(const RedisScript& script, std::string_view action, std::string_view name,
                         std::string_view holder, Epoch epoch, Milliseconds ttl);

  std::mutex mutex_;
  std::unique_ptr<RedisConnection> connection_;  // guarded by mutex_
  const std::string key_namespace_;
  const Clock& clock_;
  std::unique_ptr<StoreClockStepDetector> step_detector_;  // guarded by mutex_; per grant's TTL
};

}  // namespace hadr::redis
