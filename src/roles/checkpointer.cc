#include "roles/checkpointer.h"

#include "roles/settled_floor.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "contracts/validation.h"
#include "roles/checkpoint.h"
#include "roles/settled_floor.h"
#include "wal/checkpoint_file.h"
#include "wal/wal_meta.h"

namespace hadr {
namespace {

constexpr std::string_view kAfterCheckpointBeforeRetention = "checkpointer.after_checkpoint_before_retention";

bool is_settled(RecordState state) { return state == RecordState::kDone || state == RecordState::kDeadLettered; }
// A dead-lettered record keeps its mark (its copy pin is not retired, so it lives
// kUnsettledRecordTtl): the worker marks before it moves the message to the dead-letter queue,
// so when the move failed the record is the only proof of the dead letter, and a redelivered
// copy past the settled floor is moved there by what the record says (Worker::complete_if_settled).
// Dead letters are rare; their records cost nothing that matters.
bool keeps_its_record(RecordState state) { return state == RecordState::kDeadLettered; }

}  // namespace

Status CheckpointerOptions::validate() const {
  if (region.empty()) return invalid_argument("checkpointer region is empty; set it to this region's id");
  if (interval < Milliseconds(1) || interval > std::chrono::hours(1)) {
    return invalid_argument("checkpointer interval " + std::to_string(interval.count()) +
                            " ms must be between 1 ms and 1 h");
  }
  if (chunk_max < 1 || chunk_max > DedupeStore::kMaxLookupBatch) {
    return invalid_argument("checkpointer chunk_max " + std::to_string(chunk_max) + " must be between 1 and " +
                            std::to_string(DedupeStore::kMaxLookupBatch));
  }
  HADR_TRY(validate_ttl("checkpointer record_ttl", record_ttl, kMaxDedupeTtl));
  return backoff.validate("checkpointer backoff");
}

Result<std::unique_ptr<Checkpointer>> Checkpointer::create(const CheckpointerDependencies& dependencies,
                                                           CheckpointerOptions options) {
  HADR_TRY(options.validate());
  return std::unique_ptr<Checkpointer>(new Checkpointer(dependencies, std::move(options)));
}

Checkpointer::Checkpointer(const CheckpointerDependencies& dependencies, CheckpointerOptions options)
    : deps_(dependencies), options_(std::move(options)), backoff_(dependencies.clock, options_.backoff) {}

CheckpointerStats Checkpointer::stats() const {
  return CheckpointerStats{.checkpoint = checkpoint_value_.load(),
                           .persisted = persisted_.load(),
                           .fenced_writes = fenced_writes_.load(),
                           .records_examined = records_examined_.load(),
                           .settled_ranges = settled_ranges_.load()};
}

Result<StepOutcome> Checkpointer::step() {
  const MonoTime now = deps_.clock.now_monotonic();
  if (now < next_run_at_ || !backoff_.ready()) return StepOutcome::kIdle;
  const std::optional<Epoch> epoch = deps_.fence.writable_epoch();
  if (!epoch) return restore_settled_copy_if_lost(now);
  // Under a new epoch the other region may have advanced this region's floor in Coord (its
  // replayer settles our records after a takeover): start again from the larger value, so
  // that what we persist never goes below what it wrote.
  if (loaded_ && *epoch != loaded_epoch_) loaded_ = false;
  if (!loaded_) {
    loaded_epoch_ = *epoch;
    if (const Status loaded = load(); !loaded.ok()) {
      HADR_TRY(absorb_failure("checkpointer load", loaded.error(), backoff_, health_));
      return StepOutcome::kIdle;
    }
  }
  HADR_TRY(fill_window());
  const bool window_was_full = window_.size() >= options_.chunk_max;
  HADR_ASSIGN_OR_RETURN(const bool looked_up, settle_window());
  if (!looked_up) return StepOutcome::kIdle;  // the store did not answer; backoff is armed
  StepOutcome outcome = StepOutcome::kIdle;
  if (settled_ != persisted_set_) {
    HADR_ASSIGN_OR_RETURN(const bool persisted, persist(settled_, *epoch));
    if (!persisted) return StepOutcome::kIdle;
    health_.add_progress(settled_.floor().value - checkpoint_.value);
    persisted_set_ = settled_;
    settled_ranges_.store(settled_.ranges().size());
    set_checkpoint(settled_.floor());
    deps_.crash_points.hit(kAfterCheckpointBeforeRetention);
    outcome = StepOutcome::kProgress;
  }
  if (settled_ == persisted_set_) retire_marks();
  // A full window that was all settled: there is probably more backlog, so run again at once.
  const bool catching_up = window_was_full && window_.empty() && examined_until_ < deps_.wal.durable_lsn();
  next_run_at_ = catching_up ? now : now + options_.interval;
  update_lag();
  return outcome;
}

Result<StepOutcome> Checkpointer::restore_settled_copy_if_lost(MonoTime now) {
  // Passive, this region still knows its settled set; the two copies may not (issue 12, hole
  // 13 with coord_loss: the coord record lost, then the blob container restarted empty, while
  // this region was passive, and the other region's replay republished settled records whose
  // marks had expired: I2, seed 145 of all+blob_loss). Its own blob copy has one writer, this
  // checkpointer, and only grows: put it back when it is gone. No fence is involved (no coord
  // write, nothing applied); one get per interval while passive.
  if (!loaded_ || deps_.blobs == nullptr || persisted_set_ == SettledSet()) return StepOutcome::kIdle;
  next_run_at_ = now + options_.interval;
  Result<std::string> copy = deps_.blobs->get(settled_copy_key(options_.region, options_.region));
  if (copy.ok() || copy.code() != ErrorCode::kNotFound) return StepOutcome::kIdle;  // there, or unknown
  const Status copied = write_settled_copy(*deps_.blobs, options_.region, options_.region, persisted_set_,
                                           deps_.wal.incarnation());
  if (!copied.ok()) {
    HADR_TRY(absorb_failure("checkpointer settled copy put", copied.error(), backoff_, health_));
    return StepOutcome::kIdle;
  }
  return StepOutcome::kProgress;
}

Status Checkpointer::load() {
  Lsn start{0};
  Result<WalCheckpoint> from_file = read_checkpoint_file(deps_.env, checkpoint_file_path(deps_.wal.dir()));
  if (from_file.ok()) {
    HADR_TRY(consider("the CHECKPOINT file", CheckpointValue{from_file->lsn, from_file->incarnation}, start));
  } else if (from_file.code() != ErrorCode::kNotFound) {
    // A damaged file is a lost lower bound, not lost data: coord (or 0) still gives a safe
    // start, and the next write replaces the file whole.
    health_.record_error("checkpointer reading the checkpoint file", from_file.error());
  }
  Result<CheckpointValue> from_coord = read_coord_checkpoint_value(deps_.coord, options_.region);
  SettledSet coord_set;
  if (!from_coord.ok()) {
    if (from_coord.code() != ErrorCode::kDataLoss) return std::move(from_coord).take_error();
    health_.record_error("checkpointer reading the coord checkpoint", from_coord.error());
  } else if (*from_coord != CheckpointValue{}) {
    HADR_TRY(consider("coord record " + checkpoint_coord_key(options_.region), *from_coord, start));
    // Its ranges count this WAL's LSNs exactly when consider() took its floor.
    const bool counts_this_wal =
        from_coord->incarnation == deps_.wal.incarnation() ||
        (from_coord->incarnation == 0 && from_coord->lsn <= deps_.wal.durable_lsn());
    if (counts_this_wal) coord_set = from_coord->settled();
  }
  if (deps_.blobs != nullptr) {
    // The settled copies in the blob store: what this checkpointer wrote before (coord may have
    // lost its record since) and what the peer's replayer settled for this WAL.
    std::optional<Error> damaged;
    std::uint64_t incarnation = 0;
    Result<SettledSet> shared =
        read_settled_set(deps_.coord, deps_.blobs, options_.region, &damaged, &incarnation);
    if (!shared.ok()) return std::move(shared).take_error();  // retried after backoff
    if (damaged) health_.record_error("checkpointer reading the settled copies", *damaged);
    HADR_TRY(consider("the settled copies in the blob store", CheckpointValue{shared->floor(), incarnation}, start));
    const bool counts_this_wal = incarnation == deps_.wal.incarnation() ||
                                 (incarnation == 0 && shared->floor() <= deps_.wal.durable_lsn());
    if (counts_this_wal) {
      if (!coord_set.merge(*shared)) {
        health_.record_error("checkpointer load", failed_precondition("settled copies hold more than " +
                                                                      std::to_string(SettledSet::kRangesMax) + " ranges"));
      }
    }
  }
  start = std::max(start, checkpoint_);  // never backwards within a run
  // What coord holds (the replayer of the other region may have settled records above our
  // floor after a takeover), what this run found before, and the floor: never forgotten.
  SettledSet loaded(start);
  if (!loaded.merge(coord_set) || !loaded.merge(settled_)) {
    health_.record_error("checkpointer load", failed_precondition("more than " + std::to_string(SettledSet::kRangesMax) +
                                                                 " ranges of settled records above the floor; the highest were dropped"));
  }
  // Nothing settled past the durable LSN can belong to this WAL.
  while (!loaded.ranges().empty() && loaded.ranges().back().last > deps_.wal.durable_lsn()) {
    loaded = SettledSet::normalized(loaded.floor(), std::vector<LsnRange>(loaded.ranges().begin(), loaded.ranges().end() - 1));
  }
  window_.clear();
  settled_ = loaded;
  // Coord and the settled copy are written again at the first step: either may have lost what
  // the other kept.
  persisted_set_ = SettledSet(checkpoint_);
  set_checkpoint(loaded.floor());
  settled_ranges_.store(loaded.ranges().size());
  examined_until_ = loaded.floor();
  loaded_ = true;
  return ok_status();
}

Status Checkpointer::consider(const std::string& source, CheckpointValue value, Lsn& start) {
  const std::uint64_t incarnation = deps_.wal.incarnation();
  const std::string what = source + " (LSN " + std::to_string(value.lsn.value) + ", WAL incarnation " +
                           (value.incarnation == 0 ? std::string("unknown") : incarnation_text(value.incarnation)) + ")";
  if (value.incarnation != 0 && value.incarnation != incarnation) {
    // Another log's LSNs: applying it would declare this log's records done unverified.
    health_.record_error("checkpointer load", failed_precondition(what + " counts another WAL than this one (" +
                                                                  incarnation_text(incarnation) +
                                                                  "): not applied; the checkpoint restarts from "
                                                                  "what this WAL's records verify"));
    return ok_status();
  }
  if (value.lsn > deps_.wal.durable_lsn()) {
    const std::string past = " is past this WAL's durable LSN " + std::to_string(deps_.wal.durable_lsn().value);
    if (value.incarnation == 0) {
      // Written before incarnations existed: it may count a replaced log. Never clamped down.
      health_.record_error("checkpointer load", failed_precondition(what + past + ": not applied"));
      return ok_status();
    }
    return data_loss(what + past + ": the WAL lost records it had acknowledged; restore it from its backup "
                     "(a checkpoint is never lowered silently)");
  }
  start = std::max(start, value.lsn);
  return ok_status();
}

Status Checkpointer::fill_window() {
  HADR_ASSERT(loaded_ && examined_until_ >= checkpoint_);
  if (window_.size() >= options_.chunk_max || examined_until_ >= deps_.wal.durable_lsn()) return ok_status();
  Result<WalReader> reader = deps_.wal.read_from(examined_until_.next());
  if (!reader.ok() && reader.code() == ErrorCode::kNotFound) {
    // Retention removed those records, and it only removes below a persisted checkpoint: they
    // are settled. Continue from the oldest record kept.
    window_.clear();
    examined_until_ = Lsn{deps_.wal.first_lsn().value - 1};
    settled_.raise_floor(examined_until_);
    reader = deps_.wal.read_from(deps_.wal.first_lsn());
  }
  if (!reader.ok()) return std::move(reader).take_error();
  while (window_.size() < options_.chunk_max) {
    // A reader error is corruption in durable records (kDataLoss): the region stops.
    HADR_ASSIGN_OR_RETURN(std::optional<WalRecord> record, reader->next());
    if (!record) break;
    HADR_ASSERT(record->lsn == examined_until_.next());
    examined_until_ = record->lsn;
    records_examined_.fetch_add(1);
    if (settled_.contains(record->lsn)) continue;  // loaded as settled (coord ranges)
    if (record->type == WalRecordType::kSeal) {
      if (settled_.add(record->lsn)) continue;  // a seal counts as done
      window_.push_back(WindowEntry{.lsn = record->lsn});
    } else {
      window_.push_back(WindowEntry{.lsn = record->lsn, .id = std::move(record->message_id)});
    }
  }
  return ok_status();
}

Result<bool> Checkpointer::settle_window() {
  std::vector<MessageId> ids;
  ids.reserve(window_.size());
  for (const WindowEntry& entry : window_) {
    if (entry.id) ids.push_back(*entry.id);
  }
  std::vector<RecordState> states;
  if (!ids.empty()) {
    Result<std::vector<RecordState>> looked_up = deps_.dedupe.lookup(ids);
    if (!looked_up.ok()) {
      HADR_TRY(absorb_failure("checkpointer lookup", looked_up.error(), backoff_, health_));
      return false;
    }
    HADR_ASSERT(looked_up->size() == ids.size());
    states = std::move(looked_up).value();
  }
  std::deque<WindowEntry> pending;
  std::size_t next_state = 0;
  for (WindowEntry& entry : window_) {
    const RecordState state = entry.id ? states[next_state++] : RecordState::kDone;
    const bool settled = is_settled(state);
    // add() refuses only when the ranges are full: the record then waits in the window.
    if (settled && settled_.add(entry.lsn)) {
      // A dead-lettered record is never retired (keeps_its_record): it is the dead letter's proof.
      if (entry.id && !keeps_its_record(state) && to_retire_.size() < kRetireBacklogMax) {
        // This record's copy of the id (the relay pinned it under this tag before the append).
        to_retire_.push_back(CopyPin{.id = std::move(*entry.id),
                                     .tag = copy_pin_tag(options_.region.str(), entry.lsn.value)});
      }
      continue;
    }
    pending.push_back(std::move(entry));
  }
  window_ = std::move(pending);
  return true;
}

Result<bool> Checkpointer::persist(const SettledSet& settled, Epoch epoch) {
  const Lsn checkpoint = settled.floor();
  HADR_ASSERT(checkpoint >= checkpoint_ && settled.highest() <= deps_.wal.durable_lsn());
  Result<CoordRecord> written = deps_.coord.put(CoordPut{.key = checkpoint_coord_key(options_.region),
                                                         .value = encode_checkpoint_value(settled, deps_.wal.incarnation()),
                                                         .epoch = epoch,
                                                         .condition = CoordCondition::kEpochAtLeast});
  if (!written.ok()) {
    if (written.code() == ErrorCode::kAborted) fenced_writes_.fetch_add(1);  // a higher epoch owns the key
    HADR_TRY(absorb_failure("checkpointer coord put", written.error(), backoff_, health_));
    return false;
  }
  const Status filed = write_checkpoint_file(deps_.env, checkpoint_file_path(deps_.wal.dir()),
                                             WalCheckpoint{.lsn = checkpoint, .epoch = epoch,
                                                           .incarnation = deps_.wal.incarnation()});
  if (!filed.ok()) {
    HADR_TRY(absorb_failure("checkpointer file write", filed.error(), backoff_, health_));
    return false;
  }
  if (deps_.blobs != nullptr) {
    // The second copy, before retire_marks() may shorten any mark this set covers.
    const Status copied =
        write_settled_copy(*deps_.blobs, options_.region, options_.region, settled, deps_.wal.incarnation());
    if (!copied.ok()) {
      HADR_TRY(absorb_failure("checkpointer settled copy put", copied.error(), backoff_, health_));
      return false;
    }
  }
  backoff_.record_success();
  persisted_.fetch_add(1);
  return true;
}

void Checkpointer::retire_marks() {
  // The marks keep their long TTL meanwhile: only the store's size pays for it.
  retire_pins(deps_.dedupe, to_retire_, options_.record_ttl, health_, "checkpointer retiring done marks");
}

void Checkpointer::set_checkpoint(Lsn checkpoint) {
  HADR_ASSERT(!loaded_ || checkpoint >= checkpoint_);
  checkpoint_ = checkpoint;
  checkpoint_value_.store(checkpoint.value);
}

void Checkpointer::update_lag() {
  HADR_ASSERT(deps_.wal.durable_lsn() >= checkpoint_);
  health_.set_lag(static_cast<std::int64_t>(deps_.wal.durable_lsn().value - checkpoint_.value));
}

}  // namespace hadr
