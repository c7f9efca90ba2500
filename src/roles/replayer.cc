#include "roles/replayer.h"

#include <algorithm>
#include <charconv>
#include <chrono>

#include "roles/checkpoint.h"
#include "roles/relay.h"

namespace hadr {
namespace {

constexpr std::string_view kAfterPublishBeforeProgress = "replayer.after_publish_before_progress";

bool is_settled(RecordState state) { return state == RecordState::kDone || state == RecordState::kDeadLettered; }

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || stop != end) return std::nullopt;
  return value;
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
  if (staging_queue.empty()) return invalid_argument("replayer staging_queue is empty; name the staging queue");
  if (batch_max < 1 || batch_max > std::min(Bus::kMaxSendBatch, DedupeStore::kMaxLookupBatch)) {
    return invalid_argument("replayer batch_max " + std::to_string(batch_max) + " must be between 1 and " +
                            std::to_string(Bus::kMaxSendBatch));
  }
  if (quiet_period < Milliseconds(1) || quiet_period > std::chrono::hours(1)) {
    return invalid_argument("replayer quiet_period " + std::to_string(quiet_period.count()) +
                            " ms must be between 1 ms and 1 h");
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
  object_records_.clear();
  next_record_ = 0;
  backup_last_ = Lsn{0};
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
  if (phase_ == Phase::kIdle || phase_ == Phase::kFinished || !epoch) return StepOutcome::kIdle;
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
  } else if (next_record_ < object_records_.size()) {
    outcome = replay_batch(*epoch);
  } else {
    outcome = fetch_next_object();
  }
  update_lag();
  return outcome;
}

Status Replayer::load_start(Epoch epoch) {
  HADR_ASSERT(phase_ == Phase::kStarting && epoch == epoch_);
  Result<Lsn> checkpoint = read_coord_checkpoint(deps_.coord, from_region_);
  if (!checkpoint.ok()) {
    if (checkpoint.code() != ErrorCode::kDataLoss) return std::move(checkpoint).take_error();
    // A damaged checkpoint is a lost lower bound: replay the whole backup (more duplicates, no loss).
    health_.record_error("replayer reading the checkpoint", checkpoint.error());
    checkpoint = Lsn{0};
  }
  Lsn start = *checkpoint;
  const std::string key = replay_progress_key(from_region_);
  HADR_ASSIGN_OR_RETURN(const std::optional<CoordRecord> record, deps_.coord.get(key));
  if (record) {
    Result<ReplayProgress> progress = parse_replay_progress(record->value, key);
    if (!progress.ok()) {
      health_.record_error("replayer reading its progress", progress.error());
    } else if (progress->epoch == epoch) {
      // Progress of this very replay (a restart of this process): what it covers was published
      // to this epoch's staging, or is done.
      start = std::max(start, progress->lsn);
      persisted_progress_ = progress->lsn;
    }
    // A progress record of an earlier epoch is stale: what it republished went to a namespace
    // that may have lost it since (the regions failed over away and back), and the failed
    // region may have become active in between, extended its WAL and moved its checkpoint.
    // Starting again from the checkpoint costs only duplicate deliveries, which dedupe absorbs.
  }
  progress_ = start;
  phase_ = Phase::kReplaying;
  last_growth_at_ = deps_.clock.now_monotonic();
  const std::lock_guard lock(stats_mutex_);
  stats_.start_lsn = start.next().value;
  stats_.progress_lsn = start.value;
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
    if (range.last_lsn <= progress_) {
      current_key_ = key;  // republished or done already (or an overlapping re-ship)
      continue;
    }
    // Keys sort by first LSN, so no later object can hold progress + 1 either.
    if (range.first_lsn > progress_.next()) {
      return data_loss("wal backup of region " + from_region_.str() + " has no LSNs " +
                       std::to_string(progress_.next().value) + ".." + std::to_string(range.first_lsn.value - 1) +
                       " (the next object is '" + key + "'): those records are lost from the backup; halt and "
                       "recover them from the region's own WAL");
    }
    return get_object(key, range);
  }
  if (page->more) return StepOutcome::kProgress;  // a page of skipped objects; list on
  return caught_up();
}

Result<StepOutcome> Replayer::get_object(const std::string& key, BackupRange range) {
  Result<std::string> bytes = deps_.blobs.get(key);
  if (!bytes.ok() && bytes.code() == ErrorCode::kNotFound) {
    // Retention deleted it after the listing; it does so only below the region's checkpoint.
    Result<Lsn> checkpoint = read_coord_checkpoint(deps_.coord, from_region_);
    if (checkpoint.ok() && range.last_lsn <= *checkpoint) {
      current_key_ = key;
      set_progress(range.last_lsn);
      return StepOutcome::kProgress;
    }
    if (checkpoint.ok()) {
      return data_loss("wal backup object '" + key + "' was listed, then vanished, but holds LSNs up to " +
                       std::to_string(range.last_lsn.value) + " beyond region " + from_region_.str() +
                       "'s checkpoint " + std::to_string(checkpoint->value) + ": records lost from the backup");
    }
    bytes = std::move(checkpoint).take_error();
  }
  if (!bytes.ok()) {
    HADR_TRY(absorb_failure("replayer get " + key, bytes.error(), backoff_, health_));
    return StepOutcome::kIdle;
  }
  backoff_.record_success();
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
    finish();
    return StepOutcome::kProgress;
  }
  // Tailing: the failed region may still ship. Poll again soon, and at the end of the quiet period.
  next_poll_at_ = std::min(now + tail_poll_interval_, last_growth_at_ + options_.quiet_period);
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
  HADR_ASSIGN_OR_RETURN(const bool persisted, persist_progress(epoch, progress_));
  (void)persisted;
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
  std::size_t next_state = 0;
  for (WalRecord& record : batch) {
    if (record.type != WalRecordType::kMessage) continue;
    if (is_settled(states[next_state++])) continue;
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
  backoff_.record_success();
  health_.add_progress(messages.size());
  const std::lock_guard lock(stats_mutex_);
  stats_.replayed += messages.size();
  stats_.skipped_done += ids.size() - messages.size();
  return true;
}

Result<bool> Replayer::persist_progress(Epoch epoch, Lsn lsn) {
  HADR_ASSERT(lsn >= persisted_progress_ && epoch.value > 0);
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
