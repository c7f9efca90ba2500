#include "roles/worker.h"

#include <chrono>

#include "contracts/validation.h"

namespace hadr {
namespace {

constexpr std::string_view kAfterClaimBeforeEffect = "worker.after_claim_before_effect";
constexpr std::string_view kAfterEffectBeforeComplete = "worker.after_effect_before_complete";
constexpr std::string_view kRedeliveredDeadLetterReason =
    "already dead-lettered by a worker; this is a redelivered copy";
constexpr std::uint32_t kMaxDeliveryCountLimit = 10'000;
// settle_effect: a mark, and at most one re-claim and mark after a lost claim.
constexpr int kSettleAttemptsMax = 2;

}  // namespace

Status WorkerOptions::validate() const {
  HADR_TRY(validate_printable("worker owner", owner, kMaxNameBytes));
  HADR_TRY(validate_queue_name(main_queue, QueueNameUse::kCreateOrSend));
  if (batch_max < 1 || batch_max > Bus::kMaxReceiveBatch) {
    return invalid_argument("worker batch_max " + std::to_string(batch_max) + " must be between 1 and " +
                            std::to_string(Bus::kMaxReceiveBatch));
  }
  HADR_TRY(validate_ttl("worker lock_duration", lock_duration, kMaxLockDuration));
  HADR_TRY(validate_ttl("worker claim_ttl", claim_ttl, kMaxDedupeTtl));
  HADR_TRY(validate_ttl("worker record_ttl", record_ttl, kMaxDedupeTtl));
  if (floor_refresh_interval < Milliseconds(1) || floor_refresh_interval > std::chrono::hours(1)) {
    return invalid_argument("worker floor_refresh_interval " + std::to_string(floor_refresh_interval.count()) +
                            " ms must be between 1 ms and 1 h");
  }
  if (record_ttl <= floor_refresh_interval) {
    return invalid_argument("worker record_ttl " + std::to_string(record_ttl.count()) +
                            " ms must be longer than floor_refresh_interval " +
                            std::to_string(floor_refresh_interval.count()) +
                            " ms (a done mark must outlive a worker's view of the settled floor)");
  }
  if (record_ttl <= claim_ttl) {
    return invalid_argument("worker record_ttl " + std::to_string(record_ttl.count()) +
                            " ms must be longer than claim_ttl " + std::to_string(claim_ttl.count()) +
                            " ms (a done record must outlive any claim)");
  }
  if (max_delivery_count < 1 || max_delivery_count > kMaxDeliveryCountLimit) {
    return invalid_argument("worker max_delivery_count " + std::to_string(max_delivery_count) +
                            " must be between 1 and " + std::to_string(kMaxDeliveryCountLimit) +
                            " (set it to the main queue's)");
  }
  return backoff.validate("worker backoff");
}

Result<std::unique_ptr<Worker>> Worker::create(const WorkerDependencies& dependencies, WorkerOptions options) {
  HADR_TRY(options.validate());
  return std::unique_ptr<Worker>(new Worker(dependencies, std::move(options)));
}

Worker::Worker(const WorkerDependencies& dependencies, WorkerOptions options)
    : deps_(dependencies),
      options_(std::move(options)),
      backoff_(dependencies.clock, options_.backoff),
      floors_(dependencies.coord, dependencies.blobs, dependencies.clock, options_.floor_refresh_interval) {}

WorkerStats Worker::stats() const {
  const Counters& c = counters_;
  return WorkerStats{.received = c.received.load(),
                     .effects = c.effects.load(),
                     .completed = c.completed.load(),
                     .suppressed_duplicates = c.suppressed_duplicates.load(),
                     .busy_deferred = c.busy_deferred.load(),
                     .stale_epoch = c.stale_epoch.load(),
                     .fenced_abandoned = c.fenced_abandoned.load(),
                     .handler_failures = c.handler_failures.load(),
                     .dead_lettered = c.dead_lettered.load(),
                     .claim_lost_after_effect = c.claim_lost_after_effect.load(),
                     .reclaimed_after_effect = c.reclaimed_after_effect.load(),
                     .locks_renewed = c.locks_renewed.load(),
                     .lock_renewal_failures = c.lock_renewal_failures.load(),
                     .settle_failures = c.settle_failures.load(),
                     .claims_extended = c.claims_extended.load(),
                     .suppressed_settled = c.suppressed_settled.load()};
}

Result<StepOutcome> Worker::step() {
  if (!backoff_.ready()) return StepOutcome::kIdle;
  if (unmarked_) return retry_unmarked_effect();
  if (!deps_.fence.writable_epoch()) return StepOutcome::kIdle;  // a passive region claims nothing new
  Result<std::vector<ReceivedMessage>> received =
      deps_.bus.receive(options_.main_queue, options_.batch_max, options_.lock_duration);
  if (!received.ok()) {
    HADR_TRY(absorb_failure("worker receive from " + options_.main_queue, received.error(), backoff_, health_));
    return StepOutcome::kIdle;
  }
  if (received->empty()) {
    backoff_.record_success();
    health_.record_success();
    return StepOutcome::kIdle;
  }
  HADR_ASSERT(received->size() <= options_.batch_max);
  counters_.received.fetch_add(received->size());
  HADR_TRY(process_batch(*received));
  health_.set_lag(unmarked_ ? 1 : 0);
  return StepOutcome::kProgress;
}

Status Worker::process_batch(std::vector<ReceivedMessage>& batch) {
  for (std::size_t i = 0; i < batch.size(); ++i) {
    // The messages not handled yet keep their locks however slow the handlers before them are.
    batch_rest_ = std::span(batch).subspan(i);
    HADR_TRY(renew_due_locks(batch_rest_));
    HADR_ASSIGN_OR_RETURN(const BatchFlow flow, process_message(batch[i]));
    batch_rest_ = {};
    if (flow == BatchFlow::kStop) {
      // The rest stays locked: the bus redelivers it after the lock, to this or another worker.
      return ok_status();
    }
  }
  return ok_status();
}

Result<Worker::BatchFlow> Worker::process_message(ReceivedMessage& message) {
  const std::optional<Epoch> epoch = deps_.fence.writable_epoch();
  if (!epoch) {
    counters_.fenced_abandoned.fetch_add(1);
    HADR_TRY(abandon(message));
    return BatchFlow::kStop;
  }
  HADR_ASSIGN_OR_RETURN(const std::optional<bool> settled, complete_if_settled(message, *epoch));
  if (!settled) return BatchFlow::kStop;
  if (*settled) return BatchFlow::kContinue;
  Result<ClaimOutcome> claim = deps_.dedupe.claim(message.message.id, options_.owner, *epoch, options_.claim_ttl);
  if (!claim.ok()) {
    // Left locked rather than abandoned: a dedupe outage then costs one delivery per lock
    // duration instead of one per retry, so it does not push messages to the dead-letter queue.
    HADR_TRY(absorb_failure("worker claim", claim.error(), backoff_, health_));
    return BatchFlow::kStop;
  }
  switch (claim->status) {
    case ClaimStatus::kAlreadyDone:
      HADR_TRY(settle_already_done(message));
      return BatchFlow::kContinue;
    case ClaimStatus::kBusy:
      // Another worker runs it now. Left locked (see the header): its redelivery after the lock
      // finds the id done, or the other claim expired.
      counters_.busy_deferred.fetch_add(1);
      return BatchFlow::kContinue;
    case ClaimStatus::kStaleEpoch:
      counters_.stale_epoch.fetch_add(1);
      HADR_TRY(abandon(message));
      HADR_TRY(absorb_failure("worker claim",
                              aborted("the dedupe store has seen epoch " + std::to_string(claim->highest_epoch.value) +
                                      ", above this region's " + std::to_string(epoch->value) +
                                      "; no new claims until the fence catches up"),
                              backoff_, health_));
      return BatchFlow::kStop;
    case ClaimStatus::kClaimed:
      if (message.delivery_count > options_.max_delivery_count) {
        // Delivered more often than allowed without ever being settled: its handler never
        // finished (the process died in it, or the lock kept expiring). Dead-letter it here,
        // with a dedupe record, instead of letting the bus do it without one.
        return dead_letter(message, claim->claim_token,
                           "delivered " + std::to_string(message.delivery_count) +
                               " times, more than workers.max_delivery_count " +
                               std::to_string(options_.max_delivery_count) +
                               ", without its handler ever finishing (a crash or lock expiry each time)");
      }
      return run_handler(message, std::move(claim->claim_token), *epoch);
  }
  HADR_UNREACHABLE();
}

Result<std::optional<bool>> Worker::complete_if_settled(const ReceivedMessage& message, Epoch epoch) {
  const BusMessage& m = message.message;
  if (m.source_region.empty() || m.lsn.value == 0) return std::optional<bool>(false);  // not from a WAL
  Result<bool> settled = floors_.settled(m.source_region, epoch, m.lsn);
  if (!settled.ok()) {
    // Left locked, as for a failed claim: the redelivery decides once Coord answers.
    HADR_TRY(absorb_failure("worker reading the settled floor of region " + m.source_region.str(), settled.error(),
                            backoff_, health_));
    return std::optional<bool>();
  }
  if (!*settled) return std::optional<bool>(false);
  // Settled for good: its effect was applied, or it was dead-lettered. A dead-lettered record is
  // settled once its dedupe record says so, which is before the bus moved the message to the
  // dead-letter queue (Worker::dead_letter marks first): when that move failed, this redelivered
  // copy is the only one left, and completing it would drop it with no effect and no
  // dead-letter entry (I1; sim seed 30 of `--faults all+async_backup,bus_loss`). So the record
  // decides: dead-lettered moves it there, anything else (done, or a record that expired after
  // the floor passed it) completes it.
  counters_.suppressed_settled.fetch_add(1);
  HADR_TRY(settle_by_record(message));
  return std::optional<bool>(true);
}

// Keeps the locks and the claim of the message under a running handler alive (handler.h).
class Worker::KeepAlive final : public HandlerKeepAlive {
 public:
  KeepAlive(Worker& worker, std::span<ReceivedMessage> locked, const MessageId& id, std::string& claim_token,
            Epoch epoch)
      : worker_(worker), locked_(locked), id_(id), claim_token_(claim_token), epoch_(epoch),
        claim_due_at_(worker.deps_.clock.now_monotonic() + worker.options_.claim_ttl / 3) {}

  void keep_alive() override {
    // Errors here are recorded, not returned: the handler keeps running, and what it settles
    // afterwards meets the same checks as always (a lost lock or claim is handled there).
    (void)worker_.renew_due_locks(locked_);
    const MonoTime now = worker_.deps_.clock.now_monotonic();
    if (now < claim_due_at_ || !extending_) return;
    claim_due_at_ = now + worker_.options_.claim_ttl / 3;
    Result<ClaimOutcome> claim = worker_.deps_.dedupe.claim(id_, worker_.options_.owner, epoch_, worker_.options_.claim_ttl);
    if (claim.ok() && claim->status == ClaimStatus::kClaimed) {
      claim_token_ = std::move(claim->claim_token);
      worker_.counters_.claims_extended.fetch_add(1);
      return;
    }
    if (!claim.ok()) {
      worker_.health_.record_error("worker claim extension", claim.error());
      return;  // transient: try again at the next due time
    }
    // Someone else holds it, it is done, or the epoch moved on: stop extending; the mark after
    // the handler tells what happened.
    extending_ = false;
  }

 private:
  Worker& worker_;
  const std::span<ReceivedMessage> locked_;  // the message and the rest of its batch
  const MessageId& id_;
  std::string& claim_token_;
  const Epoch epoch_;
  MonoTime claim_due_at_;
  bool extending_ = true;
};

Result<Worker::BatchFlow> Worker::run_handler(ReceivedMessage& message, std::string claim_token, Epoch epoch) {
  HADR_ASSERT(!claim_token.empty());
  deps_.crash_points.hit(kAfterClaimBeforeEffect);
  KeepAlive keep_alive(*this, batch_rest_.empty() ? std::span(&message, 1) : batch_rest_, message.message.id,
                       claim_token, epoch);
  const HandlerResult result = deps_.handler.handle(HandlerInput{.message = message.message,
                                                                  .claim_token = claim_token,
                                                                  .delivery_count = message.delivery_count,
                                                                  .claim_epoch = epoch,
                                                                  .keep_alive = &keep_alive});
  switch (result.verdict) {
    case HandlerVerdict::kDone: {
      counters_.effects.fetch_add(1);
      if (result.marked_done) {
        HADR_TRY(finish_done(message));
        return BatchFlow::kContinue;
      }
      UnmarkedEffect effect{message, std::move(claim_token)};
      HADR_ASSIGN_OR_RETURN(const bool settled, settle_effect(effect));
      if (settled) return BatchFlow::kContinue;
      unmarked_ = std::move(effect);
      return BatchFlow::kStop;
    }
    case HandlerVerdict::kRetryLater:
    case HandlerVerdict::kFailed: {
      counters_.handler_failures.fetch_add(1);
      if (message.delivery_count >= options_.max_delivery_count) {
        return dead_letter(message, claim_token,
                           "handler failed on delivery " + std::to_string(message.delivery_count) + " of " +
                               std::to_string(options_.max_delivery_count) + ": " + result.reason);
      }
      // Released so that the next delivery, on any worker, may claim it at once.
      HADR_TRY(note_settle_failure("worker release", deps_.dedupe.release(message.message.id, claim_token)));
      HADR_TRY(abandon(message));
      return BatchFlow::kContinue;
    }
    case HandlerVerdict::kReject:
      return dead_letter(message, claim_token, "rejected by the handler: " + result.reason);
  }
  HADR_UNREACHABLE();
}

Result<Worker::BatchFlow> Worker::dead_letter(const ReceivedMessage& message, const std::string& claim_token,
                                              const std::string& reason) {
  const std::string bounded = bounded_reason(reason, kMaxReasonBytes);
  const Status marked =
      deps_.dedupe.mark_dead_lettered(message.message.id, claim_token, bounded, kUnsettledRecordTtl);
  if (!marked.ok()) {
    // Not recorded: a later delivery decides again (and at max deliveries the bus moves it to
    // the dead-letter queue itself). The message is never dropped.
    HADR_TRY(note_settle_failure("worker mark_dead_lettered", marked));
    HADR_TRY(abandon(message));
    return BatchFlow::kContinue;
  }
  const Status moved = deps_.bus.dead_letter(options_.main_queue, message.lock_token, bounded);
  // If the move failed, the message comes back; its claim answers kAlreadyDone and
  // settle_already_done dead-letters that copy.
  HADR_TRY(note_settle_failure("worker dead_letter", moved));
  if (moved.ok()) counters_.dead_lettered.fetch_add(1);
  health_.add_progress(1);
  return BatchFlow::kContinue;
}

Status Worker::settle_already_done(const ReceivedMessage& message) {
  counters_.suppressed_duplicates.fetch_add(1);
  return settle_by_record(message);
}

Status Worker::settle_by_record(const ReceivedMessage& message) {
  const MessageId ids[] = {message.message.id};
  Result<std::vector<RecordState>> states = deps_.dedupe.lookup(ids);
  if (!states.ok()) {
    // Left locked: the redelivery decides again once the store answers.
    return absorb_failure("worker lookup", states.error(), backoff_, health_);
  }
  HADR_ASSERT(states->size() == 1);
  if (states->front() == RecordState::kDeadLettered) {
    const Status moved = deps_.bus.dead_letter(options_.main_queue, message.lock_token, kRedeliveredDeadLetterReason);
    HADR_TRY(note_settle_failure("worker dead_letter", moved));
    if (moved.ok()) counters_.dead_lettered.fetch_add(1);
    return ok_status();
  }
  const Status completed = deps_.bus.complete(options_.main_queue, message.lock_token);
  HADR_TRY(note_settle_failure("worker complete", completed));
  if (completed.ok()) counters_.completed.fetch_add(1);
  health_.add_progress(1);
  return ok_status();
}

Status Worker::finish_done(const ReceivedMessage& message) {
  deps_.crash_points.hit(kAfterEffectBeforeComplete);
  // A lost lock is fine here: the redelivered copy finds the id done and is completed then.
  const Status completed = deps_.bus.complete(options_.main_queue, message.lock_token);
  HADR_TRY(note_settle_failure("worker complete", completed));
  if (completed.ok()) counters_.completed.fetch_add(1);
  health_.add_progress(1);
  return ok_status();
}

// ---- effects whose mark is not recorded yet --------------------------------------------------

Result<bool> Worker::settle_effect(UnmarkedEffect& effect) {
  const MessageId& id = effect.message.message.id;
  for (int attempt = 0; attempt < kSettleAttemptsMax; ++attempt) {
    if (effect.claim_token.empty()) {
      HADR_ASSIGN_OR_RETURN(const bool handed_over, reclaim_for_mark(effect));
      if (handed_over) return true;
      if (effect.claim_token.empty()) return false;  // the store did not answer; retry later
    }
    // Until a settled set covers it (then the checkpointer or replayer retires it to record_ttl).
    const Status marked = deps_.dedupe.mark_done(id, effect.claim_token, kUnsettledRecordTtl);
    if (marked.ok()) {
      HADR_TRY(finish_done(effect.message));
      return true;
    }
    if (marked.code() != ErrorCode::kAborted) {
      // kDeadlineExceeded may have marked it: marking again with the same token is idempotent.
      HADR_TRY(absorb_failure("worker mark_done", marked.error(), backoff_, health_));
      return false;
    }
    // The claim expired (this worker was slower than claim_ttl) or was taken over.
    counters_.claim_lost_after_effect.fetch_add(1);
    health_.record_error("worker mark_done (the effect is applied; claiming again to mark it)", marked.error());
    effect.claim_token.clear();
  }
  // Lost twice in a row: someone keeps taking the claim. Try again after a pause.
  backoff_.record_failure();
  return false;
}

Result<bool> Worker::reclaim_for_mark(UnmarkedEffect& effect) {
  HADR_ASSERT(effect.claim_token.empty());
  const std::optional<Epoch> epoch = deps_.fence.writable_epoch();
  if (!epoch) {
    // Fenced: no new claim. The region that took over runs it again (at-least-once here).
    counters_.fenced_abandoned.fetch_add(1);
    HADR_TRY(abandon(effect.message));
    return true;
  }
  Result<ClaimOutcome> claim =
      deps_.dedupe.claim(effect.message.message.id, options_.owner, *epoch, options_.claim_ttl);
  if (!claim.ok()) {
    HADR_TRY(absorb_failure("worker claim (to mark an applied effect)", claim.error(), backoff_, health_));
    return false;
  }
  switch (claim->status) {
    case ClaimStatus::kClaimed:
      counters_.reclaimed_after_effect.fetch_add(1);
      effect.claim_token = std::move(claim->claim_token);
      return false;
    case ClaimStatus::kAlreadyDone:  // someone marked it: done (the effect ran twice) or dead-lettered
    case ClaimStatus::kBusy:         // another worker runs it with its own copy and will mark it
      HADR_TRY(finish_done(effect.message));
      return true;
    case ClaimStatus::kStaleEpoch:
      // Fenced by the store: as above.
      counters_.stale_epoch.fetch_add(1);
      HADR_TRY(abandon(effect.message));
      return true;
  }
  HADR_UNREACHABLE();
}

Result<StepOutcome> Worker::retry_unmarked_effect() {
  HADR_ASSERT(unmarked_.has_value());
  HADR_TRY(renew_due_locks(std::span(&unmarked_->message, 1)));
  HADR_ASSIGN_OR_RETURN(const bool settled, settle_effect(*unmarked_));
  if (!settled) return StepOutcome::kIdle;
  unmarked_.reset();
  health_.set_lag(0);
  return StepOutcome::kProgress;
}

// ---- bus helpers -----------------------------------------------------------------------------

Status Worker::renew_due_locks(std::span<ReceivedMessage> messages) {
  const WallTime now = deps_.clock.now_wall();
  for (ReceivedMessage& message : messages) {
    if (message.locked_until - now > options_.lock_duration / 2) continue;
    Result<WallTime> renewed = deps_.bus.renew_lock(options_.main_queue, message.lock_token, options_.lock_duration);
    if (renewed.ok()) {
      message.locked_until = *renewed;
      counters_.locks_renewed.fetch_add(1);
      continue;
    }
    // A lost lock is not fatal: the claim still keeps a second worker from running the effect.
    counters_.lock_renewal_failures.fetch_add(1);
    health_.record_error("worker renew_lock", renewed.error());
    if (must_stop(renewed.code())) return std::move(renewed).take_error();
  }
  return ok_status();
}

Status Worker::abandon(const ReceivedMessage& message) {
  return note_settle_failure("worker abandon", deps_.bus.abandon(options_.main_queue, message.lock_token));
}

Status Worker::note_settle_failure(std::string_view what, const Status& status) {
  if (status.ok()) return ok_status();
  counters_.settle_failures.fetch_add(1);
  health_.record_error(what, status.error());
  if (must_stop(status.code())) return status;
  return ok_status();
}

}  // namespace hadr
