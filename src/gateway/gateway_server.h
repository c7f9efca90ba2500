// GatewayServer: the HTTP/1.1 adapter in front of the Gateway core (docs/gateway.md, "The
// server"). One event-loop thread owns the listening socket and every connection (non-blocking
// sockets under poll()); a fixed pool of options.server_threads workers runs Gateway::handle.
// The loop never blocks and never waits for a worker, so a connection that sends slowly costs a
// poll entry and a bounded buffer, never a thread: /healthz answers while hundreds of clients
// drip bytes.
//
// What it adds to the core, per connection:
//   - framing by the strict parser (http_parser.h): every framing error, limit or unsupported
//     feature is answered with the documented JSON error and the connection is closed;
//   - whole-request deadlines: the header section within header_timeout of the moment the
//     connection became ready for a request, the body within body_timeout of the end of the
//     headers (408, then close); an idle keep-alive connection is closed after idle_timeout; a
//     response not read within write_timeout is dropped;
//   - 413 from the declared Content-Length and 401 for a POST without a valid bearer token, both
//     before any body byte is read (and before `100 Continue` is sent);
//   - caps: connections_max open connections in all (503) and connections_per_address_max per
//     client IP (429); body_buffer_bytes_max bytes of bodies in memory at once (503);
//   - one access-log line per answered request (peer, method, path, status, reason, sizes, time;
//     never a header value, so never a token);
//   - a non-loopback listener only with allow_insecure_listener (hadr serves no TLS).
// Refusals are counted with Gateway::record_rejection, so they show in /metrics.
// stop() drains: it closes the listener and the connections that have no request in a worker,
// lets the requests in workers finish and their answers be written (bounded by write_timeout),
// then joins.
//
// Ownership: borrows the Gateway (must outlive the server); owns the sockets and threads.
// Thread-safety: start/stop/port from one controlling thread; the access log is called from the
// loop thread only.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "gateway/gateway.h"
#include "gateway/gateway_options.h"

namespace hadr {

class GatewayServer {
 public:
  using AccessLog = std::function<void(std::string_view line)>;

  // Writes each line to stderr (one write per line).
  static AccessLog stderr_access_log();

  // Binds and starts serving; returns once the server accepts connections. Refuses a listen
  // address that is not loopback unless options.allow_insecure_listener.
  static Result<std::unique_ptr<GatewayServer>> start(Gateway& gateway, const GatewayOptions& options,
                                                      AccessLog access_log = stderr_access_log());
  GatewayServer(const GatewayServer&) = delete;
  GatewayServer& operator=(const GatewayServer&) = delete;
  ~GatewayServer();

  int port() const;  // the bound port (useful when options asked for 0)
  bool on_loopback() const;
  // Stops accepting, finishes the requests in progress and joins. Idempotent.
  void stop();

 private:
  class Loop;
  explicit GatewayServer(std::unique_ptr<Loop> loop);

  std::unique_ptr<Loop> loop_;
};

}  // namespace hadr
