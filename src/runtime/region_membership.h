// RegionMembership: one process at a time runs a region's WAL (issue 12, hole 11). Two
// processes started with the same region name on the same backends — from one data dir or from
// two hosts' data dirs — both wrote epoch-1 WALs with overlapping LSNs. The process that opens
// the WAL (the relay role) first takes this membership, and the second is refused with an error
// naming the first:
//   - on the data dir: an exclusive flock on <data_dir>/MEMBER (holding this process's pid, for
//     the error), released by the kernel when the process dies;
//   - on the backends: the coord record member/<region> = "<nonce> <dir id> pid … host …",
//     written with a TTL (kTtl) and renewed by renew_if_due() with a compare-and-set on its
//     version. A live record with another data dir's id is another process: refused. A live
//     record with our data dir's id is a dead earlier incarnation of this very dir (we hold the
//     dir's flock, so it is gone): taken over at once — a restart never waits for the TTL.
// A renewal that finds the record changed, or that has not succeeded for kTtl, is an error:
// another process may run the region now, so this one must stop (RegionNode fails the run).
// The nonce is random per RegionNode open (an incarnation), from the OS's entropy: this is an
// adapter, not role logic.
//
// Ownership: owns its coord connection and the flock. Thread-safety: one thread.
#pragma once

#include <memory>
#include <string>

#include "contracts/coord.h"
#include "core/clock.h"
#include "core/env.h"
#include "core/ids.h"
#include "core/result.h"

namespace hadr {

class RegionMembership {
 public:
  static constexpr Milliseconds kTtl{15'000};
  static constexpr Milliseconds kRenewInterval{5'000};

  // The coord record of `region`'s membership: "member/<region>", its value
  // "nonce=… dir=… pid=… host=… process=… data_dir=…" (`hadr status` shows it).
  static std::string coord_key(const RegionId& region) { return "member/" + region.str(); }

  // Takes the membership of `region` for a process that will open the WAL in `data_dir`.
  // kFailedPrecondition "region … is already run by pid …" when another process has it.
  static Result<std::unique_ptr<RegionMembership>> acquire(const RegionId& region, const std::string& data_dir,
                                                           const std::string& process_name, std::unique_ptr<Coord> coord,
                                                           const Clock& clock, const std::string& incarnation);
  ~RegionMembership();

  // Renews the record when kRenewInterval passed; an error means the membership is lost.
  Status renew_if_due();
  // Removes the record (a clean stop: the next process need not wait). Best effort.
  void release();

 private:
  RegionMembership(std::string key, std::string value, std::unique_ptr<Coord> coord, std::unique_ptr<FileLock> lock,
                   const Clock& clock);
  static Result<std::uint64_t> claim_record(Coord& coord, const std::string& key, const std::string& value,
                                            const std::string& dir_id, const RegionId& region);

  const std::string key_;
  const std::string value_;
  std::unique_ptr<Coord> coord_;
  std::unique_ptr<FileLock> lock_;
  const Clock& clock_;
  std::uint64_t version_ = 0;
  MonoTime renewed_at_;
  bool released_ = false;
};

// A random lower-case hex string of 16 digits from the OS's entropy (getrandom): the incarnation
// of one process start, in worker owners ("<region>/<process>-<n>#<incarnation>") and the
// membership record.
std::string random_incarnation();

}  // namespace hadr
