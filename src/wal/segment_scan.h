// scan_segment: decodes one segment's bytes front to back and classifies how it ends, using
// the recovery table below (after TigerBeetle's `recovery_cases`: every case is named, has one
// action, and has one test in tests/wal_recovery_test.cc).
//
//   case                 found                                              action
//   kEmptyLog            no segment file at all                             none: start at LSN 1
//   kCleanEnd            every frame decodes, up to the last byte           none
//   kTornTail            LAST segment ends in a write that never completed  truncate to the last good frame
//   kTornSegmentHeader   LAST segment's header never completed (bad header, remove the segment file
//                        and every byte after it is zero or absent)
//   kCorruption          a damaged frame that is not a torn tail, or a      stop: kDataLoss, file + offset
//                        checksummed frame whose fields are inconsistent
//   kBadSegmentHeader    bad magic, unknown version, bad checksum, or a     stop
//                        header that disagrees with its file name
//   kMissingSegment      segment sequence numbers skip (a file is gone)     stop
//   kLsnGap              a frame's LSN is not the previous one + 1, or a    stop
//                        segment does not start where the previous ended
//   kRecordTooLarge      a frame longer than record_bytes_max, not torn     stop (reopen with a larger limit)
//   kAcknowledgedLost    the log (after any torn-tail cut) ends below an    restore the missing records from
//                        LSN it had acknowledged (META high-water, the      the blob backup when it holds them,
//                        CHECKPOINT file, the backup), or a segment META    else stop (recovery.h; never
//                        says was created is gone                           truncate, never reuse an LSN)
//
// Torn tail vs corruption (docs/wal-format.md): a damaged frame at offset P of the LAST segment
// is a torn tail when no frame after P decodes, or when every frame after P belongs to one
// write that started at or before P and whose final frame is missing: that write never
// completed, so it was never synced and nothing in it was acknowledged. Anything else is
// corruption, and corruption is never skipped. In any other segment all damage is fatal,
// because a segment is fully synced before the next one is created.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "wal/wal_format.h"

namespace hadr {

enum class RecoveryCase : std::uint8_t {
  kEmptyLog,
  kCleanEnd,
  kTornTail,
  kTornSegmentHeader,
  kCorruption,
  kBadSegmentHeader,
  kMissingSegment,
  kLsnGap,
  kRecordTooLarge,
  kAcknowledgedLost,
};

enum class RecoveryAction : std::uint8_t {
  kNone,
  kTruncateTail,
  kRemoveSegment,
  kStop,
};

std::string_view recovery_case_name(RecoveryCase recovery_case);  // "clean_end", "torn_tail", …
RecoveryAction recovery_action(RecoveryCase recovery_case);
inline bool recovery_case_is_fatal(RecoveryCase recovery_case) {
  return recovery_action(recovery_case) == RecoveryAction::kStop;
}

struct SegmentScan {
  std::optional<SegmentHeader> header;  // absent when the header did not decode
  RecoveryCase outcome = RecoveryCase::kCleanEnd;
  std::uint64_t valid_bytes = 0;     // [0, valid_bytes) holds the header and good frames
  std::uint64_t problem_offset = 0;  // where the torn or bad bytes start (outcome != kCleanEnd)
  std::string problem;               // what is wrong there, for the operator
  std::uint64_t records = 0;
  Lsn last_lsn;                      // of the last good frame; header.first_lsn - 1 if none
  Epoch highest_epoch;               // over the good frames
  std::optional<Epoch> sealed_epoch;  // highest epoch of a good seal frame
};

using FrameVisitor = std::function<void(const FrameView&)>;

// Scans `bytes` (a whole segment file, or a prefix known to be durable). `sequence_from_name`
// is the sequence the file name claims. `visit` sees each good frame in order.
SegmentScan scan_segment(std::string_view bytes, std::uint64_t sequence_from_name, bool is_last,
                         std::uint32_t record_bytes_max, const FrameVisitor& visit = {});

// The first frame after damage at `damage_offset` that decodes and has an LSN at or above
// `expected` (the record the damaged frame should have held): where the segment's good frames
// resume, as the torn-tail rule above finds it. nullopt when no frame after the damage decodes.
std::optional<FrameView> find_frame_after_damage(std::string_view bytes, std::uint64_t damage_offset, Lsn expected,
                                                 std::uint32_t record_bytes_max);

}  // namespace hadr
