#include "amqp/amqp_codec.h"

#include <proton/binary.hpp>
#include <proton/codec/decoder.hpp>
#include <proton/codec/encoder.hpp>
#include <proton/error.hpp>
#include <proton/map.hpp>
#include <proton/message_id.hpp>
#include <proton/scalar.hpp>
#include <proton/timestamp.hpp>
#include <proton/value.hpp>

#include <algorithm>
#include <functional>
#include <limits>
#include <set>

#include "contracts/validation.h"

namespace hadr::amqp {

namespace {

// AMQP strings must be UTF-8; anything else travels as binary so no byte is ever changed.
bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    std::size_t continuation = 0;
    if (byte < 0x80) continuation = 0;
    else if ((byte & 0xE0) == 0xC0 && byte >= 0xC2) continuation = 1;
    else if ((byte & 0xF0) == 0xE0) continuation = 2;
    else if ((byte & 0xF8) == 0xF0 && byte <= 0xF4) continuation = 3;
    else return false;
    if (continuation > 0 && i + continuation >= text.size()) return false;
    for (std::size_t k = 1; k <= continuation; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += continuation + 1;
  }
  return true;
}

proton::binary to_binary(std::string_view bytes) { return proton::binary(bytes.begin(), bytes.end()); }

std::string from_binary(const proton::binary& bytes) { return std::string(bytes.begin(), bytes.end()); }

// Reads one property value: string, binary, symbol or an unsigned/signed integer.
struct PropertyValue {
  std::string text;
  std::uint64_t number = 0;
  bool is_number = false;
};

PropertyValue read_value(proton::codec::decoder& decoder) {
  PropertyValue result;
  switch (decoder.next_type()) {
    case proton::STRING:
      decoder >> result.text;
      break;
    case proton::BINARY: {
      proton::binary bytes;
      decoder >> bytes;
      result.text = from_binary(bytes);
      break;
    }
    case proton::SYMBOL: {
      proton::symbol symbol;
      decoder >> symbol;
      result.text = symbol;
      break;
    }
    default: {
      // Integers of any width (proton coerces unsigned types; other types throw).
      proton::scalar scalar;
      decoder >> scalar;
      result.number = proton::coerce<std::uint64_t>(scalar);
      result.is_number = true;
      break;
    }
  }
  return result;
}

// "<length>:<name>" for each name, in order.
std::string encode_property_order(const Properties& properties) {
  std::string order;
  for (const auto& [name, value] : properties) order += std::to_string(name.size()) + ":" + name;
  return order;
}

Result<std::vector<std::string>> decode_property_order(std::string_view order, std::string_view where) {
  std::vector<std::string> names;
  while (!order.empty() && names.size() <= kMaxPropertyPairs) {
    const std::size_t colon = order.find(':');
    std::size_t length = 0;
    bool digits = colon != std::string_view::npos && colon > 0 && colon <= 3;
    for (std::size_t i = 0; digits && i < colon; ++i) {
      digits = order[i] >= '0' && order[i] <= '9';
      length = length * 10 + static_cast<std::size_t>(order[i] - '0');
    }
    if (!digits || colon + 1 + length > order.size()) {
      return data_loss(std::string(where) + ": application property hadr-property-order is malformed");
    }
    names.emplace_back(order.substr(colon + 1, length));
    order.remove_prefix(colon + 1 + length);
  }
  if (!order.empty()) return data_loss(std::string(where) + ": hadr-property-order names too many properties");
  return names;
}

// Puts the caller's properties back in the order they were sent.
Status restore_property_order(std::string_view order, Properties& properties, std::string_view where) {
  HADR_ASSIGN_OR_RETURN(std::vector<std::string> names, decode_property_order(order, where));
  if (names.size() != properties.size()) {
    return data_loss(std::string(where) + ": hadr-property-order does not match the application properties");
  }
  Properties ordered;
  ordered.reserve(properties.size());
  for (const std::string& name : names) {
    auto found = std::find_if(properties.begin(), properties.end(), [&](const auto& pair) { return pair.first == name; });
    if (found == properties.end()) {
      return data_loss(std::string(where) + ": hadr-property-order names a property the message lacks");
    }
    ordered.push_back(std::move(*found));
    properties.erase(found);
  }
  properties = std::move(ordered);
  return ok_status();
}

Status apply_hadr_property(const std::string& name, const PropertyValue& value, DecodedMessage& decoded,
                           std::string_view where) {
  auto number_of = [&](std::uint64_t maximum) -> Result<std::uint64_t> {
    if (!value.is_number || value.number > maximum) {
      return data_loss(std::string(where) + ": application property " + name + " is not a number in range");
    }
    return value.number;
  };
  if (name == kEpochProperty) {
    HADR_ASSIGN_OR_RETURN(decoded.message.epoch.value, number_of(std::numeric_limits<std::uint64_t>::max()));
  } else if (name == kLsnProperty) {
    HADR_ASSIGN_OR_RETURN(decoded.message.lsn.value, number_of(std::numeric_limits<std::uint64_t>::max()));
  } else if (name == kDeliveryCountProperty) {
    HADR_ASSIGN_OR_RETURN(const std::uint64_t count, number_of(std::numeric_limits<std::uint32_t>::max()));
    decoded.stamps.previous_deliveries = static_cast<std::uint32_t>(count);
  } else if (name == kMaxDeliveryCountProperty) {
    HADR_ASSIGN_OR_RETURN(const std::uint64_t count, number_of(std::numeric_limits<std::uint32_t>::max()));
    decoded.stamps.max_delivery_count = static_cast<std::uint32_t>(count);
  } else if (name == kSourceRegionProperty) {
    auto region = RegionId::parse(value.text);
    if (!region.ok()) return data_loss(std::string(where) + ": " + region.error().detail);
    decoded.message.source_region = std::move(region).value();
  } else if (name == kDeadLetterReasonProperty) {
    decoded.stamps.dead_letter_reason = value.text;
  }
  // Other "hadr-" names come from a newer hadr: ignored, so that versions can mix.
  return ok_status();
}

// Calls `on_reserved` for each "hadr-" property (the order property excepted), so that each
// message kind reads its own; a consumer that reads none ignores them (a newer hadr's).
using ReservedPropertyReader = std::function<Status(const std::string& name, const PropertyValue& value)>;

// Reads the application properties: the caller's into `properties` (in the order they were
// sent), the reserved ones through `on_reserved`.
Status decode_properties(const proton::message& message, Properties& properties,
                         const ReservedPropertyReader& on_reserved, std::string_view where) {
  const proton::value& map_value = message.properties().value();
  if (map_value.empty()) return ok_status();
  proton::codec::decoder decoder(map_value);
  proton::codec::start start;
  decoder >> start;
  if (start.type != proton::MAP) return data_loss(std::string(where) + ": application properties are not a map");
  const std::size_t pairs = start.size / 2;
  if (pairs > kMaxPropertyPairs + 16) {
    return data_loss(std::string(where) + ": " + std::to_string(pairs) + " application properties is too many");
  }
  std::string order;
  for (std::size_t i = 0; i < pairs; ++i) {
    std::string name;
    decoder >> name;
    const PropertyValue value = read_value(decoder);
    if (name == kPropertyOrderProperty) {
      order = value.text;
    } else if (name.starts_with(kReservedPropertyPrefix)) {
      HADR_TRY(on_reserved(name, value));
    } else {
      properties.emplace_back(std::move(name), value.is_number ? std::to_string(value.number) : value.text);
    }
  }
  decoder >> proton::codec::finish();
  if (order.empty()) return ok_status();
  return restore_property_order(order, properties, where);
}

// Writes the caller's properties in their order (string when valid UTF-8, else binary).
void encode_caller_properties(proton::codec::encoder& encoder, const Properties& properties) {
  for (const auto& [name, value] : properties) {
    encoder << name;
    if (is_valid_utf8(value)) encoder << value;
    else encoder << to_binary(value);
  }
}

// Brokers and Proton hand a map back sorted: with two or more properties, say the order.
void encode_property_order_if_needed(proton::codec::encoder& encoder, const Properties& properties) {
  if (properties.size() >= 2) {
    encoder << std::string(kPropertyOrderProperty) << to_binary(encode_property_order(properties));
  }
}

// The message-id as a hadr MessageId, and the body as bytes.
Status decode_id_and_body(const proton::message& message, MessageId& id, std::string& body, std::string_view where) {
  auto parsed = MessageId::parse(proton::to_string(message.id()));
  if (!parsed.ok()) return data_loss(std::string(where) + ": message-id is not a hadr message id");
  id = std::move(parsed).value();
  const proton::value& content = message.body();
  if (content.type() == proton::BINARY) {
    body = from_binary(proton::get<proton::binary>(content));
  } else if (content.type() == proton::STRING) {
    body = proton::get<std::string>(content);
  } else if (!content.empty()) {
    return data_loss(std::string(where) + ": body is neither binary nor string");
  }
  return ok_status();
}

}  // namespace

Status validate_property_names(std::string_view what, const Properties& properties) {
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < properties.size(); ++i) {
    const std::string& name = properties[i].first;
    if (name.starts_with(kReservedPropertyPrefix)) {
      return invalid_argument(std::string(what) + " entry " + std::to_string(i) +
                              " has a name starting with 'hadr-', which the AMQP bus reserves; rename it");
    }
    if (!seen.insert(name).second) {
      return invalid_argument(std::string(what) + " entry " + std::to_string(i) +
                              " repeats an earlier name; AMQP application properties are a map, so names must be "
                              "unique");
    }
  }
  return ok_status();
}

proton::message encode_bus_message(const BusMessage& message, const DeliveryStamps& stamps) {
  HADR_ASSERT(!message.id.empty());
  HADR_ASSERT(!message.source_region.empty());
  proton::message encoded;
  encoded.id(proton::message_id(message.id.str()));
  encoded.durable(true);
  encoded.body(to_binary(message.body));
  // Encoded by hand, not through property_map::put (a sorted std::map), so that the caller's
  // order survives the trip.
  proton::value map_value;
  proton::codec::encoder encoder(map_value);
  encoder << proton::codec::start::map();
  encode_caller_properties(encoder, message.properties);
  encoder << std::string(kEpochProperty) << message.epoch.value;
  encoder << std::string(kSourceRegionProperty) << message.source_region.str();
  encoder << std::string(kLsnProperty) << message.lsn.value;
  if (stamps.previous_deliveries > 0) encoder << std::string(kDeliveryCountProperty) << stamps.previous_deliveries;
  if (stamps.max_delivery_count > 0) encoder << std::string(kMaxDeliveryCountProperty) << stamps.max_delivery_count;
  encode_property_order_if_needed(encoder, message.properties);
  if (!stamps.dead_letter_reason.empty()) {
    encoder << std::string(kDeadLetterReasonProperty) << stamps.dead_letter_reason;
  }
  encoder << proton::codec::finish();
  encoded.properties().value(map_value);
  return encoded;
}

Result<DecodedMessage> decode_bus_message(const proton::message& message, std::string_view where) {
  DecodedMessage decoded;
  try {
    HADR_TRY(decode_id_and_body(message, decoded.message.id, decoded.message.body, where));
    const ReservedPropertyReader read_stamp = [&](const std::string& name, const PropertyValue& value) {
      return apply_hadr_property(name, value, decoded, where);
    };
    HADR_TRY(decode_properties(message, decoded.message.properties, read_stamp, where));
  } catch (const proton::error& error) {
    // Proton's decoder reports a mistyped field by throwing; that is bad data, not a bug.
    return data_loss(std::string(where) + ": cannot decode the AMQP message: " + error.what());
  }
  if (decoded.message.source_region.empty()) {
    return data_loss(std::string(where) + ": application property hadr-source-region is missing");
  }
  return decoded;
}

proton::message encode_source_message(const SourceMessage& message, WallTime enqueued_at) {
  HADR_ASSERT(!message.id.empty());
  HADR_ASSERT(enqueued_at != WallTime());
  proton::message encoded;
  encoded.id(proton::message_id(message.id.str()));
  encoded.durable(true);
  encoded.creation_time(proton::timestamp(unix_millis(enqueued_at)));
  encoded.body(to_binary(message.body));
  proton::value map_value;
  proton::codec::encoder encoder(map_value);
  encoder << proton::codec::start::map();
  encode_caller_properties(encoder, message.headers);
  encode_property_order_if_needed(encoder, message.headers);
  encoder << proton::codec::finish();
  encoded.properties().value(map_value);
  return encoded;
}

Result<SourceMessage> decode_source_message(const proton::message& message, std::string_view where) {
  SourceMessage decoded;
  try {
    HADR_TRY(decode_id_and_body(message, decoded.id, decoded.body, where));
    // A source message carries no hadr stamps; "hadr-" names from a newer hadr are ignored.
    const ReservedPropertyReader ignore = [](const std::string&, const PropertyValue&) { return ok_status(); };
    HADR_TRY(decode_properties(message, decoded.headers, ignore, where));
  } catch (const proton::error& error) {
    return data_loss(std::string(where) + ": cannot decode the AMQP message: " + error.what());
  }
  const std::int64_t created_ms = message.creation_time().milliseconds();
  if (created_ms > 0) decoded.enqueued_at = WallTime(std::chrono::milliseconds(created_ms));
  return decoded;
}

}  // namespace hadr::amqp
