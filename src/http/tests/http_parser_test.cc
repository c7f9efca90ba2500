// Proves the strict HTTP/1.1 request parser (http_parser.h) without sockets, one named test per
// framing case of RFC 9112 and per limit: what it accepts (Content-Length and chunked bodies,
// pipelined requests left unconsumed, 100-continue, Connection: close, HTTP/1.0) and what it
// refuses with which status and reason (Content-Length with Transfer-Encoding, duplicate or
// malformed lengths, codings other than chunked, obs-fold, bare CR/LF, control characters,
// missing or duplicate Host and duplicate Idempotency-Key, 414/431/413/417/505). Every input is
// parsed twice — in one piece and one byte at a time — and both must agree, so the incremental
// paths (a line split across reads, a CR at the end of a read) are covered too. The limits are
// checked as bytes arrive: an oversized header section fails before its end, a too-large declared
// body fails at the end of the headers without a single body byte.
#include "http/http_parser.h"

#include <gtest/gtest.h>

namespace hadr::http_test {
namespace {

struct Outcome {
  HttpRequestParser::Progress progress = HttpRequestParser::Progress::kNeedMore;
  std::size_t consumed = 0;  // bytes of the input taken until the result
  HttpRequest request;
  HttpRefusal error;
  bool keep_alive = false;
  bool expects_continue = false;
};

HttpParserLimits small_limits() {
  HttpParserLimits limits;
  limits.request_line_bytes_max = 256;
  limits.header_bytes_max = 1024;
  limits.header_count_max = 10;
  limits.body_bytes_max = 100;
  return limits;
}

// Feeds `input` in pieces of `step` bytes (0: all at once) until the request is complete or
// refused. A kHeadersComplete just continues, as the server does.
Outcome parse(std::string_view input, const HttpParserLimits& limits, std::size_t step) {
  HttpRequestParser parser(limits);
  Outcome outcome;
  std::size_t offset = 0;
  std::size_t passes = 0;
  while (true) {
    EXPECT_LT(++passes, 10 * input.size() + 10) << "the parser made no progress";
    const std::size_t end = step == 0 ? input.size() : std::min(input.size(), offset + step);
    std::string_view piece = input.substr(offset, end - offset);
    const auto result = parser.feed(piece);
    offset += result.consumed;
    outcome.progress = result.progress;
    if (result.progress == HttpRequestParser::Progress::kHeadersComplete) {
      outcome.expects_continue = parser.expects_continue();
      continue;
    }
    if (result.progress == HttpRequestParser::Progress::kError) {
      outcome.error = parser.error();
      break;
    }
    if (result.progress == HttpRequestParser::Progress::kComplete) {
      outcome.keep_alive = parser.keep_alive();
      outcome.request = parser.take_request();
      break;
    }
    EXPECT_EQ(result.consumed, piece.size()) << "kNeedMore must consume everything it was given";
    if (offset >= input.size()) break;
  }
  outcome.consumed = offset;
  return outcome;
}

// Parses in one piece and byte by byte and checks both agree.
Outcome parse_both_ways(std::string_view input, const HttpParserLimits& limits = small_limits()) {
  const Outcome whole = parse(input, limits, 0);
  const Outcome bytewise = parse(input, limits, 1);
  EXPECT_EQ(whole.progress, bytewise.progress) << input;
  EXPECT_EQ(whole.consumed, bytewise.consumed) << input;
  EXPECT_EQ(whole.error.status, bytewise.error.status) << input;
  EXPECT_EQ(whole.error.reason, bytewise.error.reason) << input;
  EXPECT_EQ(whole.request.body, bytewise.request.body) << input;
  return whole;
}

void expect_refused(std::string_view input, int status, std::string_view reason,
                    const HttpParserLimits& limits = small_limits()) {
  const Outcome outcome = parse_both_ways(input, limits);
  ASSERT_EQ(outcome.progress, HttpRequestParser::Progress::kError) << input;
  EXPECT_EQ(outcome.error.status, status) << input;
  EXPECT_EQ(outcome.error.reason, reason) << input;
  EXPECT_FALSE(outcome.error.message.empty());
}

constexpr std::string_view kPost = "POST /v1/messages HTTP/1.1\r\nHost: gw\r\nIdempotency-Key: k1\r\n";

std::string post_with(std::string_view fields, std::string_view body = "") {
  return std::string(kPost) + std::string(fields) + "\r\n" + std::string(body);
}

using Progress = HttpRequestParser::Progress;

TEST(HttpParser, PostWithContentLengthIsComplete) {
  const Outcome outcome = parse_both_ways(post_with("Content-Length: 5\r\n", "hello"));
  ASSERT_EQ(outcome.progress, Progress::kComplete);
  EXPECT_EQ(outcome.request.method, "POST");
  EXPECT_EQ(outcome.request.path, "/v1/messages");
  EXPECT_EQ(outcome.request.body, "hello");
  ASSERT_NE(outcome.request.header("idempotency-key"), nullptr);
  EXPECT_EQ(*outcome.request.header("idempotency-key"), "k1");
  EXPECT_TRUE(outcome.keep_alive);
}

TEST(HttpParser, GetWithoutBodyIsCompleteAtTheEndOfTheHeaders) {
  const Outcome outcome = parse_both_ways("GET /healthz?verbose=1 HTTP/1.1\r\nHost: gw\r\n\r\n");
  ASSERT_EQ(outcome.progress, Progress::kComplete);
  EXPECT_EQ(outcome.request.path, "/healthz");  // the query is not part of the path
  EXPECT_TRUE(outcome.request.body.empty());
}

TEST(HttpParser, FieldValuesAreTrimmedOfOptionalWhitespace) {
  const Outcome outcome = parse_both_ways(post_with("X-Client-Id: \t  c1 \t\r\nContent-Length: 0\r\n"));
  ASSERT_EQ(outcome.progress, Progress::kComplete);
  EXPECT_EQ(*outcome.request.header("X-Client-Id"), "c1");
}

TEST(HttpParser, PipelinedRequestIsLeftUnconsumed) {
  const std::string first = post_with("Content-Length: 2\r\n", "ab");
  const std::string both = first + "GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n";
  const Outcome outcome = parse_both_ways(both);
  ASSERT_EQ(outcome.progress, Progress::kComplete);
  EXPECT_EQ(outcome.consumed, first.size());
  EXPECT_EQ(outcome.request.body, "ab");
}

TEST(HttpParser, ResetParsesTheNextRequestOnTheSameConnection) {
  HttpRequestParser parser(small_limits());
  const std::string first = post_with("Content-Length: 1\r\n", "a");
  ASSERT_EQ(parser.feed(first).progress, Progress::kHeadersComplete);
  EXPECT_TRUE(parser.started());
  parser.reset();
  EXPECT_FALSE(parser.started());
  const std::string second = "GET /metrics HTTP/1.1\r\nHost: gw\r\n\r\n";
  EXPECT_EQ(parser.feed(second).progress, Progress::kHeadersComplete);
  EXPECT_EQ(parser.feed("").progress, Progress::kComplete);
  EXPECT_EQ(parser.take_request().path, "/metrics");
}

TEST(HttpParser, ChunkedBodyIsAssembledAndTrailersDropped) {
  const Outcome outcome = parse_both_ways(
      post_with("Transfer-Encoding: chunked\r\n", "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"));
  ASSERT_EQ(outcome.progress, Progress::kComplete);
  EXPECT_EQ(outcome.request.body, "hello world");
}

TEST(HttpParser, ChunkedIsCaseInsensitive) {
  const Outcome outcome = parse_both_ways(post_with("Transfer-Encoding: Chunked\r\n", "1\r\nx\r\n0\r\n\r\n"));
  ASSERT_EQ(outcome.progress, Progress::kComplete);
  EXPECT_EQ(outcome.request.body, "x");
}

TEST(HttpParser, ExpectContinueIsReportedAtTheEndOfTheHeaders) {
  const Outcome outcome = parse_both_ways(post_with("Expect: 100-continue\r\nContent-Length: 1\r\n", "x"));
  ASSERT_EQ(outcome.progress, Progress::kComplete);
  EXPECT_TRUE(outcome.expects_continue);
}

TEST(HttpParser, ConnectionCloseAndHttp10EndTheConnection) {
  EXPECT_FALSE(parse_both_ways("GET /healthz HTTP/1.1\r\nHost: gw\r\nConnection: keep-alive, Close\r\n\r\n").keep_alive);
  const Outcome old = parse_both_ways("GET /healthz HTTP/1.0\r\n\r\n");
  ASSERT_EQ(old.progress, Progress::kComplete);
  EXPECT_FALSE(old.keep_alive);
}

TEST(HttpParser, EmptyLinesBeforeTheRequestLineAreIgnored) {
  EXPECT_EQ(parse_both_ways("\r\n\r\nGET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n").progress, Progress::kComplete);
}

TEST(HttpParser, ContentLengthWithTransferEncodingIsRefused) {
  expect_refused(post_with("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), 400,
                 "content_length_and_transfer_encoding");
}

TEST(HttpParser, TwoDifferentContentLengthsAreRefused) {
  expect_refused(post_with("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"), 400, "duplicate_content_length");
}

TEST(HttpParser, TwoEqualContentLengthsAreRefused) {
  expect_refused(post_with("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"), 400, "duplicate_content_length");
}

TEST(HttpParser, ContentLengthListIsRefused) {
  expect_refused(post_with("Content-Length: 5, 5\r\n", "hello"), 400, "invalid_content_length");
}

TEST(HttpParser, NegativeContentLengthIsRefused) {
  expect_refused(post_with("Content-Length: -1\r\n"), 400, "invalid_content_length");
}

TEST(HttpParser, SignedOrEmptyContentLengthIsRefused) {
  expect_refused(post_with("Content-Length: +5\r\n", "hello"), 400, "invalid_content_length");
  expect_refused(post_with("Content-Length:\r\n"), 400, "invalid_content_length");
  expect_refused(post_with("Content-Length: 0x10\r\n"), 400, "invalid_content_length");
}

TEST(HttpParser, GzipThenChunkedIsNotImplemented) {
  expect_refused(post_with("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"), 501, "unsupported_transfer_encoding");
}

TEST(HttpParser, ChunkedThenGzipIsRefused) {
  expect_refused(post_with("Transfer-Encoding: chunked, gzip\r\n", "0\r\n\r\n"), 400, "invalid_transfer_encoding");
}

TEST(HttpParser, ChunkedTwiceIsRefused) {
  expect_refused(post_with("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), 400,
                 "invalid_transfer_encoding");
}

TEST(HttpParser, TransferEncodingInHttp10IsRefused) {
  expect_refused("POST /v1/messages HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
                 "invalid_transfer_encoding");
}

TEST(HttpParser, TwoIdempotencyKeysAreRefused) {
  expect_refused(post_with("Idempotency-Key: k2\r\nContent-Length: 0\r\n"), 400, "duplicate_field");
}

TEST(HttpParser, TwoAuthorizationFieldsAreRefused) {
  expect_refused(post_with("Authorization: Bearer a\r\nauthorization: Bearer b\r\nContent-Length: 0\r\n"), 400,
                 "duplicate_field");
}

TEST(HttpParser, ObsFoldIsRefused) {
  expect_refused(post_with("X-Client-Id: c1\r\n continued\r\nContent-Length: 0\r\n"), 400, "obs_fold");
}

TEST(HttpParser, WhitespaceBeforeTheColonIsRefused) {
  expect_refused(post_with("Content-Length : 0\r\n"), 400, "invalid_field");
}

TEST(HttpParser, LineWithoutColonIsRefused) {
  expect_refused(post_with("NoColonHere\r\n"), 400, "invalid_field");
}

TEST(HttpParser, BareLineFeedIsRefused) {
  expect_refused("GET /healthz HTTP/1.1\nHost: gw\n\n", 400, "bare_lf");
}

TEST(HttpParser, BareCarriageReturnInAValueIsRefused) {
  expect_refused(post_with("X-Client-Id: c1\rInjected: yes\r\nContent-Length: 0\r\n"), 400, "bare_cr");
}

TEST(HttpParser, ControlCharactersInAValueAreRefused) {
  using namespace std::string_literals;
  expect_refused(post_with("X-Client-Id: c\0" "1\r\nContent-Length: 0\r\n"s), 400, "invalid_field");
  expect_refused(post_with("X-Client-Id: c\x7f\r\nContent-Length: 0\r\n"), 400, "invalid_field");
}

TEST(HttpParser, MissingHostIsRefused) {
  expect_refused("GET /healthz HTTP/1.1\r\n\r\n", 400, "missing_host");
}

TEST(HttpParser, TwoHostsAreRefused) {
  expect_refused("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "duplicate_field");
}

TEST(HttpParser, MalformedRequestLinesAreRefused) {
  expect_refused("GET  /healthz HTTP/1.1\r\nHost: gw\r\n\r\n", 400, "invalid_request_line");
  expect_refused("GET /healthz\r\nHost: gw\r\n\r\n", 400, "invalid_request_line");
  expect_refused("GET http://gw/healthz HTTP/1.1\r\nHost: gw\r\n\r\n", 400, "invalid_request_line");
  expect_refused("G(T /healthz HTTP/1.1\r\nHost: gw\r\n\r\n", 400, "invalid_request_line");
  expect_refused("GET /healthz HTTP/1.1x\r\nHost: gw\r\n\r\n", 400, "invalid_request_line");
  expect_refused("GET /health\x01z HTTP/1.1\r\nHost: gw\r\n\r\n", 400, "invalid_request_line");
}

TEST(HttpParser, OtherVersionsAre505) {
  expect_refused("GET /healthz HTTP/2.0\r\nHost: gw\r\n\r\n", 505, "unsupported_version");
}

TEST(HttpParser, UnknownExpectationIs417) {
  expect_refused(post_with("Expect: 200-ok\r\nContent-Length: 0\r\n"), 417, "unsupported_expectation");
}

TEST(HttpParser, LongRequestLineIs414BeforeItEnds) {
  const std::string input = "GET /" + std::string(1000, 'a');  // no CRLF: the limit hits mid-line
  expect_refused(input, 414, "request_line_too_long");
  EXPECT_LT(parse(input, small_limits(), 0).consumed, input.size());
}

TEST(HttpParser, HeaderSectionOverTheBudgetIs431BeforeItEnds) {
  std::string input(kPost);
  for (int index = 0; index < 9; ++index) input += "X-Pad-" + std::to_string(index) + ": " + std::string(200, 'p') + "\r\n";
  expect_refused(input, 431, "header_section_too_large");
  EXPECT_LT(parse(input, small_limits(), 0).consumed, input.size());
}

TEST(HttpParser, OneHugeHeaderIs431) {
  expect_refused(std::string(kPost) + "X-Big: " + std::string(100 * 1024, 'b') + "\r\n\r\n", 431,
                 "header_section_too_large");
}

TEST(HttpParser, TooManyFieldsAre431) {
  std::string input(kPost);
  for (int index = 0; index < 10; ++index) input += "X-" + std::to_string(index) + ": v\r\n";
  expect_refused(input + "\r\n", 431, "too_many_fields");
}

TEST(HttpParser, EndlessEmptyLinesHitTheHeaderBudget) {
  std::string input;
  for (int index = 0; index < 600; ++index) input += "\r\n";
  expect_refused(input, 431, "header_section_too_large");
}

TEST(HttpParser, DeclaredBodyOverTheLimitIs413AtTheEndOfTheHeaders) {
  const std::string headers = post_with("Content-Length: 10737418240\r\n");  // 10 GB, no body sent
  const Outcome outcome = parse_both_ways(headers + "xxxx");
  ASSERT_EQ(outcome.progress, Progress::kError);
  EXPECT_EQ(outcome.error.status, 413);
  EXPECT_EQ(outcome.error.reason, "body_too_large");
  EXPECT_EQ(outcome.consumed, headers.size()) << "not a single body byte is read";
}

TEST(HttpParser, ContentLengthOfManyDigitsIs413) {
  expect_refused(post_with("Content-Length: 99999999999999999999999999999\r\n"), 413, "body_too_large");
}

TEST(HttpParser, ContentLengthAtTheLimitIsAccepted) {
  EXPECT_EQ(parse_both_ways(post_with("Content-Length: 0100\r\n", std::string(100, 'x'))).progress,
            Progress::kComplete);
}

TEST(HttpParser, ChunkedBodyOverTheLimitIs413) {
  expect_refused(post_with("Transfer-Encoding: chunked\r\n", "40\r\n" + std::string(64, 'x') + "\r\n40\r\n"), 413,
                 "body_too_large");
  expect_refused(post_with("Transfer-Encoding: chunked\r\n", "ffffffffffffffffff\r\n"), 413, "body_too_large");
}

TEST(HttpParser, MalformedChunksAreRefused) {
  expect_refused(post_with("Transfer-Encoding: chunked\r\n", "zz\r\n"), 400, "invalid_chunk");
  expect_refused(post_with("Transfer-Encoding: chunked\r\n", "-1\r\n"), 400, "invalid_chunk");
  expect_refused(post_with("Transfer-Encoding: chunked\r\n", " 1\r\nx\r\n0\r\n\r\n"), 400, "invalid_chunk");
  expect_refused(post_with("Transfer-Encoding: chunked\r\n", "1\r\nxy\r\n0\r\n\r\n"), 400, "invalid_chunk");
  expect_refused(post_with("Transfer-Encoding: chunked\r\n", "1\r\nx\r\n0\r\n folded\r\n\r\n"), 400, "obs_fold");
}

TEST(HttpParser, SizesOnlyCountWhatArrived) {
  // A request cut short is "need more", never complete: the caller's deadline ends it.
  const Outcome outcome = parse_both_ways(post_with("Content-Length: 10\r\n", "short"));
  EXPECT_EQ(outcome.progress, Progress::kNeedMore);
}

}  // namespace
}  // namespace hadr::http_test
