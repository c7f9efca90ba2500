#include "roles/replayer.h"

#include <algorithm>
#include <charconv>
#include <chrono>

#include "contracts/validation.h"
#include "roles/checkpoint.h"
#include "roles/relay.h"
#include "roles/settled_floor.h"

namespace hadr {
namespace {

constexpr std::string_view kAfterPublishBeforeProgress = "replayer.after_publish_before_progress";

bool is_settled(RecordState state) { return state == RecordState::kDone || state == RecordState::kDeadLettered; }
// As in the checkpointer: a dead-lettered record keeps its mark (the dead letter's proof).
bool keeps_its_record(RecordState state) { return state == RecordState::kDeadLettered; }

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || stop != end) return std::nullopt;
  return value;
}

// Whether every LSN in first..last is settled (at or below the floor, or inside one range).
bool settled_covers(const SettledSet& settled, Lsn first, Lsn last) {
  if (last <= settled.floor()) return true;
  const Lsn from = std::max(first, settled.floor().next());
  for (const LsnRange& range : settled.ranges()) {  // bounded by kRangesMax
    if (range.first <= from && range.last >= last) return true;
  }
  return false;
}

}  // namespace

std::string replay_progress_key(const RegionId& from_region) {
  HADR_ASSERT(!from_region.empty());
  return "replay/" + from_region.str();
}

std::string encode_replay_progress(Epoch epoch, Lsn lsn) {
  HADR_ASSERT(epoch.value > 0);
  return std::to_string(epoch.value) + " " + std::to_string(lsn.value);
}

Result<ReplayProgress> parse_replay_progress(std::string_view value, std::string_view key) {
  const std::size_t space = value.find(' ');
  const std::optional<std::uint64_t> epoch =
      space == std::string_view::npos ? std::nullopt : parse_decimal(value.substr(0, space));
  const std::optional<std::uint64_t> lsn =
      space == std::string_view::npos ? std::nullopt : parse_decimal(value.substr(space + 1));
  if (!epoch || !lsn || *epoch == 0) {
    return data_loss("coord record '" + std::string(key) + "' holds " + std::to_string(value.size()) +
                     " bytes that are not '<epoch> <lsn>'; remove it (the replay then starts at the checkpoint)");
  }
  return ReplayProgress{Epoch{*epoch}, Lsn{*lsn}};
}

Status ReplayerOptions::validate() const {
  if (region.empty()) return invalid_argument("replayer region is empty; set it to this region's id (e.g. \"b\")");
  HADR_TRY(validate_ttl("replayer record_ttl", record_ttl, kMaxDedupeTtl));
  if (staging_queue.empty()) return invalid_argument("replayer staging_queue is empty; name the staging queue");
  if (batch_max < 1 || batch_max > std::min(Bus::kMaxSendBatch, DedupeStore::kMaxLookupBatch)) {
    return invalid_argument("replayer batch_max " + std::to_string(batch_max) + " must be between 1 and " +
                            std::to_string(Bus::kMaxSendBatch));
  }
  if (quiet_period < Milliseconds(1) || quiet_period > std::chrono::hours(1)) {
    return invalid_argument("replayer quiet_period " + std::to_string(quiet_period.count()) +
                            " ms must be between 1 ms and 1 h");
  }
  if (settle_interval < Milliseconds(1) || settle_interval > std::chrono::hours(1)) {
    return invalid_argument("replayer settle_interval " + std::to_string(settle_interval.count()) +
                            " ms must be between 1 ms and 1 h");
  }
  if (settle_window_max < batch_max || settle_window_max > 1'000'000) {
    return invalid_argument("replayer settle_window_max " + std::to_string(settle_window_max) +
                            " must be between batch_max (" + std::to_string(batch_max) + ") and 1,000,000");
  }
  return backoff.validate("replayer backoff");
}

Result<std::unique_ptr<Replayer>> Replayer::create(const ReplayerDependencies& dependencies, ReplayerOptions options) {
  HADR_TRY(options.validate());
  return std::unique_ptr<Replayer>(new Replayer(dependencies, std::move(options)));
}

Replayer::Replayer(const ReplayerDependencies& dependencies, ReplayerOptions options)
    : deps_(dependencies),
      options_(std::move(options)),
      tail_poll_interval_(std::clamp(options_.quiet_period / 5, Milliseconds(1), kTailPollIntervalMax)),
      backoff_(dependencies.clock, options_.backoff) {}

void Replayer::begin(const RegionId& from_region) {
  HADR_ASSERT(!from_region.empty());
  const std::lock_guard lock(request_mutex_);
  requested_from_ = from_region;
  ++requested_generation_;
}

ReplayerStats Replayer::stats() const {
  const std::lock_guard lock(stats_mutex_);
  return stats_;
}

void Replayer::restart(const RegionId& from_region, Epoch epoch) {
  phase_ = Phase::kStarting;
  from_region_ = from_region;
  prefix_ = backup_prefix(from_region);
  epoch_ = epoch;
  progress_ = Lsn{0};
  persisted_progress_ = Lsn{0};
  current_key_.clear();
  gap_rescanned_ = false;
  gap_first_ = Lsn{0};
  holes_.clear();
  object_records_.clear();
  next_record_ = 0;
  backup_last_ = Lsn{0};
  republished_through_ = Lsn{0};
  settle_window_.clear();
  settled_ = SettledSet();
  settled_persisted_ = SettledSet();
  next_settle_at_ = MonoTime{};
  last_growth_at_ = deps_.clock.now_monotonic();
  next_poll_at_ = MonoTime{};
  backoff_.record_success();
  finished_.store(false);
  const std::lock_guard lock(stats_mutex_);
  stats_ = ReplayerStats{.from_region = from_region.str()};
}

Result<StepOutcome> Replayer::step() {
  const std::optional<Epoch> epoch = deps_.fence.writable_epoch();
  {
    const std::lock_guard lock(request_mutex_);
    if (requested_generation_ != taken_generation_) {
      taken_generation_ = requested_generation_;
      restart(*requested_from_, epoch.value_or(Epoch{0}));
    }
  }
  if (phase_ == Phase::kIdle || !epoch) return StepOutcome::kIdle;
  if (phase_ == Phase::kFinished && (!settling_left() || *epoch != epoch_)) return StepOutcome::kIdle;
  // The replay belongs to one epoch. Under another one (the lease was lost and won again) its
  // progress may be stale (see load_start): start over under the new epoch.
  if (*epoch != epoch_) restart(from_region_, *epoch);
  if (!backoff_.ready()) return StepOutcome::kIdle;
  Result<StepOutcome> outcome = StepOutcome::kIdle;
  if (phase_ == Phase::kStarting) {
    const Status loaded = load_start(*epoch);
    if (!loaded.ok()) {
      HADR_TRY(absorb_failure("replayer start", loaded.error(), backoff_, health_));
      return StepOutcome::kIdle;
    }
    outcome = StepOutcome::kProgress;
  } else if (settle_due()) {
    outcome = settle(*epoch);
  } else if (phase_ == Phase::kFinished) {
    return StepOutcome::kIdle;  // only the settle window is left (above)
  } else if (next_record_ < object_records_.size()) {
    // The settle window bounds how far the replay runs ahead of the effects.
    if (settle_window_.size() + options_.batch_max > options_.settle_window_max) return StepOutcome::kIdle;
    outcome = replay_batch(*epoch);
  } else {
    outcome = fetch_next_object();
  }
  update_lag();
  return outcome;
}

Status Replayer::load_start(Epoch epoch) {
  HADR_ASSERT(phase_ == Phase::kStarting && epoch == epoch_);
  // The larger of the coord checkpoint and the backup's own floor object: a lost or damaged
  // coord record costs duplicate deliveries at most, never a halt on a "gap" that retention made.
  // The union of coord's record and the settled copies in the blob store (roles/settled_floor.h):
  // records settled above the floor (the failed region's checkpointer, or an earlier replay,
  // kept them as ranges) are never republished.
  std::optional<Error> damaged;
  HADR_ASSIGN_OR_RETURN(const SettledSet known,
                        read_settled_set(deps_.coord, &deps_.blobs, from_region_, &damaged, &from_incarnation_));
  if (damaged) health_.record_error("replayer reading the settled floor", *damaged);
  // The set this replay writes names the failed region's WAL incarnation as its own
  // checkpointer last wrote it (0, unknown: the old format), so that region's checkpointer takes it.
  const Lsn floor = known.floor();
  const std::string key = replay_progress_key(from_region_);
  HADR_ASSIGN_OR_RETURN(const std::optional<CoordRecord> record, deps_.coord.get(key));
  if (record) {
    Result<ReplayProgress> progress = parse_replay_progress(record->value, key);
    if (!progress.ok()) {
      health_.record_error("replayer reading its progress", progress.error());
    } else if (progress->epoch == epoch) {
      // Progress of this very replay (a restart of this process): what it covers was published
      // to this epoch's staging, or is done. It is read again for the settle window only.
      republished_through_ = progress->lsn;
      persisted_progress_ = progress->lsn;
    }
    // A progress record of an earlier epoch is stale: what it republished went to a namespace
    // that may have lost it since (the regions failed over away and back), and the failed
    // region may have become active in between, extended its WAL and moved its checkpoint.
    // Starting again from the floor costs only duplicate deliveries, which dedupe absorbs.
  }
  progress_ = floor;
  settled_ = known;
  // Coord and this replayer's copy are written at the first settle: either may lack the other's.
  settled_persisted_ = SettledSet(floor);
  phase_ = Phase::kReplaying;
  last_growth_at_ = deps_.clock.now_monotonic();
  next_settle_at_ = last_growth_at_ + options_.settle_interval;
  const std::lock_guard lock(stats_mutex_);
  stats_.start_lsn = floor.next().value;
  stats_.progress_lsn = floor.value;
  stats_.settled_lsn = floor.value;
  return ok_status();
}

Result<StepOutcome> Replayer::fetch_next_object() {
  HADR_ASSERT(phase_ == Phase::kReplaying && next_record_ >= object_records_.size());
  if (deps_.clock.now_monotonic() < next_poll_at_) return StepOutcome::kIdle;
  Result<BlobPage> page = deps_.blobs.list(prefix_, current_key_, kListPageMax);
  if (!page.ok()) {
    HADR_TRY(absorb_failure("replayer list " + prefix_, page.error(), backoff_, health_));
    return StepOutcome::kIdle;
  }
  backoff_.record_success();
  HADR_ASSERT(page->keys.size() <= kListPageMax);
  for (const std::string& key : page->keys) {
    HADR_ASSIGN_OR_RETURN(const BackupRange range, parse_backup_object_key(key, prefix_));
    note_backup_last(range.last_lsn);
    if (overlaps_a_hole(range)) {
      // Records of a hole the replay went by are back (the failed region re-shipped them):
      // replay again from the settled floor, which never passed the hole. Records after it
      // that were republished meanwhile are delivered again at most (dedupe absorbs them).
      health_.record_error("replayer list " + prefix_,
                           data_loss("backup hole: LSNs " + std::to_string(holes_.front().first.value) + ".." +
                                     std::to_string(holes_.front().last.value) + " of region " +
                                     from_region_.str() + " are back in the backup ('" + key +
                                     "'); replaying again from the settled floor"));
      restart(from_region_, epoch_);
      return StepOutcome::kProgress;
    }
    if (range.last_lsn <= progress_) {
      current_key_ = key;  // republished or done already (or an overlapping re-ship)
      continue;
    }
    // Keys sort by first LSN, so no later object can hold progress + 1 either -- in this
    // listing. One that starts before current_key_ (a lost range the failed region re-shipped in
    // other chunks) is only seen by a listing from the start: look again from there first.
    if (range.first_lsn > progress_.next()) {
      if (settled_covers(settled_, progress_.next(), Lsn{range.first_lsn.value - 1})) {
        // Settled records need no replay: the backup may lose them (retention does the same).
        set_progress(Lsn{range.first_lsn.value - 1});
        return StepOutcome::kProgress;
      }
      if (!gap_rescanned_) {
        gap_rescanned_ = true;
        current_key_.clear();
        return StepOutcome::kProgress;
      }
      return wait_at_gap(range.first_lsn, key);
    }
    return get_object(key, range);
  }
  if (page->more) return StepOutcome::kProgress;  // a page of skipped objects; list on
  return caught_up();
}

Result<StepOutcome> Replayer::get_object(const std::string& key, BackupRange range) {
  Result<std::string> bytes = deps_.blobs.get(key);
  if (!bytes.ok() && bytes.code() == ErrorCode::kNotFound) {
    // Retention deleted it after the listing; it does so only below the region's settled floor.
    Result<Lsn> checkpoint = read_settled_floor(deps_.coord, &deps_.blobs, from_region_);
    if (checkpoint.ok() && range.last_lsn <= *checkpoint) {
      // Settled by someone else meanwhile: skip it in the settle window too.
      current_key_ = key;
      set_progress(range.last_lsn);
      while (!settle_window_.empty() && settle_window_.front().lsn <= range.last_lsn) settle_window_.pop_front();
      settled_.raise_floor(range.last_lsn);
      return StepOutcome::kProgress;
    }
    if (checkpoint.ok()) return wait_at_gap(range.last_lsn.next(), key);  // lost, not settled
    bytes = std::move(checkpoint).take_error();
  }
  if (!bytes.ok()) {
    HADR_TRY(absorb_failure("replayer get " + key, bytes.error(), backoff_, health_));
    return StepOutcome::kIdle;
  }
  backoff_.record_success();
  gap_rescanned_ = false;
  // A damaged object is kDataLoss naming the key and offset: the replay halts, never skips.
  HADR_ASSIGN_OR_RETURN(std::vector<WalRecord> records, decode_backup_object(key, *bytes, range));
  HADR_ASSERT(range.first_lsn <= progress_.next() && range.last_lsn > progress_);
  object_records_ = std::move(records);
  next_record_ = progress_.value - range.first_lsn.value + 1;  // skip what is already covered
  if (progress_ < range.first_lsn) next_record_ = 0;
  current_key_ = key;
  const std::lock_guard lock(stats_mutex_);
  ++stats_.objects_read;
  stats_.records_read += object_records_.size() - next_record_;
  return StepOutcome::kProgress;
}

Result<StepOutcome> Replayer::caught_up() {
  const MonoTime now = deps_.clock.now_monotonic();
  if (persisted_progress_ < progress_) {
    HADR_ASSIGN_OR_RETURN(const bool persisted, persist_progress(epoch_, progress_));
    if (!persisted) return StepOutcome::kIdle;
  }
  if (now - last_growth_at_ >= options_.quiet_period) {
    const std::lock_guard lock(stats_mutex_);
    stats_.caught_up = true;
  }
  // Tailing, for as long as this epoch lasts: the failed region may still ship what it
  // acknowledged (an async backup, or a region cut off from the blob store that heals). The
  // next poll lists from the start: objects the failed region re-ships after losing them
  // (hole 13) may sort before the last key consumed and still hold LSNs past the progress.
  // One listing of the prefix per poll; retention keeps it short.
  current_key_.clear();
  next_poll_at_ = now + tail_poll_interval_;
  return StepOutcome::kIdle;
}

bool Replayer::overlaps_a_hole(BackupRange range) const {
  for (const LsnRange& hole : holes_) {  // bounded by kHolesMax
    if (range.first_lsn <= hole.last && range.last_lsn >= hole.first) return true;
  }
  return false;
}

Result<StepOutcome> Replayer::wait_at_gap(Lsn next_present, const std::string& key) {
  HADR_ASSERT(next_present > progress_.next());
  // The backup lacks LSNs progress + 1 .. next_present - 1 (objects lost: a deleted blob, a
  // container restarted empty; issue 12, hole 13). Skipping them would lose acknowledged
  // records; finishing would strand them; halting would stop this region although the failed
  // region re-ships what it lost while its WAL still holds it (WalShipper::repair_gaps). So the
  // replay waits at the gap, alerts through its health (a blob-store failure: the watchdog
  // raises it as a shared-dependency alert, never a step-down), and lists again from the start
  // every tail poll. Only an operator can tell that the records are gone from every copy: the
  // procedure is in docs/failover.md, "A hole in the backup".
  const Lsn first_missing = progress_.next();
  const Lsn last_missing{next_present.value - 1};
  const MonoTime now = deps_.clock.now_monotonic();
  // The failed region, repairing its backup, raises the backup's floor object before it
  // re-ships (a wiped container lost it): read the settled set again, as at the start.
  std::optional<Error> damaged;
  std::uint64_t incarnation = 0;
  Result<SettledSet> known = read_settled_set(deps_.coord, &deps_.blobs, from_region_, &damaged, &incarnation);
  // Another WAL incarnation's set says nothing about this one's records.
  if (known.ok() && (incarnation == from_incarnation_ || incarnation == 0)) {
    (void)settled_.merge(*known);  // dropped ranges only cost a wait
    if (settled_covers(settled_, first_missing, last_missing)) {
      set_progress(last_missing);
      return StepOutcome::kProgress;
    }
  }
  if (gap_first_ != first_missing) {
    gap_first_ = first_missing;
    gap_since_ = now;
  }
  {
    const std::lock_guard lock(stats_mutex_);
    stats_.gap_first_lsn = first_missing.value;
    stats_.gap_last_lsn = last_missing.value;
    ++stats_.gap_waits;
  }
  if (now - gap_since_ >= options_.quiet_period && holes_.size() < kHolesMax) {
    // The hole outlasted a quiet period: the failed region may be gone for good, and the
    // records after the hole were acknowledged too; holding them back would strand them (hole
    // 13: 1,530 messages). Replay on past it, but never settle it: the hole's LSNs get no entry
    // in the settle window, so the failed region's floor stays below them and no progress record
    // covers them; if they reappear, the replay starts over from the floor (above). The alert
    // stays until then.
    holes_.push_back(LsnRange{first_missing, last_missing});
    health_.record_error("replayer list " + prefix_,
                         data_loss("backup hole: wal backup of region " + from_region_.str() + " has no LSNs " +
                                   std::to_string(first_missing.value) + ".." + std::to_string(last_missing.value) +
                                   " after " + std::to_string(options_.quiet_period.count()) +
                                   " ms; replaying the records after them, these stay unsettled until region " +
                                   from_region_.str() + " re-ships them (docs/failover.md, \"A hole in the backup\")"));
    {
      const std::lock_guard lock(stats_mutex_);
      stats_.holes_passed = holes_.size();
    }
    set_progress(last_missing);
    gap_first_ = Lsn{0};
    return StepOutcome::kProgress;
  }
  health_.record_error("replayer list " + prefix_,
                       data_loss("backup gap: wal backup of region " + from_region_.str() + " has no LSNs " +
                                 std::to_string(first_missing.value) + ".." + std::to_string(last_missing.value) +
                                 " (next: '" + key + "'); waiting for region " + from_region_.str() +
                                 " to re-ship them from its WAL (docs/failover.md, \"A hole in the backup\")"));
  if (persisted_progress_ < progress_) {
    HADR_ASSIGN_OR_RETURN(const bool persisted, persist_progress(epoch_, progress_));
    (void)persisted;  // retried at the next poll
  }
  current_key_.clear();
  next_poll_at_ = deps_.clock.now_monotonic() + tail_poll_interval_;
  return StepOutcome::kIdle;
}

Result<StepOutcome> Replayer::replay_batch(Epoch epoch) {
  HADR_ASSERT(next_record_ < object_records_.size() && epoch == epoch_);
  std::vector<WalRecord> batch;
  bool finishing_seal = false;
  // Bounded by batch_max; a seal ends the batch.
  for (std::size_t index = next_record_; index < object_records_.size() && batch.size() < options_.batch_max;
       ++index) {
    const WalRecord& record = object_records_[index];
    HADR_ASSERT(record.lsn.value == progress_.value + batch.size() + 1);  // consecutive after progress
    batch.push_back(record);
    if (record.type == WalRecordType::kSeal) {
      // A seal of the epoch just before ours is a planned handover to us: no epoch exists
      // between, so the failed region wrote nothing after it. Any other seal is only done work
      // (the region may have written again under a later epoch).
      finishing_seal = record.epoch.value + 1 == epoch_.value;
      break;
    }
  }
  HADR_ASSIGN_OR_RETURN(const bool published, publish(epoch, batch));
  if (!published) return StepOutcome::kIdle;
  next_record_ += batch.size();
  set_progress(batch.back().lsn);
  deps_.crash_points.hit(kAfterPublishBeforeProgress);
  // A failed progress write is retried with the next batch (or when caught up); a crash before
  // it re-publishes this one batch, which the dedupe store absorbs.
  if (progress_ > persisted_progress_) {
    HADR_ASSIGN_OR_RETURN(const bool persisted, persist_progress(epoch, progress_));
    (void)persisted;  // retried with the next batch or when caught up (see above)
  }
  if (finishing_seal) finish();
  return StepOutcome::kProgress;
}

Result<bool> Replayer::publish(Epoch epoch, std::vector<WalRecord>& batch) {
  std::vector<MessageId> ids;
  ids.reserve(batch.size());
  for (const WalRecord& record : batch) {
    if (record.type == WalRecordType::kMessage) ids.push_back(record.message_id);
  }
  std::vector<RecordState> states;
  if (!ids.empty()) {
    Result<std::vector<RecordState>> looked_up = deps_.dedupe.lookup(ids);
    if (!looked_up.ok()) {
      HADR_TRY(absorb_failure("replayer lookup", looked_up.error(), backoff_, health_));
      return false;
    }
    HADR_ASSERT(looked_up->size() == ids.size());
    states = std::move(looked_up).value();
  }
  std::vector<BusMessage> messages;
  std::vector<SettleEntry> entries;
  entries.reserve(batch.size());
  // The ids of message records found settled already: their tags are retired with the set.
  std::vector<std::optional<MessageId>> settled_ids;
  settled_ids.reserve(batch.size());
  std::size_t next_state = 0;
  for (WalRecord& record : batch) {
    if (record.type != WalRecordType::kMessage) {
      entries.push_back(SettleEntry{.lsn = record.lsn});  // a seal: nothing to settle
      settled_ids.emplace_back();
      continue;
    }
    const RecordState state = states[next_state++];
    const bool settled = is_settled(state) || settled_.contains(record.lsn);
    entries.push_back(SettleEntry{.lsn = record.lsn,
                                  .id = settled ? std::nullopt : std::optional<MessageId>(record.message_id)});
    settled_ids.push_back(settled && !keeps_its_record(state) ? std::optional<MessageId>(record.message_id)
                                                              : std::nullopt);
    if (settled || record.lsn <= republished_through_) continue;
    messages.push_back(to_bus_message(std::move(record), from_region_, epoch));
  }
  // The lookup took time: publish only while still the writer of this epoch.
  if (deps_.fence.writable_epoch() != epoch) return false;
  if (!messages.empty()) {
    const Status sent = deps_.bus.send(options_.staging_queue, messages);
    if (!sent.ok()) {
      // kDeadlineExceeded: maybe sent. The retry sends the same ids: a duplicate at worst.
      HADR_TRY(absorb_failure("replayer publish to " + options_.staging_queue, sent.error(), backoff_, health_));
      return false;
    }
  }
  HADR_ASSERT(settled_ids.size() == entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    SettleEntry& entry = entries[i];
    HADR_ASSERT(settle_window_.empty() || entry.lsn > settle_window_.back().lsn);
    // Known settled and taken by the set: nothing to wait for (add() refuses only when full).
    // Its copy's pin is retired once the set is persisted, like a record settled later.
    if (!entry.id && settled_.add(entry.lsn)) {
      if (settled_ids[i] && to_retire_.size() < kRetireBacklogMax) {
        to_retire_.push_back(CopyPin{.id = std::move(*settled_ids[i]),
                                     .tag = copy_pin_tag(from_region_.str(), entry.lsn.value)});
      }
      continue;
    }
    settle_window_.push_back(std::move(entry));
  }
  backoff_.record_success();
  health_.add_progress(messages.size());
  const std::lock_guard lock(stats_mutex_);
  stats_.replayed += messages.size();
  stats_.skipped_done += ids.size() - messages.size();
  return true;
}

bool Replayer::settling_left() const { return !settle_window_.empty() || settled_ != settled_persisted_; }

bool Replayer::settle_due() const { return settling_left() && deps_.clock.now_monotonic() >= next_settle_at_; }

Result<StepOutcome> Replayer::settle(Epoch epoch) {
  HADR_ASSERT(settling_left() && epoch == epoch_);
  next_settle_at_ = deps_.clock.now_monotonic() + options_.settle_interval;
  std::vector<MessageId> ids;
  for (const SettleEntry& entry : settle_window_) {
    if (ids.size() >= DedupeStore::kMaxLookupBatch) break;
    if (entry.id) ids.push_back(*entry.id);
  }
  std::vector<RecordState> states;
  if (!ids.empty()) {
    Result<std::vector<RecordState>> looked_up = deps_.dedupe.lookup(ids);
    if (!looked_up.ok()) {
      HADR_TRY(absorb_failure("replayer settle lookup", looked_up.error(), backoff_, health_));
      return StepOutcome::kIdle;
    }
    HADR_ASSERT(looked_up->size() == ids.size());
    states = std::move(looked_up).value();
  }
  std::size_t next_state = 0;
  std::deque<SettleEntry> pending;
  for (SettleEntry& entry : settle_window_) {
    bool settled = !entry.id;
    bool keep_record = false;
    if (entry.id) {
      if (next_state >= states.size()) {
        pending.push_back(std::move(entry));  // beyond this pass's lookup
        continue;
      }
      keep_record = keeps_its_record(states[next_state]);
      settled = is_settled(states[next_state++]);
    }
    if (settled && settled_.add(entry.lsn)) {
      if (entry.id && !keep_record && to_retire_.size() < kRetireBacklogMax) {
        // The failed region's record: its relay pinned the id under this tag before the append.
        to_retire_.push_back(CopyPin{.id = std::move(*entry.id),
                                     .tag = copy_pin_tag(from_region_.str(), entry.lsn.value)});
      }
      continue;
    }
    pending.push_back(std::move(entry));
  }
  settle_window_ = std::move(pending);
  if (settled_ == settled_persisted_) {
    retire_marks();
    return StepOutcome::kIdle;
  }
  // Under this replay's epoch, never lower than what it read: the failed region's own
  // checkpointer is fenced (a lower epoch), and a later epoch's writer refuses ours (kAborted).
  Result<CoordRecord> written = deps_.coord.put(CoordPut{.key = checkpoint_coord_key(from_region_),
                                                         .value = encode_checkpoint_value(settled_, from_incarnation_),
                                                         .epoch = epoch,
                                                         .condition = CoordCondition::kEpochAtLeast});
  if (!written.ok()) {
    HADR_TRY(absorb_failure("replayer settled floor put", written.error(), backoff_, health_));
    return StepOutcome::kIdle;
  }
  // The second copy, before retire_marks() may shorten any mark this set covers.
  const Status copied = write_settled_copy(deps_.blobs, from_region_, options_.region, settled_, from_incarnation_);
  if (!copied.ok()) {
    HADR_TRY(absorb_failure("replayer settled copy put", copied.error(), backoff_, health_));
    return StepOutcome::kIdle;
  }
  settled_persisted_ = settled_;
  retire_marks();
  const std::lock_guard lock(stats_mutex_);
  stats_.settled_lsn = settled_persisted_.floor().value;
  ++stats_.floor_writes;
  return StepOutcome::kProgress;
}

void Replayer::retire_marks() {
  retire_pins(deps_.dedupe, to_retire_, options_.record_ttl, health_, "replayer retiring done marks");
}

Result<bool> Replayer::persist_progress(Epoch epoch, Lsn lsn) {
  HADR_ASSERT(epoch.value > 0);
  // Never past a hole the replay went by: a restart under this epoch does not republish what
  // the progress record covers, and a hole's records, once they reappear, must be published.
  if (!holes_.empty()) lsn = std::min(lsn, Lsn{holes_.front().first.value - 1});
  if (lsn <= persisted_progress_) return true;
  Result<CoordRecord> written = deps_.coord.put(CoordPut{.key = replay_progress_key(from_region_),
                                                         .value = encode_replay_progress(epoch, lsn),
                                                         .epoch = epoch,
                                                         .condition = CoordCondition::kEpochAtLeast});
  if (!written.ok()) {
    // kAborted: a higher epoch owns the record; the fence catches up and stops this replay.
    HADR_TRY(absorb_failure("replayer progress put", written.error(), backoff_, health_));
    return false;
  }
  persisted_progress_ = lsn;
  return true;
}

void Replayer::note_backup_last(Lsn lsn) {
  if (lsn <= backup_last_) return;
  backup_last_ = lsn;
  last_growth_at_ = deps_.clock.now_monotonic();
  const std::lock_guard lock(stats_mutex_);
  stats_.backup_last_lsn = lsn.value;
  stats_.caught_up = false;
}

void Replayer::set_progress(Lsn lsn) {
  HADR_ASSERT(lsn >= progress_);
  progress_ = lsn;
  const std::lock_guard lock(stats_mutex_);
  stats_.progress_lsn = lsn.value;
}

void Replayer::finish() {
  HADR_ASSERT(phase_ == Phase::kReplaying);
  phase_ = Phase::kFinished;
  object_records_.clear();
  next_record_ = 0;
  finished_.store(true);
  const std::lock_guard lock(stats_mutex_);
  stats_.finished = true;
}

void Replayer::update_lag() {
  const std::uint64_t behind = backup_last_ > progress_ ? backup_last_.value - progress_.value : 0;
  health_.set_lag(static_cast<std::int64_t>(behind));
}

}  // namespace hadr
