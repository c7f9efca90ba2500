// Proves the check of bodies that claim to be JSON (declared_content.h): application/json and
// */*+json in any case and with parameters are checked, other types are not; well-formed JSON in
// UTF-8 passes; truncated JSON, trailing garbage, invalid UTF-8, a lone surrogate escape and
// nesting deeper than 64 are refused with a message that does not quote the body.
#include "gateway/declared_content.h"

#include <gtest/gtest.h>

namespace hadr::gateway_test {
namespace {

HttpRequest with_body(std::string content_type, std::string body) {
  HttpRequest request{.method = "POST", .path = "/v1/messages", .body = std::move(body)};
  if (!content_type.empty()) request.headers.emplace_back("Content-Type", std::move(content_type));
  return request;
}

TEST(DeclaredContent, JsonMediaTypesAreRecognised) {
  EXPECT_TRUE(is_json_media_type("application/json"));
  EXPECT_TRUE(is_json_media_type("Application/JSON; charset=utf-8"));
  EXPECT_TRUE(is_json_media_type("application/cloudevents+json"));
  EXPECT_FALSE(is_json_media_type("application/octet-stream"));
  EXPECT_FALSE(is_json_media_type("text/plain"));
  EXPECT_FALSE(is_json_media_type("+json"));
  EXPECT_FALSE(is_json_media_type("application/jsonx"));
}

TEST(DeclaredContent, WellFormedJsonPasses) {
  EXPECT_TRUE(check_declared_content(with_body("application/json", R"({"a": [1, 2.5, "\u00e9", null, true]})")).ok());
  EXPECT_TRUE(check_declared_content(with_body("application/json", "\"caf\xc3\xa9\"")).ok());
}

TEST(DeclaredContent, OtherTypesAreOpaque) {
  EXPECT_TRUE(check_declared_content(with_body("application/octet-stream", "\xff{not json")).ok());
  EXPECT_TRUE(check_declared_content(with_body("", "\xff{not json")).ok());
}

TEST(DeclaredContent, MalformedJsonIsRefusedWithoutQuotingIt) {
  for (const std::string body : {"{\"a\": ", "{\"a\": 1} trailing", "", "{'a': 1}", "[1,]"}) {
    const Status status = check_declared_content(with_body("application/json", body));
    ASSERT_FALSE(status.ok()) << body;
    EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
    if (body.size() > 3) {
      EXPECT_EQ(status.error().detail.find(body), std::string::npos) << status.error().detail;
    }
  }
}

TEST(DeclaredContent, InvalidUtf8AndLoneSurrogatesAreRefused) {
  EXPECT_FALSE(check_declared_content(with_body("application/json", "\"\xff\"")).ok());
  EXPECT_FALSE(check_declared_content(with_body("application/json", "\"\xc3\"")).ok());
  EXPECT_FALSE(check_declared_content(with_body("application/json", "\"\xed\xa0\x80\"")).ok());  // encoded surrogate
  EXPECT_FALSE(check_declared_content(with_body("application/json", R"("\ud800")")).ok());
}

TEST(DeclaredContent, NestingIsBoundedAt64) {
  const std::string ok = std::string(kJsonDepthMax, '[') + std::string(kJsonDepthMax, ']');
  EXPECT_TRUE(check_declared_content(with_body("application/json", ok)).ok());
  const std::string deep = std::string(kJsonDepthMax + 1, '[') + std::string(kJsonDepthMax + 1, ']');
  const Status status = check_declared_content(with_body("application/json", deep));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().detail.find("64"), std::string::npos) << status.error().detail;
}

}  // namespace
}  // namespace hadr::gateway_test
