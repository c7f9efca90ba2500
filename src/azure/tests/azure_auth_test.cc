// Proves the Azure request authentication against the public specification, with expected
// values made independently of the code under test: the Shared Key string-to-sign of fixed
// requests is written out literally from the spec's layout, and the expected signatures were
// computed once with Python's hmac/base64 modules (and are re-computed here with OpenSSL's
// HMAC directly); the account SAS likewise. Also proves the encodings they rest on: base64
// (RFC 4648 vectors, strict decoding), HMAC-SHA256 (RFC 4231 case 2), percent-encoding of
// names that need it, and the RFC 1123 / ISO 8601 dates.
#include "azure/azure_auth.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>

namespace hadr::azure {
namespace {

// Azurite's public development key: a test constant.
constexpr std::string_view kDevKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
// 2026-03-03T09:05:07Z, a Tuesday.
const WallTime kFixedTime{std::chrono::seconds(1'772'528'707)};
constexpr std::string_view kFixedDate = "Tue, 03 Mar 2026 09:05:07 GMT";

// Base64 HMAC-SHA256 computed with OpenSSL's one-shot HMAC, not the library's helpers.
std::string independent_signature(std::string_view string_to_sign) {
  unsigned char key[64];
  const int key_length = EVP_DecodeBlock(key, reinterpret_cast<const unsigned char*>(kDevKey.data()),
                                         static_cast<int>(kDevKey.size()));
  EXPECT_EQ(key_length, 66);  // EVP_DecodeBlock counts the two padding bytes
  unsigned char digest[32];
  unsigned int digest_length = 0;
  HMAC(EVP_sha256(), key, 64, reinterpret_cast<const unsigned char*>(string_to_sign.data()), string_to_sign.size(),
       digest, &digest_length);
  unsigned char encoded[64];
  const int encoded_length = EVP_EncodeBlock(encoded, digest, static_cast<int>(digest_length));
  return std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(encoded_length));
}

AzureRequest known_put_request() {
  return AzureRequest{.method = "PUT",
                      .encoded_path = "/devstoreaccount1/backups/wal/a/00000001.log",
                      .query = {},
                      .headers = {{"Content-Type", "application/octet-stream"},
                                  {"x-ms-blob-type", "BlockBlob"},
                                  {"If-None-Match", "*"},
                                  {"x-ms-version", "2021-08-06"},
                                  {"x-ms-date", std::string(kFixedDate)}},
                      .content_length = 11};
}

TEST(SharedKey, StringToSignOfPutFollowsTheSpecLayout) {
  // VERB, Content-Encoding, -Language, -Length, -MD5, -Type, Date, If-Modified-Since,
  // If-Match, If-None-Match, If-Unmodified-Since, Range, then the sorted x-ms-* headers and
  // "/account" + the path (which for a path-style URL holds the account again).
  const std::string expected =
      "PUT\n\n\n11\n\napplication/octet-stream\n\n\n\n*\n\n\n"
      "x-ms-blob-type:BlockBlob\nx-ms-date:Tue, 03 Mar 2026 09:05:07 GMT\nx-ms-version:2021-08-06\n"
      "/devstoreaccount1/devstoreaccount1/backups/wal/a/00000001.log";
  EXPECT_EQ(shared_key_string_to_sign(known_put_request(), "devstoreaccount1"), expected);
}

TEST(SharedKey, SignatureOfKnownPutMatchesIndependentComputation) {
  auto authorization = shared_key_authorization(known_put_request(), "devstoreaccount1", kDevKey);
  ASSERT_TRUE(authorization.ok()) << authorization.error().to_string();
  // Computed with Python: base64(hmac.new(b64decode(key), string_to_sign, sha256)).
  EXPECT_EQ(*authorization, "SharedKey devstoreaccount1:gpeacc2M4c5XRzbK+epd/a0nxA35jbZ2ydZKQUEbm3I=");
  EXPECT_EQ(*authorization, "SharedKey devstoreaccount1:" +
                                independent_signature(shared_key_string_to_sign(known_put_request(), "devstoreaccount1")));
}

TEST(SharedKey, ListRequestCanonicalizesQuerySortedLowerCasedAndDecoded) {
  const AzureRequest request{.method = "GET",
                             .encoded_path = "/devstoreaccount1/backups",
                             .query = {{"restype", "container"},
                                       {"comp", "list"},
                                       {"prefix", "wal/a/"},
                                       {"marker", "2!96!MDAw"},
                                       {"MaxResults", "2"}},
                             .headers = {{"x-ms-version", "2021-08-06"}, {"X-MS-Date", std::string(kFixedDate)}}};
  const std::string expected =
      "GET\n\n\n\n\n\n\n\n\n\n\n\n"
      "x-ms-date:Tue, 03 Mar 2026 09:05:07 GMT\nx-ms-version:2021-08-06\n"
      "/devstoreaccount1/devstoreaccount1/backups\ncomp:list\nmarker:2!96!MDAw\nmaxresults:2\nprefix:wal/a/\n"
      "restype:container";
  EXPECT_EQ(shared_key_string_to_sign(request, "devstoreaccount1"), expected);
  auto authorization = shared_key_authorization(request, "devstoreaccount1", kDevKey);
  ASSERT_TRUE(authorization.ok());
  EXPECT_EQ(*authorization, "SharedKey devstoreaccount1:tIVTn3tARR321Zzsq5b/0vFWn7RzpHSBpdsRf1Jf9po=");
}

TEST(SharedKey, ZeroContentLengthIsEmptyAndRepeatedHeadersJoin) {
  const AzureRequest request{.method = "PUT",
                             .encoded_path = "/c/empty",
                             .headers = {{"x-ms-meta-a", " 1 "}, {"x-ms-meta-a", "2"}, {"x-ms-date", "d"}},
                             .content_length = 0};
  EXPECT_EQ(shared_key_string_to_sign(request, "acct"),
            "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:d\nx-ms-meta-a:1,2\n/acct/c/empty");
}

TEST(SharedKey, KeyThatIsNotBase64IsRefusedWithoutQuotingIt) {
  auto authorization = shared_key_authorization(known_put_request(), "devstoreaccount1", "not*base64!");
  ASSERT_FALSE(authorization.ok());
  EXPECT_EQ(authorization.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(authorization.error().detail.find("not*base64!"), std::string::npos);
}

TEST(AccountSas, TokenMatchesSpecStringToSign) {
  const AccountSasOptions options{.account = "devstoreaccount1",
                                  .expiry = kFixedTime + std::chrono::hours(24)};
  auto token = generate_account_sas(options, kDevKey);
  ASSERT_TRUE(token.ok()) << token.error().to_string();
  // String-to-sign (signed version >= 2020-12-06): account, sp, ss, srt, st, se, sip, spr, sv,
  // ses, each followed by a newline; the signature is percent-encoded in the token.
  const std::string string_to_sign = "devstoreaccount1\nrwdlac\nb\nsco\n\n2026-03-04T09:05:07Z\n\nhttps,http\n2021-08-06\n\n";
  EXPECT_EQ(independent_signature(string_to_sign), "BWKYxg8Ii/e2OQ6h4JGGqkAe/paaDu+kGcVfqB8pxtg=");
  EXPECT_EQ(*token,
            "sv=2021-08-06&ss=b&srt=sco&sp=rwdlac&se=2026-03-04T09%3A05%3A07Z&spr=https%2Chttp"
            "&sig=BWKYxg8Ii%2Fe2OQ6h4JGGqkAe%2FpaaDu%2BkGcVfqB8pxtg%3D");
}

TEST(AccountSas, StartTimeIsSignedAndSent) {
  const AccountSasOptions options{.account = "devstoreaccount1",
                                  .start = kFixedTime,
                                  .expiry = kFixedTime + std::chrono::hours(1)};
  auto token = generate_account_sas(options, kDevKey);
  ASSERT_TRUE(token.ok());
  EXPECT_NE(token->find("&st=2026-03-03T09%3A05%3A07Z&"), std::string::npos) << *token;
  const std::string string_to_sign =
      "devstoreaccount1\nrwdlac\nb\nsco\n2026-03-03T09:05:07Z\n2026-03-03T10:05:07Z\n\nhttps,http\n2021-08-06\n\n";
  EXPECT_NE(token->find("sig=" + percent_encode(independent_signature(string_to_sign), false)), std::string::npos);
}

TEST(AccountSas, MissingExpiryIsRefused) {
  auto token = generate_account_sas(AccountSasOptions{.account = "devstoreaccount1"}, kDevKey);
  ASSERT_FALSE(token.ok());
  EXPECT_NE(token.error().detail.find("expiry"), std::string::npos);
}

TEST(AccountSas, StartNotBeforeExpiryIsRefused) {
  const AccountSasOptions options{.account = "a1b", .start = kFixedTime, .expiry = kFixedTime};
  EXPECT_EQ(generate_account_sas(options, kDevKey).code(), ErrorCode::kInvalidArgument);
}

TEST(Base64, EncodesRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(Base64, DecodeRoundTripsEveryByte) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (std::size_t length = 0; length <= 5; ++length) {
    auto decoded = base64_decode(base64_encode(bytes.substr(0, 250 + length)));
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(*decoded, bytes.substr(0, 250 + length));
  }
}

TEST(Base64, DecodeRejectsWrongLength) { EXPECT_FALSE(base64_decode("Zm9").ok()); }
TEST(Base64, DecodeRejectsByteOutsideAlphabet) { EXPECT_FALSE(base64_decode("Zm9*").ok()); }
TEST(Base64, DecodeRejectsPaddingInTheMiddle) { EXPECT_FALSE(base64_decode("Zg==Zm9v").ok()); }
TEST(Base64, DecodeRejectsTriplePadding) { EXPECT_FALSE(base64_decode("Z===").ok()); }

TEST(HmacSha256, MatchesRfc4231TestCase2) {
  EXPECT_EQ(base64_encode(hmac_sha256("Jefe", "what do ya want for nothing?")),
            base64_encode(std::string("\x5b\xdc\xc1\x46\xbf\x60\x75\x4e\x6a\x04\x24\x26\x08\x95\x75\xc7"
                                      "\x5a\x00\x3f\x08\x9d\x27\x39\x83\x9d\xec\x58\xb9\x64\xec\x38\x43",
                                      32)));
}

TEST(PercentEncode, KeepsUnreservedAndSlashInPaths) {
  EXPECT_EQ(percent_encode("wal/a-b_c.d~e/00000001.log", true), "wal/a-b_c.d~e/00000001.log");
}

TEST(PercentEncode, EncodesNamesThatNeedIt) {
  EXPECT_EQ(percent_encode("a b+c%d?e#f&g=h/i", true), "a%20b%2Bc%25d%3Fe%23f%26g%3Dh/i");
  EXPECT_EQ(percent_encode("wal/a/", false), "wal%2Fa%2F");
  EXPECT_EQ(percent_encode("\xc3\xa9\x01", false), "%C3%A9%01");
}

TEST(PercentDecode, InvertsEncode) {
  const std::string name = "a b+c%d?e#f&g=h/i\xc3\xa9";
  auto decoded = percent_decode(percent_encode(name, false));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, name);
}

TEST(PercentDecode, RejectsMalformedEscape) {
  EXPECT_FALSE(percent_decode("a%2").ok());
  EXPECT_FALSE(percent_decode("a%zz").ok());
}

TEST(EncodeQuery, EncodesNamesAndValuesInOrder) {
  EXPECT_EQ(encode_query({}), "");
  EXPECT_EQ(encode_query({{"restype", "container"}, {"prefix", "wal/a b"}, {"marker", "x+y="}}),
            "?restype=container&prefix=wal%2Fa%20b&marker=x%2By%3D");
}

TEST(Dates, Rfc1123AndIso8601OfFixedTime) {
  EXPECT_EQ(format_rfc1123(kFixedTime), kFixedDate);
  EXPECT_EQ(format_iso8601(kFixedTime), "2026-03-03T09:05:07Z");
  EXPECT_EQ(format_rfc1123(WallTime{std::chrono::seconds(0)}), "Thu, 01 Jan 1970 00:00:00 GMT");
}

}  // namespace
}  // namespace hadr::azure
