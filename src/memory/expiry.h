// Time-to-live arithmetic shared by the in-memory servers, so that "live", "expired" and
// "time left" mean the same in every store.
//   - a record is live while now < expires_at (it expires AT expires_at, as a PX TTL does);
//   - time left is rounded UP to whole milliseconds, so a live record never reports 0 ms
//     (0 means "no expiry" in CoordRecord and "not held" in LeaseState).
// Thread-safety: pure functions.
#pragma once

#include <chrono>

#include "core/clock.h"

namespace hadr {

inline bool is_live(WallTime expires_at, WallTime now) { return now < expires_at; }

inline Milliseconds remaining_until(WallTime expires_at, WallTime now) {
  if (!is_live(expires_at, now)) return Milliseconds(0);
  return std::chrono::ceil<Milliseconds>(expires_at - now);
}

}  // namespace hadr
