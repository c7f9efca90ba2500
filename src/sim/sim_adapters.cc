#include "sim/sim_adapters.h"

#include <cstdio>
#include <algorithm>

namespace hadr::sim {
namespace {

// The share of sends to main the broken promoter variant drops.
constexpr double kDroppedMainSendProbability = 0.2;
// With kHandlerFailure on: the chance a handler call fails, and the share of those that reject.
constexpr double kHandlerFailureProbability = 0.15;
constexpr double kHandlerRejectShare = 0.1;
// One claim in this many is delayed in the network (every run's fault phase).
constexpr std::uint64_t kLateClaimOneIn = 10;
// With late_write on: the chance one bus send or fenced coord put is delayed, and the delay.
constexpr std::uint64_t kLateWriteOneIn = 30;
constexpr std::int64_t kLateWriteDelayMinMs = 500;
constexpr std::int64_t kLateWriteDelaySpreadMs = 3'500;

bool delay_this_write(SimWorld& world) {
  return world.late_writes_on && world.faults_active() && world.room_for_late_write() &&
         world.random.uniform(kLateWriteOneIn) == 0;
}

std::int64_t late_write_delay_ms(SimWorld& world) {
  return kLateWriteDelayMinMs + static_cast<std::int64_t>(world.random.uniform(kLateWriteDelaySpreadMs));
}

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
  // The relay acks under the epoch its fence gives now (it checked it just before): the drain
  // epoch, the lease's, since a batch held for the backup is acked even while intake is
  // closed (issue 12 hole 8); it is still a fenced write of that epoch.
  const std::optional<Epoch> epoch = fence_.drain_epoch();
  Status acked = inner_.ack(ack_handles);
  if ((acked.ok() || acked.code() == ErrorCode::kDeadlineExceeded) && !ack_handles.empty()) {
    world_.history.add_write(WriteEvent{.kind = WriteEvent::Kind::kSourceAck, .region = region_,
                                        .epoch = epoch.value_or(Epoch{0}), .at_ms = world_.now_ms(),
                                        .writer = "relay"});
  }
  return acked;
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
  const Epoch fence_epoch = fence_.writable_epoch().value_or(Epoch{0});
  if (delay_this_write(world_)) {
    // Late: the caller gives up now; the namespace takes the batch later, as it was sent.
    std::vector<BusMessage> copy(batch.begin(), batch.end());
    world_.delay_write("send of " + std::to_string(batch.size()) + " to " + std::string(queue) + " by " + region_,
                       late_write_delay_ms(world_),
                       // The process may be gone by then: nothing of this adapter is captured.
                       [&world = world_, &server = server_, region = region_, queue = std::string(queue),
                        copy = std::move(copy), fence_epoch] {
                         if (server.send(queue, copy).ok()) record_send(world, region, queue, copy, fence_epoch);
                       });
    return deadline_exceeded("sim: send delayed in the network (it may still reach the namespace)");
  }
  Status sent = inner_.send(queue, batch);
  // On the in-memory bus kDeadlineExceeded is a lost confirm: the send was applied.
  if (sent.ok() || sent.code() == ErrorCode::kDeadlineExceeded) record_send(world_, region_, queue, batch, fence_epoch);
  return sent;
}

void SimBus::record_send(SimWorld& world, const std::string& region, std::string_view queue,
                         std::span<const BusMessage> batch, Epoch fence_epoch) {
  const bool to_main = queue == kMainQueue;
  const Epoch epoch = to_main ? fence_epoch : batch.front().epoch;
  world.history.add_write(WriteEvent{.kind = to_main ? WriteEvent::Kind::kPromote : WriteEvent::Kind::kPublish,
                                     .region = region, .epoch = epoch, .at_ms = world.now_ms()});
}

// ---- SimCoord --------------------------------------------------------------------------------

void SimCoord::record_put(SimWorld& world, const std::string& region, std::string_view writer,
                          const CoordPut& write) {
  if (write.condition != CoordCondition::kEpochAtLeast) return;  // heartbeats, requests: not fenced
  world.history.add_write(WriteEvent{.kind = WriteEvent::Kind::kCoordPut, .region = region, .epoch = write.epoch,
                                     .at_ms = world.now_ms(), .writer = writer});
}

Result<CoordRecord> SimCoord::put(const CoordPut& write) {
  CoordPut sent = write;
  if (durable_lsn_ && write.key == "checkpoint/" + region_) {
    // BROKEN on purpose: the checkpoint claims every durable record settled.
    sent.value = std::to_string(std::max<std::uint64_t>(durable_lsn_(), 0));
  }
  if (write.condition == CoordCondition::kEpochAtLeast && delay_this_write(world_)) {
    world_.delay_write("coord put " + write.key + " by " + region_ + " under epoch " + std::to_string(write.epoch.value),
                       late_write_delay_ms(world_), [&world = world_, region = region_, writer = writer_, sent] {
                         if (world.coord_server.put(sent).ok()) record_put(world, region, writer, sent);
                       });
    return deadline_exceeded("sim: coord put delayed in the network (it may still reach the store)");
  }
  Result<CoordRecord> put = inner_.put(sent);
  if (put.ok() || put.code() == ErrorCode::kDeadlineExceeded) record_put(world_, region_, writer_, sent);
  if (world_.options.trace && sent.key.starts_with("checkpoint/")) {  // --trace only, not digested
    std::printf("%8lld ms  %s %s put %s = %s under epoch %llu: %s\n", static_cast<long long>(world_.now_ms()),
                region_.c_str(), std::string(writer_).c_str(), sent.key.c_str(), sent.value.c_str(),
                static_cast<unsigned long long>(sent.epoch.value), put.ok() ? "ok" : put.error().to_string().c_str());
  }
  return put;
}

// ---- SimDedupe -------------------------------------------------------------------------------

void SimDedupe::record_claim(const std::string& region, Epoch caller_epoch, const ClaimOutcome& outcome,
                             bool orphaned) {
  world_.history.add_claim(ClaimEvent{.region = region, .caller_epoch = caller_epoch, .status = outcome.status,
                                      .at_ms = world_.now_ms()});
  // An orphaned claim (its caller gave up before it landed) can lead to no effect; in the
  // default mix it is judged by the store's epoch order only. With late_write on it counts as
  // a fenced write in real time too: the store granted it after a higher epoch was granted
  // whenever the new writer had not claimed yet (finding, see docs/simulation.md).
  if (outcome.status == ClaimStatus::kClaimed && (!orphaned || world_.late_writes_on)) {
    world_.history.add_write(WriteEvent{.kind = WriteEvent::Kind::kClaim, .region = region, .epoch = caller_epoch,
                                        .at_ms = world_.now_ms(), .writer = "worker"});
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
    // BROKEN variant claim_ignores_epoch: the store takes the claim under its own highest epoch
    // when it lands, so it cannot refuse it as stale.
    const Epoch landing_epoch = ignore_epoch_ ? std::max(claim.epoch, world_.dedupe_server.highest_epoch()) : claim.epoch;
    Result<ClaimOutcome> outcome = world_.dedupe_server.claim(claim.id, claim.owner, landing_epoch, claim.ttl);
    world_.note("late claim of " + claim.id.str() + " by " + claim.region + " under epoch " +
                std::to_string(claim.caller_epoch.value) + " reached the store");
    if (outcome.ok()) record_claim(claim.region, claim.caller_epoch, *outcome, /*orphaned=*/true);
  }
}

Result<ClaimOutcome> SimDedupe::claim(const MessageId& id, std::string_view owner, Epoch epoch, Milliseconds ttl) {
  deliver_late_claims();
  Epoch sent_epoch = epoch;
  // BROKEN on purpose: never below the store's highest epoch, so the store cannot refuse it.
  if (ignore_epoch_) sent_epoch = std::max(epoch, world_.dedupe_server.highest_epoch());
  if (world_.faults_active() && world_.late_claims.size() < SimWorld::kLateClaimsMax &&
      world_.random.uniform(kLateClaimOneIn) == 0) {
    // Delayed in the network: the caller times out; the store sees it 1..4 s later.
    world_.late_claims.push_back(LateClaim{.id = id, .owner = std::string(owner), .region = region_,
                                           .epoch = sent_epoch, .caller_epoch = epoch, .ttl = ttl,
                                           .due_ms = world_.now_ms() + 1'000 + static_cast<std::int64_t>(world_.random.uniform(3'000))});
    return deadline_exceeded("sim: claim delayed in the network (it may still reach the store)");
  }
  Result<ClaimOutcome> outcome = inner_.claim(id, owner, sent_epoch, ttl);
  if (!outcome.ok()) return outcome;
  record_claim(region_, epoch, *outcome, /*orphaned=*/false);
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

void SimHandler::trace_effect(const HandlerInput& input) const {
  // --trace only (not in the history digest, so hashes stay as they were).
  if (!world_.options.trace) return;
  const BusMessage& m = input.message;
  std::printf("%8lld ms  effect of %s by %s (claim epoch %llu; %s lsn %llu)\n", static_cast<long long>(world_.now_ms()),
              m.id.str().c_str(), region_.c_str(), static_cast<unsigned long long>(input.claim_epoch.value),
              m.source_region.str().c_str(), static_cast<unsigned long long>(m.lsn.value));
}

HandlerResult SimHandler::handle(const HandlerInput& input) {
  // A dead process applies nothing.
  if (crash_points_.crashed()) return HandlerResult{.verdict = HandlerVerdict::kRetryLater, .reason = "process died"};
  if (std::optional<HandlerResult> failure = injected_failure()) return *failure;
  const std::string id = input.message.id.str();
  if (!transactional_) {
    // The effect happens now, whatever the mark does next.
    world_.history.add_effect(EffectEvent{.id = id, .region = region_, .claim_epoch = input.claim_epoch,
                                          .at_ms = world_.now_ms(), .transactional = false,
                                          .after_acknowledged_mark = world_.history.mark_acknowledged(id)});
    trace_effect(input);
  }
  // Not transactional: the worker marks done after the call (SimDedupe notes the ack).
  if (!transactional_) return HandlerResult{.verdict = HandlerVerdict::kDone, .marked_done = false};
  const Status marked = dedupe_.mark_done(input.message.id, input.claim_token, kUnsettledRecordTtl);
  const bool committed = marked.ok() || marked.code() == ErrorCode::kDeadlineExceeded;
  if (marked.ok()) world_.history.add_acknowledged_mark(id);
  if (!committed) {
    return HandlerResult{.verdict = HandlerVerdict::kRetryLater,
                         .reason = "ledger transaction rolled back: " + marked.error().to_string()};
  }
  world_.history.add_effect(EffectEvent{.id = id, .region = region_,
                                        .claim_epoch = input.claim_epoch, .at_ms = world_.now_ms()});
  trace_effect(input);
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
