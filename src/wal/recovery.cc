#include "wal/recovery.h"

#include <algorithm>

#include "wal/checkpoint_file.h"

namespace hadr {

Error wal_damage_error(RecoveryCase recovery_case, const std::string& file, std::uint64_t offset,
                       const std::string& detail) {
  HADR_ASSERT(recovery_case_is_fatal(recovery_case));
  return data_loss("wal " + file + " offset " + std::to_string(offset) + ": " +
                   std::string(recovery_case_name(recovery_case)) + ": " + detail +
                   " (restore the log from its backup; corruption is never skipped)");
}

Error RecoveryReport::to_error() const { return wal_damage_error(recovery_case, file, offset, detail); }

Result<std::vector<std::pair<std::uint64_t, std::string>>> list_segment_files(Env& env, const std::string& dir) {
  HADR_ASSIGN_OR_RETURN(const std::vector<std::string> names, env.list_dir(dir));
  std::vector<std::pair<std::uint64_t, std::string>> segments;
  for (const std::string& name : names) {
    if (const auto sequence = parse_segment_file_name(name)) segments.emplace_back(*sequence, name);
  }
  std::sort(segments.begin(), segments.end());
  return segments;
}

Result<std::string> read_segment_file(Env& env, const std::string& path, std::uint64_t segment_bytes_max,
                                      std::uint64_t bytes_limit) {
  HADR_ASSIGN_OR_RETURN(auto file, env.new_random_access_file(path));
  HADR_ASSIGN_OR_RETURN(const std::uint64_t file_bytes, file->size());
  if (file_bytes > segment_bytes_max) {
    return failed_precondition(path + " is " + std::to_string(file_bytes) + " bytes, more than segment_bytes_max " +
                               std::to_string(segment_bytes_max) + "; open the log with segment_bytes_max >= " +
                               std::to_string(file_bytes));
  }
  std::string bytes(std::min(file_bytes, bytes_limit), '\0');
  HADR_ASSIGN_OR_RETURN(const std::size_t got, file->read(0, bytes.size(), bytes.data()));
  bytes.resize(got);
  return bytes;
}

std::optional<std::pair<RecoveryCase, std::string>> check_segment_follows(std::uint64_t previous_sequence,
                                                                           Lsn previous_last_lsn,
                                                                           std::uint64_t sequence, Lsn first_lsn) {
  HADR_ASSERT(sequence > previous_sequence);
  if (sequence != previous_sequence + 1) {
    return std::pair{RecoveryCase::kMissingSegment,
                     "segment " + std::to_string(sequence) + " follows segment " + std::to_string(previous_sequence) +
                         ": " + segment_file_name(previous_sequence + 1) + " is missing"};
  }
  if (first_lsn != previous_last_lsn.next()) {
    return std::pair{RecoveryCase::kLsnGap, "segment starts at LSN " + std::to_string(first_lsn.value) +
                                                " but the previous segment ends at LSN " +
                                                std::to_string(previous_last_lsn.value)};
  }
  return std::nullopt;
}

namespace {

void note_problem(RecoveryReport& report, RecoveryCase recovery_case, const std::string& path, std::uint64_t offset,
                  std::string detail) {
  report.recovery_case = recovery_case;
  report.file = path;
  report.offset = offset;
  report.detail = std::move(detail);
}

void add_segment(RecoveryReport& report, std::uint64_t sequence, const std::string& path, const SegmentScan& scan) {
  HADR_ASSERT(scan.header.has_value());
  report.segments.push_back({sequence, path, scan.header->first_lsn, scan.last_lsn, scan.records, scan.valid_bytes});
  report.records += scan.records;
  report.highest_epoch = std::max(report.highest_epoch, scan.highest_epoch);
  if (scan.sealed_epoch) report.sealed_epoch = std::max(report.sealed_epoch.value_or(Epoch{}), *scan.sealed_epoch);
}

// Fills the summary fields from the good segments found so far.
RecoveryReport& summarize(RecoveryReport& report) {
  if (!report.segments.empty()) {
    report.first_lsn = report.segments.front().first_lsn;
    report.last_lsn = report.segments.back().last_lsn;
  }
  return report;
}


// Raises the floor to `lsn` when it is higher, remembering which mark set it.
void raise_floor(RecoveryReport& report, Lsn lsn, std::string_view source) {
  if (lsn <= report.acknowledged_lsn) return;
  report.acknowledged_lsn = lsn;
  report.acknowledged_by = std::string(source);
}

// Reads META and the CHECKPOINT file into the floor. A CHECKPOINT of another incarnation (a
// replaced log) or a damaged one says nothing about this log: it is noted, not used.
Status read_acknowledged_marks(Env& env, const std::string& dir, Lsn backup_lsn, RecoveryReport& report) {
  Result<WalMeta> meta = read_wal_meta(env, dir);
  if (meta.ok()) {
    report.meta = *meta;
    raise_floor(report, meta->high_water_lsn, "META high-water");
  } else if (meta.code() != ErrorCode::kNotFound) {
    return std::move(meta).take_error();
  }
  const std::string checkpoint_path = join_path(dir, kWalCheckpointFileName);
  Result<WalCheckpoint> checkpoint = env.file_exists(checkpoint_path)
                                         ? read_checkpoint_file(env, checkpoint_path)
                                         : Result<WalCheckpoint>(not_found(checkpoint_path));
  if (checkpoint.ok()) {
    const bool other_log = report.meta && checkpoint->incarnation != 0 &&
                           checkpoint->incarnation != report.meta->incarnation;
    if (other_log) {
      report.notes.push_back(checkpoint_path + " belongs to WAL incarnation " +
                             incarnation_text(checkpoint->incarnation) + ", not this log's " +
                             incarnation_text(report.meta->incarnation) + ": ignored");
    } else {
      raise_floor(report, checkpoint->lsn, "CHECKPOINT file");
      report.settled_lsn = checkpoint->lsn;
    }
  } else if (checkpoint.code() == ErrorCode::kDataLoss) {
    report.notes.push_back("ignored: " + checkpoint.error().detail);
  } else if (checkpoint.code() != ErrorCode::kNotFound) {
    return std::move(checkpoint).take_error();
  }
  raise_floor(report, backup_lsn, "backup");
  return ok_status();
}

// Turns a readable log that ends below its acknowledged floor (or lost a segment META says was
// created) into kAcknowledgedLost: cutting it there would lose acknowledged records and let
// their LSNs be issued again.
void check_acknowledged_floor(const std::string& dir, RecoveryReport& report) {
  if (report.fatal()) return;
  const std::uint64_t last_sequence = report.segments.empty() ? 0 : report.segments.back().sequence;
  const bool segment_gone = report.meta && last_sequence < report.meta->highest_sequence;
  if (report.last_lsn >= report.acknowledged_lsn && !segment_gone) return;
  const RecoveryCase tail_case = report.recovery_case;
  const std::uint64_t tail_bytes = report.bytes_truncated;
  std::string detail = "the log ends at LSN " + std::to_string(report.last_lsn.value);
  if (!report.file.empty()) {
    detail += " (" + std::string(recovery_case_name(tail_case)) + " at offset " + std::to_string(report.offset) +
              ": " + report.detail + ")";
  }
  if (report.last_lsn < report.acknowledged_lsn) {
    detail += " but LSN " + std::to_string(report.acknowledged_lsn.value) + " was acknowledged (" +
              report.acknowledged_by + "): LSNs " + std::to_string(report.last_lsn.value + 1) + ".." +
              std::to_string(report.acknowledged_lsn.value) + " are missing";
  }
  if (segment_gone) {
    detail += "; META says segment " + std::to_string(report.meta->highest_sequence) +
              " was created but the last segment file is " + std::to_string(last_sequence);
  }
  if (report.file.empty()) {
    report.file = report.segments.empty() ? dir : report.segments.back().path;
    report.offset = report.segments.empty() ? 0 : report.segments.back().bytes;
  }
  report.recovery_case = RecoveryCase::kAcknowledgedLost;
  report.detail = std::move(detail);
  report.tail_case = tail_case;
  report.tail_bytes = tail_bytes;
  report.bytes_truncated = 0;  // nothing acknowledged is ever cut
}

}  // namespace

namespace {

// The segments alone: the recovery table of segment_scan.h, without the acknowledged floor.
Result<RecoveryReport> scan_wal(Env& env, const std::string& dir, const WalOptions& options) {
  HADR_ASSIGN_OR_RETURN(const auto files, list_segment_files(env, dir));
  RecoveryReport report;
  if (files.empty()) return report;
  report.recovery_case = RecoveryCase::kCleanEnd;
  // Bounded by the number of segment files; each is read, scanned and dropped in turn.
  for (std::size_t index = 0; index < files.size(); ++index) {
    const auto& [sequence, name] = files[index];
    const bool is_last = index + 1 == files.size();
    const std::string path = join_path(dir, name);
    HADR_ASSIGN_OR_RETURN(const std::string bytes, read_segment_file(env, path, options.segment_bytes_max));
    const SegmentScan scan = scan_segment(bytes, sequence, is_last, options.record_bytes_max);
    if (scan.header && !report.segments.empty()) {
      const WalSegmentInfo& previous = report.segments.back();
      if (auto broken = check_segment_follows(previous.sequence, previous.last_lsn, sequence, scan.header->first_lsn)) {
        note_problem(report, broken->first, path, 0, std::move(broken->second));
        return summarize(report);
      }
    }
    if (scan.outcome == RecoveryCase::kTornSegmentHeader && report.segments.empty() && sequence != 1) {
      // Without an earlier segment nothing says where the log continues: refuse to guess.
      note_problem(report, RecoveryCase::kBadSegmentHeader, path, 0, scan.problem + " and no earlier segment exists");
      return summarize(report);
    }
    if (scan.outcome == RecoveryCase::kTornSegmentHeader) {
      note_problem(report, scan.outcome, path, 0, scan.problem);
      report.bytes_truncated = bytes.size();
      break;
    }
    if (scan.header) add_segment(report, sequence, path, scan);
    if (scan.outcome != RecoveryCase::kCleanEnd) {
      note_problem(report, scan.outcome, path, scan.problem_offset, scan.problem);
      if (report.fatal()) return summarize(report);
      report.bytes_truncated = bytes.size() - scan.valid_bytes;
    }
  }
  return summarize(report);
}

}  // namespace

Result<RecoveryReport> inspect_wal(Env& env, const std::string& dir, const WalOptions& options, Lsn backup_lsn) {
  HADR_TRY(options.validate());
  HADR_ASSIGN_OR_RETURN(RecoveryReport report, scan_wal(env, dir, options));
  HADR_TRY(read_acknowledged_marks(env, dir, backup_lsn, report));
  check_acknowledged_floor(dir, report);
  return report;
}

}  // namespace hadr
