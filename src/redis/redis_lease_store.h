// RedisLeaseStore: the LeaseStore contract (contracts/lease_store.h) on Redis.
//
// Keys (docs/redis.md): "{prefix}:lease-holder:<name>" holds "<holder>|<epoch>" with a PX
// expiry of the lease TTL; "{prefix}:lease-epoch:<name>" holds the highest epoch ever granted
// and never expires. Acquire is one Lua script (SET NX PX, then INCR of the epoch key);
// renew and release are compare-and-set scripts on the exact "<holder>|<epoch>" value, so a
// holder whose lease expired and was granted again — even to the same holder name — can
// neither renew nor release the new grant. TTLs are measured by Redis's clock.
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

class RedisLeaseStore final : public LeaseStore {
 public:
  // `options` must have its password resolved (resolve_password).
  static Result<std::unique_ptr<RedisLeaseStore>> open(const RedisOptions& options);

  Result<LeaseAcquireOutcome> acquire(std::string_view name, std::string_view holder, Milliseconds ttl) override;
  Status renew(std::string_view name, std::string_view holder, Epoch epoch, Milliseconds ttl) override;
  Status release(std::string_view name, std::string_view holder, Epoch epoch) override;
  Result<LeaseState> read(std::string_view name) override;

 private:
  RedisLeaseStore(std::unique_ptr<RedisConnection> connection, std::string key_namespace);

  std::string holder_key(std::string_view name) const;
  std::string epoch_key(std::string_view name) const;
  // Runs the renew or release compare-and-set script; kAborted when the grant is not live.
  Status compare_and_set(const RedisScript& script, std::string_view action, std::string_view name,
                         std::string_view holder, Epoch epoch, Milliseconds ttl);

  std::mutex mutex_;
  std::unique_ptr<RedisConnection> connection_;  // guarded by mutex_
  const std::string key_namespace_;
};

}  // namespace hadr::redis
