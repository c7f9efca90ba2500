// LeaseStore: the `active_dc` lease with a fencing epoch (Redis `SET NX PX` + `INCR`).
//
// Contract (docs/backends.md, "LeaseStore"):
//   - acquire() grants the lease only when nobody holds it (never held, released or expired).
//     Every grant gets a new epoch, strictly greater than every epoch ever granted for that
//     name, even after expiry, release or a restart of the store's client: the epoch counter
//     is stored, never reset. A live lease is never granted again, not even to its holder
//     (who must renew instead); the answer then names the holder, its epoch and time left.
//   - renew() and release() succeed only for the current holder with the current epoch, while
//     the lease is live; otherwise kAborted (the lease was lost: step down).
//   - TTLs are measured by the store's own clock (Redis TIME, SQLite's one `now` function),
//     never by the caller's clock. A step of a wall clock (NTP, `date -s`) is no time passing
//     and must not expire a lease: stores whose clock cannot step (embedded, memory) measure on
//     a monotonic clock; Redis, whose expiry runs on its host's wall clock, detects a step at
//     renew and answers kAborted "store clock step" so that the holder fences itself.
//   - Names and holders: 1..128 printable ASCII; TTL: 1 ms .. 1 day. Bad input is
//     kInvalidArgument and changes nothing.
// Thread-safety: implementations are safe to call from several threads.
#pragma once

#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/ids.h"
#include "core/result.h"

namespace hadr {

struct LeaseAcquireOutcome {
  bool granted = false;
  // Granted: the new epoch. Not granted: the current holder's epoch.
  Epoch epoch;
  // Granted: the caller. Not granted: the current holder.
  std::string holder;
  // Time until the lease expires, by the store's clock.
  Milliseconds remaining{0};
};

struct LeaseState {
  bool held = false;          // false when never granted, released or expired
  std::string holder;         // empty when not held
  Epoch epoch;                // epoch of the current grant (0 when not held)
  Milliseconds remaining{0};  // 0 when not held
  Epoch highest_epoch;        // the highest epoch ever granted for this name
};

class LeaseStore {
 public:
  virtual ~LeaseStore() = default;

  virtual Result<LeaseAcquireOutcome> acquire(std::string_view name, std::string_view holder, Milliseconds ttl) = 0;
  // kAborted when `holder`/`epoch` is not the live grant.
  virtual Status renew(std::string_view name, std::string_view holder, Epoch epoch, Milliseconds ttl) = 0;
  // kAborted when `holder`/`epoch` is not the live grant.
  virtual Status release(std::string_view name, std::string_view holder, Epoch epoch) = 0;
  virtual Result<LeaseState> read(std::string_view name) = 0;
};

}  // namespace hadr
