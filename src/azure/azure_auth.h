// Azure Storage request authentication, from the public REST specification:
//   - Shared Key ("Authorize with Shared Key"): the string-to-sign of a request (verb, the
//     standard headers, the canonicalized x-ms-* headers, the canonicalized resource) and its
//     HMAC-SHA256 under the base64-decoded account key, as "SharedKey ACCOUNT:SIGNATURE";
//   - account SAS ("Create an account SAS", signed version 2020-12-06 and later): a token
//     signed with the account key, for tests against Azurite and for users who hand a
//     narrower credential to a deployment;
//   - the encodings both need: base64, percent-encoding, RFC 1123 and ISO 8601 UTC dates.
//
// A request is described once (AzureRequest) and both the URL and the string-to-sign are made
// from that description, so the two can never disagree about a path or a query parameter.
// Ownership: values only. Thread-safety: every function is pure and safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace hadr::azure {

// Headers and query parameters in the order they are sent; values are NOT percent-encoded.
using NameValueList = std::vector<std::pair<std::string, std::string>>;

struct AzureRequest {
  std::string method;  // "GET", "PUT", "DELETE", "HEAD"
  // The URI path, already percent-encoded, starting with '/': e.g. "/devstoreaccount1/c/wal/1".
  std::string encoded_path;
  NameValueList query;    // decoded names and values
  NameValueList headers;  // every header that is sent, x-ms-* and standard ones
  std::size_t content_length = 0;
};

// Standard base64 (RFC 4648, with padding).
std::string base64_encode(std::string_view bytes);
// kInvalidArgument for anything but canonical standard base64 (length a multiple of 4,
// correct padding). The message never quotes the input: it may be a key.
Result<std::string> base64_decode(std::string_view text);

// HMAC-SHA256 of `message` under `key` (raw bytes), 32 raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view message);

// Percent-encodes every byte except the RFC 3986 unreserved ones (A-Z a-z 0-9 - . _ ~); '/'
// too unless keep_slash (paths keep their separators).
std::string percent_encode(std::string_view text, bool keep_slash);
// Decodes %XX escapes ('+' stays '+'); kInvalidArgument on a malformed escape.
Result<std::string> percent_decode(std::string_view text);

// "Tue, 03 Mar 2026 09:05:07 GMT": the x-ms-date format (RFC 1123, UTC).
std::string format_rfc1123(WallTime time);
// "2026-03-03T09:05:07Z": SAS start and expiry times (ISO 8601 UTC, whole seconds).
std::string format_iso8601(WallTime time);

// "?name=value&..." with names and values percent-encoded, in the given order; "" when empty.
std::string encode_query(const NameValueList& query);

// The Shared Key string-to-sign of `request` for `account` (storage versions 2015-02-21 and
// later: a zero Content-Length is the empty string).
std::string shared_key_string_to_sign(const AzureRequest& request, std::string_view account);
// "SharedKey ACCOUNT:BASE64(HMAC-SHA256(decoded key, string-to-sign))". kInvalidArgument when
// the key is not base64 (without quoting it).
Result<std::string> shared_key_authorization(const AzureRequest& request, std::string_view account,
                                             std::string_view key_base64);

// An account SAS. Defaults grant everything a BlobStore needs on the blob service.
struct AccountSasOptions {
  std::string account;
  std::string permissions = "rwdlac";  // read, write, delete, list, add, create
  std::string services = "b";          // blob
  std::string resource_types = "sco";  // service, container, object
  WallTime start{};                    // epoch value: no start time (valid at once)
  WallTime expiry{};                   // required
  std::string protocol = "https,http";
  std::string version = "2021-08-06";
};

// The SAS token (query string without '?': "sv=...&ss=...&srt=...&sp=...&se=...&spr=...&sig=...").
// kInvalidArgument when the key is not base64, the expiry is missing or precedes the start.
Result<std::string> generate_account_sas(const AccountSasOptions& options, std::string_view key_base64);

}  // namespace hadr::azure
