// Time-to-live arithmetic shared by the in-memory servers, so that "live", "expired" and
// "time left" mean the same in every store.
//   - a record is live while now < expires_at (it expires AT expires_at, as a PX TTL does);
//   - time left is rounded UP to whole milliseconds, so a live record never reports 0 ms
//     (0 means "no expiry" in CoordRecord and "not held" in LeaseState).
//   - the TTL clock (TtlClock): which of its host's clocks a server measures TTLs by. Time
//     points on it are WallTime values only as a type; under kMonotonic they count from the
//     monotonic clock's zero, not from 1970.
// Thread-safety: pure functions.
#pragma once

#include <chrono>

#include "core/clock.h"

namespace hadr {

// Which of its host's clocks a memory server measures TTLs by (issue 12, hole 6).
//   kMonotonic  the embedded stores' choice (embedded/store_clock.h): a step of the wall clock
//               is no time passing, so it expires nothing. The default.
//   kWall       Redis's: PX expiry runs on its host's wall clock, so a step expires leases,
//               claims and locks early — what the Redis lease store detects and fences
//               (redis_lease_store.h). For models of Redis (the simulator's store clock steps).
enum class TtlClock { kMonotonic, kWall };

inline WallTime ttl_now(const Clock& clock, TtlClock which) {
  if (which == TtlClock::kWall) return clock.now_wall();
  return WallTime(std::chrono::duration_cast<WallTime::duration>(clock.now_monotonic().time_since_epoch()));
}

inline bool is_live(WallTime expires_at, WallTime now) { return now < expires_at; }

inline Milliseconds remaining_until(WallTime expires_at, WallTime now) {
  if (!is_live(expires_at, now)) return Milliseconds(0);
  return std::chrono::ceil<Milliseconds>(expires_at - now);
}

}  // namespace hadr
