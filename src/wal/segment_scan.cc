#include "wal/segment_scan.h"

#include <algorithm>
#include <cstring>

namespace hadr {
namespace {

// What the frames after a damaged one say about it.
struct LaterFrames {
  bool any = false;
  bool torn_write = false;        // the damage lies in one write that never completed
  std::uint64_t first_offset = 0;  // of the first good frame after the damage
};

// Cheap checks on a raw frame header before paying for its checksum, so the search below
// stays linear on hostile or zeroed input.
bool plausible_frame_at(std::string_view bytes, std::uint64_t offset, Lsn lsn_low, Lsn lsn_high,
                        std::uint32_t record_bytes_max) {
  const char* frame = bytes.data() + offset;
  std::uint64_t lsn;
  std::uint32_t body_bytes;
  std::memcpy(&lsn, frame + 16, sizeof(lsn));
  std::memcpy(&body_bytes, frame + 8, sizeof(body_bytes));
  const auto type = static_cast<unsigned char>(frame[12]);
  return lsn >= lsn_low.value && lsn <= lsn_high.value && (type == 1 || type == 2) && frame[13] == 0 &&
         frame[14] == 0 && frame[15] == 0 && body_bytes <= record_bytes_max &&
         body_bytes <= bytes.size() - offset - kFrameHeaderBytes;
}

// Searches every byte offset after `damage_offset` for frames that decode, and decides whether
// the damage is a torn write (see the rule in segment_scan.h). Linear in the bytes after the
// damage: each offset costs a few compares unless it looks like a frame of a plausible LSN.
LaterFrames find_later_frames(std::string_view bytes, std::uint64_t damage_offset, Lsn expected,
                              std::uint32_t record_bytes_max) {
  LaterFrames later;
  const std::uint64_t frames_that_fit = (bytes.size() - damage_offset) / kFrameHeaderBytes + 1;
  const Lsn lsn_high{expected.value + std::min<std::uint64_t>(frames_that_fit, UINT64_MAX - expected.value)};
  Lsn write_first, write_last;
  bool one_write = true, write_completed = false, write_covers_damage = true;
  std::uint64_t offset = damage_offset + 1;
  while (offset < bytes.size() && bytes.size() - offset >= kFrameHeaderBytes) {
    if (!plausible_frame_at(bytes, offset, expected, lsn_high, record_bytes_max)) {
      ++offset;
      continue;
    }
    const FrameDecode decoded = decode_frame(bytes, offset, record_bytes_max);
    if (decoded.error != FrameError::kNone) {
      ++offset;
      continue;
    }
    const FrameView& frame = decoded.frame;
    if (!later.any) {
      later = {true, false, offset};
      write_first = frame.first_lsn_of_write();
      write_last = frame.last_lsn_of_write();
    }
    one_write = one_write && frame.first_lsn_of_write() == write_first && frame.last_lsn_of_write() == write_last;
    write_completed = write_completed || frame.lsn == write_last;
    write_covers_damage = write_covers_damage && write_first <= expected && frame.lsn > expected;
    offset += frame.frame_bytes;
  }
  later.torn_write = !later.any || (one_write && write_covers_damage && !write_completed);
  return later;
}

bool all_zero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char byte) { return byte == 0; });
}

void classify_header_failure(std::string_view bytes, bool is_last, const Error& error, SegmentScan& scan) {
  scan.valid_bytes = 0;
  scan.problem_offset = 0;
  // The writer syncs a new segment's header before it writes any frame into it, so a bad
  // header followed only by zeros (or nothing) is a creation that never completed.
  const std::string_view after_header = bytes.size() > kSegmentHeaderBytes ? bytes.substr(kSegmentHeaderBytes) : "";
  if (is_last && all_zero(after_header)) {
    scan.outcome = RecoveryCase::kTornSegmentHeader;
    scan.problem = "segment header never completed (" + error.detail + ")";
  } else {
    scan.outcome = RecoveryCase::kBadSegmentHeader;
    scan.problem = error.detail;
  }
}

// Classifies a frame that did not decode at `decoded.frame.offset`.
void classify_damaged_frame(std::string_view bytes, const FrameDecode& decoded, Lsn expected, bool is_last,
                            std::uint32_t record_bytes_max, SegmentScan& scan) {
  scan.problem_offset = decoded.frame.offset;
  if (decoded.error == FrameError::kMalformed) {
    scan.outcome = RecoveryCase::kCorruption;
    scan.problem = "checksummed record with inconsistent fields (expected LSN " + std::to_string(expected.value) + ")";
    return;
  }
  if (decoded.error == FrameError::kTooLarge &&
      decode_frame(bytes, decoded.frame.offset, kRecordBytesHardMax).error == FrameError::kNone) {
    // A whole, checksummed record that is only too large for this reader's limit: never torn.
    scan.outcome = RecoveryCase::kRecordTooLarge;
    scan.problem = "record LSN " + std::to_string(expected.value) + " has " +
                   std::to_string(decoded.frame.frame_bytes - kFrameHeaderBytes) +
                   " bytes, more than record_bytes_max " + std::to_string(record_bytes_max) +
                   "; open the log with a larger record_bytes_max";
    return;
  }
  const LaterFrames later = find_later_frames(bytes, decoded.frame.offset, expected, record_bytes_max);
  if (is_last && later.torn_write) {
    scan.outcome = RecoveryCase::kTornTail;
    scan.problem = std::string(frame_error_name(decoded.error)) + " in a write that never completed";
    return;
  }
  // A length field beyond the limit whose frame does not verify even under the hard maximum (the
  // kRecordTooLarge case above) is damage, like any other bad frame: a flipped bit in the length.
  scan.outcome = RecoveryCase::kCorruption;
  scan.problem = std::string(frame_error_name(decoded.error)) + " at the record expected to be LSN " +
                 std::to_string(expected.value);
  if (decoded.error == FrameError::kTooLarge) {
    scan.problem += " (its length field says " + std::to_string(decoded.frame.frame_bytes - kFrameHeaderBytes) +
                    " bytes and the frame does not verify)";
  }
  if (later.any) scan.problem += "; valid records follow at offset " + std::to_string(later.first_offset);
  else if (!is_last) scan.problem += " in a segment that is not the last one";
}

}  // namespace

std::string_view recovery_case_name(RecoveryCase recovery_case) {
  switch (recovery_case) {
    case RecoveryCase::kEmptyLog: return "empty_log";
    case RecoveryCase::kCleanEnd: return "clean_end";
    case RecoveryCase::kTornTail: return "torn_tail";
    case RecoveryCase::kTornSegmentHeader: return "torn_segment_header";
    case RecoveryCase::kCorruption: return "corruption";
    case RecoveryCase::kBadSegmentHeader: return "bad_segment_header";
    case RecoveryCase::kMissingSegment: return "missing_segment";
    case RecoveryCase::kLsnGap: return "lsn_gap";
    case RecoveryCase::kRecordTooLarge: return "record_too_large";
    case RecoveryCase::kAcknowledgedLost: return "acknowledged_lost";
  }
  return "unknown";
}

RecoveryAction recovery_action(RecoveryCase recovery_case) {
  switch (recovery_case) {
    case RecoveryCase::kEmptyLog:
    case RecoveryCase::kCleanEnd: return RecoveryAction::kNone;
    case RecoveryCase::kTornTail: return RecoveryAction::kTruncateTail;
    case RecoveryCase::kTornSegmentHeader: return RecoveryAction::kRemoveSegment;
    case RecoveryCase::kCorruption:
    case RecoveryCase::kBadSegmentHeader:
    case RecoveryCase::kMissingSegment:
    case RecoveryCase::kLsnGap:
    case RecoveryCase::kRecordTooLarge:
    // Wal::open restores the missing records from a backup that holds them before it applies
    // this action; as a case on its own it stops.
    case RecoveryCase::kAcknowledgedLost: return RecoveryAction::kStop;
  }
  HADR_UNREACHABLE();
}

std::optional<FrameView> find_frame_after_damage(std::string_view bytes, std::uint64_t damage_offset, Lsn expected,
                                                 std::uint32_t record_bytes_max) {
  if (damage_offset >= bytes.size()) return std::nullopt;
  const LaterFrames later = find_later_frames(bytes, damage_offset, expected, record_bytes_max);
  if (!later.any) return std::nullopt;
  const FrameDecode decoded = decode_frame(bytes, later.first_offset, record_bytes_max);
  HADR_ASSERT(decoded.error == FrameError::kNone);
  return decoded.frame;
}

SegmentScan scan_segment(std::string_view bytes, std::uint64_t sequence_from_name, bool is_last,
                         std::uint32_t record_bytes_max, const FrameVisitor& visit) {
  SegmentScan scan;
  auto header = decode_segment_header(bytes);
  if (!header.ok()) {
    classify_header_failure(bytes, is_last, header.error(), scan);
    return scan;
  }
  if (header->sequence != sequence_from_name) {
    scan.outcome = RecoveryCase::kBadSegmentHeader;
    scan.problem = "the header says segment " + std::to_string(header->sequence) + " but the file name says " +
                   std::to_string(sequence_from_name);
    return scan;
  }
  scan.header = *header;
  scan.last_lsn = Lsn{header->first_lsn.value - 1};
  std::uint64_t offset = kSegmentHeaderBytes;
  // Each pass consumes at least one frame header, so the loop ends within size / 40 passes.
  while (offset < bytes.size()) {
    scan.valid_bytes = offset;
    const Lsn expected = scan.last_lsn.next();
    const FrameDecode decoded = decode_frame(bytes, offset, record_bytes_max);
    if (decoded.error != FrameError::kNone) {
      classify_damaged_frame(bytes, decoded, expected, is_last, record_bytes_max, scan);
      return scan;
    }
    const FrameView& frame = decoded.frame;
    if (frame.lsn != expected) {
      scan.outcome = RecoveryCase::kLsnGap;
      scan.problem_offset = offset;
      scan.problem = "record has LSN " + std::to_string(frame.lsn.value) + " where LSN " +
                     std::to_string(expected.value) + " was expected";
      return scan;
    }
    if (visit) visit(frame);
    ++scan.records;
    scan.last_lsn = frame.lsn;
    scan.highest_epoch = std::max(scan.highest_epoch, frame.epoch);
    if (frame.type == WalRecordType::kSeal) scan.sealed_epoch = std::max(scan.sealed_epoch.value_or(Epoch{}), frame.epoch);
    offset += frame.frame_bytes;
  }
  scan.valid_bytes = offset;
  HADR_ASSERT(scan.valid_bytes == bytes.size());
  return scan;
}

}  // namespace hadr
