// AzuriteServer: starts and stops a private Azurite blob service (the Azure Blob Storage
// emulator) on a free loopback port — for `hadr demo --backend real` (runtime/local_services.h)
// and the tests (whose fixture, testing/azurite_test_environment.h, uses it), so that plain
// `ctest` needs no server set up beyond `scripts/install-azurite`. Production code: the `hadr`
// binary links it, and links no test fixture.
//
//   - finds `azurite-blob`: $HADR_AZURITE_BIN, then <repo>/.tools/azurite/node_modules/.bin/
//     (where scripts/install-azurite puts it; the repo root is fixed at compile time), then PATH;
//   - starts it with fork + exec: --blobHost 127.0.0.1 --blobPort P --location DIR
//     --disableTelemetry --skipApiVersionCheck --loose --silent, in a fresh temporary DIR,
//     output to DIR/azurite.log; the child gets PR_SET_PDEATHSIG = SIGKILL, so a test process
//     that dies takes its server with it;
//   - waits until it answers HTTP, up to a deadline (another process may take the port first:
//     start() then tries another);
//   - stop() is SIGTERM, then SIGKILL after a deadline; kill() is SIGKILL at once. Only the pid
//     this object started is ever signalled.
//   - the destructor stops the server and removes the directory.
// Azurite accepts the well-known development account below. It may lose blobs written just
// before a kill -9: never use it to test blob durability across a crash.
// Ownership: owns the child process and the directory. Thread-safety: not thread-safe; one
// owner, created and destroyed on the same thread (PR_SET_PDEATHSIG follows that thread).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "azure/azure_blob_options.h"
#include "core/clock.h"
#include "core/result.h"

namespace hadr::azure {

// Azurite's well-known development account (public, in Microsoft's Azurite documentation):
// a test constant, not a secret of any deployment.
inline constexpr std::string_view kAzuriteAccount = "devstoreaccount1";
inline constexpr std::string_view kAzuriteAccountKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

struct AzuriteServerOptions {
  Milliseconds ready_timeout{30'000};
};

// Absolute path of azurite-blob, or kFailedPrecondition saying to run scripts/install-azurite.
Result<std::string> find_azurite_blob();

class AzuriteServer {
 public:
  static constexpr int kPortAttemptsMax = 8;

  static Result<std::unique_ptr<AzuriteServer>> start(AzuriteServerOptions options = {});
  ~AzuriteServer();
  AzuriteServer(const AzuriteServer&) = delete;
  AzuriteServer& operator=(const AzuriteServer&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  // "http://127.0.0.1:PORT/devstoreaccount1": the path-style account URL.
  std::string endpoint() const;
  // Shared Key options for `container` on this server, with short timeouts and backoffs so
  // failure tests end quickly.
  AzureBlobOptions client_options(std::string container) const;

  Status stop();
  Status kill();

 private:
  AzuriteServer(AzuriteServerOptions options, std::string executable, std::string directory);

  Status spawn();
  Status wait_until_ready();
  Status wait_for_exit(Milliseconds timeout);
  std::string log_tail() const;

  AzuriteServerOptions options_;
  std::string executable_;
  std::string directory_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace hadr::azure
