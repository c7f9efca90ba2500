#include "wal/wal_reader.h"

#include <utility>

namespace hadr {

WalReader::WalReader(Env& env, std::vector<Segment> segments, const WalOptions& options, Lsn from, Lsn until)
    : env_(&env), segments_(std::move(segments)), options_(options), from_(from), until_(until) {}

Result<WalReader> WalReader::open(Env& env, const std::string& dir, const WalOptions& options, Lsn from) {
  HADR_TRY(options.validate());
  HADR_ASSIGN_OR_RETURN(const auto files, list_segment_files(env, dir));
  // Start at the last segment whose header says it begins at or before `from`. A header that
  // does not decode ends the search; the scan reports it if the iteration reaches it.
  std::size_t start = 0;
  for (std::size_t index = 0; index < files.size() && from.value > 0; ++index) {
    const std::string path = join_path(dir, files[index].second);
    HADR_ASSIGN_OR_RETURN(const std::string head,
                          read_segment_file(env, path, options.segment_bytes_max, kSegmentHeaderBytes));
    const auto header = decode_segment_header(head);
    if (!header.ok()) break;
    if (index == 0 && from < header->first_lsn) {
      return not_found("LSN " + std::to_string(from.value) + " is no longer in the log in " + dir +
                       " (retention removed it); the oldest record kept is LSN " +
                       std::to_string(header->first_lsn.value));
    }
    if (header->first_lsn > from) break;
    start = index;
  }
  std::vector<Segment> segments;
  for (std::size_t index = start; index < files.size(); ++index) {
    segments.push_back({files[index].first, join_path(dir, files[index].second), UINT64_MAX});
  }
  return WalReader(env, std::move(segments), options, from, Lsn{UINT64_MAX});
}

WalReader WalReader::over_segments(Env& env, std::vector<WalSegmentInfo> infos, const WalOptions& options, Lsn from,
                                   Lsn until) {
  std::vector<Segment> segments;
  for (WalSegmentInfo& info : infos) {
    if (info.last_lsn >= from) segments.push_back({info.sequence, std::move(info.path), info.bytes});
  }
  return WalReader(env, std::move(segments), options, from, until);
}

Status WalReader::load_next_segment() {
  HADR_ASSERT(next_segment_ < segments_.size());
  const Segment& segment = segments_[next_segment_++];
  const bool is_last = next_segment_ == segments_.size();
  HADR_ASSIGN_OR_RETURN(bytes_, read_segment_file(*env_, segment.path, options_.segment_bytes_max, segment.bytes_limit));
  frame_offsets_.clear();
  next_frame_ = 0;
  const SegmentScan scan = scan_segment(bytes_, segment.sequence, is_last, options_.record_bytes_max,
                                        [this](const FrameView& frame) {
                                          if (frame.lsn >= from_ && frame.lsn <= until_) frame_offsets_.push_back(frame.offset);
                                        });
  if (scan.header && previous_sequence_ != 0) {
    if (auto broken = check_segment_follows(previous_sequence_, previous_last_lsn_, segment.sequence,
                                            scan.header->first_lsn)) {
      frame_offsets_.clear();
      error_after_frames_ = wal_damage_error(broken->first, segment.path, 0, broken->second);
      return ok_status();
    }
  }
  if (recovery_case_is_fatal(scan.outcome)) {
    error_after_frames_ = wal_damage_error(scan.outcome, segment.path, scan.problem_offset, scan.problem);
  }
  previous_sequence_ = segment.sequence;
  previous_last_lsn_ = scan.last_lsn;
  return ok_status();
}

Result<std::optional<WalRecord>> WalReader::next() {
  // Each pass returns a record, or consumes a segment; bounded by frames + segments.
  while (true) {
    if (next_frame_ < frame_offsets_.size()) {
      const FrameDecode decoded = decode_frame(bytes_, frame_offsets_[next_frame_++], options_.record_bytes_max);
      HADR_ASSERT(decoded.error == FrameError::kNone);  // the scan validated it
      HADR_ASSIGN_OR_RETURN(WalRecord record, materialize_record(decoded.frame));
      return std::optional<WalRecord>(std::move(record));
    }
    if (error_after_frames_) return *error_after_frames_;
    if (next_segment_ >= segments_.size()) return std::optional<WalRecord>();
    HADR_TRY(load_next_segment());
  }
}

}  // namespace hadr
