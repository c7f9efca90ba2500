// Where a region's checkpoint lives and how it is read back (written by the Checkpointer, read
// by the Relay for retention and publication recovery, and later by the replayer).
//
// The checkpoint C of a region's WAL is the highest LSN such that every record with an LSN
// <= C is done or dead-lettered in the dedupe store (seal records count as done). C = 0: no
// record is known done. Everything from C + 1 on may still need publishing or replay, and
// retention may delete whole segments below C + 1 (Wal::retain_from(C + 1)). The checkpoint
// file's own contract ("every record below lsn is done") holds a fortiori.
//
// It is kept in two places, both only ever moving forward:
//   - Coord key "checkpoint/<region>", value = C as decimal text, written with
//     kEpochAtLeast under the writer's epoch (a lower epoch never overwrites it): what the
//     other region's replayer reads;
//   - the file CHECKPOINT in the WAL directory (wal/checkpoint_file.h; atomic replace): what
//     the local relay reads, without a network call.
// Either one is a valid lower bound; readers that have both take the larger.
// Thread-safety: free functions.
#pragma once

#include <string>
#include <string_view>

#include "contracts/coord.h"
#include "core/env.h"
#include "core/ids.h"
#include "core/result.h"

namespace hadr {

inline constexpr std::string_view kCheckpointFileName = "CHECKPOINT";

std::string checkpoint_coord_key(const RegionId& region);
std::string checkpoint_file_path(std::string_view wal_dir);
std::string encode_checkpoint_value(Lsn checkpoint);
// kDataLoss naming `key` when the text is not a decimal LSN (the record is damaged).
Result<Lsn> parse_checkpoint_value(std::string_view text, std::string_view key);

// Lsn{0} when the record is absent.
Result<Lsn> read_coord_checkpoint(Coord& coord, const RegionId& region);
// Lsn{0} when the file is absent; kDataLoss when it is damaged.
Result<Lsn> read_file_checkpoint(Env& env, std::string_view wal_dir);

}  // namespace hadr
