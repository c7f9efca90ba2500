#include "http/http_types.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "core/assert.h"

namespace hadr {

const std::string* find_header(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [header_name, value] : headers) {
    if (header_name.size() == name.size() &&
        std::equal(name.begin(), name.end(), header_name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return &value;
    }
  }
  return nullptr;
}

HttpResponse error_response(int status, std::string message) {
  HADR_ASSERT(status >= 400 && status <= 599);
  HttpResponse response;
  response.status = status;
  response.body = nlohmann::json{{"error", std::move(message)}}.dump(-1, ' ', false,
                                                                     nlohmann::json::error_handler_t::replace);
  return response;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

namespace {

bool is_header_safe(std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
  HADR_ASSERT(is_header_safe(name) && is_header_safe(value));
  out.append(name).append(": ").append(value).append("\r\n");
}

}  // namespace

std::string serialize_response(const HttpResponse& response, bool head_request, bool close) {
  HADR_ASSERT(response.status >= 100 && response.status <= 599);
  std::string out;
  out.reserve(256 + (head_request ? 0 : response.body.size()));
  out.append("HTTP/1.1 ").append(std::to_string(response.status)).append(" ").append(reason_phrase(response.status));
  out.append("\r\n");
  append_header(out, "Content-Type", response.content_type);
  append_header(out, "Content-Length", std::to_string(response.body.size()));
  for (const auto& [name, value] : response.headers) append_header(out, name, value);
  if (close) append_header(out, "Connection", "close");
  out.append("\r\n");
  if (!head_request) out.append(response.body);
  return out;
}

}  // namespace hadr
