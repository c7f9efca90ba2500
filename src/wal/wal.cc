#include "wal/wal.h"

#include <algorithm>
#include <utility>

#include "wal/segment_repair.h"

namespace hadr {
namespace {

constexpr std::uint64_t kSegmentBytesHardMax = 1ull << 30;  // a segment is read whole into memory
constexpr std::uint32_t kBatchRecordsHardMax = 1u << 20;

std::string bytes_text(std::uint64_t bytes) { return std::to_string(bytes) + " bytes"; }

}  // namespace

Status WalOptions::validate() const {
  if (record_bytes_max < 64 || record_bytes_max > kRecordBytesHardMax) {
    return invalid_argument("wal record_bytes_max " + bytes_text(record_bytes_max) + " must be between 64 and " +
                            bytes_text(kRecordBytesHardMax));
  }
  const std::uint64_t largest_frame = kFrameHeaderBytes + std::uint64_t{record_bytes_max};
  if (segment_bytes_max < kSegmentHeaderBytes + largest_frame || segment_bytes_max > kSegmentBytesHardMax) {
    return invalid_argument("wal segment_bytes_max " + bytes_text(segment_bytes_max) + " must hold one largest record (" +
                            bytes_text(kSegmentHeaderBytes + largest_frame) + ") and be at most " +
                            bytes_text(kSegmentBytesHardMax) + "; raise it or lower record_bytes_max");
  }
  if (batch_bytes_max < largest_frame) {
    return invalid_argument("wal batch_bytes_max " + bytes_text(batch_bytes_max) + " must hold one largest record (" +
                            bytes_text(largest_frame) + ")");
  }
  if (batch_records_max < 1 || batch_records_max > kBatchRecordsHardMax) {
    return invalid_argument("wal batch_records_max " + std::to_string(batch_records_max) + " must be between 1 and " +
                            std::to_string(kBatchRecordsHardMax));
  }
  return ok_status();
}

Wal::Wal(Env& env, std::string dir, const WalOptions& options, std::unique_ptr<FileLock> lock)
    : env_(&env), dir_(std::move(dir)), options_(options), lock_(std::move(lock)) {}

Wal::~Wal() {
  // Durability never depends on close: every acknowledged byte was synced already.
  if (active_) (void)active_->close();
}

namespace {

// The backup's extent, or {0, 0} with a note when it cannot be read (`unreadable` says why): the
// floor then comes from META and CHECKPOINT alone, and open() cuts nothing (see there).
std::pair<Lsn, Lsn> backup_extent(WalBackupSource* backup, std::vector<std::string>& notes,
                                  std::optional<Error>& unreadable) {
  if (backup == nullptr) return {};
  Result<std::pair<Lsn, Lsn>> extent = backup->extent();
  if (extent.ok()) return *extent;
  notes.push_back(backup->describe() + " could not be read, the log was not checked against it: " +
                  extent.error().to_string());
  unreadable = extent.error();
  return {};
}

// Where a restore starts: after the last good record, or, for a log with no segment left, at
// the backup's first LSN (what is below it was removed by retention: done).
Lsn restore_start(const RecoveryReport& found, Lsn backup_first) {
  if (!found.segments.empty()) return found.last_lsn.next();
  return std::max(Lsn{1}, backup_first);
}

// The backup must continue THIS log: its copy of the log's last good record must be that
// record (a backup of a replaced log numbers other records with the same LSNs). When the
// backup no longer holds that LSN (retention) there is nothing to compare; a note says so.
Status check_backup_continues_log(Env& env, const WalOptions& options, RecoveryReport& found,
                                  WalBackupSource& backup) {
  if (found.segments.empty() || found.last_lsn.value == 0) return ok_status();
  HADR_ASSIGN_OR_RETURN(const std::vector<WalRecord> theirs, backup.read(found.last_lsn, 1));
  if (theirs.empty() || theirs.front().lsn != found.last_lsn) {
    found.notes.push_back(backup.describe() + " no longer holds LSN " + std::to_string(found.last_lsn.value) +
                          ": the restore could not be checked against the log's last good record");
    return ok_status();
  }
  // The log may no longer hold its own last LSN: retention removed the segment that had it and
  // the segment after it lost every frame (a cut right after its header).
  const bool held = std::any_of(found.segments.begin(), found.segments.end(), [&](const WalSegmentInfo& segment) {
    return segment.records > 0 && segment.first_lsn <= found.last_lsn && found.last_lsn <= segment.last_lsn;
  });
  if (!held) {
    found.notes.push_back("the log holds none of its records any more: the restore from " + backup.describe() +
                          " could not be checked against the log's last good record");
    return ok_status();
  }
  WalReader reader = WalReader::over_segments(env, found.segments, options, found.last_lsn, found.last_lsn);
  HADR_ASSIGN_OR_RETURN(const std::optional<WalRecord> ours, reader.next());
  HADR_ASSERT(ours.has_value() && ours->lsn == found.last_lsn);
  const WalRecord& copy = theirs.front();
  if (copy.epoch != ours->epoch || copy.type != ours->type || copy.message_id != ours->message_id ||
      copy.payload != ours->payload) {
    Error error = found.to_error();
    error.detail += "; " + backup.describe() + " holds a different record at LSN " +
                    std::to_string(found.last_lsn.value) + " (it is the backup of another log, e.g. one this "
                    "WAL replaced): nothing was restored; move that backup away or restore this WAL from it by hand";
    return error;
  }
  return ok_status();
}

// With sync backup every acknowledged record is in the backup, so damage in the last segment
// above the acknowledged floor (which includes the backup's extent) holds only records the source
// was never acked for: cut there, as a torn tail is. Only when the backup was read.
bool cuts_unacknowledged_damage(Env& env, const std::string& dir, const WalOptions& options,
                                const RecoveryReport& found, const std::optional<Error>& backup_unreadable) {
  if (!options.backup_holds_every_ack || backup_unreadable || found.recovery_case != RecoveryCase::kCorruption) {
    return false;
  }
  Result<std::vector<std::pair<std::uint64_t, std::string>>> files = list_segment_files(env, dir);
  const bool in_last_segment = files.ok() && !files->empty() && join_path(dir, files->back().second) == found.file;
  return in_last_segment && found.last_lsn.next() > found.acknowledged_lsn &&
         (found.meta ? found.last_lsn.next() > found.meta->high_water_lsn : true);
}

// How open() makes a log that ends below its acknowledged floor whole again.
struct RestorePlan {
  Lsn from;                    // the first LSN the backup's copies fill (restored_first_lsn)
  std::optional<Lsn> through;  // restore from..through from the backup (none: nothing to copy)
  bool drop_segments = false;  // the log's records and the hole's bottom are all settled: drop them
};

// Restore the missing records from the backup when it holds them all. When it does not (its
// retention removed them) but the hole starts at or below the settled LSN (the CHECKPOINT
// file: done, never read again), the records up to it are not needed: the log continues after
// the settled LSN, restoring from the backup what lies above it through the floor.
Result<RestorePlan> plan_restore(Env& env, const WalOptions& options, RecoveryReport& found, WalBackupSource* backup,
                                 Lsn backup_first) {
  const Lsn from = restore_start(found, backup_first);
  Lsn covered{from.value - 1};
  if (backup != nullptr) {
    HADR_ASSIGN_OR_RETURN(covered, backup->contiguous_through(from));
  }
  if (backup != nullptr && covered >= found.acknowledged_lsn && covered >= from) {
    HADR_TRY(check_backup_continues_log(env, options, found, *backup));
    return RestorePlan{from, covered, false};
  }
  std::string holds = backup == nullptr ? std::string("no backup was given")
                                        : backup->describe() + " holds LSNs from " + std::to_string(from.value) +
                                              (covered < from ? " none" : " only through " + std::to_string(covered.value));
  // Only with a backup: without one nothing bounds what a cut log held above its marks, and the
  // operator may still find it on the disk (a bounded hole inside the log is dropped by the
  // repair loop above, backup or not).
  if (backup != nullptr && found.meta && found.settled_lsn >= from) {
    const Lsn after_settled = found.settled_lsn.next();
    Lsn settled_covered = found.settled_lsn;
    if (backup != nullptr) {
      HADR_ASSIGN_OR_RETURN(settled_covered, backup->contiguous_through(after_settled));
    }
    if (settled_covered >= found.acknowledged_lsn) {
      RestorePlan plan{after_settled, std::nullopt, true};
      if (settled_covered >= after_settled) plan.through = settled_covered;
      return plan;
    }
    holds += "; LSNs " + std::to_string(from.value) + ".." + std::to_string(found.settled_lsn.value) +
             " are done (CHECKPOINT file) but " + std::to_string(after_settled.value) + ".." +
             std::to_string(found.acknowledged_lsn.value) + " are not, and no copy holds them all";
  }
  Error error = found.to_error();
  error.detail += "; " + holds;
  return error;
}

// Removes every segment file, oldest first, each removal synced (a crash leaves a prefix
// removed: the next open plans the same), when all of the log's records are settled.
Status drop_all_segments(Env& env, const std::string& dir, RecoveryReport& found) {
  for (const WalSegmentInfo& segment : found.segments) {
    HADR_TRY(env.remove_file(segment.path));
    HADR_TRY(env.sync_dir(dir));
  }
  // A torn segment creation or torn bytes after the good segments: gone with the files.
  HADR_ASSIGN_OR_RETURN(const auto left, list_segment_files(env, dir));
  for (const auto& [sequence, name] : left) {
    HADR_TRY(env.remove_file(join_path(dir, name)));
    HADR_TRY(env.sync_dir(dir));
  }
  found.notes.push_back("DROPPED the settled head of the log through LSN " + std::to_string(found.settled_lsn.value) +
                        " (" + std::to_string(found.segments.size()) +
                        " segment(s)): its lost records are all done (CHECKPOINT file) and no copy holds them any more");
  found.dropped_through = std::max(found.dropped_through, found.settled_lsn);
  found.segments.clear();
  found.tail_case = RecoveryCase::kCleanEnd;
  return ok_status();
}

}  // namespace

Result<std::unique_ptr<Wal>> Wal::open(Env& env, const std::string& dir, const WalOptions& options,
                                       RecoveryReport* report, WalBackupSource* backup) {
  HADR_TRY(options.validate());
  if (!env.file_exists(dir)) {
    HADR_TRY(env.create_dirs(dir));
    HADR_TRY(env.sync_dir(parent_dir(dir)));  // the new directory's name must survive a crash
  }
  HADR_ASSIGN_OR_RETURN(auto lock, env.lock_file(join_path(dir, "LOCK")));
  std::vector<std::string> notes;
  std::optional<Error> backup_unreadable;
  const auto [backup_first, backup_last] = backup_extent(backup, notes, backup_unreadable);
  HADR_ASSIGN_OR_RETURN(RecoveryReport found, inspect_wal(env, dir, options, backup_last));
  // A log that would lose bytes (a torn tail cut, a torn segment creation removed) while its
  // backup cannot be read is left as it is: without the backup nothing proves those bytes were
  // never acknowledged (damage to synced frames ends exactly like a torn write, and with sync
  // backup the backup's extent is the floor of what was acked). The caller retries later.
  const bool would_cut = found.recovery_case == RecoveryCase::kTornTail ||
                         found.recovery_case == RecoveryCase::kTornSegmentHeader;
  if (backup_unreadable && would_cut) {
    if (report != nullptr) *report = found;
    return unavailable("wal " + dir + ": " + std::string(recovery_case_name(found.recovery_case)) + " at " +
                       found.file + " offset " + std::to_string(found.offset) + ", and " + backup->describe() +
                       " could not be read to prove the bytes after it were never acknowledged: nothing was cut; "
                       "start again when the backup answers (" + backup_unreadable->to_string() + ")");
  }
  // Damage to synced frames is mended from the backup's copies (or, when every damaged record
  // is settled and no copy is left, dropped with the log's head), one damaged place per pass,
  // then the log is inspected again (segment_repair.h); what cannot be mended stops below.
  std::uint64_t repaired_records = 0;
  Lsn dropped_through;
  for (int pass = 0; segment_damage_is_repairable(found); ++pass) {
    if (pass == kRepairsPerOpenMax) {
      notes.push_back("more than " + std::to_string(kRepairsPerOpenMax) + " damaged places: repair stopped");
      break;
    }
    Result<SegmentRepair> repaired = repair_segment_from_backup(env, dir, options, found, backup);
    if (!repaired.ok() && repaired.code() == ErrorCode::kDataLoss && cuts_unacknowledged_damage(env, dir, options, found, backup_unreadable)) {
      HADR_TRY(env.truncate_file(found.file, found.offset));
      notes.push_back("CUT " + found.file + " at offset " + std::to_string(found.offset) + ": synced damage at LSN " +
                      std::to_string(found.last_lsn.value + 1) + ", above every acknowledged mark (" +
                      std::to_string(found.acknowledged_lsn.value) + " by " +
                      (found.acknowledged_by.empty() ? std::string("none") : found.acknowledged_by) +
                      "; sync backup holds every acknowledged record), and no copy of it: " + repaired.error().detail);
      HADR_ASSIGN_OR_RETURN(found, inspect_wal(env, dir, options, backup_last));
      continue;
    }
    if (!repaired.ok()) {
      found.notes.insert(found.notes.begin(), notes.begin(), notes.end());
      if (report != nullptr) *report = found;
      Error error = found.to_error();
      error.detail += "; " + repaired.error().detail;
      if (repaired.error().code != ErrorCode::kDataLoss) error.code = repaired.error().code;
      return error;
    }
    notes.push_back(repaired->description);
    repaired_records += repaired->records;
    dropped_through = std::max(dropped_through, repaired->dropped_through);
    HADR_ASSIGN_OR_RETURN(found, inspect_wal(env, dir, options, backup_last));
  }
  found.notes.insert(found.notes.begin(), notes.begin(), notes.end());
  found.repaired_records = repaired_records;
  found.dropped_through = dropped_through;
  if (report != nullptr) *report = found;
  std::optional<Lsn> restore_through;
  bool head_dropped = false;
  if (found.recovery_case == RecoveryCase::kAcknowledgedLost) {
    // Checked before anything on disk changes: a backup that cannot fill the hole leaves the
    // damaged log exactly as it was for the operator.
    HADR_ASSIGN_OR_RETURN(const RestorePlan plan, plan_restore(env, options, found, backup, backup_first));
    if (plan.drop_segments) {
      HADR_TRY(drop_all_segments(env, dir, found));
      head_dropped = true;
      if (report != nullptr) *report = found;
    }
    restore_through = plan.through;
    found.restored_first_lsn = plan.from;
  } else if (found.fatal()) {
    return found.to_error();
  }
  std::unique_ptr<Wal> wal(new Wal(env, dir, options, std::move(lock)));
  HADR_TRY(wal->recover(found));
  if (restore_through) {
    HADR_ASSERT(backup != nullptr);
    const Status restored = wal->restore_from(*backup, *restore_through, found);
    if (report != nullptr) *report = found;
    HADR_TRY(restored);
  }
  // META is written at open only when it is missing (a new log, or one from before META) or a
  // restore moved the log: an ordinary open adds no fsync (a failed one would stop the region).
  if (!found.meta || restore_through || head_dropped) HADR_TRY(wal->write_meta());
  return wal;
}

Status Wal::apply_tail_action(RecoveryCase tail_case, const RecoveryReport& report) {
  switch (recovery_action(tail_case)) {
    case RecoveryAction::kNone: break;
    case RecoveryAction::kTruncateTail:
      HADR_ASSERT(!report.segments.empty() && report.segments.back().path == report.file);
      HADR_TRY(env_->truncate_file(report.file, report.segments.back().bytes));
      break;
    case RecoveryAction::kRemoveSegment:
      HADR_TRY(env_->remove_file(report.file));
      HADR_TRY(env_->sync_dir(dir_));
      break;
    case RecoveryAction::kStop: HADR_UNREACHABLE();
  }
  return ok_status();
}

Status Wal::recover(const RecoveryReport& report) {
  // kAcknowledgedLost reaches here only when open() will restore the missing records: the
  // bytes after the last good frame are replaced, so the tail's own action applies first.
  const bool restoring = report.recovery_case == RecoveryCase::kAcknowledgedLost;
  const RecoveryCase tail_case = restoring ? report.tail_case : report.recovery_case;
  HADR_ASSERT(!recovery_case_is_fatal(tail_case));
  HADR_TRY(apply_tail_action(tail_case, report));
  segments_ = report.segments;
  highest_epoch_ = report.highest_epoch;
  sealed_epoch_ = report.sealed_epoch;
  incarnation_ = report.meta              ? report.meta->incarnation
                 : options_.new_incarnation != 0 ? options_.new_incarnation
                                                 : new_wal_incarnation();
  highest_sequence_ = report.meta ? report.meta->highest_sequence : 0;
  if (segments_.empty()) {
    // A log that lost every segment continues from where the backup's restore starts.
    durable_lsn_ = restoring ? Lsn{report.restored_first_lsn.value - 1} : Lsn{0};
    return create_segment(highest_sequence_ + 1, durable_lsn_.next());
  }
  durable_lsn_ = segments_.back().last_lsn;
  HADR_ASSIGN_OR_RETURN(active_, env_->new_appendable_file(segments_.back().path));
  HADR_ASSERT(active_->size() == segments_.back().bytes);
  return ok_status();
}

Status Wal::write_meta() {
  highest_sequence_ = std::max(highest_sequence_, segments_.back().sequence);
  const WalMeta meta{incarnation_, durable_lsn_, highest_sequence_};
  return write_wal_meta(*env_, dir_, meta);
}

Status Wal::restore_from(WalBackupSource& backup, Lsn through, RecoveryReport& report) {
  HADR_ASSERT(through > durable_lsn_);
  if (through.value - durable_lsn_.value > kRestoreRecordsMax) {
    return data_loss(report.to_error().detail + "; restoring " + std::to_string(through.value - durable_lsn_.value) +
                     " records from " + backup.describe() + " is more than one open does (" +
                     std::to_string(kRestoreRecordsMax) + "): restore the log by hand");
  }
  HADR_ASSERT(report.restored_first_lsn == durable_lsn_.next());
  // Each pass appends at least one record or fails, so it ends within through - durable passes.
  while (durable_lsn_ < through) {
    const std::size_t want = std::min<std::uint64_t>(through.value - durable_lsn_.value, options_.batch_records_max);
    HADR_ASSIGN_OR_RETURN(const std::vector<WalRecord> records, backup.read(durable_lsn_.next(), want));
    if (records.empty()) {
      return unavailable(backup.describe() + " no longer returns LSN " + std::to_string(durable_lsn_.next().value) +
                         " while restoring the log; the records restored so far are kept: reopen to continue");
    }
    HADR_TRY(append_restored(records));
    report.restored_records += records.size();
    report.restored_last_lsn = durable_lsn_;
  }
  return ok_status();
}

Status Wal::append_restored(const std::vector<WalRecord>& records) {
  std::vector<WalAppend> run;
  std::uint64_t run_bytes = 0;
  // Runs of one record type, each within the batch limits, keep the original LSN order.
  for (std::size_t index = 0; index < records.size(); ++index) {
    const WalRecord& record = records[index];
    if (record.lsn != Lsn{durable_lsn_.value + run.size() + 1}) {
      return data_loss("restoring the log: the backup returned LSN " + std::to_string(record.lsn.value) +
                       " where LSN " + std::to_string(durable_lsn_.value + run.size() + 1) + " was expected");
    }
    WalAppend append{record.epoch, record.message_id, record.source_ref, record.enqueued_at, record.headers,
                     record.payload};
    run_bytes += kFrameHeaderBytes + encoded_body_bytes(append);
    run.push_back(std::move(append));
    const bool last = index + 1 == records.size();
    const bool type_changes = !last && records[index + 1].type != record.type;
    const bool full = run.size() >= options_.batch_records_max ||
                      run_bytes + kFrameHeaderBytes + options_.record_bytes_max > options_.batch_bytes_max;
    if (last || type_changes || full) {
      HADR_TRY(append_records(run, record.type));
      run.clear();
      run_bytes = 0;
    }
  }
  return ok_status();
}

Status Wal::create_segment(std::uint64_t sequence, Lsn first_lsn) {
  HADR_ASSERT(first_lsn == durable_lsn_.next());
  const std::string path = join_path(dir_, segment_file_name(sequence));
  // The header is synced before any frame is written into the segment, so a bad header is
  // either a creation that never completed (nothing after it) or corruption — never both.
  HADR_ASSIGN_OR_RETURN(active_, env_->new_writable_file(path));
  HADR_TRY(active_->append(encode_segment_header({sequence, first_lsn})));
  HADR_TRY(active_->sync());
  HADR_TRY(env_->sync_dir(dir_));
  segments_.push_back({sequence, path, first_lsn, durable_lsn_, 0, kSegmentHeaderBytes});
  return ok_status();
}

Status Wal::roll_segment() {
  HADR_ASSERT(!segments_.empty() && segments_.back().records > 0);
  HADR_TRY(active_->close());
  active_.reset();
  HADR_TRY(create_segment(segments_.back().sequence + 1, durable_lsn_.next()));
  // After the new header is durable: META then proves that every segment up to this one, and
  // every LSN through the previous segment's last, existed (a later cut below them is loss).
  return write_meta();
}

Error Wal::poison(Error error) {
  HADR_ASSERT(!poison_.has_value());
  error.code = ErrorCode::kDataLoss;
  error.detail = "wal " + dir_ + " is poisoned: " + error.detail +
                 "; its state on disk is unknown: step down and recover in a new process";
  poison_ = error;
  return error;
}

Status Wal::check_batch(std::span<const WalAppend> batch, WalRecordType type) {
  if (poison_) return *poison_;
  if (batch.empty()) return invalid_argument("wal append: the batch is empty; pass at least one record");
  if (batch.size() > options_.batch_records_max) {
    return invalid_argument("wal append: " + std::to_string(batch.size()) + " records exceed batch_records_max " +
                            std::to_string(options_.batch_records_max) + "; split the batch");
  }
  body_bytes_.clear();
  std::uint64_t batch_bytes = 0;
  Epoch previous = highest_epoch_;
  for (std::size_t index = 0; index < batch.size(); ++index) {
    const WalAppend& record = batch[index];
    // Built only on an error path: no allocation per record on the hot path.
    const auto which = [index] { return "wal append: record " + std::to_string(index) + " of the batch"; };
    if (type == WalRecordType::kMessage && record.message_id.empty()) return invalid_argument(which() + " has no message_id");
    if (record.epoch < previous) {
      return aborted(which() + " has epoch " + std::to_string(record.epoch.value) + ", below epoch " +
                     std::to_string(previous.value) + " already in the log: this writer is fenced");
    }
    const bool sealed = sealed_epoch_ && (type == WalRecordType::kSeal ? record.epoch < *sealed_epoch_
                                                                        : record.epoch <= *sealed_epoch_);
    if (sealed) {
      return aborted(which() + " has epoch " + std::to_string(record.epoch.value) + " but epoch " +
                     std::to_string(sealed_epoch_->value) + " is sealed: this writer is fenced");
    }
    if (record.headers.size() > kHeadersPerRecordMax) {
      return invalid_argument(which() + " has " + std::to_string(record.headers.size()) + " headers; the maximum is " +
                              std::to_string(kHeadersPerRecordMax));
    }
    const std::uint64_t body_bytes = encoded_body_bytes(record);
    if (body_bytes > options_.record_bytes_max) {
      return invalid_argument(which() + " is " + bytes_text(body_bytes) + "; record_bytes_max is " +
                              bytes_text(options_.record_bytes_max) + ": shrink the payload or raise the limit");
    }
    body_bytes_.push_back(body_bytes);
    batch_bytes += kFrameHeaderBytes + body_bytes;
    previous = record.epoch;
  }
  if (batch_bytes > options_.batch_bytes_max) {
    return invalid_argument("wal append: the batch is " + bytes_text(batch_bytes) + "; batch_bytes_max is " +
                            bytes_text(options_.batch_bytes_max) + ": split the batch");
  }
  return ok_status();
}

Status Wal::write_chunk(std::span<const WalAppend> batch, std::size_t first, std::size_t count, WalRecordType type) {
  HADR_ASSERT(count > 0 && first + count <= batch.size() && active_ != nullptr);
  std::uint64_t write_bytes = 0;
  for (std::size_t index = first; index < first + count; ++index) write_bytes += kFrameHeaderBytes + body_bytes_[index];
  // The buffer only grows (to at most batch_bytes_max), so a steady stream of batches neither
  // allocates nor zero-fills it again.
  if (write_buffer_.size() < write_bytes) write_buffer_.resize(write_bytes);
  Lsn lsn = durable_lsn_;
  char* destination = write_buffer_.data();
  for (std::size_t index = 0; index < count; ++index) {
    lsn = lsn.next();
    const WritePosition position{static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(count)};
    encode_frame(destination, lsn, type, batch[first + index], body_bytes_[first + index], position);
    destination += kFrameHeaderBytes + body_bytes_[first + index];
  }
  const std::string_view bytes(write_buffer_.data(), write_bytes);
  if (Status written = active_->append(bytes); !written.ok()) return poison(std::move(written).take_error());
  if (Status synced = active_->sync(); !synced.ok()) return poison(std::move(synced).take_error());
  WalSegmentInfo& segment = segments_.back();
  segment.bytes += write_bytes;
  segment.records += count;
  segment.last_lsn = lsn;
  durable_lsn_ = lsn;
  const Epoch last_epoch = batch[first + count - 1].epoch;
  highest_epoch_ = std::max(highest_epoch_, last_epoch);
  if (type == WalRecordType::kSeal) sealed_epoch_ = last_epoch;
  HADR_ASSERT(segment.bytes == active_->size() && segment.bytes <= options_.segment_bytes_max);
  return ok_status();
}

Result<Lsn> Wal::append_records(std::span<const WalAppend> batch, WalRecordType type) {
  HADR_TRY(check_batch(batch, type));
  std::size_t done = 0;
  // Each pass writes at least one record or rolls a segment that holds records, so the loop
  // ends within 2 * batch.size() passes.
  for (std::size_t pass = 0; done < batch.size(); ++pass) {
    HADR_ASSERT(pass < 2 * batch.size());
    const std::uint64_t room = options_.segment_bytes_max - segments_.back().bytes;
    std::size_t count = 0;
    for (std::uint64_t bytes = 0; done + count < batch.size(); ++count) {
      bytes += kFrameHeaderBytes + body_bytes_[done + count];
      if (bytes > room) break;
    }
    if (count == 0) {
      if (Status rolled = roll_segment(); !rolled.ok()) return poison(std::move(rolled).take_error());
      continue;
    }
    HADR_TRY(write_chunk(batch, done, count, type));
    done += count;
  }
  return durable_lsn_;
}

Result<Lsn> Wal::append(std::span<const WalAppend> batch) { return append_records(batch, WalRecordType::kMessage); }

Status Wal::seal(Epoch epoch) {
  if (poison_) return *poison_;
  if (sealed_epoch_ == epoch) return ok_status();
  WalAppend seal_record;
  seal_record.epoch = epoch;
  HADR_TRY(append_records(std::span<const WalAppend>(&seal_record, 1), WalRecordType::kSeal));
  HADR_ASSERT(sealed_epoch_ == epoch);
  return ok_status();
}

Status Wal::retain_from(Lsn checkpoint) {
  if (poison_) return *poison_;
  if (checkpoint > durable_lsn_.next()) {
    return invalid_argument("wal retain_from: checkpoint LSN " + std::to_string(checkpoint.value) +
                            " is past the durable LSN " + std::to_string(durable_lsn_.value));
  }
  // Oldest first, one directory sync after each removal, so that a crash can only leave a
  // prefix removed, never a hole in the middle. Bounded by the number of segments.
  while (segments_.size() > 1 && segments_[1].first_lsn <= checkpoint) {
    HADR_TRY(env_->remove_file(segments_.front().path));
    segments_.erase(segments_.begin());
    if (Status synced = env_->sync_dir(dir_); !synced.ok()) return poison(std::move(synced).take_error());
  }
  HADR_ASSERT(!segments_.empty());
  return ok_status();
}

Result<WalReader> Wal::read_from(Lsn from) const {
  if (from.value > 0 && from < first_lsn()) {
    return not_found("wal read: LSN " + std::to_string(from.value) + " was removed by retention; the oldest kept is " +
                     std::to_string(first_lsn().value));
  }
  return WalReader::over_segments(*env_, segments_, options_, from, durable_lsn_);
}

Lsn Wal::first_lsn() const {
  HADR_ASSERT(!segments_.empty());
  return segments_.front().first_lsn;
}

}  // namespace hadr
