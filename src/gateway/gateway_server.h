// GatewayServer: the HTTP/1.1 adapter in front of the Gateway core (docs/gateway.md, "The
// server"): an HttpServer (http/http_server.h: one poll() loop thread, a fixed pool of
// options.server_threads workers, strict framing, whole-request deadlines, connection and body
// caps, one access-log line per request) with the Gateway as its service and the gateway's
// limits from GatewayOptions. The Gateway adds to it:
//   - 401 for a POST without a valid bearer token before any body byte is read (and before
//     `100 Continue` is sent; refuse_before_body);
//   - every refusal of the server counted (record_rejection), so it shows in /metrics;
//   - a non-loopback listener only with allow_insecure_listener (`--insecure`; hadr serves no TLS).
// stop() drains: it closes the listener and the connections that have no request in a worker,
// lets the requests in workers finish and their answers be written (bounded by write_timeout),
// then joins.
//
// Ownership: borrows the Gateway (must outlive the server); owns the HttpServer.
// Thread-safety: start/stop/port from one controlling thread.
#pragma once

#include <memory>
#include <string_view>

#include "gateway/gateway.h"
#include "gateway/gateway_options.h"
#include "http/http_server.h"

namespace hadr {

class GatewayServer {
 public:
  using AccessLog = HttpServer::AccessLog;

  // Writes each line to stderr (one write per line).
  static AccessLog stderr_access_log() { return HttpServer::stderr_access_log(); }

  // Binds and starts serving; returns once the server accepts connections. Refuses a listen
  // address that is not loopback unless options.allow_insecure_listener.
  static Result<std::unique_ptr<GatewayServer>> start(Gateway& gateway, const GatewayOptions& options,
                                                      AccessLog access_log = stderr_access_log());
  GatewayServer(const GatewayServer&) = delete;
  GatewayServer& operator=(const GatewayServer&) = delete;
  ~GatewayServer();

  int port() const { return server_->port(); }  // the bound port (useful when options asked for 0)
  bool on_loopback() const { return server_->on_loopback(); }
  // Stops accepting, finishes the requests in progress and joins. Idempotent.
  void stop() { server_->stop(); }

 private:
  explicit GatewayServer(std::unique_ptr<HttpServer> server);

  std::unique_ptr<HttpServer> server_;
};

}  // namespace hadr
