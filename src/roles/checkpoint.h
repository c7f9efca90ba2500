// Where a region's checkpoint lives and how it is read back (written by the Checkpointer, read
// by the Relay for retention and publication recovery, and later by the replayer).
//
// The checkpoint C of a region's WAL is the highest LSN such that every record with an LSN
// <= C is done or dead-lettered in the dedupe store (seal records count as done). C = 0: no
// record is known done. Everything from C + 1 on may still need publishing or replay, and
// retention may delete whole segments below C + 1 (Wal::retain_from(C + 1)). The checkpoint
// file's own contract ("every record below lsn is done") holds a fortiori.
//
// It is kept in two places, both only ever moving forward within one WAL incarnation:
//   - Coord key "checkpoint/<region>", value = "C@0x<16 hex digits of the WAL incarnation>",
//     written with kEpochAtLeast under the writer's epoch (a lower epoch never overwrites it):
//     what the other region's replayer reads. The old value format "C" (decimal only) is still
//     parsed, with incarnation 0 ("unknown");
//   - the file CHECKPOINT in the WAL directory (wal/checkpoint_file.h; atomic replace, with the
//     incarnation): what the local relay reads, without a network call.
// A checkpoint counts the LSNs of one WAL incarnation (wal/wal_meta.h): a WAL that was replaced
// numbers its records anew, so a checkpoint of another incarnation says nothing about them.
// Of the same incarnation, either one is a valid lower bound; readers take the larger.
// Thread-safety: free functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "contracts/coord.h"
#include "core/env.h"
#include "core/ids.h"
#include "core/result.h"
#include "wal/checkpoint_file.h"

namespace hadr {

inline constexpr std::string_view kCheckpointFileName = kWalCheckpointFileName;

// A closed range of LSNs.
struct LsnRange {
  Lsn first;
  Lsn last;

  auto operator<=>(const LsnRange&) const = default;
};

// The settled records of one WAL: a floor (every LSN at or below it is settled) and the LSNs
// above it known settled, as sorted, disjoint, non-adjacent ranges (issue 12, hole 1: a record
// that stays unsettled — a late claim, a message being retried — holds the floor back, and the
// done marks of the records above it expire after record_ttl; the ranges remember them without
// any TTL). At most kRangesMax ranges (a coord value stays under 64 KiB): add() refuses a record
// that would need one more, and the caller keeps that record pending until the floor moves.
class SettledSet {
 public:
  static constexpr std::size_t kRangesMax = 1024;

  SettledSet() = default;
  explicit SettledSet(Lsn floor) : floor_(floor) {}

  Lsn floor() const { return floor_; }
  const std::vector<LsnRange>& ranges() const { return ranges_; }
  bool contains(Lsn lsn) const;
  // false: not added (it would need range kRangesMax + 1).
  bool add(Lsn lsn);
  // Raises the floor (never lowers it); ranges it reaches or touches are absorbed.
  void raise_floor(Lsn floor);
  // Union with `other` (the larger floor, every range of both). false: the union needed more
  // than kRangesMax ranges and the highest were dropped; those records then rest on their done
  // marks alone again (the caller raises an alert).
  bool merge(const SettledSet& other);
  // A set from any floor and ranges (unsorted, overlapping, below the floor: all accepted);
  // `truncated` (when given) tells whether ranges beyond kRangesMax were dropped.
  static SettledSet normalized(Lsn floor, std::vector<LsnRange> ranges, bool* truncated = nullptr);
  // The highest settled LSN known (the floor when there are no ranges).
  Lsn highest() const { return ranges_.empty() ? floor_ : ranges_.back().last; }

  auto operator<=>(const SettledSet&) const = default;

 private:
  void absorb_into_floor();

  Lsn floor_;
  std::vector<LsnRange> ranges_;
};

// A checkpoint, the WAL incarnation whose LSNs it counts (0: unknown, the old format) and the
// records above it known settled (SettledSet ranges; `lsn` is the set's floor).
struct CheckpointValue {
  Lsn lsn;
  std::uint64_t incarnation = 0;
  std::vector<LsnRange> settled_above;

  SettledSet settled() const;
  auto operator<=>(const CheckpointValue&) const = default;
};

std::string checkpoint_coord_key(const RegionId& region);
std::string checkpoint_file_path(std::string_view wal_dir);
// "C@0x<16 hex>"; `incarnation` must not be 0. With ranges above the floor:
// "C@0x<16 hex>;s=A-B,D,F-G" (a single LSN is written alone); with incarnation 0 (a set only)
// "C;s=A-B,...".
std::string encode_checkpoint_value(Lsn checkpoint, std::uint64_t incarnation);
std::string encode_checkpoint_value(const SettledSet& settled, std::uint64_t incarnation);
// "C@0x<16 hex>[;s=ranges]" or the old "C[;s=ranges]". kDataLoss naming `key` for anything else
// (a damaged record), including ranges that are not sorted, disjoint and above the floor.
Result<CheckpointValue> parse_checkpoint_value(std::string_view text, std::string_view key);

// Lsn{0} when the record is absent. The LSN only: for readers that do not compare logs.
Result<Lsn> read_coord_checkpoint(Coord& coord, const RegionId& region);
// {0, 0} when the record is absent.
Result<CheckpointValue> read_coord_checkpoint_value(Coord& coord, const RegionId& region);
// Lsn{0} when the file is absent or counts another WAL incarnation than the META beside it;
// kDataLoss when it is damaged.
Result<Lsn> read_file_checkpoint(Env& env, std::string_view wal_dir);

}  // namespace hadr
