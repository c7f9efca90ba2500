#include "memory/memory_bus.h"

#include <iterator>

#include "core/assert.h"
#include "contracts/validation.h"

namespace hadr {
namespace {

constexpr std::string_view kMaxDeliveryCountExceeded = "MaxDeliveryCountExceeded";

Status validate_message(const BusMessage& message, std::size_t index) {
  const std::string where = "bus message " + std::to_string(index) + " of the batch";
  if (message.id.empty()) return invalid_argument(where + " has an empty id; give it the message's stable id");
  if (message.body.size() > Bus::kMaxBodyBytes) {
    return invalid_argument(where + " ('" + message.id.str() + "') has a " + std::to_string(message.body.size()) +
                            "-byte body; the maximum is " + std::to_string(Bus::kMaxBodyBytes));
  }
  return validate_message_properties(where + " properties", message.properties);
}

Status validate_lock_token(std::string_view lock_token) {
  return validate_printable("lock token", lock_token, kMaxNameBytes);
}

Status validate_send_batch(std::string_view queue, std::span<const BusMessage> batch) {
  HADR_TRY(validate_queue_name(queue, QueueNameUse::kCreateOrSend));
  if (batch.size() > Bus::kMaxSendBatch) {
    return invalid_argument("send batch of " + std::to_string(batch.size()) + " messages; the maximum is " +
                            std::to_string(Bus::kMaxSendBatch));
  }
  for (std::size_t i = 0; i < batch.size(); ++i) HADR_TRY(validate_message(batch[i], i));
  return ok_status();
}

}  // namespace

MemoryBusServer::MemoryBusServer(const Clock& clock, std::string namespace_name)
    : clock_(clock), namespace_name_(std::move(namespace_name)) {
  HADR_ASSERT_MSG(is_server_name(namespace_name_), "bus namespace name '%s' must be 1..64 of [A-Za-z0-9._-]",
                  namespace_name_.c_str());
}

Status MemoryBusServer::create_queue(std::string_view queue, const QueueOptions& options) {
  HADR_TRY(validate_queue_name(queue, QueueNameUse::kCreateOrSend));
  HADR_TRY(validate_queue_options(options));
  const std::lock_guard lock(mutex_);
  if (queues_.contains(queue)) return ok_status();  // idempotent; the existing options are kept
  if (queue_count_ >= kMaxQueues) {
    return resource_exhausted("memory bus namespace '" + namespace_name_ + "' holds " + std::to_string(kMaxQueues) +
                              " queues, its maximum");
  }
  const std::string dead_letter_name = dead_letter_queue(queue);
  Queue& dead_letter = queues_[dead_letter_name];
  dead_letter.name = dead_letter_name;
  Queue& created = queues_[std::string(queue)];
  created.name = std::string(queue);
  created.options = options;
  created.dead_letter = &dead_letter;
  ++queue_count_;
  return ok_status();
}

Status MemoryBusServer::send(std::string_view queue, std::span<const BusMessage> batch) {
  HADR_TRY(validate_send_batch(queue, batch));
  const std::lock_guard lock(mutex_);
  HADR_ASSIGN_OR_RETURN(Queue * target, open_queue(queue, now()));
  HADR_ASSERT(target->dead_letter != nullptr);  // validate_queue_name refused dead-letter names
  const std::size_t held = target->messages.size() + target->dead_letter->messages.size();
  if (held + batch.size() > kMaxMessagesPerQueue) {
    return resource_exhausted("memory bus queue '" + target->name + "' holds " + std::to_string(held) +
                              " messages (dead-lettered included); a batch of " + std::to_string(batch.size()) +
                              " would pass the maximum of " + std::to_string(kMaxMessagesPerQueue) +
                              "; drain it and retry");
  }
  for (const BusMessage& message : batch) {
    const std::uint64_t sequence = next_sequence_++;
    target->messages.emplace(sequence, Stored{.message = message});
    target->available.insert(sequence);
  }
  target->sent += batch.size();
  return ok_status();
}

Result<std::vector<ReceivedMessage>> MemoryBusServer::receive(std::string_view queue, std::size_t max,
                                                              Milliseconds lock_duration, bool duplicate_delivery) {
  HADR_TRY(validate_queue_name(queue, QueueNameUse::kReceiveOrSettle));
  HADR_TRY(validate_batch_size("receive max", max, Bus::kMaxReceiveBatch));
  HADR_TRY(validate_ttl("lock duration", lock_duration, kMaxLockDuration));
  const std::lock_guard lock(mutex_);
  const WallTime time = now();
  HADR_ASSIGN_OR_RETURN(Queue * source, open_queue(queue, time));
  std::vector<std::uint64_t> chosen;
  if (duplicate_delivery && !source->locks_by_expiry.empty()) {
    const std::uint64_t stolen = source->locks_by_expiry.begin()->second;
    end_lock(*source, stolen, time);
    if (source->available.contains(stolen)) chosen.push_back(stolen);
  }
  for (const std::uint64_t sequence : source->available) {
    if (chosen.size() >= max) break;
    if (chosen.empty() || chosen.front() != sequence) chosen.push_back(sequence);
  }
  std::vector<ReceivedMessage> received;
  received.reserve(chosen.size());
  for (const std::uint64_t sequence : chosen) received.push_back(deliver(*source, sequence, lock_duration, time));
  HADR_ASSERT(received.size() <= max);
  return received;
}

Status MemoryBusServer::complete(std::string_view queue, std::string_view lock_token) {
  HADR_TRY(validate_queue_name(queue, QueueNameUse::kReceiveOrSettle));
  HADR_TRY(validate_lock_token(lock_token));
  const std::lock_guard lock(mutex_);
  HADR_ASSIGN_OR_RETURN(Queue * source, open_queue(queue, now()));
  HADR_ASSIGN_OR_RETURN(const std::uint64_t sequence, locked_message(*source, lock_token));
  drop_lock(*source, source->messages.at(sequence));
  source->messages.erase(sequence);
  ++source->completed;
  return ok_status();
}

Status MemoryBusServer::abandon(std::string_view queue, std::string_view lock_token) {
  HADR_TRY(validate_queue_name(queue, QueueNameUse::kReceiveOrSettle));
  HADR_TRY(validate_lock_token(lock_token));
  const std::lock_guard lock(mutex_);
  const WallTime time = now();
  HADR_ASSIGN_OR_RETURN(Queue * source, open_queue(queue, time));
  HADR_ASSIGN_OR_RETURN(const std::uint64_t sequence, locked_message(*source, lock_token));
  end_lock(*source, sequence, time);
  return ok_status();
}

Status MemoryBusServer::dead_letter(std::string_view queue, std::string_view lock_token, std::string_view reason) {
  HADR_TRY(validate_queue_name(queue, QueueNameUse::kReceiveOrSettle));
  HADR_TRY(validate_lock_token(lock_token));
  HADR_TRY(validate_reason("dead-letter reason", reason));
  const std::lock_guard lock(mutex_);
  const WallTime time = now();
  HADR_ASSIGN_OR_RETURN(Queue * source, open_queue(queue, time));
  if (source->dead_letter == nullptr) {
    return invalid_argument("'" + source->name + "' is a dead-letter queue; complete its messages instead");
  }
  HADR_ASSIGN_OR_RETURN(const std::uint64_t sequence, locked_message(*source, lock_token));
  drop_lock(*source, source->messages.at(sequence));
  move_to_dead_letter(*source, sequence, reason, time);
  return ok_status();
}

Result<WallTime> MemoryBusServer::renew_lock(std::string_view queue, std::string_view lock_token,
                                             Milliseconds lock_duration) {
  HADR_TRY(validate_queue_name(queue, QueueNameUse::kReceiveOrSettle));
  HADR_TRY(validate_lock_token(lock_token));
  HADR_TRY(validate_ttl("lock duration", lock_duration, kMaxLockDuration));
  const std::lock_guard lock(mutex_);
  const WallTime time = now();
  HADR_ASSIGN_OR_RETURN(Queue * source, open_queue(queue, time));
  HADR_ASSIGN_OR_RETURN(const std::uint64_t sequence, locked_message(*source, lock_token));
  Stored& stored = source->messages.at(sequence);
  source->locks_by_expiry.erase({stored.locked_until, sequence});
  stored.locked_until = time + lock_duration;
  source->locks_by_expiry.emplace(stored.locked_until, sequence);
  return stored.locked_until;
}

Result<QueueDepth> MemoryBusServer::depth(std::string_view queue) {
  HADR_TRY(validate_queue_name(queue, QueueNameUse::kReceiveOrSettle));
  const std::lock_guard lock(mutex_);
  HADR_ASSIGN_OR_RETURN(Queue * source, open_queue(queue, now()));
  QueueDepth depth{.available = source->available.size(), .locked = source->locks_by_expiry.size()};
  if (source->dead_letter != nullptr) depth.dead_lettered = source->dead_letter->messages.size();
  HADR_ASSERT(depth.available + depth.locked == source->messages.size());
  return depth;
}

void MemoryBusServer::expire_lock_early(std::string_view queue, std::string_view lock_token) {
  const std::lock_guard lock(mutex_);
  const WallTime time = now();
  auto opened = open_queue(queue, time);
  if (!opened.ok()) return;
  auto sequence = locked_message(**opened, lock_token);
  if (sequence.ok()) end_lock(**opened, *sequence, time);
}

bool MemoryBusServer::lose_message(std::string_view queue, std::uint64_t index) {
  const std::lock_guard lock(mutex_);
  auto opened = open_queue(queue, now());
  if (!opened.ok() || (*opened)->messages.empty()) return false;
  Queue& source = **opened;
  auto victim = source.messages.begin();
  std::advance(victim, static_cast<std::ptrdiff_t>(index % source.messages.size()));
  if (!victim->second.lock_token.empty()) drop_lock(source, victim->second);
  source.available.erase(victim->first);
  source.messages.erase(victim);
  return true;
}

void MemoryBusServer::restart_empty() {
  const std::lock_guard lock(mutex_);
  for (auto& [name, queue] : queues_) {
    queue.messages.clear();
    queue.available.clear();
    queue.locks_by_expiry.clear();
    queue.sequence_by_token.clear();
  }
}

std::vector<BusQueueCounts> MemoryBusServer::queue_counts() {
  const std::lock_guard lock(mutex_);
  const WallTime time = now();
  std::vector<BusQueueCounts> counts;
  counts.reserve(queues_.size());
  for (auto& [name, queue] : queues_) {
    apply_expiries(queue, time);
    QueueDepth depth{.available = queue.available.size(), .locked = queue.locks_by_expiry.size()};
    if (queue.dead_letter != nullptr) depth.dead_lettered = queue.dead_letter->messages.size();
    counts.push_back(BusQueueCounts{.queue = name, .depth = depth, .sent = queue.sent, .delivered = queue.delivered,
                                    .completed = queue.completed});
  }
  return counts;
}

std::vector<DeadLetterEvent> MemoryBusServer::dead_letter_log() const {
  const std::lock_guard lock(mutex_);
  return {dead_letter_log_.begin(), dead_letter_log_.end()};
}

std::uint64_t MemoryBusServer::dead_letter_log_dropped() const {
  const std::lock_guard lock(mutex_);
  return dead_letter_log_dropped_;
}

Result<std::vector<StoredBusMessage>> MemoryBusServer::messages(std::string_view queue) {
  HADR_TRY(validate_queue_name(queue, QueueNameUse::kReceiveOrSettle));
  const std::lock_guard lock(mutex_);
  HADR_ASSIGN_OR_RETURN(Queue * source, open_queue(queue, now()));
  std::vector<StoredBusMessage> held;
  held.reserve(source->messages.size());
  for (const auto& [sequence, stored] : source->messages) {
    held.push_back(StoredBusMessage{.message = stored.message, .locked = !stored.lock_token.empty(),
                                    .delivery_count = stored.delivery_count,
                                    .dead_letter_reason = stored.dead_letter_reason});
  }
  return held;
}

Result<MemoryBusServer::Queue*> MemoryBusServer::open_queue(std::string_view queue, WallTime time) {
  const auto found = queues_.find(queue);
  if (found == queues_.end()) {
    return not_found("queue '" + std::string(queue) + "' does not exist in bus namespace '" + namespace_name_ +
                     "'; create it first");
  }
  Queue& opened = found->second;
  apply_expiries(opened, time);
  HADR_ASSERT(opened.locks_by_expiry.empty() || opened.locks_by_expiry.begin()->first > time);
  return &opened;
}

void MemoryBusServer::apply_expiries(Queue& queue, WallTime time) {
  // Bounded: each pass ends one lock, and a queue holds at most kMaxMessagesPerQueue locks.
  while (!queue.locks_by_expiry.empty() && queue.locks_by_expiry.begin()->first <= time) {
    const auto [locked_until, sequence] = *queue.locks_by_expiry.begin();
    end_lock(queue, sequence, locked_until);
  }
}

Result<std::uint64_t> MemoryBusServer::locked_message(const Queue& queue, std::string_view lock_token) const {
  const auto found = queue.sequence_by_token.find(lock_token);
  if (found == queue.sequence_by_token.end()) {
    return aborted("lock lost: token '" + std::string(lock_token) + "' is not a live lock in queue '" + queue.name +
                   "' (expired, settled or unknown); the message may be with another receiver");
  }
  return found->second;
}

ReceivedMessage MemoryBusServer::deliver(Queue& queue, std::uint64_t sequence, Milliseconds lock_duration,
                                         WallTime time) {
  Stored& stored = queue.messages.at(sequence);
  HADR_ASSERT(stored.lock_token.empty() && queue.available.contains(sequence));
  queue.available.erase(sequence);
  ++stored.delivery_count;
  stored.lock_token = namespace_name_ + ":" + std::to_string(next_lock_number_++);
  stored.locked_until = time + lock_duration;
  queue.locks_by_expiry.emplace(stored.locked_until, sequence);
  queue.sequence_by_token.emplace(stored.lock_token, sequence);
  ++queue.delivered;
  return ReceivedMessage{.message = stored.message, .lock_token = stored.lock_token,
                         .delivery_count = stored.delivery_count, .locked_until = stored.locked_until,
                         .dead_letter_reason = stored.dead_letter_reason};
}

void MemoryBusServer::drop_lock(Queue& queue, Stored& stored) {
  HADR_ASSERT(!stored.lock_token.empty());
  const auto token = queue.sequence_by_token.find(stored.lock_token);
  HADR_ASSERT(token != queue.sequence_by_token.end());
  queue.locks_by_expiry.erase({stored.locked_until, token->second});
  queue.sequence_by_token.erase(token);
  stored.lock_token.clear();
}

void MemoryBusServer::end_lock(Queue& queue, std::uint64_t sequence, WallTime at) {
  Stored& stored = queue.messages.at(sequence);
  drop_lock(queue, stored);
  const bool exhausted = queue.dead_letter != nullptr && stored.delivery_count >= queue.options.max_delivery_count;
  if (exhausted) {
    move_to_dead_letter(queue, sequence, kMaxDeliveryCountExceeded, at);
  } else {
    queue.available.insert(sequence);
  }
}

void MemoryBusServer::move_to_dead_letter(Queue& queue, std::uint64_t sequence, std::string_view reason,
                                          WallTime at) {
  HADR_ASSERT(queue.dead_letter != nullptr);
  auto node = queue.messages.extract(sequence);
  HADR_ASSERT(!node.empty() && node.mapped().lock_token.empty());
  Stored& stored = node.mapped();
  if (dead_letter_log_.size() >= kMaxDeadLetterLog) {
    dead_letter_log_.pop_front();
    ++dead_letter_log_dropped_;
  }
  dead_letter_log_.push_back(DeadLetterEvent{.queue = queue.name, .message = stored.message,
                                             .reason = std::string(reason),
                                             .delivery_count = stored.delivery_count, .at = at});
  // In the dead-letter queue it is a fresh message: its own deliveries count from 1 again.
  stored.dead_letter_reason = std::string(reason);
  stored.delivery_count = 0;
  node.key() = next_sequence_++;
  const std::uint64_t dead_sequence = node.key();
  queue.dead_letter->messages.insert(std::move(node));
  queue.dead_letter->available.insert(dead_sequence);
  ++queue.dead_letter->sent;
}

Status MemoryBus::create_queue(std::string_view queue, const QueueOptions& options) {
  HADR_TRY(admit("bus create_queue"));
  return confirm("bus create_queue", server_.create_queue(queue, options));
}

Status MemoryBus::send(std::string_view queue, std::span<const BusMessage> batch) {
  HADR_TRY(admit("bus send"));
  return confirm("bus send", server_.send(queue, batch));
}

Result<std::vector<ReceivedMessage>> MemoryBus::receive(std::string_view queue, std::size_t max,
                                                       Milliseconds lock_duration) {
  HADR_TRY(admit("bus receive"));
  const bool duplicate_delivery = fire(FaultSite::kDuplicateDelivery);
  return confirm("bus receive", server_.receive(queue, max, lock_duration, duplicate_delivery));
}

Status MemoryBus::complete(std::string_view queue, std::string_view lock_token) {
  HADR_TRY(admit("bus complete"));
  maybe_expire_lock_early(queue, lock_token);
  return confirm("bus complete", server_.complete(queue, lock_token));
}

Status MemoryBus::abandon(std::string_view queue, std::string_view lock_token) {
  HADR_TRY(admit("bus abandon"));
  maybe_expire_lock_early(queue, lock_token);
  return confirm("bus abandon", server_.abandon(queue, lock_token));
}

Status MemoryBus::dead_letter(std::string_view queue, std::string_view lock_token, std::string_view reason) {
  HADR_TRY(admit("bus dead_letter"));
  maybe_expire_lock_early(queue, lock_token);
  return confirm("bus dead_letter", server_.dead_letter(queue, lock_token, reason));
}

Result<WallTime> MemoryBus::renew_lock(std::string_view queue, std::string_view lock_token,
                                       Milliseconds lock_duration) {
  HADR_TRY(admit("bus renew_lock"));
  maybe_expire_lock_early(queue, lock_token);
  return confirm("bus renew_lock", server_.renew_lock(queue, lock_token, lock_duration));
}

Result<QueueDepth> MemoryBus::depth(std::string_view queue) {
  HADR_TRY(admit("bus depth"));
  return server_.depth(queue);
}

void MemoryBus::maybe_expire_lock_early(std::string_view queue, std::string_view lock_token) {
  if (fire(FaultSite::kLockExpiresEarly)) server_.expire_lock_early(queue, lock_token);
}

}  // namespace hadr
