#include "memory/memory_source.h"

#include <set>

#include "core/assert.h"
#include "contracts/validation.h"

namespace hadr {
namespace {

Status validate_put_batch(std::span<const SourceMessage> batch) {
  if (batch.size() > Source::kMaxBatch) {
    return invalid_argument("source put batch of " + std::to_string(batch.size()) + " messages; the maximum is " +
                            std::to_string(Source::kMaxBatch));
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const SourceMessage& message = batch[i];
    const std::string where = "source message " + std::to_string(i) + " of the batch";
    if (message.id.empty()) return invalid_argument(where + " has an empty id; give it the producer's stable id");
    // The relay must be able to publish what the source accepted, so the bus's limit applies.
    if (message.body.size() > Bus::kMaxBodyBytes) {
      return invalid_argument(where + " ('" + message.id.str() + "') has a " +
                              std::to_string(message.body.size()) + "-byte body; the maximum is " +
                              std::to_string(Bus::kMaxBodyBytes));
    }
    HADR_TRY(validate_message_properties(where + " headers", message.headers));
  }
  return ok_status();
}

Status validate_ack_batch(std::span<const std::string> ack_handles) {
  if (ack_handles.size() > Source::kMaxBatch) {
    return invalid_argument("ack of " + std::to_string(ack_handles.size()) + " handles; the maximum is " +
                            std::to_string(Source::kMaxBatch));
  }
  std::set<std::string_view> distinct;
  for (const std::string& handle : ack_handles) {
    HADR_TRY(validate_printable("ack handle", handle, kMaxNameBytes));
    if (!distinct.insert(handle).second) return invalid_argument("ack handle " + handle + " is listed twice");
  }
  return ok_status();
}

}  // namespace

MemorySourceServer::MemorySourceServer(const Clock& clock, std::string source_name)
    : clock_(clock), source_name_(std::move(source_name)) {
  HADR_ASSERT_MSG(is_server_name(source_name_), "source name '%s' must be 1..64 of [A-Za-z0-9._-]",
                  source_name_.c_str());
}

Status MemorySourceServer::put(std::span<const SourceMessage> batch) {
  HADR_TRY(validate_put_batch(batch));
  const std::lock_guard lock(mutex_);
  const WallTime time = now();
  if (entries_.size() + batch.size() > kMaxMessages) {
    return resource_exhausted("memory source '" + source_name_ + "' holds " + std::to_string(entries_.size()) +
                              " messages; a batch of " + std::to_string(batch.size()) + " would pass the maximum of " +
                              std::to_string(kMaxMessages) + "; let the relay drain it and retry");
  }
  for (const SourceMessage& message : batch) {
    const std::uint64_t sequence = next_sequence_++;
    Entry entry{.message = message};
    entry.message.source_ref = source_name_ + "@" + std::to_string(sequence);
    entry.message.enqueued_at = time;
    entry.message.ack_handle.clear();
    entries_.emplace(sequence, std::move(entry));
    visible_.insert(sequence);
  }
  return ok_status();
}

Result<std::vector<SourceMessage>> MemorySourceServer::receive(std::string_view consumer, std::size_t max,
                                                               Milliseconds visibility_timeout,
                                                               bool duplicate_delivery) {
  HADR_TRY(validate_printable("source consumer", consumer, kMaxNameBytes));
  HADR_TRY(validate_batch_size("source receive max", max, Source::kMaxBatch));
  HADR_TRY(validate_ttl("visibility timeout", visibility_timeout, kMaxVisibilityTimeout));
  const std::lock_guard lock(mutex_);
  const WallTime time = now();
  apply_expiries(time);
  std::vector<std::uint64_t> chosen;
  if (duplicate_delivery && !in_flight_by_deadline_.empty()) {
    const std::uint64_t stolen = in_flight_by_deadline_.begin()->second;
    make_visible(stolen);
    chosen.push_back(stolen);
  }
  for (const std::uint64_t sequence : visible_) {
    if (chosen.size() >= max) break;
    if (chosen.empty() || chosen.front() != sequence) chosen.push_back(sequence);
  }
  std::vector<SourceMessage> received;
  received.reserve(chosen.size());
  for (const std::uint64_t sequence : chosen) {
    Entry& entry = entries_.at(sequence);
    HADR_ASSERT(entry.message.ack_handle.empty());
    visible_.erase(sequence);
    entry.consumer = std::string(consumer);
    entry.visible_at = time + visibility_timeout;
    entry.message.ack_handle = source_name_ + ":" + std::to_string(next_handle_number_++);
    in_flight_by_deadline_.emplace(entry.visible_at, sequence);
    sequence_by_handle_.emplace(entry.message.ack_handle, sequence);
    received.push_back(entry.message);
  }
  HADR_ASSERT(received.size() <= max);
  return received;
}

Status MemorySourceServer::ack(std::string_view consumer, std::span<const std::string> ack_handles) {
  HADR_TRY(validate_ack_batch(ack_handles));
  const std::lock_guard lock(mutex_);
  apply_expiries(now());
  std::vector<std::uint64_t> acked;
  acked.reserve(ack_handles.size());
  for (const std::string& handle : ack_handles) {
    const auto found = sequence_by_handle_.find(handle);
    if (found == sequence_by_handle_.end() || entries_.at(found->second).consumer != consumer) {
      // All or nothing, as one transaction of a real queue manager: the caller learns the
      // batch failed and every message in it stays where it was.
      return aborted("ack handle " + handle + " of consumer '" + std::string(consumer) +
                     "' is unknown, expired or already acked; nothing in this batch was acked, and that message "
                     "may already be redelivered");
    }
    acked.push_back(found->second);
  }
  for (const std::uint64_t sequence : acked) {
    const Entry& entry = entries_.at(sequence);
    in_flight_by_deadline_.erase({entry.visible_at, sequence});
    sequence_by_handle_.erase(entry.message.ack_handle);
    entries_.erase(sequence);
  }
  acked_ += acked.size();
  HADR_ASSERT(acked.size() == ack_handles.size());
  return ok_status();
}

std::uint64_t MemorySourceServer::depth() {
  const std::lock_guard lock(mutex_);
  apply_expiries(now());
  HADR_ASSERT(visible_.size() + in_flight_by_deadline_.size() == entries_.size());
  return entries_.size();
}

Status MemorySourceServer::open_consumer(std::string_view consumer) {
  HADR_TRY(validate_printable("source consumer", consumer, kMaxNameBytes));
  const std::lock_guard lock(mutex_);
  std::vector<std::uint64_t> released;
  for (const auto& [deadline, sequence] : in_flight_by_deadline_) {
    if (entries_.at(sequence).consumer == consumer) released.push_back(sequence);
  }
  for (const std::uint64_t sequence : released) make_visible(sequence);
  return ok_status();
}

void MemorySourceServer::expire_handle_early(std::string_view ack_handle) {
  const std::lock_guard lock(mutex_);
  apply_expiries(now());
  const auto found = sequence_by_handle_.find(ack_handle);
  if (found != sequence_by_handle_.end()) make_visible(found->second);
}

std::vector<SourceMessage> MemorySourceServer::messages() {
  const std::lock_guard lock(mutex_);
  apply_expiries(now());
  std::vector<SourceMessage> pending;
  pending.reserve(entries_.size());
  for (const auto& [sequence, entry] : entries_) pending.push_back(entry.message);
  return pending;
}

std::uint64_t MemorySourceServer::acked_count() const {
  const std::lock_guard lock(mutex_);
  return acked_;
}

void MemorySourceServer::apply_expiries(WallTime time) {
  // Bounded: each pass makes one in-flight message visible; at most kMaxMessages are in flight.
  while (!in_flight_by_deadline_.empty() && in_flight_by_deadline_.begin()->first <= time) {
    make_visible(in_flight_by_deadline_.begin()->second);
  }
}

void MemorySourceServer::make_visible(std::uint64_t sequence) {
  Entry& entry = entries_.at(sequence);
  HADR_ASSERT(!entry.message.ack_handle.empty());
  in_flight_by_deadline_.erase({entry.visible_at, sequence});
  sequence_by_handle_.erase(entry.message.ack_handle);
  entry.message.ack_handle.clear();
  entry.consumer.clear();
  visible_.insert(sequence);
}

Result<std::unique_ptr<MemorySource>> MemorySource::open(MemorySourceServer& server, std::string_view consumer,
                                                         Milliseconds visibility_timeout, FaultInjector* faults) {
  HADR_TRY(validate_ttl("visibility timeout", visibility_timeout, kMaxVisibilityTimeout));
  HADR_TRY(server.open_consumer(consumer));
  return std::unique_ptr<MemorySource>(new MemorySource(server, std::string(consumer), visibility_timeout, faults));
}

Status MemorySource::put(std::span<const SourceMessage> batch) {
  HADR_TRY(admit("source put"));
  return confirm("source put", server_.put(batch));
}

Result<std::vector<SourceMessage>> MemorySource::receive(std::size_t max) {
  HADR_TRY(admit("source receive"));
  const bool duplicate_delivery = fire(FaultSite::kDuplicateDelivery);
  return confirm("source receive", server_.receive(consumer_, max, visibility_timeout_, duplicate_delivery));
}

Status MemorySource::ack(std::span<const std::string> ack_handles) {
  HADR_TRY(admit("source ack"));
  if (!ack_handles.empty() && fire(FaultSite::kLockExpiresEarly)) server_.expire_handle_early(ack_handles.front());
  return confirm("source ack", server_.ack(consumer_, ack_handles));
}

Result<std::uint64_t> MemorySource::depth() {
  HADR_TRY(admit("source depth"));
  return server_.depth();
}

}  // namespace hadr
