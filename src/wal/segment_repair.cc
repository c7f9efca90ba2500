#include "wal/segment_repair.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <utility>
#include <vector>

#include "wal/segment_scan.h"
#include "wal/wal_format.h"

namespace hadr {
namespace {

bool same_record(const WalRecord& a, const WalRecord& b) {
  return a.lsn == b.lsn && a.epoch == b.epoch && a.type == b.type && a.message_id == b.message_id &&
         a.source_ref == b.source_ref && a.payload == b.payload;
}

// The backup's copy of `lsn` must be the log's own record there, when the backup still holds it
// (retention may have removed it: then there is nothing to compare).
Status check_copy_matches(WalBackupSource& backup, const WalRecord& ours, const std::string& where) {
  HADR_ASSIGN_OR_RETURN(const std::vector<WalRecord> theirs, backup.read(ours.lsn, 1));
  if (theirs.empty() || theirs.front().lsn != ours.lsn) return ok_status();
  if (same_record(theirs.front(), ours)) return ok_status();
  return data_loss(backup.describe() + " holds a different record at LSN " + std::to_string(ours.lsn.value) + " than " +
                   where + " (it is the backup of another log, e.g. one this WAL replaced)");
}

// Where the lost LSNs end when nothing after the damage decodes: before the next segment's first.
Result<Lsn> next_segment_first_lsn(Env& env, const std::string& dir, const WalOptions& options,
                                   std::uint64_t sequence) {
  HADR_ASSIGN_OR_RETURN(const auto files, list_segment_files(env, dir));
  for (const auto& [next_sequence, name] : files) {
    if (next_sequence <= sequence) continue;
    if (next_sequence != sequence + 1) break;
    HADR_ASSIGN_OR_RETURN(const std::string bytes,
                          read_segment_file(env, join_path(dir, name), options.segment_bytes_max, kSegmentHeaderBytes));
    Result<SegmentHeader> header = decode_segment_header(bytes);
    if (!header.ok()) return data_loss("the next segment " + name + " has a damaged header too: " + header.error().detail);
    return header->first_lsn;
  }
  return data_loss("no record after the damage decodes and segment " + std::to_string(sequence + 1) +
                   " does not exist, so nothing says which LSNs the damaged bytes held");
}

// The backup's records first..last as frames, one write's positions over the whole run.
Result<std::string> frames_from_backup(WalBackupSource& backup, const WalOptions& options, Lsn first, Lsn last) {
  const std::uint64_t count = last.value - first.value + 1;
  std::string frames;
  Lsn next = first;
  // Each pass adds at least one record or fails, so the loop ends within `count` passes.
  while (next <= last) {
    const std::size_t want = std::min<std::uint64_t>(last.value - next.value + 1, options.batch_records_max);
    HADR_ASSIGN_OR_RETURN(const std::vector<WalRecord> records, backup.read(next, want));
    if (records.empty()) {
      return unavailable(backup.describe() + " no longer returns LSN " + std::to_string(next.value) +
                         " while repairing the log; nothing was changed: reopen to retry");
    }
    for (const WalRecord& record : records) {
      if (record.lsn != next) {
        return data_loss(backup.describe() + " returned LSN " + std::to_string(record.lsn.value) + " where LSN " +
                         std::to_string(next.value) + " was expected");
      }
      const WalAppend append{record.epoch,       record.message_id, record.source_ref,
                             record.enqueued_at, record.headers,    record.payload};
      const WritePosition position{static_cast<std::uint32_t>(next.value - first.value),
                                   static_cast<std::uint32_t>(count)};
      append_frame(frames, record.lsn, record.type, append, encoded_body_bytes(append), position);
      next = next.next();
      if (next > last) break;
    }
  }
  return frames;
}

}  // namespace

namespace {

// What the scan of a damaged segment says about its hole (see segment_repair.h).
struct DamagedSegment {
  std::string path;
  std::uint64_t sequence = 0;
  std::string bytes;
  std::uint64_t damage_offset = 0;
  std::optional<WalRecord> before;   // the log's last good record before the damage, in this segment
  std::optional<FrameView> resume;   // where the segment's own frames resume (views into bytes)
  std::uint64_t resume_offset = 0;   // first byte kept after the hole (bytes.size() when none)
  Lsn first_lost, last_lost;
};

// A segment that is not the last one lost its last frames exactly at a frame boundary: it ends
// cleanly, and the next segment does not start where it ends (kLsnGap at the next segment's
// offset 0). Its hole runs to the LSN before the next segment's first.
Result<DamagedSegment> analyze_short_segment(Env& env, const std::string& dir, const WalOptions& options,
                                             const RecoveryReport& found, std::uint64_t next_sequence) {
  const auto refuse = [](const std::string& why) { return data_loss("not repaired: " + why); };
  HADR_ASSIGN_OR_RETURN(const auto files, list_segment_files(env, dir));
  const auto next = std::find_if(files.begin(), files.end(), [&](const auto& file) { return file.first == next_sequence; });
  if (next == files.begin() || next == files.end() || std::prev(next)->first + 1 != next_sequence) {
    return refuse("no segment right before " + found.file);
  }
  DamagedSegment damaged;
  damaged.sequence = std::prev(next)->first;
  damaged.path = join_path(dir, std::prev(next)->second);
  HADR_ASSIGN_OR_RETURN(damaged.bytes, read_segment_file(env, damaged.path, options.segment_bytes_max));
  std::optional<FrameView> last;
  const SegmentScan scan = scan_segment(damaged.bytes, damaged.sequence, false, options.record_bytes_max,
                                        [&](const FrameView& frame) { last = frame; });
  if (scan.outcome != RecoveryCase::kCleanEnd || !scan.header) return refuse(damaged.path + " does not end cleanly");
  if (last) damaged.before = *materialize_record(*last);
  HADR_ASSIGN_OR_RETURN(const Lsn next_first, next_segment_first_lsn(env, dir, options, damaged.sequence));
  if (next_first <= scan.last_lsn.next()) {
    return refuse("segment " + std::to_string(next_sequence) + " starts at LSN " + std::to_string(next_first.value) +
                  ", at or below where " + damaged.path + " ends (" + std::to_string(scan.last_lsn.value) +
                  "): two segments overlap");
  }
  damaged.damage_offset = damaged.bytes.size();
  damaged.resume_offset = damaged.bytes.size();
  damaged.first_lost = scan.last_lsn.next();
  damaged.last_lost = Lsn{next_first.value - 1};
  return damaged;
}

Result<DamagedSegment> analyze(Env& env, const std::string& dir, const WalOptions& options, const RecoveryReport& found) {
  const auto refuse = [](const std::string& why) { return data_loss("not repaired: " + why); };
  DamagedSegment damaged;
  const std::string name = found.file.substr(found.file.find_last_of('/') + 1);
  const std::optional<std::uint64_t> sequence = parse_segment_file_name(name);
  if (!sequence) return refuse(found.file + " is not a segment file");
  if (found.recovery_case == RecoveryCase::kLsnGap) {
    if (found.offset != 0) return refuse("a checksummed record with the wrong LSN is a writer's bug");
    return analyze_short_segment(env, dir, options, found, *sequence);
  }
  damaged.sequence = *sequence;
  damaged.path = found.file;
  HADR_ASSIGN_OR_RETURN(const auto files, list_segment_files(env, dir));
  const bool is_last = !files.empty() && files.back().first == *sequence;
  HADR_ASSIGN_OR_RETURN(damaged.bytes, read_segment_file(env, found.file, options.segment_bytes_max));
  const std::string& bytes = damaged.bytes;
  const SegmentScan scan = scan_segment(bytes, *sequence, is_last, options.record_bytes_max, [&](const FrameView& frame) {
    if (frame.offset + frame.frame_bytes == found.offset) damaged.before = *materialize_record(frame);
  });
  if (scan.outcome != RecoveryCase::kCorruption || scan.problem_offset != found.offset || !scan.header) {
    return refuse("the segment no longer shows the damage the scan found");
  }
  if (decode_frame(bytes, scan.problem_offset, options.record_bytes_max).error == FrameError::kMalformed) {
    return refuse("a checksummed record with inconsistent fields is a writer's bug, not damage a copy mends");
  }
  damaged.damage_offset = scan.problem_offset;
  damaged.first_lost = scan.last_lsn.next();
  damaged.resume = find_frame_after_damage(bytes, scan.problem_offset, damaged.first_lost, options.record_bytes_max);
  damaged.resume_offset = bytes.size();
  Lsn resume_lsn;
  if (damaged.resume) {
    resume_lsn = damaged.resume->lsn;
    damaged.resume_offset = damaged.resume->offset;
  } else if (is_last) {
    return refuse("nothing after the damage decodes in the last segment, yet it is not a torn write");
  } else {
    HADR_ASSIGN_OR_RETURN(resume_lsn, next_segment_first_lsn(env, dir, options, *sequence));
  }
  if (resume_lsn <= damaged.first_lost) {
    return refuse("the frames after the damage resume at LSN " + std::to_string(resume_lsn.value) +
                  ", not after the lost LSN " + std::to_string(damaged.first_lost.value));
  }
  damaged.last_lost = Lsn{resume_lsn.value - 1};
  if (damaged.last_lost.value - damaged.first_lost.value + 1 > options.batch_records_max * std::uint64_t{1024}) {
    return refuse("LSNs " + std::to_string(damaged.first_lost.value) + ".." + std::to_string(damaged.last_lost.value) +
                  " are more than one repair copies; restore the log by hand");
  }
  return damaged;
}

// A new file, synced, renamed over the old one, the directory synced: never a half-written
// segment, whatever the moment of a crash.
Status replace_file(Env& env, const std::string& dir, const std::string& path, const std::string& contents) {
  const std::string temporary = path + ".repair";
  if (env.file_exists(temporary)) HADR_TRY(env.remove_file(temporary));
  {
    HADR_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, env.new_writable_file(temporary));
    HADR_TRY(file->append(contents));
    HADR_TRY(file->sync());
    HADR_TRY(file->close());
  }
  HADR_TRY(env.rename_file(temporary, path));
  return env.sync_dir(dir);
}

std::string lsn_range(Lsn first, Lsn last) { return std::to_string(first.value) + ".." + std::to_string(last.value); }

Result<SegmentRepair> fill_from_backup(Env& env, const std::string& dir, const WalOptions& options,
                                       const DamagedSegment& damaged, WalBackupSource& backup) {
  const std::string& path = damaged.path;
  const auto refuse = [&](const std::string& why) {
    return data_loss("not repaired from " + backup.describe() + ": " + why);
  };
  HADR_ASSIGN_OR_RETURN(const Lsn covered, backup.contiguous_through(damaged.first_lost));
  if (covered < damaged.last_lost) {
    return refuse("the damage held LSNs " + lsn_range(damaged.first_lost, damaged.last_lost) + " and the backup holds " +
                  (covered < damaged.first_lost ? std::string("none of them")
                                                : "only " + lsn_range(damaged.first_lost, covered)));
  }
  if (damaged.before) HADR_TRY(check_copy_matches(backup, *damaged.before, "the log's last good record before the damage"));
  if (damaged.resume) {
    HADR_TRY(check_copy_matches(backup, *materialize_record(*damaged.resume), "the log's record after the damage"));
  }
  HADR_ASSIGN_OR_RETURN(const std::string frames,
                        frames_from_backup(backup, options, damaged.first_lost, damaged.last_lost));
  const std::string& bytes = damaged.bytes;
  std::string repaired;
  repaired.reserve(damaged.damage_offset + frames.size() + (bytes.size() - damaged.resume_offset));
  repaired.append(bytes, 0, damaged.damage_offset);
  repaired += frames;
  repaired.append(bytes, damaged.resume_offset, std::string::npos);
  if (repaired.size() > options.segment_bytes_max) {
    return refuse("the repaired segment would be " + std::to_string(repaired.size()) +
                  " bytes, more than segment_bytes_max " + std::to_string(options.segment_bytes_max));
  }
  HADR_TRY(replace_file(env, dir, path, repaired));
  SegmentRepair repair{path, damaged.damage_offset, damaged.resume_offset - damaged.damage_offset,
                       damaged.first_lost, damaged.last_lost, damaged.last_lost.value - damaged.first_lost.value + 1};
  repair.description = "REPAIRED " + path + ": " + std::to_string(repair.damaged_bytes) + " damaged bytes at offset " +
                       std::to_string(repair.offset) + " replaced by " + backup.describe() + "'s copies of LSNs " +
                       lsn_range(repair.first_lsn, repair.last_lsn);
  return repair;
}

// The damaged LSNs up to the settled one are done: the log's head through them goes, as
// retention would remove it (segment_repair.h), and the damaged segment restarts at `keep_from`
// with `frames` (the backup's copies of keep_from..last_lost, maybe none) before its own frames
// from where they resume. Earlier segments go first, oldest first, each removal synced, so a
// crash leaves a prefix removed and the damaged segment in place (the next open does the rest).
Result<SegmentRepair> drop_settled_head(Env& env, const std::string& dir, const DamagedSegment& damaged, Lsn keep_from,
                                        const std::string& frames, std::uint64_t copied, std::string_view copied_from) {
  const std::string& path = damaged.path;
  HADR_ASSIGN_OR_RETURN(const auto files, list_segment_files(env, dir));
  std::uint64_t removed_segments = 0;
  for (const auto& [sequence, name] : files) {
    if (sequence >= damaged.sequence) break;
    HADR_TRY(env.remove_file(join_path(dir, name)));
    HADR_TRY(env.sync_dir(dir));
    ++removed_segments;
  }
  const Lsn dropped_through{keep_from.value - 1};
  if (damaged.resume || !frames.empty()) {
    std::string kept = encode_segment_header({damaged.sequence, keep_from});
    kept += frames;
    kept.append(damaged.bytes, damaged.resume_offset, std::string::npos);
    HADR_TRY(replace_file(env, dir, path, kept));
  } else {
    HADR_TRY(env.remove_file(path));
    HADR_TRY(env.sync_dir(dir));
  }
  SegmentRepair repair{path, damaged.damage_offset, damaged.resume_offset - damaged.damage_offset,
                       damaged.first_lost, damaged.last_lost, copied};
  repair.dropped_through = dropped_through;
  repair.description = "DROPPED the settled head of the log through LSN " + std::to_string(dropped_through.value) +
                       ": " + std::to_string(repair.damaged_bytes) + " damaged bytes at " + path + " offset " +
                       std::to_string(repair.offset) + " held LSNs " + lsn_range(damaged.first_lost, damaged.last_lost) +
                       "; those up to " + std::to_string(dropped_through.value) +
                       " are done (CHECKPOINT file) and no copy holds them any more, " + std::to_string(removed_segments) +
                       " earlier segment(s) removed as retention would";
  if (copied > 0) {
    repair.description += "; LSNs " + lsn_range(keep_from, damaged.last_lost) + " copied from " + std::string(copied_from);
  }
  return repair;
}

}  // namespace

bool segment_damage_is_repairable(const RecoveryReport& found) {
  return found.recovery_case == RecoveryCase::kCorruption ||
         (found.recovery_case == RecoveryCase::kLsnGap && found.offset == 0);
}

Result<SegmentRepair> repair_segment_from_backup(Env& env, const std::string& dir, const WalOptions& options,
                                                 const RecoveryReport& found, WalBackupSource* backup) {
  HADR_ASSERT(segment_damage_is_repairable(found));
  HADR_ASSIGN_OR_RETURN(const DamagedSegment damaged, analyze(env, dir, options, found));
  Result<SegmentRepair> filled = backup != nullptr
                                     ? fill_from_backup(env, dir, options, damaged, *backup)
                                     : Result<SegmentRepair>(data_loss("not repaired: the region keeps no backup"));
  if (filled.ok() || filled.code() != ErrorCode::kDataLoss) return filled;
  Error error = std::move(filled).take_error();
  if (damaged.first_lost > found.settled_lsn) {
    error.detail += "; LSNs above the CHECKPOINT file's " + std::to_string(found.settled_lsn.value) + " are not done";
    return error;
  }
  // The settled part of the hole needs no copy; the rest must come from the backup.
  const Lsn keep_from = std::min(found.settled_lsn.next(), damaged.last_lost.next());
  std::string frames;
  std::uint64_t copied = 0;
  if (keep_from <= damaged.last_lost) {
    Lsn covered{keep_from.value - 1};
    if (backup != nullptr) {
      HADR_ASSIGN_OR_RETURN(covered, backup->contiguous_through(keep_from));
    }
    if (covered < damaged.last_lost) {
      error.detail += "; LSNs " + lsn_range(keep_from, damaged.last_lost) + " above the CHECKPOINT file's " +
                      std::to_string(found.settled_lsn.value) + " are not done and no copy holds them all";
      return error;
    }
    if (damaged.resume) {
      HADR_TRY(check_copy_matches(*backup, *materialize_record(*damaged.resume), "the log's record after the damage"));
    }
    HADR_ASSIGN_OR_RETURN(frames, frames_from_backup(*backup, options, keep_from, damaged.last_lost));
    copied = damaged.last_lost.value - keep_from.value + 1;
  }
  return drop_settled_head(env, dir, damaged, keep_from, frames, copied,
                           backup != nullptr ? backup->describe() : std::string());
}

}  // namespace hadr
