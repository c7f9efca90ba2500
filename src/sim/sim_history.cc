#include "sim/sim_history.h"

#include "core/assert.h"

namespace hadr::sim {

std::string_view write_kind_name(WriteEvent::Kind kind) {
  switch (kind) {
    case WriteEvent::Kind::kWalAppend: return "wal_append";
    case WriteEvent::Kind::kPublish: return "publish";
    case WriteEvent::Kind::kPromote: return "promote";
    case WriteEvent::Kind::kClaim: return "claim";
    case WriteEvent::Kind::kSourceAck: return "source_ack";
    case WriteEvent::Kind::kCoordPut: return "coord_put";
  }
  HADR_UNREACHABLE();
}

void RarePathCounts::add(const RarePathCounts& other) {
  torn_tail += other.torn_tail;
  wal_repair += other.wal_repair;
  stale_epoch_rejection += other.stale_epoch_rejection;
  lease_steal += other.lease_steal;
  replay += other.replay;
  dead_letter += other.dead_letter;
  switchover += other.switchover;
  known_finding += other.known_finding;
}

void SimHistory::add_write(WriteEvent event) {
  HADR_ASSERT(!event.region.empty());
  if (room(writes_)) writes_.push_back(std::move(event));
}

void SimHistory::add_effect(EffectEvent event) {
  HADR_ASSERT(!event.id.empty());
  digest("effect " + event.id + " " + event.region);
  if (room(effects_)) effects_.push_back(std::move(event));
}

void SimHistory::add_claim(ClaimEvent event) {
  if (room(claims_)) claims_.push_back(std::move(event));
}

void SimHistory::add_recovery(RecoveryEvent event) {
  digest("recovery " + event.region + " " + std::to_string(event.durable_after));
  if (room(recoveries_)) recoveries_.push_back(std::move(event));
}

void SimHistory::add_alert(std::string region, std::string event, std::int64_t at_ms) {
  digest("alert " + region + " " + event + " " + std::to_string(at_ms));
  if (room(alerts_)) alerts_.emplace_back(std::move(region), std::move(event));
}

void SimHistory::add_violation(std::string invariant, std::string detail) {
  HADR_ASSERT(!invariant.empty());
  if (room(violations_)) violations_.push_back(Violation{std::move(invariant), std::move(detail)});
}

void SimHistory::digest(std::string_view text) {
  // FNV-1a: stable across platforms and runs (std::hash is not guaranteed to be).
  for (unsigned char byte : text) {
    hash_ ^= byte;
    hash_ *= 0x100000001b3ULL;
  }
  hash_ ^= 0xff;
  hash_ *= 0x100000001b3ULL;
}

}  // namespace hadr::sim
