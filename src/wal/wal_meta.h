// The WAL's metadata file, DIR/META: what the log knows about itself independently of its
// segment bytes, so that recovery can tell a torn tail (never acknowledged) from a log that
// lost acknowledged records (docs/wal-format.md, "Metadata and the acknowledged floor").
//
// Format (48 bytes, little-endian): magic "HADRMETA" | u32 version=1 | u32 reserved=0 |
// u64 incarnation | u64 high_water_lsn | u64 highest_sequence | u64 XXH3-64 of bytes [0, 40).
//   incarnation       random, non-zero, made when the log is created; names this log in every
//                     checkpoint (a replaced WAL has a different one, so an old checkpoint is
//                     never applied to it);
//   high_water_lsn    an LSN the log had made durable when the file was written (at every
//                     segment roll; at open when META was missing or a restore moved the log):
//                     the log may never end below it;
//   highest_sequence  the highest segment sequence created: no segment up to it may be missing.
// Written with write_file_atomically, so after a crash it holds the old or the new value.
// Thread-safety: free functions; the Wal that owns the directory serializes writes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/env.h"
#include "core/ids.h"

namespace hadr {

inline constexpr std::string_view kWalMetaFileName = "META";
inline constexpr std::size_t kWalMetaFileBytes = 48;

struct WalMeta {
  std::uint64_t incarnation = 0;  // never 0 in a written file
  Lsn high_water_lsn;
  std::uint64_t highest_sequence = 0;

  auto operator<=>(const WalMeta&) const = default;
};

std::string encode_wal_meta(const WalMeta& meta);
// kDataLoss naming `name` and the byte offset when the bytes are not a valid META file.
Result<WalMeta> decode_wal_meta(std::string_view bytes, const std::string& name);

// kNotFound when the file does not exist (a new log, or one written before META existed).
Result<WalMeta> read_wal_meta(Env& env, const std::string& dir);
Status write_wal_meta(Env& env, const std::string& dir, const WalMeta& meta);

// A random non-zero 64-bit incarnation id (std::random_device: the WAL layer is not a role).
std::uint64_t new_wal_incarnation();

// "0x" + 16 hex digits, the one spelling of an incarnation in messages and coord values.
std::string incarnation_text(std::uint64_t incarnation);

}  // namespace hadr
