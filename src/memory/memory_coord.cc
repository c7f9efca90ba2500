#include "memory/memory_coord.h"

#include "core/assert.h"
#include "contracts/validation.h"
#include "memory/expiry.h"

namespace hadr {
namespace {

Status validate_write(const CoordPut& write) {
  HADR_TRY(validate_printable("coord key", write.key, kMaxCoordKeyBytes));
  if (write.value.size() > Coord::kMaxValueBytes) {
    return invalid_argument("coord value of '" + write.key + "' is " + std::to_string(write.value.size()) +
                            " bytes; the maximum is " + std::to_string(Coord::kMaxValueBytes));
  }
  if (write.ttl != Milliseconds(0)) HADR_TRY(validate_ttl("coord ttl (0 = no expiry)", write.ttl, kMaxCoordTtl));
  return ok_status();
}

Status validate_prefix(std::string_view prefix) {
  if (prefix.empty()) return ok_status();
  return validate_printable("coord list prefix", prefix, kMaxCoordKeyBytes);
}

}  // namespace

Result<CoordRecord> MemoryCoordServer::put(const CoordPut& write) {
  HADR_TRY(validate_write(write));
  const std::lock_guard lock(mutex_);
  const WallTime time = now();
  auto found = records_.find(write.key);
  if (found != records_.end() && !live(found->second, time)) {
    records_.erase(found);
    found = records_.end();
  }
  HADR_TRY(check_condition(write, found == records_.end() ? nullptr : &found->second));
  if (found == records_.end()) {
    HADR_TRY(make_room(time));
    found = records_.emplace(write.key, Stored{}).first;
  }
  Stored& stored = found->second;
  stored.value = write.value;
  ++stored.version;
  stored.epoch = write.epoch;
  stored.expires_at = write.ttl == Milliseconds(0) ? std::nullopt : std::optional<WallTime>(time + write.ttl);
  HADR_ASSERT(stored.version >= 1);
  return view(found->first, stored, time);
}

Result<std::optional<CoordRecord>> MemoryCoordServer::get(std::string_view key) const {
  HADR_TRY(validate_printable("coord key", key, kMaxCoordKeyBytes));
  const std::lock_guard lock(mutex_);
  const WallTime time = now();
  const auto found = records_.find(key);
  if (found == records_.end() || !live(found->second, time)) return std::optional<CoordRecord>();
  return std::optional<CoordRecord>(view(found->first, found->second, time));
}

Result<std::vector<CoordRecord>> MemoryCoordServer::list(std::string_view prefix) const {
  HADR_TRY(validate_prefix(prefix));
  const std::lock_guard lock(mutex_);
  const WallTime time = now();
  std::vector<CoordRecord> listed;
  for (auto position = records_.lower_bound(prefix);
       position != records_.end() && position->first.starts_with(prefix) && listed.size() < Coord::kMaxList;
       ++position) {
    if (live(position->second, time)) listed.push_back(view(position->first, position->second, time));
  }
  HADR_ASSERT(listed.size() <= Coord::kMaxList);
  return listed;
}

Status MemoryCoordServer::remove(std::string_view key) {
  HADR_TRY(validate_printable("coord key", key, kMaxCoordKeyBytes));
  const std::lock_guard lock(mutex_);
  const auto found = records_.find(key);
  if (found != records_.end()) records_.erase(found);
  return ok_status();
}

MemoryCoordServer::Snapshot MemoryCoordServer::snapshot() const {
  const std::lock_guard lock(mutex_);
  Snapshot copy;
  copy.records_ = records_;
  return copy;
}

void MemoryCoordServer::restore(const Snapshot& snapshot) {
  const std::lock_guard lock(mutex_);
  records_ = snapshot.records_;
}

bool MemoryCoordServer::live(const Stored& stored, WallTime time) {
  return !stored.expires_at.has_value() || is_live(*stored.expires_at, time);
}

CoordRecord MemoryCoordServer::view(const std::string& key, const Stored& stored, WallTime time) {
  HADR_ASSERT(live(stored, time));
  return CoordRecord{.key = key, .value = stored.value, .version = stored.version, .epoch = stored.epoch,
                     .remaining = stored.expires_at ? remaining_until(*stored.expires_at, time) : Milliseconds(0)};
}

Status MemoryCoordServer::check_condition(const CoordPut& write, const Stored* current) {
  const std::uint64_t current_version = current == nullptr ? 0 : current->version;
  const Epoch current_epoch = current == nullptr ? Epoch{} : current->epoch;
  bool holds = true;
  switch (write.condition) {
    case CoordCondition::kNone:
      break;
    case CoordCondition::kVersionEquals:
      holds = current_version == write.expected_version;
      break;
    case CoordCondition::kEpochAtLeast:
      // The fencing rule: a lower epoch never overwrites a higher one.
      holds = current == nullptr || current_epoch <= write.epoch;
      break;
  }
  if (holds) return ok_status();
  return aborted("coord put of '" + write.key + "' refused: its condition does not hold; the record " +
                 (current == nullptr ? std::string("does not exist")
                                     : "is at version " + std::to_string(current_version) + " with epoch " +
                                           std::to_string(current_epoch.value)) +
                 " (the write asked for " +
                 (write.condition == CoordCondition::kVersionEquals
                      ? "version " + std::to_string(write.expected_version)
                      : "a stored epoch <= " + std::to_string(write.epoch.value)) +
                 "); re-read and decide again");
}

Status MemoryCoordServer::make_room(WallTime time) {
  if (records_.size() < kMaxRecords) return ok_status();
  // One bounded pass (at most kMaxRecords entries) over what expired.
  std::erase_if(records_, [time](const auto& entry) { return !live(entry.second, time); });
  if (records_.size() < kMaxRecords) return ok_status();
  return resource_exhausted("memory coord store holds " + std::to_string(kMaxRecords) +
                            " live records, its maximum; remove some");
}

Result<CoordRecord> MemoryCoord::put(const CoordPut& write) {
  HADR_TRY(admit("coord put"));
  return confirm("coord put", server_.put(write));
}

Result<std::optional<CoordRecord>> MemoryCoord::get(std::string_view key) {
  HADR_TRY(admit("coord get"));
  return server_.get(key);
}

Result<std::vector<CoordRecord>> MemoryCoord::list(std::string_view prefix) {
  HADR_TRY(admit("coord list"));
  return server_.list(prefix);
}

Status MemoryCoord::remove(std::string_view key) {
  HADR_TRY(admit("coord remove"));
  return confirm("coord remove", server_.remove(key));
}

}  // namespace hadr
