// IdempotencyStore: what the gateway remembers per Idempotency-Key — the hash of the first
// request's body and the response it got — until the record expires (the key's TTL).
//
// Only completed requests are stored (a 2xx whose message is durable in the Source). A request
// still in progress lives in the Gateway's memory, never here, so a gateway crash can never
// leave a key stuck "in progress"; a retry after such a crash puts the same message id again,
// which hadr's downstream dedupe absorbs.
//
// SqliteIdempotencyStore keeps the records in one SQLite file in the gateway's data dir.
// Commits are not fsynced (synchronous=NORMAL): a record lost to a power cut costs one more put
// of the same message id, never a loss or a duplicate effect, and the put itself was durable.
// save() also deletes up to kPurgeBatch expired records, so the table stays bounded by the
// keys of one TTL without a background thread.
// Time: expiry is wall time (records outlive the process), read from the injected clock only
// by the caller (Gateway) and passed in.
//
// Ownership: SqliteIdempotencyStore owns its connection.
// Thread-safety: implementations are safe from several threads.
// Invariants: find() never returns a record whose expires_at <= now.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "embedded/sqlite_connection.h"

namespace hadr {

struct IdempotencyRecord {
  std::string body_hash;  // hex digest of the first request's body
  int status = 0;         // the response given to it
  std::string response_body;
  WallTime expires_at;
};

class IdempotencyStore {
 public:
  virtual ~IdempotencyStore() = default;
  // The live record of `key`, or nullopt (never stored, or expired at `now`).
  virtual Result<std::optional<IdempotencyRecord>> find(std::string_view key, WallTime now) = 0;
  // Stores (or replaces an expired) record for `key`.
  virtual Status save(std::string_view key, const IdempotencyRecord& record, WallTime now) = 0;
};

class SqliteIdempotencyStore final : public IdempotencyStore {
 public:
  static constexpr std::size_t kPurgeBatch = 64;

  static Result<std::unique_ptr<SqliteIdempotencyStore>> open(const std::string& path);

  Result<std::optional<IdempotencyRecord>> find(std::string_view key, WallTime now) override;
  Status save(std::string_view key, const IdempotencyRecord& record, WallTime now) override;
  // Deletes up to `max` records expired at `now`; returns how many.
  Result<std::size_t> purge_expired(WallTime now, std::size_t max);
  Result<std::size_t> count();

 private:
  explicit SqliteIdempotencyStore(std::unique_ptr<SqliteConnection> connection);
  Result<std::size_t> purge_locked(WallTime now, std::size_t max);

  std::mutex mutex_;
  std::unique_ptr<SqliteConnection> connection_;
};

}  // namespace hadr
