// GatewayServer: the thin HTTP adapter in front of the Gateway core, on cpp-httplib. It binds
// options.listen_host:listen_port, serves every request through Gateway::handle on a fixed pool
// of options.server_threads threads, and only adds what a socket needs:
//   - request bodies are bounded by options.body_bytes_max: a larger Content-Length is refused
//     with 413 by cpp-httplib before the body is read (S1: no buffering of oversized bodies);
//   - a connection that sends nothing for options.read_timeout is closed (slow drip);
//   - accepted connections wait in a queue of at most kQueuedConnectionsMax; when it is full the
//     accepting thread waits, so further clients wait in the kernel's listen backlog instead of
//     in memory.
// stop() drains: it closes the listening socket, lets every accepted request finish (its put
// and its answer), then joins the threads.
//
// Ownership: borrows the Gateway (must outlive the server); owns the cpp-httplib server, the
// thread pool and the listening thread.
// Thread-safety: start/stop/port from one controlling thread.
#pragma once

#include <memory>
#include <thread>

#include "gateway/gateway.h"
#include "gateway/gateway_options.h"

namespace httplib {
class Server;
}

namespace hadr {

class GatewayServer {
 public:
  static constexpr std::size_t kQueuedConnectionsMax = 1024;

  // Binds and starts serving; returns once the server accepts connections.
  static Result<std::unique_ptr<GatewayServer>> start(Gateway& gateway, const GatewayOptions& options);
  GatewayServer(const GatewayServer&) = delete;
  GatewayServer& operator=(const GatewayServer&) = delete;
  ~GatewayServer();

  int port() const { return port_; }  // the bound port (useful when options asked for 0)
  // Stops accepting, finishes the requests in progress and joins. Idempotent.
  void stop();

 private:
  GatewayServer(std::unique_ptr<httplib::Server> server, int port);

  std::unique_ptr<httplib::Server> server_;
  int port_;
  std::thread listener_;
};

}  // namespace hadr
