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

#include "contracts/coord.h"
#include "core/env.h"
#include "core/ids.h"
#include "core/result.h"
#include "wal/checkpoint_file.h"

namespace hadr {

inline constexpr std::string_view kCheckpointFileName = kWalCheckpointFileName;

// A checkpoint and the WAL incarnation whose LSNs it counts (0: unknown, the old format).
struct CheckpointValue {
  Lsn lsn;
  std::uint64_t incarnation = 0;

  auto operator<=>(const CheckpointValue&) const = default;
};

std::string checkpoint_coord_key(const RegionId& region);
std::string checkpoint_file_path(std::string_view wal_dir);
// "C@0x<16 hex>"; `incarnation` must not be 0.
std::string encode_checkpoint_value(Lsn checkpoint, std::uint64_t incarnation);
// "C@0x<16 hex>" or the old "C". kDataLoss naming `key` for anything else (a damaged record).
Result<CheckpointValue> parse_checkpoint_value(std::string_view text, std::string_view key);

// Lsn{0} when the record is absent. The LSN only: for readers that do not compare logs.
Result<Lsn> read_coord_checkpoint(Coord& coord, const RegionId& region);
// {0, 0} when the record is absent.
Result<CheckpointValue> read_coord_checkpoint_value(Coord& coord, const RegionId& region);
// Lsn{0} when the file is absent or counts another WAL incarnation than the META beside it;
// kDataLoss when it is damaged.
Result<Lsn> read_file_checkpoint(Env& env, std::string_view wal_dir);

}  // namespace hadr
