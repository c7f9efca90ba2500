// AzureBlobStore: the BlobStore contract (contracts/blob_store.h) on Azure Blob Storage block
// blobs over the REST API (libcurl; Shared Key or SAS auth). Design: docs/azure-blob.md.
//
//   put            Put Blob (x-ms-blob-type: BlockBlob): one request, so all or nothing.
//   put_if_absent  Put Blob with If-None-Match: *; 409 BlobAlreadyExists / 412 -> false.
//   get            Get Blob; 404 BlobNotFound -> kNotFound.
//   list           List Blobs with prefix, marker continuation and maxresults =
//                  list_page_size, skipping names <= start_after, at most kListPagesMax
//                  requests per call; `more` means a further matching key was seen.
//   remove         Delete Blob; 404 BlobNotFound -> ok.
//
// Retries: 408, 429, 5xx, timeouts and connection failures are retried up to attempts_max
// attempts with exponential backoff (backoff_initial doubling, capped at backoff_max), through
// the injected Sleeper; then kUnavailable (kDeadlineExceeded when the last attempt timed out)
// naming the HTTP status and x-ms-error-code. Retrying a put is safe (the whole object is
// replaced). A put_if_absent whose first attempt timed out after being applied sees its own
// object on the retry and returns false: the key then holds this call's data or an earlier
// writer's, which is what WAL shipping (the same bytes under one key) needs.
// Other answers: 401/403 -> kFailedPrecondition "check the account key / SAS"; a missing
// container -> kFailedPrecondition; any other status -> kInternal with status and error code.
// Keys are checked with validate_blob_key before any request and percent-encoded in the URL.
// No error, log line or describe() ever holds the key or the SAS.
//
// Ownership: owns its options (with the credential) and a pool of HTTP connections; borrows
// the clock, which must outlive the store. Thread-safety: every method is safe from several
// threads (the options are immutable; the HTTP pool locks).
// Invariants: options_ passed validate(); every request carries x-ms-date from the clock and
// x-ms-version kStorageVersion.
#pragma once

#include <atomic>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "azure/azure_auth.h"
#include "azure/azure_blob_options.h"
#include "azure/azure_http.h"
#include "azure/blob_list_xml.h"
#include "contracts/blob_store.h"
#include "core/clock.h"

namespace hadr::azure {

class AzureBlobStore final : public BlobStore {
 public:
  static constexpr std::string_view kStorageVersion = "2021-08-06";
  // List Blobs requests one list() call may make while skipping keys <= start_after.
  static constexpr std::size_t kListPagesMax = 1'000;
  // A List Blobs page of 5000 names of up to 1 KiB, with their properties, fits well within this.
  static constexpr std::size_t kListResponseBytesMax = 64u << 20;
  // Waits between attempts; a real sleep by default (this is an adapter). Tests record them.
  using Sleeper = std::function<void(Milliseconds)>;

  // Validates the options and makes a store without any request.
  static Result<std::unique_ptr<AzureBlobStore>> create(AzureBlobOptions options, Sleeper sleeper = nullptr,
                                                        const Clock& clock = RealClock::instance());
  // create(), then ensure_container(): the usual way in.
  static Result<std::unique_ptr<AzureBlobStore>> open(AzureBlobOptions options, Sleeper sleeper = nullptr,
                                                      const Clock& clock = RealClock::instance());

  // Creates the container when it does not exist (Get Container Properties, then Create
  // Container; a concurrent creator's 409 is fine).
  Status ensure_container();
  // Where and as whom, with the credential shown as "***".
  std::string describe() const { return options_.describe(); }
  // Times a write found the container gone (an emulator restarted empty, a deleted container)
  // and created it again (issue 12, hole 13). What the old container held is lost: a replay
  // over the gap stops on data_loss naming the LSNs, never skips them.
  std::uint64_t containers_recreated() const { return containers_recreated_.load(); }

  Result<bool> put_if_absent(std::string_view key, std::string_view data) override;
  Status put(std::string_view key, std::string_view data) override;
  Result<std::string> get(std::string_view key) override;
  Result<BlobPage> list(std::string_view prefix, std::string_view start_after, std::size_t max) override;
  Status remove(std::string_view key) override;

 private:
  // One REST call before signing: what execute() turns into an HTTP request per attempt.
  struct Operation {
    std::string method;
    std::string blob;  // "" for a container operation
    NameValueList query;
    NameValueList headers;  // besides x-ms-date, x-ms-version and Authorization
    std::string_view body;
    std::size_t response_bytes_max = 64 * 1024;
    std::string what;  // "put 'wal/1'": names the call in errors
  };

  AzureBlobStore(AzureBlobOptions options, AzureEndpoint endpoint, Sleeper sleeper, const Clock& clock);

  Status put_blob(std::string_view key, std::string_view data, bool only_if_absent, bool& written);
  Result<BlobListPage> list_page(std::string_view prefix, const std::string& marker);
  // Sends `operation`, retrying transient failures; returns the final response (any status
  // execute does not retry) or the transport error.
  Result<HttpResponse> execute(const Operation& operation);
  Result<HttpRequest> build_request(const Operation& operation) const;
  Milliseconds backoff_before(int attempt) const;
  // The error for a response execute() returned that the caller does not expect.
  Error status_error(const Operation& operation, const HttpResponse& response) const;
  // `error` with every occurrence of the credential replaced by "***" (defence in depth:
  // no message is built from it, but a server or libcurl could echo a URL).
  Error redacted(Error error) const;

  std::atomic<std::uint64_t> containers_recreated_{0};

  const AzureBlobOptions options_;
  const AzureEndpoint endpoint_;
  const Sleeper sleeper_;
  const Clock& clock_;
  HttpClient http_;
};

}  // namespace hadr::azure
