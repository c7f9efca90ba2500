// StoreClock: the one clock by which every embedded store (lease, dedupe, coord, bus, source)
// measures TTLs, lock ends and visibility — "store time", in ms, kept in the file itself.
//
// Why not the wall clock: a step of the host's wall clock (NTP, `date -s`) is no time passing,
// yet measured on it a forward step of TTL/4 expired the lease in the store while its holder,
// whose renew deadline is monotonic, still wrote, and expired every claim and lock at once
// (issue 12, hole 6). Store time runs on the host's monotonic clock (Clock::now_monotonic:
// CLOCK_MONOTONIC, shared by every process of the host, never stepped) — the very clock the
// lease holder's renew deadline runs on, so the two agree even across a suspend of the host.
//
// The file keeps one row: (boot_id, offset_ms, high_water_ms); store time = monotonic ms +
// offset_ms.
//   - A new row (a new file, or a file written before this clock) starts store time at the
//     wall clock's Unix ms, so rows already in the file keep their meaning.
//   - Monotonic time restarts at each boot: a row written under another boot id (Linux's
//     /proc/sys/kernel/random/boot_id) is rebased so that store time continues from the last
//     store time recorded under the old boot (high_water_ms). Downtime does not count: TTLs
//     pause while the host is down, which only makes records live longer (never shorter).
//   - now_ms() records the high water at most once per kHighWaterInterval, in a transaction of
//     its own, so after a reboot deadlines can look at most that much longer than they were.
// Assumption (docs/backends.md): the processes sharing a file share one kernel and one time
// namespace (one host; containers without time namespaces are fine).
//
// Ownership: borrows the clock, which must outlive it. Thread-safety: as the connection it is
// used with (the owning store's mutex).
#pragma once

#include <cstdint>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "embedded/sqlite_connection.h"

namespace hadr {

class StoreClock {
 public:
  static constexpr Milliseconds kHighWaterInterval{1000};

  // Reads (creating or rebasing) the file's clock row in a write transaction of its own.
  // `boot_id` empty: the host's (host_boot_id()).
  static Result<StoreClock> open(SqliteConnection& connection, const Clock& clock, std::string boot_id);

  // Store time now. Must not be called inside a transaction of `connection` when a high-water
  // write is due (it is then skipped, which is safe: see above).
  std::int64_t now_ms(SqliteConnection& connection);
  // The wall time at which store time `store_ms` arrives, for answers that leave the store as
  // WallTime (a bus lock's end): the current wall time plus the store time left.
  WallTime to_wall(std::int64_t store_ms, std::int64_t now_ms) const;

 private:
  StoreClock(const Clock& clock, std::string boot_id, std::int64_t offset_ms);
  std::int64_t monotonic_ms() const;

  const Clock* clock_;
  std::string boot_id_;
  std::int64_t offset_ms_;
  std::int64_t high_water_written_ms_ = 0;
};

// Linux's id of the running boot (/proc/sys/kernel/random/boot_id); kFailedPrecondition when
// it cannot be read.
Result<std::string> host_boot_id();

}  // namespace hadr
