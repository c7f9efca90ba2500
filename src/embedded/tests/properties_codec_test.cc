// Proves the byte encoding of bus properties and source headers: any bytes round trip; the
// bounds are enforced on the way in (kInvalidArgument naming the entry); and a damaged
// encoding is reported as kDataLoss naming the row — never a crash, never a silent skip.
#include "embedded/properties_codec.h"

#include <gtest/gtest.h>

#include "contracts/tests/conformance_support.h"

namespace hadr::testing {
namespace {

TEST(PropertiesCodecTest, EmptyPropertiesRoundTrip) {
  const std::string encoded = encode_properties({});
  EXPECT_TRUE(encoded.empty());
  auto decoded = decode_properties(encoded, "row 1");
  ASSERT_TRUE(succeeded(decoded));
  EXPECT_TRUE(decoded->empty());
}

TEST(PropertiesCodecTest, ArbitraryBytesRoundTripInOrder) {
  const Properties properties{
      {"b", "2"}, {"a", ""}, {std::string("n\0l", 3), std::string("\xff\x00\x01", 3)}, {"b", "dup"}};
  auto decoded = decode_properties(encode_properties(properties), "row 1");
  ASSERT_TRUE(succeeded(decoded));
  EXPECT_EQ(*decoded, properties);
}

TEST(PropertiesCodecTest, TruncatedEncodingIsDataLossNamingTheRow) {
  const std::string encoded = encode_properties({{"name", "value"}});
  for (std::size_t cut = 1; cut < encoded.size(); ++cut) {
    auto decoded = decode_properties(encoded.substr(0, cut), "bus message 42");
    ASSERT_TRUE(failed_with(decoded, ErrorCode::kDataLoss)) << "cut at " << cut;
    EXPECT_NE(decoded.error().detail.find("bus message 42"), std::string::npos);
  }
}

TEST(PropertiesCodecTest, HugeDeclaredLengthIsDataLoss) {
  const std::string encoded("\xff\xff\xff\x7f" "abc", 7);
  EXPECT_TRUE(failed_with(decode_properties(encoded, "row"), ErrorCode::kDataLoss));
}

TEST(PropertiesCodecTest, OversizedEncodingIsDataLoss) {
  EXPECT_TRUE(failed_with(decode_properties(std::string(kMaxPropertyTotalBytes + 1, '\0'), "row"), ErrorCode::kDataLoss));
}

TEST(PropertiesCodecTest, ValidateRejectsTooManyEntries) {
  const Properties properties(kMaxPropertyPairs + 1, {"k", "v"});
  EXPECT_TRUE(failed_with(validate_message_properties("message 0 properties", properties), ErrorCode::kInvalidArgument));
}

TEST(PropertiesCodecTest, ValidateRejectsEmptyName) {
  const Status status = validate_message_properties("message 3 properties", {{"ok", "v"}, {"", "v"}});
  ASSERT_TRUE(failed_with(status, ErrorCode::kInvalidArgument));
  EXPECT_NE(status.error().detail.find("message 3 properties entry 1"), std::string::npos) << status.error().detail;
}

TEST(PropertiesCodecTest, ValidateRejectsOversizedTotal) {
  const Properties properties{{"big", std::string(kMaxPropertyTotalBytes, 'v')}};
  EXPECT_TRUE(failed_with(validate_message_properties("headers", properties), ErrorCode::kInvalidArgument));
}

TEST(PropertiesCodecTest, ValidateAcceptsWhatFitsExactly) {
  // Two 4-byte lengths plus a 1-byte name leave this much for the value.
  const Properties properties{{"k", std::string(kMaxPropertyTotalBytes - 9, 'v')}};
  EXPECT_TRUE(succeeded(validate_message_properties("headers", properties)));
  auto decoded = decode_properties(encode_properties(properties), "row");
  ASSERT_TRUE(succeeded(decoded));
  EXPECT_EQ(*decoded, properties);
}

}  // namespace
}  // namespace hadr::testing
