// HttpServer: a small HTTP/1.1 server for hadr's own endpoints — the ingest gateway
// (gateway/gateway_server.h) and the operator endpoints of `hadr node` (runtime/node_http.h).
// One event-loop thread owns the listening socket and every connection (non-blocking sockets
// under poll()); a fixed pool of options.threads workers runs HttpService::handle. The loop
// never blocks and never waits for a worker, so a connection that sends slowly costs a poll
// entry and a bounded buffer, never a thread: a health probe answers while hundreds of clients
// drip bytes.
//
// What it adds to the service, per connection:
//   - framing by the strict parser (http_parser.h): every framing error, limit or unsupported
//     feature is answered with the documented JSON error and the connection is closed;
//   - whole-request deadlines: the header section within header_timeout of the moment the
//     connection became ready for a request, the body within body_timeout of the end of the
//     headers (408, then close); an idle keep-alive connection is closed after idle_timeout; a
//     response not read within write_timeout is dropped;
//   - 413 from the declared Content-Length and the service's refuse_before_body() answer (the
//     gateway's 401), both before any body byte is read (and before `100 Continue` is sent);
//   - caps: connections_max open connections in all (503) and connections_per_address_max per
//     client IP (429); body_buffer_bytes_max bytes of bodies in memory at once (503);
//   - one access-log line per answered request (peer, method, path, status, reason, sizes, time;
//     never a header value, so never a token);
//   - a non-loopback listener only with allow_insecure_listener (hadr serves no TLS).
// Refusals are reported with HttpService::record_rejection, so a service can count them.
// stop() drains: it closes the listener and the connections that have no request in a worker,
// lets the requests in workers finish and their answers be written (bounded by write_timeout),
// then joins.
//
// Ownership: borrows the service (must outlive the server); owns the sockets and threads.
// Thread-safety: start/stop/port from one controlling thread; handle() runs on the worker
// threads (concurrently when threads > 1); the access log and the record_* calls come from the
// loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "http/http_parser.h"
#include "http/http_types.h"
#include "http/listen_address.h"

namespace hadr {

// What a server serves. Only handle() is required.
class HttpService {
 public:
  virtual ~HttpService() = default;
  // Answers one whole request (worker threads).
  virtual HttpResponse handle(const HttpRequest& request) = 0;
  // An answer given right after the header section, before the body is read (e.g. 401); none:
  // the request goes on (loop thread).
  virtual std::optional<HttpResponse> refuse_before_body(const HttpRequest& head) {
    (void)head;
    return std::nullopt;
  }
  // A request or connection the server refused itself (status 0: closed without an answer),
  // with a reason from a closed set (loop thread).
  virtual void record_rejection(int status, std::string_view reason) {
    (void)status;
    (void)reason;
  }
  // Open connections now and accepted since the start (loop thread).
  virtual void record_connections(std::size_t open, std::uint64_t accepted_total) {
    (void)open;
    (void)accepted_total;
  }
};

struct HttpServerOptions {
  static constexpr std::size_t kThreadsMax = 256;
  static constexpr std::size_t kConnectionsMax = 16 * 1024;

  std::string name = "http";  // names the server in errors and the access log ("gateway", "node")
  std::string listen_key = "--listen";  // the flag or config key the address came from, for errors
  std::string listen_host = "127.0.0.1";
  int listen_port = 0;  // 0: any free port (port() tells which)
  // A listener on an address that is not loopback serves plain HTTP (hadr has no TLS) only with
  // this set; otherwise start() refuses with `insecure_listener_fix` as the fix.
  bool allow_insecure_listener = false;
  std::string insecure_listener_fix = "listen on 127.0.0.1 behind a TLS-terminating proxy";
  std::size_t threads = 1;
  Milliseconds header_timeout{10'000};
  Milliseconds body_timeout{30'000};
  Milliseconds idle_timeout{5'000};
  Milliseconds write_timeout{10'000};
  std::size_t connections_max = 64;
  std::size_t connections_per_address_max = 64;
  HttpParserLimits limits;
  std::size_t body_buffer_bytes_max = 1024 * 1024;

  // kInvalidArgument naming the bound that is broken (callers validate their own flags first).
  Status validate() const;
};

class HttpServer {
 public:
  using AccessLog = std::function<void(std::string_view line)>;

  // Writes each line to stderr (one write per line).
  static AccessLog stderr_access_log();

  // Binds and starts serving; returns once the server accepts connections.
  static Result<std::unique_ptr<HttpServer>> start(HttpService& service, const HttpServerOptions& options,
                                                   AccessLog access_log = stderr_access_log());
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();

  int port() const;  // the bound port (useful when options asked for 0)
  bool on_loopback() const;
  // Stops accepting, finishes the requests in progress and joins. Idempotent.
  void stop();

 private:
  class Loop;
  explicit HttpServer(std::unique_ptr<Loop> loop);

  std::unique_ptr<Loop> loop_;
};

}  // namespace hadr
