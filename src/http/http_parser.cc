#include "http/http_parser.h"

#include <algorithm>
#include <array>

#include "core/assert.h"

namespace hadr {
namespace {

constexpr std::size_t kMethodBytesMax = 32;
constexpr std::size_t kChunkSizeLineBytesMax = 1024;
constexpr std::size_t kChunkSizeHexDigitsMax = 16;  // 64 bits
constexpr std::size_t kContentLengthDigitsMax = 19;  // fits in 63 bits

// Fields the gateway acts on: a second copy would make "which one counts" a guess.
constexpr std::array<std::string_view, 6> kSingletonFields = {"host",        "idempotency-key", "x-client-id",
                                                              "authorization", "content-type",   "expect"};

bool is_tchar(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) { return !text.empty() && std::all_of(text.begin(), text.end(), is_tchar); }

// field-value characters: HTAB, SP, VCHAR and obs-text; never NUL, CR, LF, other controls or DEL.
bool is_field_value_char(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte == '\t' || (byte >= 0x20 && byte != 0x7f);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return lower(x) == lower(y);
         });
}

std::string_view trim_whitespace(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Splits a comma-separated field value into trimmed elements (empty elements kept: the caller
// decides whether they are an error).
template <typename Visit>
void for_each_list_element(std::string_view value, Visit visit) {
  for (;;) {
    const std::size_t comma = value.find(',');
    visit(trim_whitespace(value.substr(0, comma)));
    if (comma == std::string_view::npos) return;
    value.remove_prefix(comma + 1);
  }
}

std::size_t count_fields(const HttpHeaders& headers, std::string_view name) {
  return static_cast<std::size_t>(std::count_if(headers.begin(), headers.end(), [&](const auto& field) {
    return iequals(field.first, name);
  }));
}

}  // namespace

HttpRequestParser::HttpRequestParser(const HttpParserLimits& limits) : limits_(limits) {
  HADR_ASSERT(limits_.request_line_bytes_max >= 16 && limits_.request_line_bytes_max <= limits_.header_bytes_max);
  HADR_ASSERT(limits_.header_count_max >= 1 && limits_.body_bytes_max >= 1);
}

void HttpRequestParser::reset() {
  state_ = State::kRequestLine;
  line_.clear();
  line_saw_cr_ = false;
  header_bytes_ = 0;
  trailer_bytes_ = 0;
  empty_lines_before_request_ = 0;
  request_ = HttpRequest{};
  version_minor_ = 1;
  keep_alive_ = true;
  expects_continue_ = false;
  chunked_ = false;
  content_length_ = 0;
  body_left_ = 0;
  error_ = HttpRefusal{};
}

HttpRequest HttpRequestParser::take_request() {
  HADR_ASSERT(state_ == State::kComplete);
  return std::move(request_);
}

bool HttpRequestParser::fail(int status, std::string_view reason, std::string message) {
  HADR_ASSERT(status >= 400 && status <= 599 && !reason.empty());
  state_ = State::kError;
  error_ = HttpRefusal{status, reason, std::move(message)};
  return false;
}

std::size_t HttpRequestParser::line_limit() const {
  switch (state_) {
    case State::kRequestLine: return limits_.request_line_bytes_max;
    case State::kFieldLine:
    case State::kTrailer: return limits_.header_bytes_max;
    case State::kChunkSize: return kChunkSizeLineBytesMax;
    default: return 0;  // kChunkDataEnd: only the CRLF after the chunk data
  }
}

bool HttpRequestParser::take_line(std::string_view bytes, std::size_t& offset, std::size_t line_bytes_max,
                                  std::string& line) {
  while (offset < bytes.size()) {
    const char c = bytes[offset++];
    if (line_saw_cr_) {
      if (c != '\n') return fail(400, "bare_cr", "a CR in the request must be followed by LF (CRLF line endings)");
      line_saw_cr_ = false;
      line = std::move(line_);
      line_.clear();
      return true;
    }
    if (c == '\r') {
      line_saw_cr_ = true;
      continue;
    }
    if (c == '\n') return fail(400, "bare_lf", "request lines must end with CRLF, not a bare LF");
    if (line_.size() >= line_bytes_max) {
      switch (state_) {
        case State::kRequestLine:
          return fail(414, "request_line_too_long",
                      "request line longer than " + std::to_string(limits_.request_line_bytes_max) + " bytes");
        case State::kFieldLine:
        case State::kTrailer:
          return fail(431, "header_section_too_large",
                      "header section larger than " + std::to_string(limits_.header_bytes_max) + " bytes");
        case State::kChunkSize:
          return fail(400, "invalid_chunk", "chunk size line longer than " +
                                                std::to_string(kChunkSizeLineBytesMax) + " bytes");
        default: return fail(400, "invalid_chunk", "chunk data must be followed by CRLF");
      }
    }
    line_.push_back(c);
  }
  return false;
}

HttpRequestParser::FeedResult HttpRequestParser::feed(std::string_view bytes) {
  std::size_t offset = 0;
  // Every pass consumes at least one byte or moves the state forward, so this ends.
  for (;;) {
    switch (state_) {
      case State::kRequestLine:
      case State::kFieldLine:
      case State::kChunkSize:
      case State::kChunkDataEnd:
      case State::kTrailer: {
        const State before_state = state_;
        const std::size_t before = offset;
        const bool in_header = before_state == State::kRequestLine || before_state == State::kFieldLine;
        const bool budgeted = in_header || before_state == State::kTrailer;
        std::size_t& budget_used = in_header ? header_bytes_ : trailer_bytes_;
        // Take at most one byte past the budget, so the refusal comes at the same byte however
        // the input was split.
        std::string_view window = bytes;
        if (budgeted) window = bytes.substr(0, offset + (limits_.header_bytes_max - budget_used) + 1);
        std::string line;
        const bool whole = take_line(window, offset, line_limit(), line);
        if (state_ == State::kError) return {Progress::kError, offset};
        if (budgeted) {
          budget_used += offset - before;
          if (budget_used > limits_.header_bytes_max) {
            fail(431, "header_section_too_large",
                 std::string(in_header ? "header section" : "trailer section") + " larger than " +
                     std::to_string(limits_.header_bytes_max) + " bytes");
            return {Progress::kError, offset};
          }
        }
        if (!whole) return {Progress::kNeedMore, offset};
        bool ok = true;
        if (before_state == State::kRequestLine) ok = on_request_line(line);
        if (before_state == State::kFieldLine) ok = on_field_line(line);
        if (before_state == State::kChunkSize) ok = on_chunk_size_line(line);
        if (before_state == State::kTrailer) ok = on_trailer_line(line);
        if (before_state == State::kChunkDataEnd) state_ = State::kChunkSize;  // the line was empty
        if (!ok) return {Progress::kError, offset};
        if (state_ == State::kHeadersDone) return {Progress::kHeadersComplete, offset};
        if (state_ == State::kComplete) return {Progress::kComplete, offset};
        break;
      }
      case State::kHeadersDone:
        body_left_ = content_length_;
        state_ = chunked_ ? State::kChunkSize : (content_length_ > 0 ? State::kBody : State::kComplete);
        if (state_ == State::kComplete) return {Progress::kComplete, offset};
        break;
      case State::kBody:
      case State::kChunkData: {
        const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(body_left_, bytes.size() - offset));
        request_.body.append(bytes.substr(offset, take));
        offset += take;
        body_left_ -= take;
        HADR_ASSERT(request_.body.size() <= limits_.body_bytes_max);
        if (body_left_ > 0) return {Progress::kNeedMore, offset};
        state_ = state_ == State::kBody ? State::kComplete : State::kChunkDataEnd;
        if (state_ == State::kComplete) return {Progress::kComplete, offset};
        break;
      }
      case State::kComplete: return {Progress::kComplete, offset};
      case State::kError: return {Progress::kError, offset};
    }
  }
}

bool HttpRequestParser::on_request_line(const std::string& line) {
  if (line.empty()) {
    // RFC 9112 §2.2: ignore empty lines before a request line (bounded by the header budget).
    ++empty_lines_before_request_;
    return true;
  }
  const std::size_t first_space = line.find(' ');
  const std::size_t second_space = first_space == std::string::npos ? first_space : line.find(' ', first_space + 1);
  if (second_space == std::string::npos || line.find(' ', second_space + 1) != std::string::npos) {
    return fail(400, "invalid_request_line", "the request line must be METHOD SP /path SP HTTP/1.1");
  }
  const std::string_view method = std::string_view(line).substr(0, first_space);
  const std::string_view target = std::string_view(line).substr(first_space + 1, second_space - first_space - 1);
  const std::string_view version = std::string_view(line).substr(second_space + 1);
  if (!is_token(method) || method.size() > kMethodBytesMax) {
    return fail(400, "invalid_request_line", "the method must be a token of at most 32 characters");
  }
  if (target.empty() || target.front() != '/' ||
      !std::all_of(target.begin(), target.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    return fail(400, "invalid_request_line", "the request target must be a path starting with / (origin-form)");
  }
  const bool version_form = version.size() == 8 && version.substr(0, 5) == "HTTP/" && is_digit(version[5]) &&
                            version[6] == '.' && is_digit(version[7]);
  if (!version_form) return fail(400, "invalid_request_line", "the version must be HTTP/1.1");
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    return fail(505, "unsupported_version", "only HTTP/1.1 (and HTTP/1.0) are served");
  }
  version_minor_ = version[7] - '0';
  keep_alive_ = version_minor_ == 1;
  request_.method = std::string(method);
  request_.path = std::string(target.substr(0, target.find('?')));
  state_ = State::kFieldLine;
  return true;
}

bool HttpRequestParser::on_field_line(const std::string& line) {
  if (line.empty()) return on_headers_end();
  if (line.front() == ' ' || line.front() == '\t') {
    return fail(400, "obs_fold", "header lines may not be folded (a line starting with a space or tab)");
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string::npos) return fail(400, "invalid_field", "a header line needs NAME: VALUE");
  const std::string_view name = std::string_view(line).substr(0, colon);
  if (!is_token(name)) {
    return fail(400, "invalid_field", "a header name must be a token with no whitespace before the colon");
  }
  const std::string_view value = trim_whitespace(std::string_view(line).substr(colon + 1));
  if (!std::all_of(value.begin(), value.end(), is_field_value_char)) {
    return fail(400, "invalid_field", "header " + std::string(name) + " holds a control character");
  }
  if (request_.headers.size() >= limits_.header_count_max) {
    return fail(431, "too_many_fields", "more than " + std::to_string(limits_.header_count_max) + " header fields");
  }
  request_.headers.emplace_back(std::string(name), std::string(value));
  return true;
}

bool HttpRequestParser::on_headers_end() {
  if (!check_connection_fields()) return false;
  if (!check_framing()) return false;
  state_ = State::kHeadersDone;
  return true;
}

bool HttpRequestParser::check_connection_fields() {
  for (const std::string_view name : kSingletonFields) {
    if (count_fields(request_.headers, name) > 1) {
      return fail(400, "duplicate_field", "header " + std::string(name) + " appears more than once; send it once");
    }
  }
  if (version_minor_ == 1 && request_.header("Host") == nullptr) {
    return fail(400, "missing_host", "an HTTP/1.1 request needs a Host header");
  }
  for (const auto& [name, value] : request_.headers) {
    if (!iequals(name, "Connection")) continue;
    for_each_list_element(value, [&](std::string_view option) {
      if (iequals(option, "close")) keep_alive_ = false;
    });
  }
  if (const std::string* expect = request_.header("Expect")) {
    if (!iequals(*expect, "100-continue")) {
      return fail(417, "unsupported_expectation", "the only Expect the gateway meets is 100-continue");
    }
    expects_continue_ = version_minor_ == 1;
  }
  return true;
}

bool HttpRequestParser::check_framing() {
  const std::size_t length_fields = count_fields(request_.headers, "Content-Length");
  std::vector<std::string_view> codings;
  for (const auto& [name, value] : request_.headers) {
    if (iequals(name, "Transfer-Encoding")) for_each_list_element(value, [&](std::string_view c) { codings.push_back(c); });
  }
  const bool has_transfer_encoding = count_fields(request_.headers, "Transfer-Encoding") > 0;
  if (has_transfer_encoding && length_fields > 0) {
    return fail(400, "content_length_and_transfer_encoding",
                "a request may not carry both Content-Length and Transfer-Encoding");
  }
  if (has_transfer_encoding) {
    if (version_minor_ == 0) return fail(400, "invalid_transfer_encoding", "HTTP/1.0 has no Transfer-Encoding");
    const auto chunked_count = std::count_if(codings.begin(), codings.end(), [](auto c) { return iequals(c, "chunked"); });
    if (codings.empty() || !iequals(codings.back(), "chunked") || chunked_count != 1) {
      return fail(400, "invalid_transfer_encoding", "chunked must be the last transfer coding, once");
    }
    if (codings.size() != 1) {
      return fail(501, "unsupported_transfer_encoding", "the only transfer coding accepted is chunked alone");
    }
    chunked_ = true;
    return true;
  }
  if (length_fields > 1) return fail(400, "duplicate_content_length", "Content-Length appears more than once");
  const std::string* length = request_.header("Content-Length");
  if (length == nullptr) return true;  // no body
  if (length->empty() || !std::all_of(length->begin(), length->end(), is_digit)) {
    return fail(400, "invalid_content_length", "Content-Length must be a decimal number of bytes");
  }
  const std::string_view digits = std::string_view(*length).substr(std::min(length->find_first_not_of('0'), length->size()));
  std::uint64_t declared = 0;
  if (digits.size() <= kContentLengthDigitsMax) {
    for (const char digit : digits) declared = declared * 10 + static_cast<std::uint64_t>(digit - '0');
  }
  if (digits.size() > kContentLengthDigitsMax || declared > limits_.body_bytes_max) {
    return fail(413, "body_too_large", "declared body of " + (digits.size() > kContentLengthDigitsMax ? std::string(digits.substr(0, 24)) + "..." : std::string(digits)) +
                                           " bytes is larger than the " + std::to_string(limits_.body_bytes_max) +
                                           " bytes allowed (--body-max)");
  }
  content_length_ = declared;
  return true;
}

bool HttpRequestParser::on_chunk_size_line(const std::string& line) {
  std::string_view size_text = std::string_view(line).substr(0, line.find(';'));
  const std::string_view extensions = std::string_view(line).substr(size_text.size());
  size_text = trim_whitespace(size_text);
  if (size_text.empty() || !std::all_of(size_text.begin(), size_text.end(), [](char c) { return hex_value(c) >= 0; }) ||
      !std::all_of(extensions.begin(), extensions.end(), is_field_value_char) ||
      line.front() == ' ' || line.front() == '\t') {
    return fail(400, "invalid_chunk", "a chunk must start with its size in hexadecimal and CRLF");
  }
  size_text = size_text.substr(std::min(size_text.find_first_not_of('0'), size_text.size()));
  std::uint64_t size = 0;
  if (size_text.size() <= kChunkSizeHexDigitsMax) {
    for (const char digit : size_text) size = size * 16 + static_cast<std::uint64_t>(hex_value(digit));
  }
  const std::uint64_t room = limits_.body_bytes_max - request_.body.size();
  if (size_text.size() > kChunkSizeHexDigitsMax || size > room) {
    return fail(413, "body_too_large", "chunked body larger than the " + std::to_string(limits_.body_bytes_max) +
                                           " bytes allowed (--body-max)");
  }
  if (size == 0) {
    state_ = State::kTrailer;
    return true;
  }
  body_left_ = size;
  state_ = State::kChunkData;
  return true;
}

bool HttpRequestParser::on_trailer_line(const std::string& line) {
  if (line.empty()) {
    state_ = State::kComplete;
    return true;
  }
  // Trailer fields are checked like header fields and then dropped: nothing reads them.
  if (line.front() == ' ' || line.front() == '\t') {
    return fail(400, "obs_fold", "trailer lines may not be folded (a line starting with a space or tab)");
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string::npos || !is_token(std::string_view(line).substr(0, colon)) ||
      !std::all_of(line.begin() + static_cast<std::ptrdiff_t>(colon) + 1, line.end(), is_field_value_char)) {
    return fail(400, "invalid_field", "a trailer line needs NAME: VALUE with no control characters");
  }
  return true;
}

}  // namespace hadr
