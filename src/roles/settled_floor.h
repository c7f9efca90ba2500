// Settled floors: what never has to be decided again, without any TTL.
//
// The settled floor F of region R's WAL is an LSN such that every record of that WAL at or below
// F is settled: its effect was applied (done) or it was dead-lettered. It is the region's
// checkpoint (roles/checkpoint.h) seen as a promise to everybody else, and it only grows.
//
// Why it exists (issue 12, hole 1): done marks in the dedupe store expire after
// dedupe.record_ttl. A bus message that outlives its mark — a leftover in the namespace of a
// region that was cut off for longer than the TTL, or a record that a relay recovery or a
// replay finds above a stale checkpoint — would be claimed again and applied twice. The floor
// does not expire, so:
//   - a worker completes any message whose (source region, LSN) is at or below that region's
//     floor without running the handler (FloorCache below);
//   - relay recovery and replays start above the floor;
//   - whoever settles a region's records advances its floor: the region's own checkpointer,
//     and after a takeover the replayer of the region that took over (for the old region's WAL).
// The design then needs only that a done mark outlives the time between the effect and the
// floor passing it (a checkpoint interval, plus a takeover), never the length of an outage.
//
// Where floors live:
//   - Coord "checkpoint/<region>" (kEpochAtLeast): the shared, fast copy;
//   - the blob store object "wal-floor/<region>" (this file): written by the region's relay
//     before WAL backup retention deletes objects below it, so the backup describes itself
//     (hole 2): a replay that finds no coord checkpoint (a Redis restart without AOF, an
//     eviction, a failover of the store) still knows which LSNs were deleted as settled instead
//     of halting on a "gap" at LSN 1.
//   - the blob store objects "wal-settled/<region>/<writer>" (this file): the settled set with
//     its ranges, one object per writer — the region's own checkpointer (writer = region) and
//     the peer's replayer after a takeover (writer = the peer) — so each object has one writer
//     and only grows. A writer puts it after its coord record and before it retires any done
//     mark the set covers (DedupeStore::retire): a record whose mark may expire is settled in two
//     stores that fail independently (issue 12, hole 1 with coord loss: a Redis restart without
//     AOF took the ranges with it, and a region back from a long outage applied its leftovers
//     again).
// Readers take the union: the largest floor, every range (roles/checkpoint.h, SettledSet), of
// the copies that count the same WAL incarnation (or an unknown one, 0). Workers and replays
// treat every LSN in it as settled.
// Thread-safety: free functions are stateless; FloorCache is used by one worker thread.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "contracts/blob_store.h"
#include "contracts/coord.h"
#include "roles/checkpoint.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/result.h"

namespace hadr {

// "wal-floor/<region>": beside, not under, the backup prefix "wal/<region>/" (whose listing
// accepts only backup objects).
std::string backup_floor_key(const RegionId& region);

// "wal-settled/<region>/<writer>".
std::string settled_copy_key(const RegionId& region, const RegionId& writer);

// Puts `settled` (of the WAL incarnation `incarnation`, 0: unknown) as `writer`'s copy of
// `region`'s settled set. The caller is that copy's only writer and never writes less than it
// wrote before (it merged its earlier copy when it started: read_settled_set).
Status write_settled_copy(BlobStore& blobs, const RegionId& region, const RegionId& writer,
                          const SettledSet& settled, std::uint64_t incarnation);

// A small blob holding one decimal number (floors, witnessed epochs): 0 when absent, kDataLoss
// naming the key and `fix` when it holds anything else.
Result<std::uint64_t> read_decimal_blob(BlobStore& blobs, std::string_view key, std::string_view fix);

// Lsn{0} when the object is absent; kDataLoss naming the key when it is not a decimal LSN.
Result<Lsn> read_backup_floor(BlobStore& blobs, const RegionId& region);

// Raises the object to `floor` (never lowers it: reads it first). Must succeed before any backup
// object at or below `floor` is deleted.
Status raise_backup_floor(BlobStore& blobs, const RegionId& region, Lsn floor);

// max(Coord "checkpoint/<region>", the blob floor when `blobs` is given). A damaged coord record
// is reported in `damaged` (when given) and counts as 0: a lower floor only costs duplicate
// deliveries that the dedupe store absorbs, never an effect.
Result<Lsn> read_settled_floor(Coord& coord, BlobStore* blobs, const RegionId& region,
                               std::optional<Error>* damaged = nullptr);

// The union of coord's record and, when `blobs` is given, the blob floor and every settled copy
// (see the header comment), of one WAL incarnation: coord's when it names one, else the
// region's own copy's. `incarnation` (when given) receives it (0: unknown). A damaged record or
// object is reported in `damaged` and left out: a smaller set only costs duplicate deliveries,
// which the done marks absorb while the other copy lives.
Result<SettledSet> read_settled_set(Coord& coord, BlobStore* blobs, const RegionId& region,
                                    std::optional<Error>* damaged = nullptr, std::uint64_t* incarnation = nullptr);

// A worker's view of the floors of the regions whose messages it receives. An entry is reloaded
// from Coord when it was loaded under another epoch than the caller's (a takeover: the other
// region may have advanced this one's floor) or is older than `refresh_interval` (monotonic).
// A stale entry is only lower than the truth (floors grow), which is safe.
class FloorCache {
 public:
  // Bounds the map: a worker sees messages of two regions; more is a misconfiguration.
  static constexpr std::size_t kRegionsMax = 16;

  // `blobs` (nullptr: coord only, a region without a peer) adds the settled copies.
  FloorCache(Coord& coord, BlobStore* blobs, const Clock& clock, Milliseconds refresh_interval);

  // Whether `lsn` of `region`'s WAL is settled (at or below its floor, or in a settled range) as
  // known under `epoch`. Store errors are returned (the caller leaves the message locked and
  // backs off).
  Result<bool> settled(const RegionId& region, Epoch epoch, Lsn lsn);

 private:
  struct Entry {
    SettledSet settled;
    Epoch loaded_under;
    MonoTime loaded_at;
  };

  Coord& coord_;
  BlobStore* blobs_;
  const Clock& clock_;
  const Milliseconds refresh_interval_;
  std::map<std::string, Entry> entries_;
};

}  // namespace hadr
