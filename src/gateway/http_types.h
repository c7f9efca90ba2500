// HttpRequest and HttpResponse: the plain values the gateway core (Gateway::handle) works on,
// so that its logic is tested without sockets; GatewayServer maps cpp-httplib to and from them.
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

}  // namespace hadr
