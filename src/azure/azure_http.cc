#include "azure/azure_http.h"

#include <curl/curl.h>
#include <strings.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace hadr::azure {

namespace {

// curl_global_init is not thread-safe: once per process, before the first handle.
void initialize_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Exchange {
  std::string_view upload;
  std::size_t uploaded = 0;
  std::size_t response_bytes_max = 0;
  bool response_too_large = false;
  HttpResponse response;
};

std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  const std::size_t chunk = std::min(size * count, exchange->upload.size() - exchange->uploaded);
  if (chunk == 0) return 0;  // an empty body may have no buffer at all
  std::memcpy(buffer, exchange->upload.data() + exchange->uploaded, chunk);
  exchange->uploaded += chunk;
  HADR_ASSERT(exchange->uploaded <= exchange->upload.size());
  return chunk;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  const std::size_t bytes = size * count;
  if (exchange->response.body.size() + bytes > exchange->response_bytes_max) {
    exchange->response_too_large = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  exchange->response.body.append(data, bytes);
  return bytes;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  const std::string_view line(data, size * count);
  constexpr std::string_view kErrorCode = "x-ms-error-code:";
  if (line.size() > kErrorCode.size() && strncasecmp(line.data(), kErrorCode.data(), kErrorCode.size()) == 0) {
    std::string_view value = line.substr(kErrorCode.size());
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
    // A server's error code is a short identifier; a longer one is cut, not trusted.
    exchange->response.error_code = std::string(value.substr(0, 128));
  }
  return size * count;
}

Error transport_error(CURLcode code, const std::string& what, const char* detail) {
  const std::string message = what + ": " + (detail[0] != '\0' ? detail : curl_easy_strerror(code));
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return deadline_exceeded(message + " (timed out; the request may have been applied)");
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
      return unavailable(message);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return failed_precondition(message + " (check the endpoint's TLS certificate and the CA store)");
    default:
      return internal_error(message);
  }
}

void set_method(CURL* curl, const HttpRequest& request, Exchange& exchange) {
  if (request.method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &exchange);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    HADR_ASSERT_MSG(request.method == "DELETE", "unsupported HTTP method %s", request.method.c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE");
  }
}

}  // namespace

HttpClient::HttpClient(Milliseconds connect_timeout, Milliseconds request_timeout)
    : connect_timeout_(connect_timeout), request_timeout_(request_timeout) {
  HADR_ASSERT(connect_timeout_ > Milliseconds(0) && request_timeout_ > Milliseconds(0));
  initialize_curl_once();
}

HttpClient::~HttpClient() {
  for (void* handle : idle_handles_) curl_easy_cleanup(static_cast<CURL*>(handle));
}

void* HttpClient::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_handles_.empty()) {
      void* handle = idle_handles_.back();
      idle_handles_.pop_back();
      return handle;
    }
  }
  CURL* curl = curl_easy_init();
  HADR_ASSERT_MSG(curl != nullptr, "curl_easy_init failed (out of memory)");
  return curl;
}

void HttpClient::release(void* handle) {
  HADR_ASSERT(handle != nullptr);
  std::lock_guard lock(mutex_);
  if (idle_handles_.size() < kIdleHandlesMax) {
    idle_handles_.push_back(handle);
    return;
  }
  curl_easy_cleanup(static_cast<CURL*>(handle));
}

Result<HttpResponse> HttpClient::perform(const HttpRequest& request) {
  HADR_ASSERT(!request.url.empty() && request.response_bytes_max > 0);
  CURL* curl = static_cast<CURL*>(acquire());
  curl_easy_reset(curl);  // options only: the connection cache survives
  Exchange exchange{.upload = request.body, .response_bytes_max = request.response_bytes_max};
  curl_slist* headers = nullptr;
  for (const std::string& line : request.header_lines) headers = curl_slist_append(headers, line.c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip for large bodies
  std::array<char, CURL_ERROR_SIZE> error_buffer{};
  set_method(curl, request, exchange);
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM from a worker thread
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout_.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request_timeout_.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &exchange);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &exchange);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer.data());
  const CURLcode code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &exchange.response.status);
  curl_slist_free_all(headers);
  release(curl);
  if (exchange.response_too_large) {
    return resource_exhausted(request.what + ": the response is larger than " +
                              std::to_string(request.response_bytes_max) + " bytes");
  }
  if (code != CURLE_OK) return transport_error(code, request.what, error_buffer.data());
  HADR_ASSERT(exchange.response.status >= 100);
  return std::move(exchange.response);
}

}  // namespace hadr::azure
