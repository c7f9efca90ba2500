// RedisCoord: the Coord contract (contracts/coord.h) on Redis.
//
// Keys (docs/redis.md): one hash per record, "{prefix}:coord:<key>" with fields value,
// version, epoch and a PX expiry when the record has a TTL; "{prefix}:coord-index", a sorted
// set of every record key (all scores 0, so it is ordered by key bytes). put, get, list and
// remove are Lua scripts, so the version/epoch compare-and-set is atomic across processes.
//
// list(prefix) reads the index with ZRANGEBYLEX instead of SCAN MATCH: SCAN walks the whole
// keyspace (millions of dedupe records) and returns keys unordered, while the index answers
// in key order, touching only matching keys. Records that expired by TTL leave their key in
// the index until a list() meets it and removes it (at most kMaxIndexScan entries per call).
//
// Ownership: owns one RedisConnection. Thread-safety: every method is safe from any thread
// (one mutex serializes the connection); any number of processes may share one Redis.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "contracts/coord.h"
#include "redis/redis_connection.h"
#include "redis/redis_options.h"

namespace hadr::redis {

class RedisCoord final : public Coord {
 public:
  // Index entries one list() may read (live and expired) before it gives up.
  static constexpr std::size_t kMaxIndexScan = 100'000;

  // `options` must have its password resolved (resolve_password).
  static Result<std::unique_ptr<RedisCoord>> open(const RedisOptions& options);

  Result<CoordRecord> put(const CoordPut& write) override;
  Result<std::optional<CoordRecord>> get(std::string_view key) override;
  Result<std::vector<CoordRecord>> list(std::string_view prefix) override;
  Status remove(std::string_view key) override;

 private:
  RedisCoord(std::unique_ptr<RedisConnection> connection, std::string key_namespace);

  std::string record_key(std::string_view key) const;

  std::mutex mutex_;
  std::unique_ptr<RedisConnection> connection_;  // guarded by mutex_
  const std::string key_namespace_;
  const std::string record_key_prefix_;  // "{prefix}:coord:"
  const std::string index_key_;
};

}  // namespace hadr::redis
