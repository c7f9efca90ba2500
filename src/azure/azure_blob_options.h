// AzureBlobOptions: where an Azure Blob Storage container is, how to authenticate to it, and
// the timeouts and retry bounds of every request an AzureBlobStore makes (docs/azure-blob.md).
//
// Authentication is exactly one of:
//   - `key`: the storage account key (base64), used for Shared Key signing. The key never
//     leaves the process: only HMAC-SHA256 signatures made with it do.
//   - `sas`: a shared access signature token (the query string "sv=...&sig=..."), appended to
//     every request URL.
// Both are Secrets, whose only printable form is "***": they never reach a log, an error
// message, describe() or a report.
//
// Environment (from_environment): HADR_AZURE_BLOB_ENDPOINT, HADR_AZURE_STORAGE_ACCOUNT,
// HADR_AZURE_STORAGE_KEY, HADR_AZURE_STORAGE_SAS.
//
// Ownership: plain values. Thread-safety: none needed (copied into each store).
// Invariant after validate(): every field is in range and the endpoint parses, so a store
// never has to check again.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "core/secret.h"

namespace hadr::azure {

// Secret, EnvironmentLookup and process_environment() live in core/secret.h.
using hadr::Secret;
using hadr::EnvironmentLookup;
using hadr::process_environment;

// The parts of a validated endpoint URL. base_path is "" for https://ACCOUNT.blob.core.windows.net
// and "/devstoreaccount1" for Azurite's path-style http://127.0.0.1:PORT/devstoreaccount1.
struct AzureEndpoint {
  std::string scheme;     // "http" or "https"
  std::string authority;  // "host" or "host:port"
  std::string host;
  std::string base_path;  // "" or "/segment[/segment...]", no trailing '/'

  static Result<AzureEndpoint> parse(std::string_view url);
  bool is_loopback() const;
};

struct AzureBlobOptions {
  static constexpr int kAttemptsMaxLimit = 20;
  static constexpr std::size_t kEndpointBytesMax = 2048;
  static constexpr std::size_t kSasBytesMax = 4096;

  // The account URL without a trailing '/' or a query, e.g. https://ACCOUNT.blob.core.windows.net
  // or http://127.0.0.1:10000/devstoreaccount1 (Azurite, path style).
  std::string endpoint;
  std::string account;    // 3..24 lower-case letters and digits
  std::string container;  // 3..63 of [a-z0-9-], starting with a letter or digit, no "--"
  Secret key;             // base64 account key: Shared Key auth
  Secret sas;             // SAS token without the leading '?': SAS auth
  // Plain http is accepted for a loopback endpoint (Azurite) without this; anywhere else a
  // SAS would cross the network in clear text, so it takes an explicit opt-in.
  bool allow_plain_http = false;
  Milliseconds connect_timeout{2'000};
  Milliseconds request_timeout{30'000};  // one attempt, connect to last byte
  int attempts_max = 4;                  // attempts per operation, the first one included
  Milliseconds backoff_initial{100};     // wait before the 2nd attempt; doubles, capped
  Milliseconds backoff_max{2'000};
  std::size_t list_page_size = 5'000;  // `maxresults` of each List Blobs request, 1..5000

  // kInvalidArgument naming the bad field and its allowed values; never echoes a secret.
  Status validate() const;
  // "azure blob container 'c' at https://a.blob.core.windows.net (account a, shared key ***)".
  std::string describe() const;
  bool uses_shared_key() const { return !key.empty(); }
};


// Options for `container` from the environment:
//   HADR_AZURE_STORAGE_ACCOUNT  the account name (required)
//   HADR_AZURE_BLOB_ENDPOINT    the account URL (default https://ACCOUNT.blob.core.windows.net)
//   HADR_AZURE_STORAGE_KEY      the account key, or
//   HADR_AZURE_STORAGE_SAS      a SAS token (a leading '?' is dropped); exactly one of the two.
// The result is validated; errors name the variable, never its secret value.
Result<AzureBlobOptions> azure_blob_options_from_environment(const EnvironmentLookup& environment,
                                                            std::string container);

// Checks a container name against Azure's rules; used by validate() and by tests that make
// fresh container names.
Status validate_container_name(std::string_view container);

}  // namespace hadr::azure
