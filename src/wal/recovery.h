// inspect_wal: reads a WAL directory without changing it and classifies what it finds with the
// recovery table of segment_scan.h. Wal::open() then applies the case's action (truncate a torn
// tail, remove a torn segment creation, restore acknowledged records from the backup, or stop
// with kDataLoss); `hadr wal verify` only reports.
//
// The acknowledged floor: segment bytes alone cannot tell a torn tail from a log cut below what
// it acknowledged (a truncated file looks exactly like a torn write). So the scan is checked
// against marks kept outside the segments: META's high-water LSN and highest segment sequence
// (wal_meta.h), the CHECKPOINT file of the same incarnation, and, when given, the highest LSN in
// the blob backup. A log that ends below any of them is kAcknowledgedLost, never a torn tail.
//
// A WAL directory holds `LOCK`, `META`, `CHECKPOINT` and segment files
// `wal-<12-digit sequence>.seg`; other names are ignored. Segments are read one at a time, each at most segment_bytes_max bytes.
// Thread-safety: a free function; safe to call concurrently with a writer (it then may see the
// writer's in-flight batch as a torn tail, which it only reports).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/env.h"
#include "wal/segment_scan.h"
#include "wal/wal_meta.h"
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

  // The acknowledged floor (see above): the log may not end below acknowledged_lsn.
  std::optional<WalMeta> meta;           // absent for a new log or one written before META existed
  Lsn acknowledged_lsn;                  // the highest of the marks; 0 when there are none
  std::string acknowledged_by;           // which mark: "META high-water", "CHECKPOINT file", "backup"
  // The CHECKPOINT file's LSN when it belongs to this log: every record at or below it is done
  // (settled), so a repair may drop such records when no copy of them is left (segment_repair.h).
  Lsn settled_lsn;
  // For kAcknowledgedLost: how the segment bytes themselves ended (clean_end, torn_tail,
  // torn_segment_header) and the bytes after the last good frame that a repair replaces.
  RecoveryCase tail_case = RecoveryCase::kCleanEnd;
  std::uint64_t tail_bytes = 0;
  std::vector<std::string> notes;        // findings that change nothing (a damaged CHECKPOINT file, …)
  // Set by Wal::open when it restored acknowledged records from the backup.
  std::uint64_t restored_records = 0;
  // Set by Wal::open when it mended damaged synced frames from the backup (a note each).
  std::uint64_t repaired_records = 0;
  // Set by Wal::open when it dropped settled records that no copy held any more: LSNs up to here
  // are gone from the log (all done), as retention would have removed them.
  Lsn dropped_through;
  Lsn restored_first_lsn, restored_last_lsn;

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
// `backup_lsn`: the highest LSN the log's blob backup holds (0: no backup, or not consulted).
// A damaged META file is an error (kDataLoss): without it the log cannot prove what it acked.
Result<RecoveryReport> inspect_wal(Env& env, const std::string& dir, const WalOptions& options,
                                   Lsn backup_lsn = Lsn{0});

// Where Wal::open finds records the local log lost: the region's blob backup (implemented over
// a BlobStore in roles/wal_backup_source.h; a vector in tests). Errors are the store's.
class WalBackupSource {
 public:
  virtual ~WalBackupSource() = default;
  virtual std::string describe() const = 0;  // e.g. "blob backup wal/a/", for messages
  // The lowest and highest LSN any object of the backup holds; {0, 0} when it is empty.
  virtual Result<std::pair<Lsn, Lsn>> extent() = 0;
  // The highest L such that the backup holds every LSN from..L (from - 1 when it lacks `from`).
  virtual Result<Lsn> contiguous_through(Lsn from) = 0;
  // Up to `records_max` consecutive records starting at `from` (fewer at a gap or the end).
  virtual Result<std::vector<WalRecord>> read(Lsn from, std::size_t records_max) = 0;
};

}  // namespace hadr
