// HttpClient: one HTTP request and its response over libcurl, for the Azure backend. It knows
// nothing about Azure: the caller builds the URL and every header (signing included) and
// reads the status; retries are the caller's (AzureBlobStore), because only it knows which
// operations and statuses may be repeated.
//
// Transport failures map to how a caller reacts: a timeout is kDeadlineExceeded (the request
// MAY have been applied), a refused/reset/failed connection or DNS failure is kUnavailable, a
// TLS certificate problem is kFailedPrecondition (fix the trust store or the endpoint), a
// response body over the request's bound is kResourceExhausted, anything else kInternal.
// Error messages never contain the URL (it may carry a SAS) — only `what` names the request.
//
// Ownership: owns a bounded pool of libcurl easy handles (kept so connections are reused).
// Thread-safety: perform() is safe from several threads; each call takes its own handle.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace hadr::azure {

struct HttpRequest {
  std::string method;  // "GET", "PUT" or "DELETE"
  std::string url;     // may hold a SAS: never shown
  std::vector<std::string> header_lines;  // "Name: value"
  std::string_view body;                  // the PUT body (Content-Length = its size)
  std::size_t response_bytes_max = 0;     // a longer response body fails the request
  std::string what;                       // e.g. "put 'wal/1'": names the request in errors
};

struct HttpResponse {
  long status = 0;
  std::string error_code;  // the x-ms-error-code header, "" when absent
  std::string body;
};

class HttpClient {
 public:
  // Idle handles kept for reuse; more concurrent requests make (and then free) extra ones.
  static constexpr std::size_t kIdleHandlesMax = 16;

  HttpClient(Milliseconds connect_timeout, Milliseconds request_timeout);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  Result<HttpResponse> perform(const HttpRequest& request);

 private:
  void* acquire();
  void release(void* handle);

  const Milliseconds connect_timeout_;
  const Milliseconds request_timeout_;
  std::mutex mutex_;
  std::vector<void*> idle_handles_;  // CURL*, kept opaque so users need not include curl.h
};

}  // namespace hadr::azure
