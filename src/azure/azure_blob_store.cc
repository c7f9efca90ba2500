#include "azure/azure_blob_store.h"

#include <thread>

#include "contracts/validation.h"

namespace hadr::azure {

namespace {

bool is_retryable_status(long status) { return status == 408 || status == 429 || (status >= 500 && status <= 599); }

bool is_retryable_error(ErrorCode code) { return code == ErrorCode::kUnavailable || code == ErrorCode::kDeadlineExceeded; }

std::string status_text(const HttpResponse& response) {
  return "HTTP " + std::to_string(response.status) + (response.error_code.empty() ? "" : " " + response.error_code);
}

// Every key with `prefix` sorts before `start_after` when the two differ inside the prefix
// with start_after's byte the greater: such a list is empty without asking the server.
bool start_after_passes_prefix(std::string_view prefix, std::string_view start_after) {
  const std::size_t common = std::min(prefix.size(), start_after.size());
  for (std::size_t i = 0; i < common; ++i) {
    if (prefix[i] != start_after[i]) {
      return static_cast<unsigned char>(start_after[i]) > static_cast<unsigned char>(prefix[i]);
    }
  }
  return false;
}

void replace_all(std::string& text, const std::string& secret) {
  if (secret.empty()) return;
  for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
    text.replace(at, secret.size(), "***");
  }
}

}  // namespace

AzureBlobStore::AzureBlobStore(AzureBlobOptions options, AzureEndpoint endpoint, Sleeper sleeper, const Clock& clock)
    : options_(std::move(options)),
      endpoint_(std::move(endpoint)),
      sleeper_(std::move(sleeper)),
      clock_(clock),
      http_(options_.connect_timeout, options_.request_timeout) {
  HADR_ASSERT(sleeper_ != nullptr);
}

Result<std::unique_ptr<AzureBlobStore>> AzureBlobStore::create(AzureBlobOptions options, Sleeper sleeper,
                                                               const Clock& clock) {
  HADR_TRY(options.validate());
  HADR_ASSIGN_OR_RETURN(AzureEndpoint endpoint, AzureEndpoint::parse(options.endpoint));
  if (sleeper == nullptr) sleeper = [](Milliseconds duration) { std::this_thread::sleep_for(duration); };
  return std::unique_ptr<AzureBlobStore>(
      new AzureBlobStore(std::move(options), std::move(endpoint), std::move(sleeper), clock));
}

Result<std::unique_ptr<AzureBlobStore>> AzureBlobStore::open(AzureBlobOptions options, Sleeper sleeper,
                                                             const Clock& clock) {
  HADR_ASSIGN_OR_RETURN(std::unique_ptr<AzureBlobStore> store, create(std::move(options), std::move(sleeper), clock));
  HADR_TRY(store->ensure_container());
  return store;
}

Status AzureBlobStore::ensure_container() {
  const NameValueList container_query = {{"restype", "container"}};
  const std::string name = "container '" + options_.container + "'";
  HADR_ASSIGN_OR_RETURN(const HttpResponse properties,
                        execute({.method = "GET", .query = container_query, .what = "get properties of " + name}));
  if (properties.status == 200) return ok_status();
  if (properties.status != 404) {
    return status_error({.what = "get properties of " + name}, properties);
  }
  const Operation create{.method = "PUT", .query = container_query, .what = "create " + name};
  HADR_ASSIGN_OR_RETURN(const HttpResponse created, execute(create));
  // 409 ContainerAlreadyExists: another process created it between the two calls.
  if (created.status == 201 || created.status == 409) return ok_status();
  return status_error(create, created);
}

Status AzureBlobStore::put(std::string_view key, std::string_view data) {
  bool written = false;
  HADR_TRY(put_blob(key, data, /*only_if_absent=*/false, written));
  HADR_ASSERT(written);
  return ok_status();
}

Result<bool> AzureBlobStore::put_if_absent(std::string_view key, std::string_view data) {
  bool written = false;
  HADR_TRY(put_blob(key, data, /*only_if_absent=*/true, written));
  return written;
}

Status AzureBlobStore::put_blob(std::string_view key, std::string_view data, bool only_if_absent, bool& written) {
  HADR_TRY(validate_blob_key(key));
  if (data.size() > kMaxObjectBytes) {
    return invalid_argument("blob '" + std::string(key) + "' is " + std::to_string(data.size()) +
                            " bytes; objects are at most " + std::to_string(kMaxObjectBytes) + " bytes");
  }
  Operation operation{.method = "PUT",
                      .blob = std::string(key),
                      .headers = {{"Content-Type", "application/octet-stream"}, {"x-ms-blob-type", "BlockBlob"}},
                      .body = data,
                      .what = std::string(only_if_absent ? "put_if_absent '" : "put '") + std::string(key) + "'"};
  if (only_if_absent) operation.headers.emplace_back("If-None-Match", "*");
  HADR_ASSIGN_OR_RETURN(HttpResponse response, execute(operation));
  if (response.status == 404 && response.error_code == "ContainerNotFound") {
    // The container vanished under a running writer (hole 13: Azurite restarted empty). Before,
    // every write failed until a process restart, and the relay held its batch forever. Create
    // it again and write once more; readers of the old objects find the gap (data_loss).
    HADR_TRY(ensure_container());
    containers_recreated_.fetch_add(1);
    HADR_ASSIGN_OR_RETURN(response, execute(operation));
  }
  if (response.status == 201) {
    written = true;
    return ok_status();
  }
  // 409 BlobAlreadyExists is what Put Blob answers to If-None-Match: * on an existing blob;
  // 412 ConditionNotMet is the generic answer to a failed condition.
  if (only_if_absent && (response.status == 409 || response.status == 412)) {
    written = false;
    return ok_status();
  }
  return status_error(operation, response);
}

Result<std::string> AzureBlobStore::get(std::string_view key) {
  HADR_TRY(validate_blob_key(key));
  const Operation operation{.method = "GET",
                            .blob = std::string(key),
                            .response_bytes_max = kMaxObjectBytes,
                            .what = "get '" + std::string(key) + "'"};
  HADR_ASSIGN_OR_RETURN(HttpResponse response, execute(operation));
  if (response.status == 200) return std::move(response.body);
  // A vanished container holds no objects (as list() says): the key is not found.
  if (response.status == 404) {
    return not_found("blob '" + std::string(key) + "' does not exist in " + options_.describe() +
                     (response.error_code == "ContainerNotFound" ? " (the container is gone)" : ""));
  }
  return status_error(operation, response);
}

Status AzureBlobStore::remove(std::string_view key) {
  HADR_TRY(validate_blob_key(key));
  const Operation operation{.method = "DELETE", .blob = std::string(key), .what = "remove '" + std::string(key) + "'"};
  HADR_ASSIGN_OR_RETURN(const HttpResponse response, execute(operation));
  if (response.status == 202 || response.status == 200) return ok_status();
  // Deleting what is not there is ok by contract (also on a retry after a lost answer), and in
  // a container that vanished nothing is there.
  if (response.status == 404) return ok_status();
  return status_error(operation, response);
}

Result<BlobPage> AzureBlobStore::list(std::string_view prefix, std::string_view start_after, std::size_t max) {
  HADR_TRY(validate_blob_key_prefix("blob list prefix", prefix));
  HADR_TRY(validate_blob_key_prefix("blob list start_after", start_after));
  HADR_TRY(validate_batch_size("blob list max", max, kMaxListPage));
  BlobPage result;
  if (start_after_passes_prefix(prefix, start_after)) return result;
  std::string marker;
  std::string previous;
  for (std::size_t page_number = 0; page_number < kListPagesMax; ++page_number) {
    HADR_ASSIGN_OR_RETURN(const BlobListPage page, list_page(prefix, marker));
    for (const std::string& name : page.names) {
      // The skip below is only right for a byte-ordered listing of the prefix: check it is one.
      if (!name.starts_with(prefix) || (!previous.empty() && name <= previous)) {
        return internal_error("List Blobs of prefix '" + std::string(prefix) + "' in " + options_.describe() +
                              " returned '" + name + "' out of order or outside the prefix");
      }
      previous = name;
      if (name <= start_after) continue;
      if (result.keys.size() == max) {
        result.more = true;
        return result;
      }
      result.keys.push_back(name);
    }
    if (page.next_marker.empty()) return result;
    marker = page.next_marker;
  }
  return resource_exhausted("blob list of prefix '" + std::string(prefix) + "' after '" + std::string(start_after) +
                            "' read " + std::to_string(kListPagesMax) + " pages of " +
                            std::to_string(options_.list_page_size) +
                            " keys without filling the page; list a narrower prefix");
}

Result<BlobListPage> AzureBlobStore::list_page(std::string_view prefix, const std::string& marker) {
  Operation operation{.method = "GET",
                      .query = {{"restype", "container"}, {"comp", "list"}},
                      .response_bytes_max = kListResponseBytesMax,
                      .what = "list prefix '" + std::string(prefix) + "'"};
  if (!prefix.empty()) operation.query.emplace_back("prefix", std::string(prefix));
  if (!marker.empty()) operation.query.emplace_back("marker", marker);
  operation.query.emplace_back("maxresults", std::to_string(options_.list_page_size));
  HADR_ASSIGN_OR_RETURN(const HttpResponse response, execute(operation));
  // A container that vanished under a running store (hole 13: Azurite restarted empty) holds
  // no objects: readers see an empty backup (the replayer waits at the gap; the owner re-ships),
  // and the next put creates the container again.
  if (response.status == 404 && response.error_code == "ContainerNotFound") return BlobListPage{};
  if (response.status != 200) return status_error(operation, response);
  auto page = parse_blob_list(response.body);
  if (!page.ok()) return internal_error(operation.what + " in " + options_.describe() + ": " + page.error().detail);
  if (page->names.size() > options_.list_page_size) {
    return internal_error(operation.what + ": the server listed " + std::to_string(page->names.size()) +
                          " names for maxresults " + std::to_string(options_.list_page_size));
  }
  return page;
}

Result<HttpResponse> AzureBlobStore::execute(const Operation& operation) {
  HADR_ASSERT(options_.attempts_max >= 1);
  Error last_failure = internal_error("no attempt made");
  for (int attempt = 1; attempt <= options_.attempts_max; ++attempt) {
    if (attempt > 1) sleeper_(backoff_before(attempt));
    HADR_ASSIGN_OR_RETURN(const HttpRequest request, build_request(operation));
    auto response = http_.perform(request);
    if (response.ok() && !is_retryable_status(response->status)) return response;
    if (!response.ok() && !is_retryable_error(response.code())) return redacted(std::move(response).take_error());
    last_failure = response.ok() ? unavailable(operation.what + ": " + status_text(*response))
                                 : std::move(response).take_error();
  }
  const std::string attempts = " (after " + std::to_string(options_.attempts_max) +
                               " attempts, azure blob option attempts_max) in " + options_.describe();
  return redacted(Error{last_failure.code, last_failure.detail + attempts});
}

Result<HttpRequest> AzureBlobStore::build_request(const Operation& operation) const {
  AzureRequest signed_request{.method = operation.method,
                              .encoded_path = endpoint_.base_path + "/" + options_.container,
                              .query = operation.query,
                              .headers = operation.headers,
                              .content_length = operation.body.size()};
  if (!operation.blob.empty()) signed_request.encoded_path += "/" + percent_encode(operation.blob, /*keep_slash=*/true);
  signed_request.headers.emplace_back("x-ms-date", format_rfc1123(clock_.now_wall()));
  signed_request.headers.emplace_back("x-ms-version", std::string(kStorageVersion));
  HttpRequest request{.method = operation.method,
                      .url = endpoint_.scheme + "://" + endpoint_.authority + signed_request.encoded_path +
                             encode_query(signed_request.query),
                      .body = operation.body,
                      .response_bytes_max = operation.response_bytes_max,
                      .what = "azure blob " + operation.what};
  if (options_.uses_shared_key()) {
    HADR_ASSIGN_OR_RETURN(std::string authorization,
                          shared_key_authorization(signed_request, options_.account, options_.key.reveal()));
    signed_request.headers.emplace_back("Authorization", std::move(authorization));
  } else {
    request.url += (signed_request.query.empty() ? "?" : "&") + options_.sas.reveal();
  }
  for (const auto& [name, value] : signed_request.headers) request.header_lines.push_back(name + ": " + value);
  HADR_ASSERT(!request.header_lines.empty());
  return request;
}

Milliseconds AzureBlobStore::backoff_before(int attempt) const {
  HADR_ASSERT(attempt >= 2);
  Milliseconds wait = options_.backoff_initial;
  for (int doubling = 2; doubling < attempt && wait < options_.backoff_max; ++doubling) wait *= 2;
  return std::min(wait, options_.backoff_max);
}

Error AzureBlobStore::status_error(const Operation& operation, const HttpResponse& response) const {
  HADR_ASSERT(response.status != 0);
  const std::string where = "azure blob " + operation.what + " in " + options_.describe() + ": " + status_text(response);
  if (response.status == 401 || response.status == 403) {
    return redacted(failed_precondition(
        where + ": the server refused the credentials; check the account key / SAS (HADR_AZURE_STORAGE_KEY or "
                "HADR_AZURE_STORAGE_SAS: value, permissions, expiry) and this machine's clock"));
  }
  if (response.status == 404 && response.error_code == "ContainerNotFound") {
    return redacted(failed_precondition(where + ": the container does not exist; open() creates it (was it deleted?)"));
  }
  if (is_retryable_status(response.status)) return redacted(unavailable(where));
  return redacted(internal_error(where + ": unexpected answer"));
}

Error AzureBlobStore::redacted(Error error) const {
  replace_all(error.detail, options_.key.reveal());
  replace_all(error.detail, options_.sas.reveal());
  return error;
}

}  // namespace hadr::azure
