// libFuzzer target for the strict HTTP/1.1 request parser (http_parser.h) and the JSON check
// of declared content (declared_content.h): arbitrary bytes are one connection's stream. The
// first byte picks how the stream is split into reads; the same stream is then parsed in one
// piece and in those reads, and both must give the same sequence of outcomes (requests with the
// same bodies, the same refusal) — the incremental paths may not change what a request is.
// Checked on the way: consumption never exceeds the input, refusals are 4xx/5xx with a reason,
// bodies and header sections stay within the limits, every framed request's body goes through
// check_declared_content. ASan/UBSan catch the rest.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/assert.h"
#include "gateway/declared_content.h"
#include "http/http_parser.h"

namespace {

constexpr std::size_t kRequestsMax = 64;

hadr::HttpParserLimits fuzz_limits() {
  hadr::HttpParserLimits limits;
  limits.request_line_bytes_max = 256;
  limits.header_bytes_max = 2048;
  limits.header_count_max = 16;
  limits.body_bytes_max = 4096;
  return limits;
}

// One line per outcome: "ok <method> <path> <body size> <body hash>" or "error <status> <reason>".
std::vector<std::string> parse_stream(std::string_view stream, std::size_t step) {
  const hadr::HttpParserLimits limits = fuzz_limits();
  hadr::HttpRequestParser parser(limits);
  std::vector<std::string> outcomes;
  std::string pending;  // bytes handed over but not consumed (after a complete request)
  std::size_t offset = 0;
  while (outcomes.size() < kRequestsMax) {
    const std::size_t take = step == 0 ? stream.size() - offset : std::min(step, stream.size() - offset);
    pending.append(stream.substr(offset, take));
    offset += take;
    bool progressed = true;
    while (progressed && outcomes.size() < kRequestsMax) {
      progressed = false;
      const auto result = parser.feed(pending);
      HADR_ASSERT(result.consumed <= pending.size());
      pending.erase(0, result.consumed);
      HADR_ASSERT(parser.header_bytes() <= limits.header_bytes_max + 1);
      using Progress = hadr::HttpRequestParser::Progress;
      if (result.progress == Progress::kHeadersComplete) {
        progressed = true;
      } else if (result.progress == Progress::kError) {
        const hadr::HttpRefusal& error = parser.error();
        HADR_ASSERT(error.status >= 400 && error.status <= 599 && !error.reason.empty() && !error.message.empty());
        outcomes.push_back("error " + std::to_string(error.status) + " " + std::string(error.reason));
        return outcomes;  // the connection would be closed
      } else if (result.progress == Progress::kComplete) {
        const hadr::HttpRequest request = parser.take_request();
        HADR_ASSERT(request.body.size() <= limits.body_bytes_max);
        HADR_ASSERT(!request.method.empty() && !request.path.empty() && request.path.front() == '/');
        const hadr::Status content = hadr::check_declared_content(request);
        outcomes.push_back("ok " + request.method + " " + request.path + " " + std::to_string(request.body.size()) +
                           " " + std::to_string(std::hash<std::string>{}(request.body)) + (content.ok() ? " json-ok" : " json-bad"));
        parser.reset();
        progressed = true;
      } else {
        HADR_ASSERT(pending.empty());  // kNeedMore consumes everything it was given
      }
    }
    if (offset >= stream.size()) break;
  }
  return outcomes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = 1 + data[0] % 17;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::vector<std::string> whole = parse_stream(stream, 0);
  const std::vector<std::string> pieces = parse_stream(stream, step);
  HADR_ASSERT_MSG(whole == pieces, "parsing in one piece and in reads of %zu bytes disagree", step);
  return 0;
}
