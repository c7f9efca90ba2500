#include "gateway/gateway_server.h"

#include <utility>

#include "core/assert.h"

namespace hadr {

Result<std::unique_ptr<GatewayServer>> GatewayServer::start(Gateway& gateway, const GatewayOptions& options,
                                                            AccessLog access_log) {
  HADR_TRY(options.validate());
  HADR_ASSIGN_OR_RETURN(std::unique_ptr<HttpServer> server,
                        HttpServer::start(gateway, options.server_options(), std::move(access_log)));
  return std::unique_ptr<GatewayServer>(new GatewayServer(std::move(server)));
}

GatewayServer::GatewayServer(std::unique_ptr<HttpServer> server) : server_(std::move(server)) {
  HADR_ASSERT(server_ != nullptr);
}

GatewayServer::~GatewayServer() { stop(); }

}  // namespace hadr
