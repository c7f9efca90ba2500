// The BusMessage <-> AMQP message mapping (amqp/amqp_codec.h), through real AMQP encoding
// (encode to bytes, decode from bytes): every field and hadr's stamps round-trip, caller
// properties keep their order and bytes (non-UTF-8 travels as binary), reserved and repeated
// property names are refused, and a message that is not hadr's is kDataLoss, not a crash.
#include <gtest/gtest.h>

#include <proton/message_id.hpp>

#include "amqp/amqp_codec.h"

namespace hadr::amqp {
namespace {

BusMessage sample() {
  BusMessage message;
  message.id = MessageId::parse("order-17").value();
  message.epoch = Epoch{42};
  message.source_region = RegionId::parse("westeurope").value();
  message.lsn = Lsn{123456789};
  message.properties = {{"zeta", "last-name-first"}, {"alpha", "abc def"}, {"bytes", std::string("\xff\x00\x01", 3)},
                        {"empty", ""}};
  message.body = std::string("binary\0body\xff", 12);
  return message;
}

// Encoded the way the wire carries it, so that nothing survives only in memory.
proton::message through_the_wire(const proton::message& message) {
  std::vector<char> bytes;
  message.encode(bytes);
  proton::message decoded;
  decoded.decode(bytes);
  return decoded;
}

TEST(AmqpCodecTest, EveryFieldAndStampRoundTrips) {
  const BusMessage sent = sample();
  const DeliveryStamps stamps{.previous_deliveries = 3, .max_delivery_count = 5, .dead_letter_reason = "bad payload"};
  auto decoded = decode_bus_message(through_the_wire(encode_bus_message(sent, stamps)), "test");
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  EXPECT_EQ(decoded->message.id, sent.id);
  EXPECT_EQ(decoded->message.epoch, sent.epoch);
  EXPECT_EQ(decoded->message.source_region, sent.source_region);
  EXPECT_EQ(decoded->message.lsn.value, sent.lsn.value);
  EXPECT_EQ(decoded->message.properties, sent.properties) << "order and bytes must survive";
  EXPECT_EQ(decoded->message.body, sent.body);
  EXPECT_EQ(decoded->stamps.previous_deliveries, 3u);
  EXPECT_EQ(decoded->stamps.max_delivery_count, 5u);
  EXPECT_EQ(decoded->stamps.dead_letter_reason, "bad payload");
}

TEST(AmqpCodecTest, FreshMessageHasNoStamps) {
  auto decoded = decode_bus_message(through_the_wire(encode_bus_message(sample(), DeliveryStamps{})), "test");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->stamps.previous_deliveries, 0u);
  EXPECT_EQ(decoded->stamps.dead_letter_reason, "");
}

TEST(AmqpCodecTest, MessageIsDurableWithStringId) {
  const proton::message encoded = through_the_wire(encode_bus_message(sample(), DeliveryStamps{}));
  EXPECT_TRUE(encoded.durable());
  EXPECT_EQ(proton::to_string(encoded.id()), "order-17");
}

TEST(AmqpCodecTest, RefusesReservedPropertyName) {
  const Properties properties{{"hadr-epoch", "1"}};
  EXPECT_EQ(validate_property_names("props", properties).code(), ErrorCode::kInvalidArgument);
}

TEST(AmqpCodecTest, RefusesRepeatedPropertyName) {
  const Properties properties{{"a", "1"}, {"a", "2"}};
  EXPECT_EQ(validate_property_names("props", properties).code(), ErrorCode::kInvalidArgument);
}

TEST(AmqpCodecTest, ForeignMessageWithoutRegionIsDataLoss) {
  proton::message foreign;
  foreign.id(proton::message_id(std::string("m1")));
  foreign.body(std::string("hello"));
  auto decoded = decode_bus_message(through_the_wire(foreign), "queue q delivery 0");
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.code(), ErrorCode::kDataLoss);
  EXPECT_NE(decoded.error().detail.find("queue q delivery 0"), std::string::npos);
}

TEST(AmqpCodecTest, MistypedEpochIsDataLoss) {
  proton::message message = encode_bus_message(sample(), DeliveryStamps{});
  proton::message mistyped = message;
  mistyped.properties().put("hadr-epoch", std::string("not a number"));
  auto decoded = decode_bus_message(through_the_wire(mistyped), "test");
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.code(), ErrorCode::kDataLoss);
}

TEST(AmqpCodecTest, InvalidMessageIdIsDataLoss) {
  proton::message message = encode_bus_message(sample(), DeliveryStamps{});
  message.id(proton::message_id(std::string("has space")));
  EXPECT_EQ(decode_bus_message(through_the_wire(message), "test").code(), ErrorCode::kDataLoss);
}

}  // namespace
}  // namespace hadr::amqp
