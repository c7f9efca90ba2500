// WalReader: iterates the records of a WAL in LSN order, from any LSN, across segments.
//
// Two ways in:
//   WalReader::open(env, dir, options, from)  a read-only look at a directory (no lock): the
//       operator commands, tools, tests. A torn tail at the end of the last segment ends the
//       iteration; it is never an error (it was never acknowledged).
//   Wal::read_from(from)                       a reader bounded by the writer's durable state
//       (only synced bytes, only records <= durable_lsn()).
// Corruption is never skipped: next() returns every good record before it, then kDataLoss
// naming the file and byte offset, and keeps returning that error.
// Memory: one segment's bytes at a time (<= segment_bytes_max).
// Thread-safety: one reader per thread; readers are independent of each other and the writer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/env.h"
#include "wal/recovery.h"
#include "wal/wal_options.h"
#include "wal/wal_record.h"

namespace hadr {

class WalReader {
 public:
  // `from` = Lsn{0} starts at the oldest record kept. kNotFound when `from` is older than the
  // oldest record kept (retention removed it).
  static Result<WalReader> open(Env& env, const std::string& dir, const WalOptions& options, Lsn from);

  // Reads `segments` (oldest first), each only up to its `bytes`, and stops after `until`.
  static WalReader over_segments(Env& env, std::vector<WalSegmentInfo> segments, const WalOptions& options, Lsn from,
                                 Lsn until);

  // The next record, or std::nullopt at the end of the log.
  Result<std::optional<WalRecord>> next();

 private:
  struct Segment {
    std::uint64_t sequence = 0;
    std::string path;
    std::uint64_t bytes_limit = UINT64_MAX;
  };

  WalReader(Env& env, std::vector<Segment> segments, const WalOptions& options, Lsn from, Lsn until);
  Status load_next_segment();

  Env* env_;
  std::vector<Segment> segments_;
  WalOptions options_;
  Lsn from_;
  Lsn until_;
  std::size_t next_segment_ = 0;
  std::string bytes_;                         // the segment being read
  std::vector<std::uint64_t> frame_offsets_;  // its good frames in [from_, until_]
  std::size_t next_frame_ = 0;
  std::optional<Error> error_after_frames_;  // what stopped the scan of this segment
  std::uint64_t previous_sequence_ = 0;      // 0 before the first segment
  Lsn previous_last_lsn_;
};

}  // namespace hadr
