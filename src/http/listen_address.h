// ListenAddress: where an HTTP server of hadr listens, parsed from "HOST:PORT" — the gateway's
// and the node's `--listen` flag and the region config's `http.listen` key.
//
// Ownership: plain values. Thread-safety: none needed.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace hadr {

// "127.0.0.1:9100", "[::1]:9100", ":9100" (= 127.0.0.1); the port 0..65535 (0: any free port).
struct ListenAddress {
  std::string host;
  int port = 0;

  std::string to_string() const {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
};

// Errors (kInvalidArgument) name `key` (the flag or config key), the text and the fix.
Result<ListenAddress> parse_listen_address(std::string_view key, std::string_view text);

}  // namespace hadr
