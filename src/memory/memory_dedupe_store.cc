#include "memory/memory_dedupe_store.h"

#include <algorithm>

#include "core/assert.h"
#include "contracts/validation.h"
#include "memory/expiry.h"

namespace hadr {
namespace {

Status validate_message_id(const MessageId& id) {
  if (id.empty()) return invalid_argument("message id is empty; give the message's stable id");
  return ok_status();
}

Status validate_claim_token(std::string_view claim_token) {
  return validate_printable("claim token", claim_token, kMaxNameBytes);
}

std::string claim_lost(const MessageId& id) {
  return "claim of message '" + id.str() +
         "' lost: it expired or another owner claimed since; do not complete, let it be redelivered";
}

}  // namespace

Result<ClaimOutcome> MemoryDedupeServer::claim(const MessageId& id, std::string_view owner, Epoch epoch,
                                               Milliseconds claim_ttl) {
  HADR_TRY(validate_message_id(id));
  HADR_TRY(validate_printable("dedupe owner", owner, kMaxNameBytes));
  HADR_TRY(validate_ttl("claim ttl", claim_ttl, kMaxDedupeTtl));
  const std::lock_guard lock(mutex_);
  const WallTime time = now();
  // The store has now seen `epoch`: whatever the answer, no later claim below it is granted.
  if (epoch > highest_epoch_) highest_epoch_ = epoch;
  ClaimOutcome outcome{.highest_epoch = highest_epoch_};
  auto found = records_.find(id);
  if (found != records_.end() && !kept(found->second, time)) {
    records_.erase(found);
    found = records_.end();
  }
  if (found != records_.end() && state_live(found->second, time)) {
    const Record& record = found->second;
    if (record.state == RecordState::kDone || record.state == RecordState::kDeadLettered) {
      outcome.status = ClaimStatus::kAlreadyDone;
      return outcome;
    }
    if (record.owner != owner) {
      outcome.status = ClaimStatus::kBusy;
      outcome.busy_owner = record.owner;
      outcome.busy_remaining = remaining_until(record.expires_at, time);
      return outcome;
    }
  }
  if (epoch < highest_epoch_) {
    outcome.status = ClaimStatus::kStaleEpoch;
    return outcome;
  }
  if (found == records_.end()) HADR_TRY(make_room(time));
  // A live claim of the same owner is granted again with a new token: a restarted worker must
  // not wait for its own dead claim, and the old token stops working.
  // A pin-only record keeps its pins (and their own expiry) under the claim.
  Record& record = records_[id];
  record.state = RecordState::kClaimed;
  record.owner = std::string(owner);
  record.epoch = epoch;
  record.claim_token = "claim-" + std::to_string(next_claim_number_++);
  record.expires_at = time + claim_ttl;
  record.dead_letter_reason.clear();
  outcome.status = ClaimStatus::kClaimed;
  outcome.claim_token = record.claim_token;
  HADR_ASSERT(record.epoch >= highest_epoch_);
  return outcome;
}

Status MemoryDedupeServer::mark_done(const MessageId& id, std::string_view claim_token, Milliseconds record_ttl) {
  return finish_claim(id, claim_token, RecordState::kDone, {}, record_ttl);
}

Status MemoryDedupeServer::mark_dead_lettered(const MessageId& id, std::string_view claim_token,
                                              std::string_view reason, Milliseconds record_ttl) {
  HADR_TRY(validate_reason("dead-letter reason", reason));
  return finish_claim(id, claim_token, RecordState::kDeadLettered, reason, record_ttl);
}

Status MemoryDedupeServer::finish_claim(const MessageId& id, std::string_view claim_token, RecordState final_state,
                                        std::string_view reason, Milliseconds record_ttl) {
  HADR_ASSERT(final_state == RecordState::kDone || final_state == RecordState::kDeadLettered);
  HADR_TRY(validate_message_id(id));
  HADR_TRY(validate_claim_token(claim_token));
  HADR_TRY(validate_ttl("record ttl", record_ttl, kMaxDedupeTtl));
  const std::lock_guard lock(mutex_);
  const WallTime time = now();
  const auto found = records_.find(id);
  if (found == records_.end() || !state_live(found->second, time) || found->second.claim_token != claim_token) {
    return aborted(claim_lost(id));
  }
  Record& record = found->second;
  if (record.state != RecordState::kClaimed) {
    // Marking again with the same token is idempotent; changing the outcome is not allowed.
    if (record.state == final_state) return ok_status();
    return failed_precondition("message '" + id.str() + "' is already marked " +
                               (record.state == RecordState::kDone ? "done" : "dead-lettered") +
                               " with this claim; its outcome cannot change");
  }
  // The mark is honoured whatever the store's highest epoch now is: refusing it would force a
  // re-run of an effect that already happened (DESIGN.md, "Failover", step 6).
  record.state = final_state;
  record.dead_letter_reason = std::string(reason);
  record.expires_at = time + record_ttl;
  return ok_status();
}

Status MemoryDedupeServer::pin(std::span<const CopyPin> pins) {
  HADR_TRY(validate_copy_pins("pin", pins));
  const std::lock_guard lock(mutex_);
  const WallTime time = now();
  for (const CopyPin& pin : pins) {
    auto found = records_.find(pin.id);
    if (found == records_.end()) {
      HADR_TRY(make_room(time));
      found = records_.emplace(pin.id, Record{.state = RecordState::kUnknown}).first;
    }
    Record& record = found->second;
    if (!state_live(record, time)) record.state = RecordState::kUnknown;
    if (!pinned(record, time)) {
      record.pins.clear();
      record.pins_full = false;
    }
    if (std::find(record.pins.begin(), record.pins.end(), pin.tag) == record.pins.end()) {
      if (record.pins.size() < kPinsMax) {
        record.pins.push_back(pin.tag);
      } else {
        record.pins_full = true;  // never shortened again: the safe direction
      }
    }
    record.pinned_until = time + kUnsettledRecordTtl;
    if (record.state == RecordState::kDone || record.state == RecordState::kDeadLettered) {
      record.expires_at = std::max(record.expires_at, time + kUnsettledRecordTtl);
    }
  }
  return ok_status();
}

Status MemoryDedupeServer::retire(std::span<const CopyPin> pins, Milliseconds record_ttl) {
  HADR_TRY(validate_copy_pins("retire", pins));
  HADR_TRY(validate_ttl("record ttl", record_ttl, kMaxDedupeTtl));
  const std::lock_guard lock(mutex_);
  const WallTime time = now();
  for (const CopyPin& pin : pins) {
    const auto found = records_.find(pin.id);
    if (found == records_.end()) continue;
    Record& record = found->second;
    std::erase(record.pins, pin.tag);
    if (pinned(record, time)) continue;  // another copy is not settled yet
    if (!state_live(record, time)) {
      records_.erase(found);
      continue;
    }
    if (record.state == RecordState::kDone || record.state == RecordState::kDeadLettered) {
      record.expires_at = time + record_ttl;
    }
  }
  return ok_status();
}

Status MemoryDedupeServer::release(const MessageId& id, std::string_view claim_token) {
  HADR_TRY(validate_message_id(id));
  HADR_TRY(validate_claim_token(claim_token));
  const std::lock_guard lock(mutex_);
  const WallTime time = now();
  const auto found = records_.find(id);
  if (found == records_.end() || !state_live(found->second, time) ||
      found->second.state != RecordState::kClaimed || found->second.claim_token != claim_token) {
    return aborted(claim_lost(id));
  }
  if (pinned(found->second, time)) {
    found->second.state = RecordState::kUnknown;  // the pins stay
  } else {
    records_.erase(found);
  }
  return ok_status();
}

Result<std::vector<RecordState>> MemoryDedupeServer::lookup(std::span<const MessageId> ids) const {
  if (ids.size() > DedupeStore::kMaxLookupBatch) {
    return invalid_argument("lookup of " + std::to_string(ids.size()) + " ids; the maximum batch is " +
                            std::to_string(DedupeStore::kMaxLookupBatch));
  }
  for (const MessageId& id : ids) HADR_TRY(validate_message_id(id));
  const std::lock_guard lock(mutex_);
  const WallTime time = now();
  std::vector<RecordState> states;
  states.reserve(ids.size());
  for (const MessageId& id : ids) {
    const auto found = records_.find(id);
    const bool live = found != records_.end() && state_live(found->second, time);
    states.push_back(live ? found->second.state : RecordState::kUnknown);
  }
  HADR_ASSERT(states.size() == ids.size());
  return states;
}

Epoch MemoryDedupeServer::highest_epoch() const {
  const std::lock_guard lock(mutex_);
  return highest_epoch_;
}

void MemoryDedupeServer::expire_claim_early(const MessageId& id, std::string_view claim_token) {
  const std::lock_guard lock(mutex_);
  const WallTime time = now();
  const auto found = records_.find(id);
  if (found == records_.end() || found->second.state != RecordState::kClaimed ||
      found->second.claim_token != claim_token || !is_live(found->second.expires_at, time)) {
    return;
  }
  found->second.expires_at = time;
  HADR_ASSERT(!is_live(found->second.expires_at, time));
}

Status MemoryDedupeServer::make_room(WallTime time) {
  if (records_.size() < kMaxRecords) return ok_status();
  // One bounded pass (at most kMaxRecords entries) over what expired.
  std::erase_if(records_, [time](const auto& entry) { return !kept(entry.second, time); });
  if (records_.size() < kMaxRecords) return ok_status();
  return resource_exhausted("memory dedupe store holds " + std::to_string(kMaxRecords) +
                            " live records, its maximum; shorten the record TTL");
}

MemoryDedupeServer::Snapshot MemoryDedupeServer::snapshot() const {
  const std::lock_guard lock(mutex_);
  Snapshot copy;
  copy.records_ = records_;
  copy.highest_epoch_ = highest_epoch_;
  return copy;
}

void MemoryDedupeServer::restore(const Snapshot& snapshot) {
  const std::lock_guard lock(mutex_);
  records_ = snapshot.records_;
  highest_epoch_ = snapshot.highest_epoch_;
  // next_claim_number_ stays: tokens from before the restore must never match a new claim.
}

std::vector<DedupeRecordView> MemoryDedupeServer::records() const {
  const std::lock_guard lock(mutex_);
  const WallTime time = now();
  std::vector<DedupeRecordView> views;
  views.reserve(records_.size());
  for (const auto& [id, record] : records_) {
    views.push_back(DedupeRecordView{.id = id, .state = record.state, .live = state_live(record, time),
                                     .owner = record.owner, .epoch = record.epoch,
                                     .claim_token = record.claim_token, .expires_at = record.expires_at,
                                     .dead_letter_reason = record.dead_letter_reason,
                                     .pins = pinned(record, time) ? record.pins : std::vector<std::string>(),
                                     .pins_full = pinned(record, time) && record.pins_full});
  }
  return views;
}

Result<ClaimOutcome> MemoryDedupeStore::claim(const MessageId& id, std::string_view owner, Epoch epoch,
                                              Milliseconds claim_ttl) {
  HADR_TRY(admit("dedupe claim"));
  return confirm("dedupe claim", server_.claim(id, owner, epoch, claim_ttl));
}

Status MemoryDedupeStore::mark_done(const MessageId& id, std::string_view claim_token, Milliseconds record_ttl) {
  HADR_TRY(admit("dedupe mark_done"));
  maybe_expire_claim_early(id, claim_token);
  return confirm("dedupe mark_done", server_.mark_done(id, claim_token, record_ttl));
}

Status MemoryDedupeStore::mark_dead_lettered(const MessageId& id, std::string_view claim_token,
                                             std::string_view reason, Milliseconds record_ttl) {
  HADR_TRY(admit("dedupe mark_dead_lettered"));
  maybe_expire_claim_early(id, claim_token);
  return confirm("dedupe mark_dead_lettered", server_.mark_dead_lettered(id, claim_token, reason, record_ttl));
}

Status MemoryDedupeStore::release(const MessageId& id, std::string_view claim_token) {
  HADR_TRY(admit("dedupe release"));
  maybe_expire_claim_early(id, claim_token);
  return confirm("dedupe release", server_.release(id, claim_token));
}

Result<std::vector<RecordState>> MemoryDedupeStore::lookup(std::span<const MessageId> ids) {
  HADR_TRY(admit("dedupe lookup"));
  return server_.lookup(ids);
}

Status MemoryDedupeStore::pin(std::span<const CopyPin> pins) {
  HADR_TRY(admit("dedupe pin"));
  return confirm("dedupe pin", server_.pin(pins));
}

Status MemoryDedupeStore::retire(std::span<const CopyPin> pins, Milliseconds record_ttl) {
  HADR_TRY(admit("dedupe retire"));
  return server_.retire(pins, record_ttl);
}

Result<Epoch> MemoryDedupeStore::highest_epoch() {
  HADR_TRY(admit("dedupe highest_epoch"));
  return server_.highest_epoch();
}

void MemoryDedupeStore::maybe_expire_claim_early(const MessageId& id, std::string_view claim_token) {
  if (fire(FaultSite::kClaimExpiresEarly)) server_.expire_claim_early(id, claim_token);
}

}  // namespace hadr
