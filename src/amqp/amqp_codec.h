// The mapping between a hadr BusMessage and an AMQP 1.0 message (docs/amqp.md, "Message
// mapping"):
//   message-id (string)          BusMessage::id
//   durable header               always true (persistent: survives a broker restart)
//   body: one data section       BusMessage::body (binary, possibly empty)
//   application properties       the caller's properties, in their order (AMQP string when
//                                valid UTF-8, else binary), then hadr's own, all "hadr-*":
//     hadr-epoch (ulong), hadr-source-region (string), hadr-lsn (ulong),
//     hadr-delivery-count (uint: deliveries before this copy was published; RabbitMQ only),
//     hadr-max-delivery-count (uint: the queue's option as the sender knew it; RabbitMQ only),
//     hadr-dead-letter-reason (string: set on copies in a dead-letter queue; RabbitMQ only),
//     hadr-property-order (binary: the caller's names as "<length>:<name>" in order, because
//     brokers and Proton hand a map back sorted; only with two or more properties).
// A Source message (SourceMessage, the queue the relay reads) maps the same way, without the
// hadr stamps: message-id, durable, one data section, creation-time = enqueued_at (ms), and the
// headers as application properties in their order (hadr-property-order as above).
// Caller property names starting with "hadr-" are refused (kInvalidArgument), and so are
// duplicate names, because AMQP application properties are a map.
// decode never trusts its input: a missing or mistyped hadr property is kDataLoss naming
// `where`, never a crash.
// Thread-safety: pure functions.
#pragma once

#include <proton/message.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "contracts/bus.h"
#include "contracts/source.h"
#include "core/result.h"

namespace hadr::amqp {

inline constexpr std::string_view kReservedPropertyPrefix = "hadr-";
inline constexpr std::string_view kEpochProperty = "hadr-epoch";
inline constexpr std::string_view kSourceRegionProperty = "hadr-source-region";
inline constexpr std::string_view kLsnProperty = "hadr-lsn";
inline constexpr std::string_view kDeliveryCountProperty = "hadr-delivery-count";
inline constexpr std::string_view kMaxDeliveryCountProperty = "hadr-max-delivery-count";
inline constexpr std::string_view kDeadLetterReasonProperty = "hadr-dead-letter-reason";
inline constexpr std::string_view kPropertyOrderProperty = "hadr-property-order";

// What hadr's own bookkeeping adds to a message on RabbitMQ (all zero / empty on Service Bus).
struct DeliveryStamps {
  std::uint32_t previous_deliveries = 0;
  std::uint32_t max_delivery_count = 0;  // 0: unknown
  std::string dead_letter_reason;
};

struct DecodedMessage {
  BusMessage message;
  DeliveryStamps stamps;
};

// Names not reserved, not repeated. `what` names the owner, e.g. "bus message 3 properties".
Status validate_property_names(std::string_view what, const Properties& properties);

// The message must have passed the Bus input checks and validate_property_names().
proton::message encode_bus_message(const BusMessage& message, const DeliveryStamps& stamps);
Result<DecodedMessage> decode_bus_message(const proton::message& message, std::string_view where);

// The message must have a non-empty id and headers that passed validate_property_names();
// source_ref and ack_handle are not carried (the receiving source sets them).
proton::message encode_source_message(const SourceMessage& message, WallTime enqueued_at);
// enqueued_at stays WallTime() when the producer set no creation-time (a non-hadr producer).
Result<SourceMessage> decode_source_message(const proton::message& message, std::string_view where);

}  // namespace hadr::amqp
