#include "amqp/amqp_bus.h"

#include <algorithm>

#include "amqp/amqp_address.h"
#include "contracts/validation.h"
#include "core/assert.h"

namespace hadr::amqp {

namespace {

// Distinguishes the lock tokens of bus objects in one process (tokens are only ever valid in
// the object that made them; this keeps them unique in logs too).
std::atomic<std::uint64_t> instances_made{0};

const std::string kDeadLetterSuffix = dead_letter_queue("");

bool is_dead_letter_queue(std::string_view queue) { return queue.ends_with(kDeadLetterSuffix); }

Status validate_message(const BusMessage& message, std::size_t index) {
  const std::string where = "bus message " + std::to_string(index) + " of the batch";
  if (message.id.empty()) return invalid_argument(where + " has an empty id; give it the message's stable id");
  if (message.source_region.empty()) return invalid_argument(where + " has no source region; set it");
  if (message.body.size() > Bus::kMaxBodyBytes) {
    return invalid_argument(where + " ('" + message.id.str() + "') has a " + std::to_string(message.body.size()) +
                            "-byte body; the maximum is " + std::to_string(Bus::kMaxBodyBytes));
  }
  HADR_TRY(validate_message_properties(where + " properties", message.properties));
  return validate_property_names(where + " properties", message.properties);
}

Status validate_lock_token(std::string_view lock_token) {
  return validate_printable("lock token", lock_token, kMaxNameBytes);
}

Error lock_lost(std::string_view queue, std::string_view token, std::string_view why) {
  return aborted("lock lost: token '" + std::string(token) + "' is not a live lock in queue '" + std::string(queue) +
                 "' (" + std::string(why) + "); the message may already be with another receiver");
}

}  // namespace

AmqpBus::AmqpBus(std::unique_ptr<AmqpConnection> connection, const Clock& clock)
    : connection_(std::move(connection)), clock_(clock), instance_(++instances_made) {}

AmqpBus::~AmqpBus() = default;

Result<std::unique_ptr<AmqpBus>> AmqpBus::open(AmqpOptions options, const Clock& clock) {
  HADR_ASSIGN_OR_RETURN(auto connection, AmqpConnection::open(std::move(options)));
  return std::unique_ptr<AmqpBus>(new AmqpBus(std::move(connection), clock));
}

std::string AmqpBus::queue_address(const AmqpOptions& options, std::string_view queue) {
  return amqp::queue_address(options, queue);
}

bool AmqpBus::rabbitmq() const { return connection_->options().broker == BrokerStyle::kRabbitMq; }

std::string AmqpBus::address_of(std::string_view queue) const {
  return queue_address(connection_->options(), queue);
}

Status AmqpBus::create_queue(std::string_view queue, const QueueOptions& options) {
  HADR_TRY(validate_queue_name(queue, QueueNameUse::kCreateOrSend));
  HADR_TRY(validate_queue_options(options));
  const std::string name(queue);
  if (rabbitmq()) {
    // The dead-letter queue first: dead_letter() must never publish into a missing queue.
    const AmqpOptions& broker = connection_->options();
    HADR_TRY(connection_->declare_durable_queue(declare_address(broker, dead_letter_queue(name))));
    HADR_TRY(connection_->declare_durable_queue(declare_address(broker, name)));
  } else {
    Status exists = connection_->check_source_exists(address_of(name));
    if (!exists.ok() && exists.code() == ErrorCode::kNotFound) {
      return failed_precondition("Service Bus queue '" + name +
                                 "' does not exist; create it in Azure (az servicebus queue create --max-delivery-count " +
                                 std::to_string(options.max_delivery_count) + ")");
    }
    HADR_TRY(exists);
  }
  const std::lock_guard lock(mutex_);
  created_queues_.emplace(name, options);  // the first options win, as on the broker
  existing_queues_.insert(name);
  existing_queues_.insert(dead_letter_queue(name));
  return ok_status();
}

Status AmqpBus::ensure_queue_exists(const std::string& queue) {
  {
    const std::lock_guard lock(mutex_);
    if (existing_queues_.contains(queue)) return ok_status();
  }
  Status exists = connection_->check_source_exists(address_of(queue));
  if (!exists.ok() && exists.code() == ErrorCode::kNotFound) {
    return not_found("bus queue '" + queue + "' does not exist; create it first (create_queue)");
  }
  HADR_TRY(exists);
  const std::lock_guard lock(mutex_);
  existing_queues_.insert(queue);
  return ok_status();
}

std::uint32_t AmqpBus::max_delivery_count_for(const std::string& queue) const {
  auto found = created_queues_.find(queue);
  return found != created_queues_.end() ? found->second.max_delivery_count : QueueOptions{}.max_delivery_count;
}

Status AmqpBus::send(std::string_view queue, std::span<const BusMessage> batch) {
  HADR_TRY(validate_queue_name(queue, QueueNameUse::kCreateOrSend));
  if (batch.size() > kMaxSendBatch) {
    return invalid_argument("send batch of " + std::to_string(batch.size()) + " messages; the maximum is " +
                            std::to_string(kMaxSendBatch));
  }
  for (std::size_t i = 0; i < batch.size(); ++i) HADR_TRY(validate_message(batch[i], i));
  expire_locks();
  const std::string name(queue);
  HADR_TRY(ensure_queue_exists(name));
  DeliveryStamps stamps;
  if (rabbitmq()) {
    const std::lock_guard lock(mutex_);
    stamps.max_delivery_count = max_delivery_count_for(name);
  }
  std::vector<proton::message> encoded;
  encoded.reserve(batch.size());
  for (const BusMessage& message : batch) encoded.push_back(encode_bus_message(message, stamps));
  return connection_->send(address_of(name), std::move(encoded));
}

Result<std::vector<ReceivedMessage>> AmqpBus::receive(std::string_view queue, std::size_t max,
                                                      Milliseconds lock_duration) {
  HADR_TRY(validate_queue_name(queue, QueueNameUse::kReceiveOrSettle));
  HADR_TRY(validate_batch_size("receive max", max, kMaxReceiveBatch));
  HADR_TRY(validate_ttl("lock duration", lock_duration, kMaxLockDuration));
  expire_locks();
  const std::string name(queue);
  HADR_TRY(ensure_queue_exists(name));
  {
    const std::lock_guard lock(mutex_);
    if (locks_.size() + max > kMaxLocks) {
      return resource_exhausted("this bus object holds " + std::to_string(locks_.size()) +
                                " locks; complete or abandon some before receiving more (maximum " +
                                std::to_string(kMaxLocks) + ")");
    }
  }
  HADR_ASSIGN_OR_RETURN(std::vector<ReceivedDelivery> deliveries,
                        connection_->receive(address_of(name), max, connection_->options().receive_wait));
  return take_deliveries(name, std::move(deliveries), lock_duration);
}

Result<std::vector<ReceivedMessage>> AmqpBus::take_deliveries(const std::string& queue,
                                                              std::vector<ReceivedDelivery> deliveries,
                                                              Milliseconds lock_duration) {
  std::vector<ReceivedMessage> received;
  received.reserve(deliveries.size());
  std::vector<Lock> taken;
  for (std::size_t i = 0; i < deliveries.size(); ++i) {
    auto decoded = decode_bus_message(deliveries[i].message, "bus queue '" + queue + "' delivery " + std::to_string(i));
    if (!decoded.ok()) {
      // Never skip bad data: hand every message of this receive back and report it.
      for (const ReceivedDelivery& delivery : deliveries) (void)connection_->settle(delivery.handle, Outcome::kRelease);
      return std::move(decoded).take_error();
    }
    Lock lock{.queue = queue, .handle = deliveries[i].handle, .message = std::move(decoded->message),
              .stamps = std::move(decoded->stamps)};
    lock.delivery_count = rabbitmq() ? lock.stamps.previous_deliveries + 1
                                     : deliveries[i].message.delivery_count() + 1;
    lock.expires_at = clock_.now_monotonic() + lock_duration;
    lock.locked_until = clock_.now_wall() + lock_duration;
    taken.push_back(std::move(lock));
  }
  const std::lock_guard guard(mutex_);
  for (Lock& lock : taken) {
    const std::string token = "lock-" + std::to_string(instance_) + "-" + std::to_string(++tokens_made_);
    ReceivedMessage message{.message = lock.message, .lock_token = token, .delivery_count = lock.delivery_count,
                            .locked_until = lock.locked_until};
    if (is_dead_letter_queue(queue)) message.dead_letter_reason = lock.stamps.dead_letter_reason;
    received.push_back(std::move(message));
    earliest_expiry_ = std::min(earliest_expiry_, lock.expires_at);
    locks_.emplace(token, std::move(lock));
  }
  HADR_ASSERT(received.size() == deliveries.size());
  return received;
}

Result<AmqpBus::Lock> AmqpBus::take_lock(std::string_view queue, std::string_view token) {
  HADR_TRY(validate_queue_name(queue, QueueNameUse::kReceiveOrSettle));
  HADR_TRY(validate_lock_token(token));
  expire_locks();
  const std::lock_guard guard(mutex_);
  auto found = locks_.find(std::string(token));
  if (found == locks_.end()) return lock_lost(queue, token, "unknown, settled or expired");
  if (found->second.queue != queue) return lock_lost(queue, token, "it belongs to another queue");
  Lock lock = std::move(found->second);
  locks_.erase(found);
  return lock;
}

Status AmqpBus::complete(std::string_view queue, std::string_view lock_token) {
  HADR_ASSIGN_OR_RETURN(Lock lock, take_lock(queue, lock_token));
  return connection_->settle(lock.handle, Outcome::kAccept);
}

Status AmqpBus::abandon(std::string_view queue, std::string_view lock_token) {
  HADR_ASSIGN_OR_RETURN(Lock lock, take_lock(queue, lock_token));
  return requeue(std::move(lock));
}

Status AmqpBus::dead_letter(std::string_view queue, std::string_view lock_token, std::string_view reason) {
  HADR_TRY(validate_reason("dead-letter reason", reason));
  HADR_ASSIGN_OR_RETURN(Lock lock, take_lock(queue, lock_token));
  if (!rabbitmq()) return connection_->settle(lock.handle, Outcome::kReject);
  // A message dead-lettered from a dead-letter queue stays there with its new reason.
  const std::string target = is_dead_letter_queue(lock.queue) ? lock.queue : dead_letter_queue(lock.queue);
  return publish_copy_then_accept(lock, target, DeliveryStamps{.dead_letter_reason = std::string(reason)});
}

Result<WallTime> AmqpBus::renew_lock(std::string_view queue, std::string_view lock_token, Milliseconds lock_duration) {
  HADR_TRY(validate_queue_name(queue, QueueNameUse::kReceiveOrSettle));
  HADR_TRY(validate_lock_token(lock_token));
  HADR_TRY(validate_ttl("lock duration", lock_duration, kMaxLockDuration));
  expire_locks();
  const std::lock_guard guard(mutex_);
  auto found = locks_.find(std::string(lock_token));
  if (found == locks_.end() || found->second.queue != queue) {
    return lock_lost(queue, lock_token, "unknown, settled or expired");
  }
  if (found->second.handle.generation != connection_->generation()) {
    locks_.erase(found);
    return lock_lost(queue, lock_token, "the connection was re-established");
  }
  found->second.expires_at = clock_.now_monotonic() + lock_duration;
  found->second.locked_until = clock_.now_wall() + lock_duration;
  return found->second.locked_until;
}

Status AmqpBus::requeue(Lock lock) {
  if (!rabbitmq()) return connection_->settle(lock.handle, Outcome::kRelease);
  const std::uint32_t max_deliveries =
      lock.stamps.max_delivery_count > 0 ? lock.stamps.max_delivery_count : QueueOptions{}.max_delivery_count;
  if (!is_dead_letter_queue(lock.queue) && lock.delivery_count >= max_deliveries) {
    return publish_copy_then_accept(lock, dead_letter_queue(lock.queue),
                                    DeliveryStamps{.dead_letter_reason = std::string(kMaxDeliveryCountExceeded)});
  }
  DeliveryStamps stamps = lock.stamps;
  stamps.previous_deliveries = lock.delivery_count;
  return publish_copy_then_accept(lock, lock.queue, std::move(stamps));
}

Status AmqpBus::publish_copy_then_accept(const Lock& lock, const std::string& target_queue, DeliveryStamps stamps) {
  HADR_ASSERT(rabbitmq());
  if (lock.handle.generation != connection_->generation()) {
    // The broker already gave the original back when the old connection died.
    return lock_lost(lock.queue, "(expired)", "the connection was re-established");
  }
  std::vector<proton::message> copy;
  copy.push_back(encode_bus_message(lock.message, stamps));
  Status published = connection_->send(address_of(target_queue), std::move(copy));
  if (!published.ok()) {
    // The copy may or may not exist; the original must not be lost: give it back as it is.
    (void)connection_->settle(lock.handle, Outcome::kRelease);
    return published;
  }
  return connection_->settle(lock.handle, Outcome::kAccept);
}

void AmqpBus::expire_locks() {
  std::vector<Lock> expired;
  {
    const std::lock_guard guard(mutex_);
    const MonoTime now = clock_.now_monotonic();
    if (now < earliest_expiry_) return;
    earliest_expiry_ = MonoTime::max();
    for (auto it = locks_.begin(); it != locks_.end();) {
      if (it->second.expires_at <= now) {
        expired.push_back(std::move(it->second));
        it = locks_.erase(it);
      } else {
        earliest_expiry_ = std::min(earliest_expiry_, it->second.expires_at);
        ++it;
      }
    }
  }
  // Best effort: a failure leaves the original with the broker, which redelivers it.
  for (Lock& lock : expired) (void)requeue(std::move(lock));
}

Result<QueueDepth> AmqpBus::depth(std::string_view queue) {
  HADR_TRY(validate_queue_name(queue, QueueNameUse::kReceiveOrSettle));
  expire_locks();
  const std::string name(queue);
  HADR_TRY(ensure_queue_exists(name));
  QueueDepth depth;
  HADR_ASSIGN_OR_RETURN(depth.available, connection_->count_available(address_of(name)));
  if (!is_dead_letter_queue(name)) {
    const std::string dead_letters = dead_letter_queue(name);
    Status exists = ensure_queue_exists(dead_letters);
    if (exists.ok()) {
      HADR_ASSIGN_OR_RETURN(depth.dead_lettered, connection_->count_available(address_of(dead_letters)));
    } else if (exists.code() != ErrorCode::kNotFound) {
      return std::move(exists).take_error();
    }
  }
  const std::lock_guard guard(mutex_);
  for (const auto& [token, lock] : locks_) {
    if (lock.queue == name) ++depth.locked;
  }
  return depth;
}

}  // namespace hadr::amqp
