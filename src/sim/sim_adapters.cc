#include "sim/sim_adapters.h"

#include <algorithm>

namespace hadr::sim {
namespace {

// The share of sends to main the broken promoter variant drops.
constexpr double kDroppedMainSendProbability = 0.2;
// With kHandlerFailure on: the chance a handler call fails, and the share of those that reject.
constexpr double kHandlerFailureProbability = 0.15;
constexpr double kHandlerRejectShare = 0.1;

}  // namespace

// ---- SimSource -------------------------------------------------------------------------------

Result<std::vector<SourceMessage>> SimSource::receive(std::size_t max) {
  Result<std::vector<SourceMessage>> received = inner_.receive(max);
  if (!ack_at_receive_ || !received.ok() || received->empty()) return received;
  std::vector<std::string> handles;
  handles.reserve(received->size());
  for (const SourceMessage& message : *received) handles.push_back(message.ack_handle);
  // BROKEN on purpose: the messages are gone from the source before the WAL holds them.
  (void)inner_.ack(handles);
  world_.note("broken: acked " + std::to_string(handles.size()) + " source messages at receive");
  return received;
}

Status SimSource::ack(std::span<const std::string> ack_handles) {
  if (ack_at_receive_) return ok_status();  // already acked at receive
  return inner_.ack(ack_handles);
}

// ---- SimBus ----------------------------------------------------------------------------------

Status SimBus::send(std::string_view queue, std::span<const BusMessage> batch) {
  HADR_ASSERT(!batch.empty());
  const bool to_main = queue == kMainQueue;
  if (to_main && drop_main_sends_ && world_.random.chance(kDroppedMainSendProbability)) {
    // BROKEN on purpose: "ok" without main holding the messages; the promoter completes staging.
    world_.note("broken: dropped a send of " + std::to_string(batch.size()) + " to main in region " + region_);
    return ok_status();
  }
  Status sent = inner_.send(queue, batch);
  // On the in-memory bus kDeadlineExceeded is a lost confirm: the send was applied.
  if (sent.ok() || sent.code() == ErrorCode::kDeadlineExceeded) {
    const std::optional<Epoch> fence_epoch = fence_.writable_epoch();
    const Epoch epoch = to_main ? fence_epoch.value_or(Epoch{0}) : batch.front().epoch;
    world_.history.add_write(WriteEvent{.kind = to_main ? WriteEvent::Kind::kPromote : WriteEvent::Kind::kPublish,
                                       .region = region_, .epoch = epoch, .at_ms = world_.now_ms()});
  }
  return sent;
}

// ---- SimDedupe -------------------------------------------------------------------------------

void SimDedupe::record_claim(const std::string& region, Epoch caller_epoch, const ClaimOutcome& outcome) {
  world_.history.add_claim(ClaimEvent{.region = region, .caller_epoch = caller_epoch, .status = outcome.status,
                                      .at_ms = world_.now_ms()});
  if (outcome.status == ClaimStatus::kClaimed) {
    world_.history.add_write(WriteEvent{.kind = WriteEvent::Kind::kClaim, .region = region, .epoch = caller_epoch,
                                        .at_ms = world_.now_ms()});
  } else if (outcome.status == ClaimStatus::kStaleEpoch) {
    ++world_.history.rare.stale_epoch_rejection;
  }
}

void SimDedupe::deliver_late_claims() {
  auto& late = world_.late_claims;
  for (std::size_t i = 0; i < late.size();) {
    if (late[i].due_ms > world_.now_ms()) {
      ++i;
      continue;
    }
    const LateClaim claim = late[i];
    late.erase(late.begin() + static_cast<std::ptrdiff_t>(i));
    Result<ClaimOutcome> outcome = world_.dedupe_server.claim(claim.id, claim.owner, claim.epoch, claim.ttl);
    world_.note("late claim of " + claim.id.str() + " by " + claim.region + " under epoch " +
                std::to_string(claim.caller_epoch.value) + " reached the store");
    if (outcome.ok()) record_claim(claim.region, claim.caller_epoch, *outcome);
  }
}

Result<ClaimOutcome> SimDedupe::claim(const MessageId& id, std::string_view owner, Epoch epoch, Milliseconds ttl) {
  deliver_late_claims();
  Epoch sent_epoch = epoch;
  // BROKEN on purpose: never below the store's highest epoch, so the store cannot refuse it.
  if (ignore_epoch_) sent_epoch = std::max(epoch, world_.dedupe_server.highest_epoch());
  if (world_.faults_active() && world_.late_claims.size() < SimWorld::kLateClaimsMax && world_.random.uniform(50) == 0) {
    // Delayed in the network: the caller times out; the store sees it 1..4 s later.
    world_.late_claims.push_back(LateClaim{.id = id, .owner = std::string(owner), .region = region_,
                                           .epoch = sent_epoch, .caller_epoch = epoch, .ttl = ttl,
                                           .due_ms = world_.now_ms() + 1'000 + static_cast<std::int64_t>(world_.random.uniform(3'000))});
    return deadline_exceeded("sim: claim delayed in the network (it may still reach the store)");
  }
  Result<ClaimOutcome> outcome = inner_.claim(id, owner, sent_epoch, ttl);
  if (!outcome.ok()) return outcome;
  record_claim(region_, epoch, *outcome);
  return outcome;
}

// ---- SimCrashPoints --------------------------------------------------------------------------

void SimCrashPoints::hit(std::string_view point) {
  if (crashed_ || armed_.empty() || point != armed_) return;
  crashed_ = true;
  crashed_at_ = armed_;
  armed_.clear();
  world_.note("crash point " + crashed_at_);
  if (on_crash_) on_crash_();
}

// ---- SimHandler ------------------------------------------------------------------------------

std::optional<HandlerResult> SimHandler::injected_failure() {
  if (!failures_enabled_ || !world_.faults_active() || !world_.random.chance(kHandlerFailureProbability)) {
    return std::nullopt;
  }
  if (world_.random.chance(kHandlerRejectShare)) {
    return HandlerResult{.verdict = HandlerVerdict::kReject, .reason = "injected: rejected"};
  }
  const bool retry = world_.random.chance(0.5);
  return HandlerResult{.verdict = retry ? HandlerVerdict::kRetryLater : HandlerVerdict::kFailed,
                       .reason = retry ? "injected: retry later" : "injected: failed"};
}

HandlerResult SimHandler::handle(const HandlerInput& input) {
  // A dead process applies nothing.
  if (crash_points_.crashed()) return HandlerResult{.verdict = HandlerVerdict::kRetryLater, .reason = "process died"};
  if (std::optional<HandlerResult> failure = injected_failure()) return *failure;
  const Status marked = dedupe_.mark_done(input.message.id, input.claim_token, kDefaultDedupeRecordTtl);
  const bool committed = marked.ok() || marked.code() == ErrorCode::kDeadlineExceeded;
  if (!committed) {
    return HandlerResult{.verdict = HandlerVerdict::kRetryLater,
                         .reason = "ledger transaction rolled back: " + marked.error().to_string()};
  }
  world_.history.add_effect(EffectEvent{.id = input.message.id.str(), .region = region_,
                                        .claim_epoch = input.claim_epoch, .at_ms = world_.now_ms()});
  return HandlerResult{.verdict = HandlerVerdict::kDone, .marked_done = true};
}

// ---- SimControl ------------------------------------------------------------------------------

Result<bool> SimControl::drained() {
  if (parts_.relay.unpublished_count() != 0) return false;  // the runtime's NodeControl asks the same
  for (std::string_view queue : {kStagingQueue, kMainQueue}) {
    HADR_ASSIGN_OR_RETURN(QueueDepth depth, parts_.bus.depth(queue));
    if (depth.available + depth.locked != 0) return false;
  }
  return true;
}

Result<bool> SimControl::seal_wal(Epoch epoch) {
  // Sealing an epoch already sealed is a no-op, so asking again after a short ship is safe.
  HADR_TRY(parts_.wal.seal(epoch));
  // The seal must reach the backup: it is how the peer's replayer knows the log ended.
  HADR_ASSIGN_OR_RETURN(Lsn shipped, parts_.shipper.ship_through(parts_.wal.durable_lsn()));
  return shipped >= parts_.wal.durable_lsn();
}

// ---- SimAlerts -------------------------------------------------------------------------------

void SimAlerts::raise(const Alert& alert) {
  if (alert.event == "failover_completed") ++world_.history.rare.lease_steal;
  if (alert.event == "switchover_handed_over") ++world_.history.rare.switchover;
  world_.note("alert " + region_ + " " + alert.event + " epoch " + std::to_string(alert.epoch.value) + ": " +
              alert.detail);
  world_.history.add_alert(region_, alert.event, world_.now_ms());
}

}  // namespace hadr::sim
