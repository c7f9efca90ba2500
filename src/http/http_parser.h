// HttpRequestParser: a strict, incremental HTTP/1.1 request parser (RFC 9112) — a pure state
// machine over bytes, with no sockets, clocks or threads, so that it is unit-tested case by case
// and fuzzed (src/gateway/fuzz/http_parser_fuzz.cc). HttpServer (http_server.h) feeds it what it reads.
//
// Strict means: every framing ambiguity that lets two HTTP implementations disagree about where a
// request ends (request smuggling) is refused, never guessed:
//   - lines end in CRLF; a bare LF or a bare CR is 400;
//   - obs-fold (a field line starting with SP or HTAB) is 400; whitespace before the colon is 400;
//     a control character (NUL, DEL, CR inside a value, ...) in a field is 400;
//   - Content-Length is 1*DIGIT; a second Content-Length field (even an equal one) or a list is 400;
//   - Transfer-Encoding together with Content-Length is 400; a Transfer-Encoding that is not
//     exactly `chunked` is 400 when chunked is not the last coding or appears twice (RFC 9112
//     §6.3), 501 for a coding the gateway does not implement (gzip, ...);
//   - HTTP/1.1 needs exactly one Host; fields the gateway acts on (Idempotency-Key, X-Client-Id,
//     Authorization, Content-Type, Expect) may appear once;
//   - only origin-form targets ("/path?query"), versions HTTP/1.1 and HTTP/1.0 (others: 505).
// Limits (HttpParserLimits) are checked as bytes arrive, never after buffering: the request line
// (414), the whole header section and the trailers (431), the number of fields (431), and the
// body — a declared Content-Length above body_bytes_max is 413 as soon as the header section
// ends, before any body byte is read; a chunked body is 413 at the first chunk that crosses it.
// Every error closes the connection: after a framing error the rest of the stream is untrusted.
//
// Use: feed() the received bytes. It returns kHeadersComplete once per request, right after the
// header section (the caller may refuse early or send 100 Continue, then feeds on), kComplete
// when the request is whole (bytes after it — a pipelined request — are not consumed), kError
// with error(). reset() starts the next request on the same connection.
//
// Ownership: owns the request it builds. Thread-safety: none (one connection's thread).
// Invariant: buffered bytes never exceed header_bytes_max + body_bytes_max.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/http_types.h"

namespace hadr {

struct HttpParserLimits {
  std::size_t request_line_bytes_max = 8 * 1024;
  std::size_t header_bytes_max = 16 * 1024;  // request line, fields and CRLFs; again for trailers
  std::size_t header_count_max = 100;
  std::size_t body_bytes_max = 1024 * 1024;
};

// Why a request was refused: a status, a fixed reason name (a /metrics label and the access
// log's `reason=`, from a closed set) and a message for the client that says what to fix.
struct HttpRefusal {
  int status = 400;
  std::string_view reason;
  std::string message;
};

class HttpRequestParser {
 public:
  enum class Progress { kNeedMore, kHeadersComplete, kComplete, kError };
  struct FeedResult {
    Progress progress;
    std::size_t consumed;  // bytes of the input that belong to this request
  };

  explicit HttpRequestParser(const HttpParserLimits& limits);

  FeedResult feed(std::string_view bytes);
  // Forgets the request (after it was answered) and waits for the next one.
  void reset();

  // Whether any byte of the current request arrived (an idle keep-alive connection has none).
  bool started() const { return state_ != State::kRequestLine || !line_.empty() || header_bytes_ > 0; }
  // Valid once kHeadersComplete was returned (the body only after kComplete).
  const HttpRequest& request() const { return request_; }
  HttpRequest take_request();
  bool keep_alive() const { return keep_alive_; }
  bool expects_continue() const { return expects_continue_; }
  bool chunked() const { return chunked_; }
  std::uint64_t content_length() const { return content_length_; }
  std::size_t header_bytes() const { return header_bytes_; }
  // Valid after kError.
  const HttpRefusal& error() const { return error_; }

 private:
  enum class State {
    kRequestLine,
    kFieldLine,
    kHeadersDone,  // kHeadersComplete was returned; the next feed starts the body
    kBody,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,
    kTrailer,
    kComplete,
    kError,
  };

  // Moves one complete line (without CRLF) out of the input; false when the line is not whole.
  bool take_line(std::string_view bytes, std::size_t& offset, std::size_t line_bytes_max, std::string& line);
  bool on_request_line(const std::string& line);
  bool on_field_line(const std::string& line);
  bool on_headers_end();
  bool check_framing();
  bool check_connection_fields();
  bool on_chunk_size_line(const std::string& line);
  bool on_trailer_line(const std::string& line);
  bool fail(int status, std::string_view reason, std::string message);
  std::size_t line_limit() const;

  const HttpParserLimits limits_;
  State state_ = State::kRequestLine;
  std::string line_;          // the incomplete line so far (without its CR)
  bool line_saw_cr_ = false;  // the last byte of line_ was a CR that needs its LF
  std::size_t header_bytes_ = 0;
  std::size_t trailer_bytes_ = 0;
  std::size_t empty_lines_before_request_ = 0;
  HttpRequest request_;
  int version_minor_ = 1;
  bool keep_alive_ = true;
  bool expects_continue_ = false;
  bool chunked_ = false;
  std::uint64_t content_length_ = 0;
  std::uint64_t body_left_ = 0;  // kBody: bytes still to come; kChunkData: bytes of this chunk
  HttpRefusal error_;
};

}  // namespace hadr
