#include "roles/relay.h"

#include <algorithm>
#include <chrono>

#include "contracts/validation.h"
#include "roles/checkpoint.h"
#include "roles/settled_floor.h"

namespace hadr {
namespace {

constexpr std::string_view kAfterFsyncBeforeAck = "relay.after_fsync_before_ack";
constexpr std::string_view kAfterAckBeforePublish = "relay.after_ack_before_publish";
constexpr std::string_view kAfterBackupBeforeAck = "relay.after_backup_before_ack";

WalAppend to_wal_append(const SourceMessage& message, Epoch epoch) {
  return WalAppend{.epoch = epoch,
                   .message_id = message.id,
                   .source_ref = message.source_ref,
                   .enqueued_at = message.enqueued_at,
                   .headers = message.headers,
                   .payload = message.body};
}

}  // namespace

BusMessage to_bus_message(WalRecord record, const RegionId& source_region, Epoch epoch) {
  HADR_ASSERT(record.type == WalRecordType::kMessage && !record.message_id.empty());
  HADR_ASSERT(!source_region.empty() && record.lsn.value > 0);
  return BusMessage{.id = std::move(record.message_id),
                    .epoch = epoch,
                    .source_region = source_region,
                    .lsn = record.lsn,
                    .properties = std::move(record.headers),
                    .body = std::move(record.payload)};
}

Status RelayOptions::validate() const {
  if (region.empty()) return invalid_argument("relay region is empty; set it to this region's id (e.g. \"a\")");
  const std::size_t batch_limit = std::min(Source::kMaxBatch, Bus::kMaxSendBatch);
  if (batch_max < 1 || batch_max > batch_limit) {
    return invalid_argument("relay batch_max " + std::to_string(batch_max) + " must be between 1 and " +
                            std::to_string(batch_limit));
  }
  if (in_flight_max < batch_max || in_flight_max > Relay::kInFlightHardMax) {
    return invalid_argument("relay in_flight_max " + std::to_string(in_flight_max) + " must be between batch_max (" +
                            std::to_string(batch_max) + ") and " + std::to_string(Relay::kInFlightHardMax));
  }
  if (recovery_chunk_max < 1 || recovery_chunk_max > DedupeStore::kMaxLookupBatch) {
    return invalid_argument("relay recovery_chunk_max " + std::to_string(recovery_chunk_max) +
                            " must be between 1 and " + std::to_string(DedupeStore::kMaxLookupBatch));
  }
  if (retention_interval < Milliseconds(1) || retention_interval > std::chrono::hours(1)) {
    return invalid_argument("relay retention_interval " + std::to_string(retention_interval.count()) +
                            " ms must be between 1 ms and 1 h");
  }
  if (backup_lag_max > Relay::kBackupLagHardMax) {
    return invalid_argument("relay backup_lag_max " + std::to_string(backup_lag_max) + " records must be at most " +
                            std::to_string(Relay::kBackupLagHardMax));
  }
  HADR_TRY(validate_ttl("relay record_ttl", record_ttl, kMaxDedupeTtl));
  return backoff.validate("relay backoff");
}

Result<std::unique_ptr<Relay>> Relay::create(const RelayDependencies& dependencies, RelayOptions options) {
  HADR_TRY(options.validate());
  if (dependencies.backup_sync != nullptr && dependencies.backup_async != nullptr) {
    return invalid_argument("relay: both backup_sync and backup_async are set; choose one backup mode");
  }
  if (dependencies.backup_async != nullptr && options.backup_lag_max == 0) {
    return invalid_argument("relay backup_lag_max is 0 with an async backup; set it to the records the backup may "
                            "lag behind the WAL (1 .. " + std::to_string(kBackupLagHardMax) + ")");
  }
  const WalShipper* shipper = dependencies.backup_sync != nullptr ? dependencies.backup_sync : dependencies.backup_async;
  if (shipper != nullptr && shipper->options().region != options.region) {
    return invalid_argument("relay region '" + options.region.str() + "' differs from its backup's region '" +
                            shipper->options().region.str() + "'; give both this region's id");
  }
  return std::unique_ptr<Relay>(new Relay(dependencies, std::move(options)));
}

Relay::Relay(const RelayDependencies& dependencies, RelayOptions options)
    : deps_(dependencies),
      options_(std::move(options)),
      intake_backoff_(dependencies.clock, options_.backoff),
      backup_backoff_(dependencies.clock, options_.backoff),
      publish_backoff_(dependencies.clock, options_.backoff),
      recovery_backoff_(dependencies.clock, options_.backoff) {}

RelayStats Relay::stats() const {
  return RelayStats{.appended = counters_.appended.load(),
                    .acked = counters_.acked.load(),
                    .ack_failures = counters_.ack_failures.load(),
                    .fenced_after_append = counters_.fenced_after_append.load(),
                    .published = counters_.published.load(),
                    .recovered = counters_.recovered.load(),
                    .recovered_already_done = counters_.recovered_already_done.load(),
                    .retained_from = counters_.retained_from.load(),
                    .backup_holds = counters_.backup_holds.load(),
                    .backup_lag_pauses = counters_.backup_lag_pauses.load()};
}

Result<StepOutcome> Relay::step() {
  // A poisoned log stays the region's stop signal on every later step (no retry: fsyncgate).
  if (deps_.wal.poisoned()) {
    return data_loss("relay: the WAL in " + deps_.wal.dir() + " is poisoned; restart the region to recover it");
  }
  // A region without the lease appends, acks, publishes and deletes nothing. With the lease but
  // intake closed (the watchdog's gate: a takeover not yet complete, a switchover draining) it
  // takes nothing new but finishes what it already took: it publishes the pending records,
  // ships and acks a held batch and goes on with a recovery already started, so that a
  // switchover can drain (issue 12, hole 8).
  const std::optional<Epoch> epoch = deps_.fence.drain_epoch();
  if (!epoch) return StepOutcome::kIdle;
  const bool intake_open = deps_.fence.writable_epoch() == epoch;
  // A new epoch: this region's records may sit unapplied in the other region's namespace.
  if (phase_ != Phase::kStarting && *epoch != recovered_under_ && !held_) restart_recovery();
  if (phase_ == Phase::kStarting) {
    if (!intake_open || !recovery_backoff_.ready()) return StepOutcome::kIdle;
    HADR_ASSIGN_OR_RETURN(const bool started, start_recovery(*epoch));
    if (!started) return StepOutcome::kIdle;
  }
  if (intake_open) HADR_TRY(apply_retention_if_due());
  Result<StepOutcome> outcome = StepOutcome::kIdle;
  if (!pending_.empty() && publish_backoff_.ready()) {
    outcome = publish_pending(*epoch);
  } else if (held_) {
    // Nothing is received while a batch waits for the backup (its ack would be out of order).
    if (backup_backoff_.ready()) outcome = retry_held_batch();
  } else if (phase_ == Phase::kRecovering) {
    if (recovery_backoff_.ready() && window_room() > 0) outcome = recover_chunk();
  } else if (intake_open && intake_backoff_.ready() && window_room() > 0) {
    outcome = take_intake(*epoch);
  }
  update_lag();
  return outcome;
}

std::size_t Relay::unpublished_count() const {
  std::uint64_t unclassified = 0;
  if (phase_ == Phase::kRecovering && recovery_end_ > recovery_read_until_) {
    unclassified = recovery_end_.value - recovery_read_until_.value;
  }
  const std::size_t held = held_ ? held_->received.size() : 0;
  return pending_.size() + recovery_chunk_.size() + static_cast<std::size_t>(unclassified) + held;
}

std::size_t Relay::window_room() const {
  HADR_ASSERT(pending_.size() <= options_.in_flight_max);
  return options_.in_flight_max - pending_.size();
}

void Relay::update_lag() {
  // Records not yet on the bus: pending ones, held ones, plus what recovery has still to classify.
  health_.set_lag(static_cast<std::int64_t>(unpublished_count()));
}

void Relay::queue_for_publication(BusMessage message) {
  HADR_ASSERT(!message.id.empty() && message.lsn.value > 0);
  HADR_ASSERT(pending_.size() < options_.in_flight_max);
  HADR_ASSERT(pending_.empty() || pending_.back().lsn < message.lsn);
  pending_.push_back(std::move(message));
}

// ---- publication recovery --------------------------------------------------------------------

Result<bool> Relay::start_recovery(Epoch epoch) {
  HADR_ASSERT(phase_ == Phase::kStarting && pending_.empty());
  Result<Lsn> checkpoint = read_file_checkpoint(deps_.env, deps_.wal.dir());
  Lsn floor{0};
  if (checkpoint.ok()) {
    floor = *checkpoint;
  } else {
    // A damaged checkpoint file is only a lost lower bound: republish from the oldest record
    // kept (more duplicate deliveries, no loss). The next checkpoint write replaces the file.
    health_.record_error("relay reading the checkpoint file", checkpoint.error());
  }
  if (deps_.coord != nullptr) {
    std::optional<Error> damaged;
    Result<Lsn> shared = read_settled_floor(*deps_.coord, nullptr, options_.region, &damaged);
    if (!shared.ok()) {
      HADR_TRY(absorb_failure("relay reading the settled floor", shared.error(), recovery_backoff_, health_));
      return false;
    }
    if (damaged) health_.record_error("relay reading the settled floor", *damaged);
    // The other region may have settled records of this WAL after a takeover: above a stale
    // local file they would be republished with their done marks possibly expired.
    floor = std::max(floor, std::min(*shared, deps_.wal.durable_lsn()));
  }
  const Lsn from = floor.next();
  const Lsn end = deps_.wal.durable_lsn();
  recovery_end_ = end;
  recovery_read_until_ = floor;
  recovered_under_ = epoch;
  phase_ = Phase::kRelaying;
  if (from > end) return true;
  Result<WalReader> reader = deps_.wal.read_from(from);
  if (!reader.ok() && reader.code() == ErrorCode::kNotFound) reader = deps_.wal.read_from(Lsn{0});
  if (!reader.ok()) return std::move(reader).take_error();  // read_from fails only with kNotFound
  recovery_reader_.emplace(std::move(reader).value());
  recovery_reader_exhausted_ = false;
  phase_ = Phase::kRecovering;
  return true;
}

void Relay::restart_recovery() {
  HADR_ASSERT(!held_);
  // Every pending record is durable in the WAL at or below the durable LSN: the new recovery
  // finds it again unless it is settled.
  pending_.clear();
  recovery_reader_.reset();
  recovery_chunk_.clear();
  phase_ = Phase::kStarting;
}

Status Relay::read_recovery_chunk() {
  HADR_ASSERT(recovery_chunk_.empty() && recovery_reader_.has_value());
  const std::size_t chunk_max = std::min(options_.recovery_chunk_max, window_room());
  for (std::size_t i = 0; i < chunk_max; ++i) {
    // A reader error is corruption in acknowledged records (kDataLoss): the region stops.
    HADR_ASSIGN_OR_RETURN(std::optional<WalRecord> record, recovery_reader_->next());
    if (!record) {
      recovery_reader_exhausted_ = true;
      break;
    }
    recovery_read_until_ = record->lsn;
    if (record->type == WalRecordType::kMessage) recovery_chunk_.push_back(std::move(*record));
  }
  return ok_status();
}

Result<StepOutcome> Relay::recover_chunk() {
  HADR_ASSERT(phase_ == Phase::kRecovering);
  if (recovery_chunk_.empty()) HADR_TRY(read_recovery_chunk());
  if (!recovery_chunk_.empty()) {
    std::vector<MessageId> ids;
    ids.reserve(recovery_chunk_.size());
    for (const WalRecord& record : recovery_chunk_) ids.push_back(record.message_id);
    Result<std::vector<RecordState>> states = deps_.dedupe.lookup(ids);
    if (!states.ok()) {
      HADR_TRY(absorb_failure("relay recovery lookup", states.error(), recovery_backoff_, health_));
      return StepOutcome::kIdle;
    }
    HADR_ASSERT(states->size() == recovery_chunk_.size());
    recovery_backoff_.record_success();
    health_.record_success();
    for (std::size_t i = 0; i < recovery_chunk_.size(); ++i) {
      const RecordState state = (*states)[i];
      if (state == RecordState::kDone || state == RecordState::kDeadLettered) {
        counters_.recovered_already_done.fetch_add(1);
        continue;
      }
      // The epoch is stamped again at publication (publish_pending).
      const Epoch appended_under = recovery_chunk_[i].epoch;
      queue_for_publication(to_bus_message(std::move(recovery_chunk_[i]), options_.region, appended_under));
      counters_.recovered.fetch_add(1);
    }
    recovery_chunk_.clear();
  }
  if (recovery_reader_exhausted_) {
    recovery_reader_.reset();
    phase_ = Phase::kRelaying;
  }
  return StepOutcome::kProgress;
}

// ---- publication -----------------------------------------------------------------------------

Result<StepOutcome> Relay::publish_pending(Epoch epoch) {
  const std::size_t count = std::min(options_.batch_max, pending_.size());
  HADR_ASSERT(count > 0);
  std::vector<BusMessage> batch(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(count));
  // The epoch of the publication, not of the append: it is the current writer that vouches
  // for the message on the bus (a record recovered from an older epoch is republished now).
  for (BusMessage& message : batch) message.epoch = epoch;
  const Status sent = deps_.bus.send(options_.staging_queue, batch);
  if (!sent.ok()) {
    // kDeadlineExceeded: maybe sent. Either way the same ids go again: duplicate delivery at
    // worst, which the dedupe store absorbs downstream.
    HADR_TRY(absorb_failure("relay publish to " + options_.staging_queue, sent.error(), publish_backoff_, health_));
    return StepOutcome::kIdle;
  }
  publish_backoff_.record_success();
  health_.record_success();
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(count));
  counters_.published.fetch_add(count);
  health_.add_progress(count);
  return StepOutcome::kProgress;
}

// ---- intake ----------------------------------------------------------------------------------

std::size_t Relay::backup_room() const {
  if (deps_.backup_async == nullptr) return SIZE_MAX;
  const Lsn durable = deps_.wal.durable_lsn();
  const Lsn shipped = deps_.backup_async->shipped_lsn();
  HADR_ASSERT(shipped <= durable);
  const std::uint64_t lag = durable.value - shipped.value;
  return lag >= options_.backup_lag_max ? 0 : static_cast<std::size_t>(options_.backup_lag_max - lag);
}

Result<StepOutcome> Relay::take_intake(Epoch epoch) {
  const std::size_t count = std::min({options_.batch_max, window_room(), backup_room()});
  if (count == 0) {
    // The async backup is backup_lag_max behind: receiving more would widen what a region loss
    // can lose. The source keeps the messages until the backup catches up.
    counters_.backup_lag_pauses.fetch_add(1);
    return StepOutcome::kIdle;
  }
  Result<std::vector<SourceMessage>> received = deps_.source.receive(count);
  if (!received.ok()) {
    // A lost receive leaves its messages in flight; the source shows them again after the
    // visibility timeout.
    HADR_TRY(absorb_failure("relay receive", received.error(), intake_backoff_, health_));
    return StepOutcome::kIdle;
  }
  if (received->empty()) {
    intake_backoff_.record_success();
    health_.record_success();
    return StepOutcome::kIdle;
  }
  HADR_ASSERT(received->size() <= count);
  std::vector<WalAppend> batch;
  batch.reserve(received->size());
  for (const SourceMessage& message : *received) batch.push_back(to_wal_append(message, epoch));
  // Pin each message's copy under the LSN the append will give it (the relay is the WAL's only
  // writer), so that settling another copy of the id cannot shorten its mark while this one is
  // unsettled (docs/failover.md, "One id in two WAL records"), and pin it as unacked: until the
  // source confirms the ack, it may deliver the message again, however late. No pin, no
  // append: the source redelivers. A pin whose append or ack then fails only keeps a record
  // kUnsettledRecordTtl (the safe direction).
  std::vector<CopyPin> pins;
  pins.reserve(2 * batch.size());
  const Lsn first_lsn = deps_.wal.next_lsn();
  for (std::size_t i = 0; i < received->size(); ++i) {
    const std::uint64_t lsn = first_lsn.value + i;
    pins.push_back(CopyPin{.id = (*received)[i].id, .tag = copy_pin_tag(options_.region.str(), lsn)});
    pins.push_back(CopyPin{.id = (*received)[i].id, .tag = copy_pin_unacked_tag(options_.region.str(), lsn)});
  }
  const Status pinned = deps_.dedupe.pin(pins);
  if (!pinned.ok()) {
    HADR_TRY(absorb_failure("relay dedupe pin", pinned.error(), intake_backoff_, health_));
    return StepOutcome::kIdle;
  }
  Result<Lsn> last_lsn = deps_.wal.append(batch);
  if (!last_lsn.ok()) {
    // Nothing is acked: the source redelivers. kAborted = the log refuses this epoch (fenced);
    // kDataLoss = the log is poisoned and the region must stop.
    HADR_TRY(absorb_failure("relay wal append", last_lsn.error(), intake_backoff_, health_));
    return StepOutcome::kIdle;
  }
  counters_.appended.fetch_add(batch.size());
  deps_.crash_points.hit(kAfterFsyncBeforeAck);
  if (deps_.backup_sync != nullptr) return back_up_and_ack(epoch, *received, batch, *last_lsn);
  return ack_and_queue(epoch, *received, *last_lsn);
}

Result<StepOutcome> Relay::back_up_and_ack(Epoch epoch, std::vector<SourceMessage>& received,
                                           std::span<const WalAppend> batch, Lsn last_lsn) {
  HADR_ASSERT(deps_.backup_sync != nullptr && !held_);
  HADR_ASSERT(batch.size() == received.size() && last_lsn.value >= batch.size());
  const Lsn first_lsn{last_lsn.value - batch.size() + 1};
  Result<Lsn> shipped = deps_.backup_sync->ship_batch(first_lsn, batch);
  if (!shipped.ok() || *shipped < last_lsn) {
    // Durable but not yet in the blob store: hold the batch, ack nothing, retry later. (Falling
    // short without an error means the shipper is catching up on an older range first.)
    held_ = HeldBatch{.epoch = epoch, .received = std::move(received), .last_lsn = last_lsn};
    counters_.backup_holds.fetch_add(1);
    if (!shipped.ok()) HADR_TRY(absorb_failure("relay sync backup", shipped.error(), backup_backoff_, health_));
    return StepOutcome::kProgress;
  }
  backup_backoff_.record_success();
  health_.record_success();
  deps_.crash_points.hit(kAfterBackupBeforeAck);
  return ack_and_queue(epoch, received, last_lsn);
}

Result<StepOutcome> Relay::retry_held_batch() {
  HADR_ASSERT(held_.has_value() && deps_.backup_sync != nullptr);
  Result<Lsn> shipped = deps_.backup_sync->ship_through(held_->last_lsn);
  if (!shipped.ok()) {
    counters_.backup_holds.fetch_add(1);
    HADR_TRY(absorb_failure("relay sync backup", shipped.error(), backup_backoff_, health_));
    return StepOutcome::kIdle;
  }
  backup_backoff_.record_success();
  health_.record_success();
  if (*shipped < held_->last_lsn) return StepOutcome::kProgress;  // more of the older range first
  deps_.crash_points.hit(kAfterBackupBeforeAck);
  HeldBatch held = std::move(*held_);
  held_.reset();
  // The fence is re-checked there: a batch held across a fence change is not acked.
  return ack_and_queue(held.epoch, held.received, held.last_lsn);
}

Result<StepOutcome> Relay::ack_and_queue(Epoch epoch, std::vector<SourceMessage>& received, Lsn last_lsn) {
  HADR_ASSERT(last_lsn <= deps_.wal.durable_lsn());  // never ack what is not durable
  HADR_ASSERT(last_lsn.value >= received.size());
  HADR_ASSERT(deps_.backup_sync == nullptr || deps_.backup_sync->shipped_lsn() >= last_lsn);  // sync: shipped first
  // The lease fence, not the intake gate: a batch appended before intake closed is still acked
  // and published (a switchover drains it); only a lost epoch stops it.
  if (deps_.fence.drain_epoch() != epoch) {
    // Fenced while appending: no ack (the source redelivers to the new writer) and no
    // publication. The WAL copy stays for replay; the dedupe store absorbs the repeat.
    counters_.fenced_after_append.fetch_add(received.size());
    return StepOutcome::kProgress;
  }
  std::vector<std::string> handles;
  handles.reserve(received.size());
  for (SourceMessage& message : received) handles.push_back(std::move(message.ack_handle));
  const Status acked = deps_.source.ack(handles);
  if (acked.ok()) {
    counters_.acked.fetch_add(handles.size());
    // The source will not deliver these again: their unacked pins go.
    const std::uint64_t first = last_lsn.value - received.size() + 1;
    for (std::size_t i = 0; i < received.size() && to_unpin_.size() < kUnpinBacklogMax; ++i) {
      to_unpin_.push_back(
          CopyPin{.id = received[i].id, .tag = copy_pin_unacked_tag(options_.region.str(), first + i)});
    }
    retire_pins(deps_.dedupe, to_unpin_, options_.record_ttl, health_, "relay retiring unacked pins");
    intake_backoff_.record_success();
    health_.record_success();
  } else {
    // The records are durable, so they are published anyway; a message whose ack did not
    // land comes back from the source and is appended again (a duplicate delivery).
    counters_.ack_failures.fetch_add(handles.size());
    HADR_TRY(absorb_failure("relay ack", acked.error(), intake_backoff_, health_));
  }
  deps_.crash_points.hit(kAfterAckBeforePublish);
  Lsn lsn{last_lsn.value - received.size() + 1};
  for (SourceMessage& message : received) {
    queue_for_publication(BusMessage{.id = std::move(message.id),
                                     .epoch = epoch,
                                     .source_region = options_.region,
                                     .lsn = lsn,
                                     .properties = std::move(message.headers),
                                     .body = std::move(message.body)});
    lsn = lsn.next();
  }
  return StepOutcome::kProgress;
}

// ---- retention -------------------------------------------------------------------------------

Status Relay::apply_retention_if_due() {
  const MonoTime now = deps_.clock.now_monotonic();
  if (phase_ != Phase::kRelaying || now < next_retention_at_) return ok_status();
  next_retention_at_ = now + options_.retention_interval;
  Result<Lsn> checkpoint = read_file_checkpoint(deps_.env, deps_.wal.dir());
  if (!checkpoint.ok()) {
    health_.record_error("relay reading the checkpoint file for retention", checkpoint.error());
    return ok_status();  // no retention this time; the log only grows
  }
  if (checkpoint->value == 0) return ok_status();
  if (*checkpoint > deps_.wal.durable_lsn()) {
    health_.record_error("relay retention",
                         failed_precondition("checkpoint file LSN " + std::to_string(checkpoint->value) +
                                             " is past the WAL's durable LSN " +
                                             std::to_string(deps_.wal.durable_lsn().value) +
                                             "; the file belongs to another log: retention skipped"));
    return ok_status();
  }
  HADR_TRY(apply_backup_retention(*checkpoint));
  // Segments not yet shipped stay, whatever the checkpoint: the backup still has to read them.
  Lsn keep_from = checkpoint->next();
  if (backup() != nullptr) keep_from = std::min(keep_from, backup()->shipped_lsn().next());
  const Status retained = deps_.wal.retain_from(keep_from);
  if (!retained.ok()) {
    health_.record_error("relay retention", retained.error());
    if (must_stop(retained.code())) return retained;
    return ok_status();
  }
  counters_.retained_from.store(keep_from.value);
  return ok_status();
}

Status Relay::apply_backup_retention(Lsn checkpoint) {
  if (backup() == nullptr) return ok_status();
  HADR_ASSERT(checkpoint.value > 0);
  // Objects below checkpoint + 1 hold only done records, and no replayer starts before it.
  const Status deleted = backup()->retain_below(checkpoint.next());
  if (!deleted.ok()) {
    health_.record_error("relay backup retention", deleted.error());
    if (must_stop(deleted.code())) return deleted;  // a malformed key under the backup prefix
  }
  return ok_status();
}

}  // namespace hadr
