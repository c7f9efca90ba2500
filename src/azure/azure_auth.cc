#include "azure/azure_auth.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <map>

namespace hadr::azure {

namespace {

constexpr std::string_view kBase64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// -1 for a byte outside the alphabet.
int base64_value(char c) {
  const std::size_t position = kBase64Alphabet.find(c);
  return position == std::string_view::npos ? -1 : static_cast<int>(position);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string lower_case(std::string_view text) {
  std::string result(text);
  for (char& c : result) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return result;
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The value of header `name` (case-insensitive), "" when absent.
std::string header_value(const NameValueList& headers, std::string_view name) {
  const std::string wanted = lower_case(name);
  for (const auto& [header, value] : headers) {
    if (lower_case(header) == wanted) return std::string(trimmed(value));
  }
  return {};
}

// Every x-ms-* header, lower-cased and sorted by name, "name:value\n" each; repeated names
// join their values with ','.
std::string canonicalized_headers(const NameValueList& headers) {
  std::map<std::string, std::string> by_name;
  for (const auto& [header, value] : headers) {
    const std::string name = lower_case(trimmed(header));
    if (!name.starts_with("x-ms-")) continue;
    std::string& joined = by_name[name];
    if (!joined.empty()) joined += ',';
    joined += trimmed(value);
  }
  std::string result;
  for (const auto& [name, value] : by_name) result += name + ":" + value + "\n";
  return result;
}

// "/ACCOUNT/PATH" then "\nname:v1,v2" per query parameter, names lower-cased and sorted, the
// values of one name sorted.
std::string canonicalized_resource(const AzureRequest& request, std::string_view account) {
  std::string result = "/";
  result += account;
  result += request.encoded_path.empty() ? std::string_view("/") : std::string_view(request.encoded_path);
  std::map<std::string, std::vector<std::string>> by_name;
  for (const auto& [name, value] : request.query) by_name[lower_case(name)].push_back(value);
  for (auto& [name, values] : by_name) {
    std::sort(values.begin(), values.end());
    result += '\n';
    result += name;
    result += ':';
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i > 0) result += ',';
      result += values[i];
    }
  }
  return result;
}

std::tm utc_fields(WallTime time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm fields{};
  HADR_ASSERT(::gmtime_r(&seconds, &fields) != nullptr);
  return fields;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string result;
  result.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t chunk = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t group = 0;
    for (std::size_t j = 0; j < 3; ++j) {
      group = (group << 8) | (j < chunk ? static_cast<unsigned char>(bytes[i + j]) : 0u);
    }
    for (std::size_t j = 0; j < 4; ++j) {
      result += j <= chunk ? kBase64Alphabet[(group >> (18 - 6 * j)) & 0x3f] : '=';
    }
  }
  HADR_ASSERT(result.size() % 4 == 0);
  return result;
}

Result<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return invalid_argument("not base64: its length (" + std::to_string(text.size()) + ") is not a multiple of 4");
  }
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  std::string result;
  result.reserve(text.size() / 4 * 3);
  std::uint32_t group = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool is_padding = i >= text.size() - padding;
    const int value = is_padding ? 0 : base64_value(text[i]);
    if (value < 0) return invalid_argument("not base64: byte " + std::to_string(i) + " is outside the alphabet");
    group = (group << 6) | static_cast<std::uint32_t>(value);
    if (i % 4 == 3) {
      for (int shift = 16; shift >= 0; shift -= 8) result += static_cast<char>((group >> shift) & 0xff);
      group = 0;
    }
  }
  result.resize(result.size() - padding);
  HADR_ASSERT(result.size() <= text.size() / 4 * 3);
  return result;
}

std::string hmac_sha256(std::string_view key, std::string_view message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_length = 0;
  const unsigned char* result =
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
           message.size(), digest.data(), &digest_length);
  HADR_ASSERT_MSG(result != nullptr && digest_length == 32, "HMAC-SHA256 failed (OpenSSL)");
  return std::string(reinterpret_cast<const char*>(digest.data()), digest_length);
}

std::string percent_encode(std::string_view text, bool keep_slash) {
  static constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string result;
  result.reserve(text.size());
  for (const char c : text) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
    if (unreserved) {
      result += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      result += '%';
      result += kHex[byte >> 4];
      result += kHex[byte & 0x0f];
    }
  }
  return result;
}

Result<std::string> percent_decode(std::string_view text) {
  std::string result;
  result.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      result += text[i];
      continue;
    }
    const int high = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
    const int low = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
    if (high < 0 || low < 0) {
      return invalid_argument("malformed percent escape at byte " + std::to_string(i) + "; '%' must start %XX");
    }
    result += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return result;
}

std::string format_rfc1123(WallTime time) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::tm fields = utc_fields(time);
  HADR_ASSERT(fields.tm_wday >= 0 && fields.tm_wday < 7 && fields.tm_mon >= 0 && fields.tm_mon < 12);
  std::array<char, 96> text{};  // room for any int the format could get
  std::snprintf(text.data(), text.size(), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[fields.tm_wday], fields.tm_mday,
                kMonths[fields.tm_mon], fields.tm_year + 1900, fields.tm_hour, fields.tm_min, fields.tm_sec);
  return text.data();
}

std::string format_iso8601(WallTime time) {
  const std::tm fields = utc_fields(time);
  std::array<char, 96> text{};  // room for any int the format could get
  std::snprintf(text.data(), text.size(), "%04d-%02d-%02dT%02d:%02d:%02dZ", fields.tm_year + 1900, fields.tm_mon + 1,
                fields.tm_mday, fields.tm_hour, fields.tm_min, fields.tm_sec);
  return text.data();
}

std::string encode_query(const NameValueList& query) {
  std::string result;
  for (const auto& [name, value] : query) {
    result += result.empty() ? '?' : '&';
    result += percent_encode(name, false) + "=" + percent_encode(value, false);
  }
  return result;
}

std::string shared_key_string_to_sign(const AzureRequest& request, std::string_view account) {
  HADR_ASSERT(!request.method.empty() && !account.empty());
  std::string text = request.method + "\n";
  text += header_value(request.headers, "Content-Encoding") + "\n";
  text += header_value(request.headers, "Content-Language") + "\n";
  text += (request.content_length == 0 ? std::string() : std::to_string(request.content_length)) + "\n";
  for (const char* name : {"Content-MD5", "Content-Type", "Date", "If-Modified-Since", "If-Match", "If-None-Match",
                           "If-Unmodified-Since", "Range"}) {
    text += header_value(request.headers, name) + "\n";
  }
  text += canonicalized_headers(request.headers);
  text += canonicalized_resource(request, account);
  return text;
}

Result<std::string> shared_key_authorization(const AzureRequest& request, std::string_view account,
                                             std::string_view key_base64) {
  auto key = base64_decode(key_base64);
  if (!key.ok()) return invalid_argument("the azure storage account key is not base64; copy it again from the portal");
  const std::string signature = base64_encode(hmac_sha256(*key, shared_key_string_to_sign(request, account)));
  return "SharedKey " + std::string(account) + ":" + signature;
}

Result<std::string> generate_account_sas(const AccountSasOptions& options, std::string_view key_base64) {
  if (options.account.empty()) return invalid_argument("account SAS: account is empty; give the account name");
  if (options.expiry == WallTime{}) return invalid_argument("account SAS: expiry is missing; give an expiry time");
  const bool has_start = options.start != WallTime{};
  if (has_start && options.start >= options.expiry) {
    return invalid_argument("account SAS: start " + format_iso8601(options.start) + " is not before expiry " +
                            format_iso8601(options.expiry));
  }
  auto key = base64_decode(key_base64);
  if (!key.ok()) return invalid_argument("account SAS: the account key is not base64; copy it again from the portal");
  const std::string start = has_start ? format_iso8601(options.start) : std::string();
  const std::string expiry = format_iso8601(options.expiry);
  std::string string_to_sign = options.account + "\n" + options.permissions + "\n" + options.services + "\n" +
                               options.resource_types + "\n" + start + "\n" + expiry + "\n" + /* signed IP */ "\n" +
                               options.protocol + "\n" + options.version + "\n";
  // Signed versions from 2020-12-06 add the encryption scope (empty here) as one more line.
  // The dates compare as strings because they are zero-padded ISO dates.
  if (options.version >= "2020-12-06") string_to_sign += /* signed encryption scope */ "\n";
  NameValueList token = {{"sv", options.version},
                         {"ss", options.services},
                         {"srt", options.resource_types},
                         {"sp", options.permissions},
                         {"se", expiry}};
  if (has_start) token.emplace_back("st", start);
  token.emplace_back("spr", options.protocol);
  token.emplace_back("sig", base64_encode(hmac_sha256(*key, string_to_sign)));
  return encode_query(token).substr(1);  // without the '?'
}

}  // namespace hadr::azure
