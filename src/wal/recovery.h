// inspect_wal: reads a WAL directory without changing it and classifies what it finds with the
// recovery table of segment_scan.h. Wal::open() then applies the case's action (truncate a torn
// tail, remove a torn segment creation, or stop with kDataLoss); `hadr wal verify` only reports.
//
// A WAL directory holds `LOCK` and segment files `wal-<12-digit sequence>.seg`; other names are
// ignored. Segments are read one at a time, each at most segment_bytes_max bytes.
// Thread-safety: a free function; safe to call concurrently with a writer (it then may see the
// writer's in-flight batch as a torn tail, which it only reports).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/env.h"
#include "wal/segment_scan.h"
#include "wal/wal_options.h"

namespace hadr {

// One segment of a log, as the writer, the reader and the backup see it.
struct WalSegmentInfo {
  std::uint64_t sequence = 0;
  std::string path;
  Lsn first_lsn;               // from the header
  Lsn last_lsn;                // of its last good record; first_lsn - 1 when it has none
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;     // good (after recovery: durable) bytes, header included
};

struct RecoveryReport {
  RecoveryCase recovery_case = RecoveryCase::kEmptyLog;
  std::string file;             // segment where the case was found; empty for clean end / empty log
  std::uint64_t offset = 0;     // byte offset of the problem in `file`
  std::string detail;
  std::uint64_t records = 0;    // good records, over all segments (before a fatal problem)
  Lsn first_lsn;                // oldest LSN the log starts at (0 when empty)
  Lsn last_lsn;                 // last good LSN (0 when none)
  std::uint64_t bytes_truncated = 0;  // torn bytes cut off (inspect: that would be cut off)
  Epoch highest_epoch;
  std::optional<Epoch> sealed_epoch;
  std::vector<WalSegmentInfo> segments;  // good segments, oldest first (a torn creation excluded)

  bool fatal() const { return recovery_case_is_fatal(recovery_case); }
  // kDataLoss "wal <file> offset <n>: <case>: <detail>" for a fatal case.
  Error to_error() const;
};

// kDataLoss "wal <file> offset <n>: <case>: <detail> (restore …)": the one wording of a fatal case.
Error wal_damage_error(RecoveryCase recovery_case, const std::string& file, std::uint64_t offset,
                       const std::string& detail);

// Segment files in `dir`, as (sequence, name), in sequence order.
Result<std::vector<std::pair<std::uint64_t, std::string>>> list_segment_files(Env& env, const std::string& dir);

// Reads a segment file, or its first `bytes_limit` bytes; refuses files larger than
// `segment_bytes_max` (kFailedPrecondition naming the option to raise).
Result<std::string> read_segment_file(Env& env, const std::string& path, std::uint64_t segment_bytes_max,
                                      std::uint64_t bytes_limit = UINT64_MAX);

// Does segment (`sequence`, `first_lsn`) follow the previous one? Returns the fatal case and
// why when it does not (kMissingSegment or kLsnGap).
std::optional<std::pair<RecoveryCase, std::string>> check_segment_follows(std::uint64_t previous_sequence,
                                                                           Lsn previous_last_lsn,
                                                                           std::uint64_t sequence, Lsn first_lsn);

// Never modifies anything. An I/O error is an error; a damaged log is a report with a fatal case.
Result<RecoveryReport> inspect_wal(Env& env, const std::string& dir, const WalOptions& options);

}  // namespace hadr
