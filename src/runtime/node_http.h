// The operator endpoints of `hadr node` (docs/operations.md, "HTTP endpoints"), served by the
// shared HttpServer (http/http_server.h) on [http] listen or `--listen HOST:PORT`:
//
//   GET /metrics   the Prometheus text exposition format 0.0.4 of what the roles count
//                  (render_node_metrics): HELP and TYPE for every family, counters end in _total
//   GET /healthz   200 "ok": the process answers
//   GET /readyz    200 when this region holds the lease or can take it (a standby with at least
//                  one live worker), 503 with a one-line reason otherwise (node_readiness)
//   GET /status    what `hadr status --json` shows for this region's config
//
// HEAD is answered like GET without a body; any other method is 405 (with Allow), any other
// path 404, both with a one-line body. Nothing here runs inside a role: the service reads the
// roles through RegionNode::observe() (their thread-safe accessors) on the server's threads, and
// /status opens its own read-only connections as `hadr status` does. No output carries a
// secret: the metrics are numbers and role names, the status view is the one `hadr status`
// prints (it never shows connection strings or keys).
//
// Ownership: NodeHttpService borrows nothing but the functions it is given. Thread-safety:
// handle() from any number of threads at once (the functions must allow it).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "config/region_config.h"
#include "http/http_server.h"
#include "runtime/region_node.h"

namespace hadr {

// The metrics text of one observation (Prometheus text format 0.0.4).
std::string render_node_metrics(const NodeObservation& node);

struct NodeReadiness {
  bool ready = false;
  std::string reason;  // one line, for /readyz's body
};
NodeReadiness node_readiness(const NodeObservation& node);

class NodeHttpService final : public HttpService {
 public:
  using Observe = std::function<NodeObservation()>;
  using StatusJson = std::function<Result<std::string>()>;

  NodeHttpService(Observe observe, StatusJson status_json);
  HttpResponse handle(const HttpRequest& request) override;

 private:
  const Observe observe_;
  const StatusJson status_json_;
};

// The server options of the node's endpoints: few threads and connections, small requests
// (they carry no body), short deadlines. `listen_key` is the flag or config key the address came
// from ("--listen", "http.listen"), for errors. An explicitly given address that is not
// loopback is served (the endpoints carry no secret); the caller says so on stderr.
HttpServerOptions node_http_options(const ListenAddress& address, std::string listen_key);

// The address to serve on: the --listen flag when given (it wins; given empty is an error),
// else [http] listen, else none (no listener). Errors (kInvalidArgument) name the flag.
Result<std::optional<ListenAddress>> choose_node_listen_address(const std::optional<std::string>& listen_flag,
                                                                const RegionConfig& config);

// Serves `node`'s endpoints until stopped or destroyed, which must happen before `node` is
// destroyed. Owns its service and its HttpServer.
class NodeHttpServer {
 public:
  static Result<std::unique_ptr<NodeHttpServer>> start(const RegionNode& node, const ListenAddress& address,
                                                       const std::string& listen_key);
  int port() const { return server_->port(); }
  bool on_loopback() const { return server_->on_loopback(); }
  void stop() { server_->stop(); }

 private:
  NodeHttpServer(std::unique_ptr<NodeHttpService> service, std::unique_ptr<HttpServer> server)
      : service_(std::move(service)), server_(std::move(server)) {}

  std::unique_ptr<NodeHttpService> service_;  // declared first: the server that uses it stops first
  std::unique_ptr<HttpServer> server_;
};

}  // namespace hadr
