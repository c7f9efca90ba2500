// Key layout and input checks shared by the Redis stores (docs/redis.md, "Key layout").
//
// Every key of one cluster starts with "{<key_prefix>}:". The braces are a Redis Cluster hash
// tag: all of a cluster's keys land in one slot, which every multi-key Lua script needs. A
// fixed segment follows ("lease-holder:", "dedupe:", "coord:", ...), then the caller's name,
// so a caller's name can never produce another kind's key.
// Input checks shared with the other backends live in contracts/validation.h.
// Stateless functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/ids.h"
#include "core/result.h"

namespace hadr::redis {

// Lua numbers are doubles: integers above 2^53 - 1 would be rounded inside a script.
inline constexpr std::uint64_t kMaxScriptInteger = (std::uint64_t{1} << 53) - 1;

// "{prefix}:" — the start of every key of the cluster `prefix` (already validated).
std::string key_namespace(std::string_view prefix);

// The keys of the ledger handler's effects (docs/redis.md, "Ledger"), written by
// RedisDedupeStore::mark_done_with_ledger_append and read by RedisLedgerReader:
//   entries  "{p}:ledger"                   stream, one entry per effect (XADD *)
//   counts   "{p}:ledger-count"             hash, message id -> number of effects
//   applied  "{p}:ledger-applied:<region>"  sorted set, member = score = applied_at_ms
struct LedgerKeys {
  std::string entries;
  std::string counts;
  std::string applied_prefix;

  static LedgerKeys of(std::string_view key_namespace);
  std::string applied(std::string_view region) const;
};

// kInvalidArgument when the epoch is too large to pass through a Lua script exactly.
Status validate_epoch(Epoch epoch);

// Decimal text of an unsigned integer, and back. parse_unsigned is kDataLoss when the store
// holds something that is not a decimal number (`what` names it).
std::string decimal(std::uint64_t value);
Result<std::uint64_t> parse_unsigned(std::string_view text, std::string_view what);

}  // namespace hadr::redis
