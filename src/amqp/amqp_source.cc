#include "amqp/amqp_source.h"

#include <algorithm>
#include <set>

#include "amqp/amqp_address.h"
#include "amqp/amqp_codec.h"
#include "contracts/validation.h"
#include "core/assert.h"

namespace hadr::amqp {

namespace {

// Distinguishes the ack handles of source objects in one process: a handle is only ever live
// in the object that made it, and a restarted consumer must not mistake an old one for its own.
std::atomic<std::uint64_t> instances_made{0};

Status validate_message(std::size_t index, const SourceMessage& message) {
  const std::string what = "source message " + std::to_string(index) + " of the batch";
  if (message.id.empty()) return invalid_argument(what + " has an empty id; give every message its stable id");
  if (message.body.size() > Bus::kMaxBodyBytes) {
    return invalid_argument(what + " ('" + message.id.str() + "') has a body of " +
                            std::to_string(message.body.size()) + " bytes; the maximum is " +
                            std::to_string(Bus::kMaxBodyBytes));
  }
  HADR_TRY(validate_message_properties(what + " headers", message.headers));
  return validate_property_names(what + " headers", message.headers);
}

// RabbitMQ declares through a durable target; Service Bus queues are made in Azure, so there
// the queue must already exist.
Status declare_source_queue(AmqpConnection& connection, const std::string& queue) {
  const AmqpOptions& options = connection.options();
  if (options.broker == BrokerStyle::kRabbitMq) {
    return connection.declare_durable_queue(declare_address(options, queue));
  }
  Status exists = connection.check_source_exists(queue_address(options, queue));
  if (!exists.ok() && exists.code() == ErrorCode::kNotFound) {
    return failed_precondition("Service Bus queue '" + queue +
                               "' (the source) does not exist; create it in Azure (az servicebus queue create) "
                               "with a lock duration at least the source's visibility timeout");
  }
  return exists;
}

}  // namespace

Result<std::unique_ptr<AmqpSource>> AmqpSource::open(const AmqpOptions& options, std::string queue,
                                                     std::string consumer, Milliseconds visibility_timeout,
                                                     const Clock& clock) {
  HADR_TRY(validate_queue_name(queue, QueueNameUse::kCreateOrSend));
  HADR_TRY(validate_printable("source consumer", consumer, kMaxNameBytes));
  HADR_TRY(validate_ttl("source visibility timeout", visibility_timeout, kMaxVisibilityTimeout));
  HADR_ASSIGN_OR_RETURN(auto connection, AmqpConnection::open(options));
  HADR_TRY(declare_source_queue(*connection, queue));
  return std::unique_ptr<AmqpSource>(
      new AmqpSource(std::move(connection), std::move(queue), std::move(consumer), visibility_timeout, clock));
}

AmqpSource::AmqpSource(std::unique_ptr<AmqpConnection> connection, std::string queue, std::string consumer,
                       Milliseconds visibility_timeout, const Clock& clock)
    : connection_(std::move(connection)),
      queue_(std::move(queue)),
      address_(queue_address(connection_->options(), queue_)),
      consumer_(std::move(consumer)),
      visibility_timeout_(visibility_timeout),
      clock_(clock),
      instance_(++instances_made) {}

// The connection's destructor releases what is still held and detaches before it closes.
AmqpSource::~AmqpSource() = default;

Status AmqpSource::put(std::span<const SourceMessage> batch) {
  if (batch.size() > kMaxBatch) {
    return invalid_argument("put batch of " + std::to_string(batch.size()) + " messages; the maximum is " +
                            std::to_string(kMaxBatch));
  }
  for (std::size_t i = 0; i < batch.size(); ++i) HADR_TRY(validate_message(i, batch[i]));
  release_expired();
  const WallTime enqueued_at = clock_.now_wall();
  std::vector<proton::message> encoded;
  encoded.reserve(batch.size());
  for (const SourceMessage& message : batch) encoded.push_back(encode_source_message(message, enqueued_at));
  return connection_->send(address_, std::move(encoded));
}

Result<std::vector<SourceMessage>> AmqpSource::receive(std::size_t max) {
  if (max < 1 || max > kMaxBatch) {
    return invalid_argument("receive of " + std::to_string(max) + " messages; ask for 1.." + std::to_string(kMaxBatch));
  }
  release_expired();
  {
    const std::lock_guard lock(mutex_);
    if (held_.size() + max > kMaxHeld) {
      return resource_exhausted("source consumer '" + consumer_ + "' holds " + std::to_string(held_.size()) +
                                " unacked messages; ack some before receiving more (maximum " +
                                std::to_string(kMaxHeld) + ")");
    }
  }
  HADR_ASSIGN_OR_RETURN(std::vector<ReceivedDelivery> deliveries,
                        connection_->receive(address_, max, connection_->options().receive_wait));
  return take_deliveries(std::move(deliveries));
}

Result<std::vector<SourceMessage>> AmqpSource::take_deliveries(std::vector<ReceivedDelivery> deliveries) {
  std::vector<SourceMessage> received;
  received.reserve(deliveries.size());
  const WallTime now = clock_.now_wall();
  for (std::size_t i = 0; i < deliveries.size(); ++i) {
    const std::string where = "source queue '" + queue_ + "' delivery " + std::to_string(i);
    Result<SourceMessage> decoded = decode_source_message(deliveries[i].message, where);
    if (!decoded.ok()) {
      // Never skip bad data: hand every message of this receive back and report it.
      std::vector<DeliveryHandle> all;
      for (const ReceivedDelivery& delivery : deliveries) all.push_back(delivery.handle);
      (void)connection_->settle_all(all, Outcome::kRelease);
      return std::move(decoded).take_error();
    }
    SourceMessage message = std::move(decoded).value();
    message.source_ref = queue_ + "@" + message.id.str();
    // A producer that is not hadr may leave creation-time unset: the receive time stands in.
    if (message.enqueued_at == WallTime()) message.enqueued_at = now;
    received.push_back(std::move(message));
  }
  const MonoTime expires_at = clock_.now_monotonic() + visibility_timeout_;
  const std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < received.size(); ++i) {
    received[i].ack_handle = "amqp-" + std::to_string(instance_) + "-" + std::to_string(++handles_made_);
    held_.emplace(received[i].ack_handle, Held{deliveries[i].handle, expires_at});
  }
  if (!received.empty()) earliest_expiry_ = std::min(earliest_expiry_, expires_at);
  HADR_ASSERT(received.size() == deliveries.size());
  return received;
}

Result<std::vector<DeliveryHandle>> AmqpSource::take_handles(std::span<const std::string> ack_handles) {
  const std::lock_guard lock(mutex_);
  const std::uint64_t generation = connection_->generation();
  for (const std::string& handle : ack_handles) {
    auto found = held_.find(handle);
    if (found == held_.end() || found->second.delivery.generation != generation) {
      return aborted("ack handle " + handle + " of source consumer '" + consumer_ + "' on queue '" + queue_ +
                     "' is unknown, already acked, past its visibility timeout (" +
                     std::to_string(visibility_timeout_.count()) +
                     " ms) or from before a reconnect; nothing was acked, and the message may already be "
                     "redelivered");
    }
  }
  std::vector<DeliveryHandle> deliveries;
  deliveries.reserve(ack_handles.size());
  for (const std::string& handle : ack_handles) {
    auto found = held_.find(handle);
    deliveries.push_back(found->second.delivery);
    held_.erase(found);
  }
  return deliveries;
}

Status AmqpSource::ack(std::span<const std::string> ack_handles) {
  HADR_TRY(validate_ack_handles(ack_handles, kMaxBatch));
  release_expired();
  HADR_ASSIGN_OR_RETURN(std::vector<DeliveryHandle> deliveries, take_handles(ack_handles));
  // A failure here (connection lost) leaves the unaccepted ones with the broker, which
  // redelivers them: the caller sees an error and the messages come back (at-least-once).
  return connection_->settle_all(deliveries, Outcome::kAccept);
}

Result<std::uint64_t> AmqpSource::depth() {
  release_expired();
  HADR_ASSIGN_OR_RETURN(const std::uint64_t available, connection_->count_available(address_));
  const std::lock_guard lock(mutex_);
  return available + held_.size();
}

void AmqpSource::release_expired() {
  std::vector<DeliveryHandle> expired;
  {
    const std::lock_guard lock(mutex_);
    const MonoTime now = clock_.now_monotonic();
    if (now < earliest_expiry_) return;
    const std::uint64_t generation = connection_->generation();
    earliest_expiry_ = MonoTime::max();
    for (auto it = held_.begin(); it != held_.end();) {
      if (it->second.delivery.generation != generation) {
        it = held_.erase(it);  // the broker requeued it when the old connection died
      } else if (it->second.expires_at <= now) {
        expired.push_back(it->second.delivery);
        it = held_.erase(it);
      } else {
        earliest_expiry_ = std::min(earliest_expiry_, it->second.expires_at);
        ++it;
      }
    }
  }
  // Best effort: a failure means the connection is gone, and then the broker requeues them.
  (void)connection_->settle_all(expired, Outcome::kRelease);
}

}  // namespace hadr::amqp
