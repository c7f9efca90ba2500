// The checkpoint file: a small durable record of one LSN and the epoch that wrote it (the
// checkpointer's low watermark: every record below `lsn` is done or dead-lettered).
//
// Format (48 bytes, little-endian): magic "HADRCKPT" | u32 version=2 | u32 reserved=0 |
// u64 lsn | u64 epoch | u64 incarnation | u64 XXH3-64 of bytes [0, 40). The incarnation names
// the WAL (wal_meta.h) whose LSNs the checkpoint counts: a checkpoint of another log is never
// applied to this one. Version 1 (40 bytes: no incarnation, checksum of [0, 32)) is still read,
// with incarnation 0 ("written before incarnations existed").
// Written with write_file_atomically (temp file, fsync, rename, fsync directory), so after a
// crash at any point the file holds the old or the new checkpoint, whole. A file that is
// nevertheless torn or corrupt is reported (kDataLoss naming the file and byte offset), never
// silently accepted.
// Thread-safety: free functions; callers serialize writes to one path.
#pragma once

#include <string>
#include <string_view>

#include "core/env.h"
#include "core/ids.h"

namespace hadr {

inline constexpr std::string_view kWalCheckpointFileName = "CHECKPOINT";

struct WalCheckpoint {
  Lsn lsn;
  Epoch epoch;
  std::uint64_t incarnation = 0;  // 0: a version-1 file (unknown incarnation)

  auto operator<=>(const WalCheckpoint&) const = default;
};

inline constexpr std::size_t kCheckpointFileBytes = 48;
inline constexpr std::size_t kCheckpointFileV1Bytes = 40;

// Always version 2; `checkpoint.incarnation` must not be 0.
std::string encode_checkpoint(const WalCheckpoint& checkpoint);
// `name` only labels errors (the file the bytes came from).
Result<WalCheckpoint> decode_checkpoint(std::string_view bytes, const std::string& name);

Status write_checkpoint_file(Env& env, const std::string& path, const WalCheckpoint& checkpoint);
// kNotFound when the file does not exist (no checkpoint yet); kDataLoss when it is damaged.
Result<WalCheckpoint> read_checkpoint_file(Env& env, const std::string& path);

}  // namespace hadr
