#include "roles/promoter.h"

#include <algorithm>

#include "contracts/validation.h"

namespace hadr {
namespace {

constexpr std::string_view kAfterSendBeforeComplete = "promoter.after_send_before_complete";

}  // namespace

Status PromoterOptions::validate() const {
  HADR_TRY(validate_queue_name(staging_queue, QueueNameUse::kCreateOrSend));
  HADR_TRY(validate_queue_name(main_queue, QueueNameUse::kCreateOrSend));
  if (staging_queue == main_queue) {
    return invalid_argument("promoter staging_queue and main_queue are both '" + main_queue +
                            "'; give them different names");
  }
  const std::size_t batch_limit = std::min(Bus::kMaxReceiveBatch, Bus::kMaxSendBatch);
  if (batch_max < 1 || batch_max > batch_limit) {
    return invalid_argument("promoter batch_max " + std::to_string(batch_max) + " must be between 1 and " +
                            std::to_string(batch_limit));
  }
  HADR_TRY(validate_ttl("promoter lock_duration", lock_duration, kMaxLockDuration));
  return backoff.validate("promoter backoff");
}

Result<std::unique_ptr<Promoter>> Promoter::create(const PromoterDependencies& dependencies,
                                                   PromoterOptions options) {
  HADR_TRY(options.validate());
  return std::unique_ptr<Promoter>(new Promoter(dependencies, std::move(options)));
}

Promoter::Promoter(const PromoterDependencies& dependencies, PromoterOptions options)
    : deps_(dependencies), options_(std::move(options)), backoff_(dependencies.clock, options_.backoff) {}

PromoterStats Promoter::stats() const {
  return PromoterStats{.promoted = promoted_.load(),
                       .complete_failures = complete_failures_.load(),
                       .send_failures = send_failures_.load(),
                       .fenced_abandoned = fenced_abandoned_.load()};
}

Result<StepOutcome> Promoter::step() {
  if (!backoff_.ready() || !deps_.fence.writable_epoch()) return StepOutcome::kIdle;
  Result<std::vector<ReceivedMessage>> received =
      deps_.bus.receive(options_.staging_queue, options_.batch_max, options_.lock_duration);
  if (!received.ok()) {
    HADR_TRY(absorb_failure("promoter receive from " + options_.staging_queue, received.error(), backoff_, health_));
    return StepOutcome::kIdle;
  }
  if (received->empty()) {
    backoff_.record_success();
    health_.record_success();
    return StepOutcome::kIdle;
  }
  HADR_ASSERT(received->size() <= options_.batch_max);
  if (!deps_.fence.writable_epoch()) {
    // Fenced between the receive and the send: a passive region promotes nothing.
    fenced_abandoned_.fetch_add(received->size());
    HADR_TRY(abandon_all(*received));
    return StepOutcome::kIdle;
  }
  std::vector<BusMessage> batch;
  batch.reserve(received->size());
  for (const ReceivedMessage& message : *received) batch.push_back(message.message);
  const Status sent = deps_.bus.send(options_.main_queue, batch);
  if (!sent.ok()) {
    send_failures_.fetch_add(1);
    HADR_TRY(absorb_failure("promoter send to " + options_.main_queue, sent.error(), backoff_, health_));
    HADR_TRY(abandon_all(*received));
    return StepOutcome::kIdle;
  }
  backoff_.record_success();
  health_.record_success();
  deps_.crash_points.hit(kAfterSendBeforeComplete);
  HADR_TRY(complete_all(*received));
  return StepOutcome::kProgress;
}

Status Promoter::abandon_all(const std::vector<ReceivedMessage>& batch) {
  for (const ReceivedMessage& message : batch) {
    const Status abandoned = deps_.bus.abandon(options_.staging_queue, message.lock_token);
    // A failed abandon is harmless: the lock expires and the bus redelivers.
    if (!abandoned.ok()) {
      health_.record_error("promoter abandon in " + options_.staging_queue, abandoned.error());
      if (must_stop(abandoned.code())) return abandoned;
    }
  }
  return ok_status();
}

Status Promoter::complete_all(const std::vector<ReceivedMessage>& batch) {
  std::uint64_t completed = 0;
  for (const ReceivedMessage& message : batch) {
    const Status done = deps_.bus.complete(options_.staging_queue, message.lock_token);
    if (done.ok()) {
      ++completed;
      continue;
    }
    // Main has the message; staging keeps a copy that is promoted again once its lock ends: a
    // duplicate delivery, never a loss.
    complete_failures_.fetch_add(1);
    health_.record_error("promoter complete in " + options_.staging_queue, done.error());
    if (must_stop(done.code())) return done;
  }
  promoted_.fetch_add(completed);
  health_.add_progress(batch.size());
  return ok_status();
}

}  // namespace hadr
