// HttpRequest and HttpResponse: the plain values the gateway core (Gateway::handle) works on,
// so that its logic is tested without sockets; HttpServer builds requests with its strict
// parser (http_parser.h) and writes responses with serialize_response().
//
// Header names compare case-insensitively (RFC 9110). Ownership: plain values.
// Thread-safety: none needed.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hadr {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// The value of the first header called `name` (any case), or nullptr.
const std::string* find_header(const HttpHeaders& headers, std::string_view name);

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string
  HttpHeaders headers;
  std::string body;
  std::string remote_address;  // the peer's IP address: the client identity without X-Client-Id

  const std::string* header(std::string_view name) const { return find_header(headers, name); }
};

struct HttpResponse {
  int status = 500;
  std::string content_type = "application/json";
  HttpHeaders headers;  // besides Content-Type
  std::string body;

  const std::string* header(std::string_view name) const { return find_header(headers, name); }
};

// The documented error answer: a JSON body {"error": message} (bytes that are not UTF-8 are
// replaced, so a message that quotes input still makes valid JSON).
HttpResponse error_response(int status, std::string message);

// "Not Found" for 404, ...; "Unknown" for a status without a phrase here.
std::string_view reason_phrase(int status);

// The response on the wire: status line, Content-Type, Content-Length, the extra headers,
// `Connection: close` when `close`, and the body unless `head_request`. Header names and values
// must hold no CR or LF (asserted: the core never copies client input into a header).
std::string serialize_response(const HttpResponse& response, bool head_request, bool close);

}  // namespace hadr
