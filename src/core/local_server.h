// What the fixtures that start a private server on loopback (redis-server, Azurite, RabbitMQ:
// src/*/testing) and the drills share: a free port, a fresh temporary directory, and TLS
// certificates made for the test.
// Thread-safety: free functions.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace hadr {

// A port the kernel just found free on 127.0.0.1. Another process may take it before the
// server binds it: callers retry a start on another port.
Result<int> pick_free_loopback_port();

// A new directory "$TMPDIR/<prefix>-XXXXXX" (TMPDIR unset or empty: /tmp).
Result<std::string> make_temporary_directory(std::string_view prefix);

// Writes into `dir` a test certificate authority (ca.pem, ca.key) and a server certificate for
// the DNS name "localhost" signed by it (server.pem, server.key), with the openssl command line
// tool; valid one day. The openssl output goes to dir/openssl.log.
Status make_test_certificates(const std::string& dir);

}  // namespace hadr
