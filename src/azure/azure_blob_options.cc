#include "azure/azure_blob_options.h"

#include <cstdlib>

#include "azure/azure_auth.h"

namespace hadr::azure {

namespace {

constexpr Milliseconds kTimeoutMax = std::chrono::minutes(10);
constexpr std::size_t kListPageSizeMax = 5'000;  // List Blobs' own ceiling for maxresults
// A decoded account key is 64 bytes; other lengths are accepted (Azurite, future keys) up to this.
constexpr std::size_t kKeyBytesMax = 256;

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

Status validate_timeout(std::string_view field, Milliseconds value) {
  if (value <= Milliseconds(0) || value > kTimeoutMax) {
    return invalid_argument("azure blob option " + std::string(field) + " is " + std::to_string(value.count()) +
                            " ms; give 1 ms .. " + std::to_string(kTimeoutMax.count()) + " ms");
  }
  return ok_status();
}

Status validate_account(std::string_view account) {
  bool allowed = account.size() >= 3 && account.size() <= 24;
  for (const char c : account) allowed = allowed && is_lower_alnum(c);
  if (!allowed) {
    return invalid_argument("azure blob option account '" + std::string(account.substr(0, 64)) +
                            "' must be 3..24 lower-case letters and digits (the storage account name)");
  }
  return ok_status();
}

// Exactly one credential; the key must be base64 and the SAS a query string with a signature.
// Messages name the field, never its value.
Status validate_credentials(const Secret& key, const Secret& sas) {
  if (key.empty() == sas.empty()) {
    return invalid_argument(
        "azure blob options key and sas: give exactly one (HADR_AZURE_STORAGE_KEY for Shared Key, or "
        "HADR_AZURE_STORAGE_SAS for a SAS token)");
  }
  if (!key.empty()) {
    auto decoded = base64_decode(key.reveal());
    if (!decoded.ok() || decoded->empty() || decoded->size() > kKeyBytesMax) {
      return invalid_argument("azure blob option key is not a base64 account key; copy key1 or key2 of the storage "
                              "account again (it ends in '==')");
    }
    return ok_status();
  }
  const std::string& token = sas.reveal();
  bool printable = token.size() <= AzureBlobOptions::kSasBytesMax;
  for (const char c : token) printable = printable && c > 0x20 && c < 0x7f && c != '#';
  if (!printable || token.front() == '?' || (!token.starts_with("sig=") && token.find("&sig=") == std::string::npos)) {
    return invalid_argument("azure blob option sas is not a SAS token; give the query string 'sv=...&sig=...' "
                            "without the leading '?', at most " +
                            std::to_string(AzureBlobOptions::kSasBytesMax) + " printable bytes");
  }
  return ok_status();
}

}  // namespace

Result<AzureEndpoint> AzureEndpoint::parse(std::string_view url) {
  const auto bad = [&](std::string_view why) {
    return invalid_argument("azure blob option endpoint '" + std::string(url.substr(0, 200)) + "' " + std::string(why) +
                            "; give the account URL, e.g. https://ACCOUNT.blob.core.windows.net or "
                            "http://127.0.0.1:10000/devstoreaccount1");
  };
  if (url.empty() || url.size() > AzureBlobOptions::kEndpointBytesMax) return bad("is empty or too long");
  AzureEndpoint endpoint;
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    endpoint.scheme = "https";
  } else if (rest.starts_with("http://")) {
    endpoint.scheme = "http";
  } else {
    return bad("must start with https:// or http://");
  }
  rest.remove_prefix(endpoint.scheme.size() + 3);
  for (const char c : rest) {
    // A query (a SAS) or credentials in the URL would end up in error messages: refuse them.
    if (c == '?' || c == '#' || c == '@') return bad("must not hold a query, fragment or user name (put a SAS in the sas option)");
    if (c <= 0x20 || c >= 0x7f || c == '%') return bad("has a space, a control, non-ASCII or '%' byte");
  }
  const std::size_t slash = rest.find('/');
  endpoint.authority = std::string(rest.substr(0, slash));
  endpoint.base_path = slash == std::string_view::npos ? std::string() : std::string(rest.substr(slash));
  if (endpoint.authority.empty()) return bad("has no host");
  if (endpoint.base_path.ends_with('/')) return bad("must not end with '/'");
  if (endpoint.base_path.find("//") != std::string::npos) return bad("has '//' in its path");
  const bool bracketed = endpoint.authority.front() == '[';
  const std::size_t host_end = bracketed ? endpoint.authority.find(']') + 1 : endpoint.authority.rfind(':');
  endpoint.host = endpoint.authority.substr(0, host_end);
  if (endpoint.host.empty()) return bad("has no host");
  return endpoint;
}

bool AzureEndpoint::is_loopback() const {
  return host == "localhost" || host == "[::1]" || host.starts_with("127.");
}

Status validate_container_name(std::string_view container) {
  bool allowed = container.size() >= 3 && container.size() <= 63 && is_lower_alnum(container.front()) &&
                 is_lower_alnum(container.back()) && container.find("--") == std::string_view::npos;
  for (const char c : container) allowed = allowed && (is_lower_alnum(c) || c == '-');
  if (!allowed) {
    return invalid_argument("azure blob option container '" + std::string(container.substr(0, 80)) +
                            "' must be 3..63 of lower-case letters, digits and '-', start and end with a letter or "
                            "digit, and have no '--'");
  }
  return ok_status();
}

Status AzureBlobOptions::validate() const {
  HADR_ASSIGN_OR_RETURN(const AzureEndpoint parsed, AzureEndpoint::parse(endpoint));
  if (parsed.scheme == "http" && !parsed.is_loopback() && !allow_plain_http) {
    return invalid_argument("azure blob option endpoint '" + endpoint +
                            "' is plain http to a non-loopback host; use https (or set allow_plain_http for a "
                            "trusted network)");
  }
  HADR_TRY(validate_account(account));
  HADR_TRY(validate_container_name(container));
  HADR_TRY(validate_credentials(key, sas));
  HADR_TRY(validate_timeout("connect_timeout", connect_timeout));
  HADR_TRY(validate_timeout("request_timeout", request_timeout));
  HADR_TRY(validate_timeout("backoff_initial", backoff_initial));
  HADR_TRY(validate_timeout("backoff_max", backoff_max));
  if (backoff_initial > backoff_max) {
    return invalid_argument("azure blob option backoff_initial (" + std::to_string(backoff_initial.count()) +
                            " ms) exceeds backoff_max (" + std::to_string(backoff_max.count()) + " ms)");
  }
  if (attempts_max < 1 || attempts_max > kAttemptsMaxLimit) {
    return invalid_argument("azure blob option attempts_max is " + std::to_string(attempts_max) + "; give 1.." +
                            std::to_string(kAttemptsMaxLimit));
  }
  if (list_page_size < 1 || list_page_size > kListPageSizeMax) {
    return invalid_argument("azure blob option list_page_size is " + std::to_string(list_page_size) + "; give 1.." +
                            std::to_string(kListPageSizeMax));
  }
  return ok_status();
}

std::string AzureBlobOptions::describe() const {
  const std::string auth = uses_shared_key() ? "shared key " + key.to_string() : "sas " + sas.to_string();
  return "azure blob container '" + container + "' at " + endpoint + " (account " + account + ", " + auth + ")";
}

Result<AzureBlobOptions> azure_blob_options_from_environment(const EnvironmentLookup& environment,
                                                            std::string container) {
  const auto read = [&](const char* name) { return environment(name).value_or(std::string()); };
  AzureBlobOptions options;
  options.container = std::move(container);
  options.account = read("HADR_AZURE_STORAGE_ACCOUNT");
  if (options.account.empty()) {
    return invalid_argument("HADR_AZURE_STORAGE_ACCOUNT is unset or empty; export the storage account name");
  }
  options.endpoint = read("HADR_AZURE_BLOB_ENDPOINT");
  if (options.endpoint.empty()) options.endpoint = "https://" + options.account + ".blob.core.windows.net";
  options.key = Secret(read("HADR_AZURE_STORAGE_KEY"));
  std::string sas = read("HADR_AZURE_STORAGE_SAS");
  if (sas.starts_with('?')) sas.erase(0, 1);  // copied with its '?' from a SAS URL
  options.sas = Secret(std::move(sas));
  auto valid = options.validate();
  if (!valid.ok()) {
    return invalid_argument(valid.error().detail +
                            " (from HADR_AZURE_BLOB_ENDPOINT, HADR_AZURE_STORAGE_ACCOUNT, HADR_AZURE_STORAGE_KEY, "
                            "HADR_AZURE_STORAGE_SAS)");
  }
  return options;
}

}  // namespace hadr::azure
