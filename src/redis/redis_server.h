// RedisServer: starts and stops a private redis-server on a free loopback port — for
// `hadr demo --backend real` (runtime/local_services.h), `hadr bench dedupe` and the tests (whose
// fixture, testing/redis_test_environment.h, uses it), so that plain `ctest` works with no
// server set up. Production code: the `hadr` binary links it, and links no test fixture.
//
//   - finds `redis-server` on PATH (then /usr/bin, /usr/sbin, /usr/local/bin);
//   - writes a config file (mode 0600) into a fresh temporary directory: port, bind 127.0.0.1,
//     no RDB snapshots, AOF off or `appendonly yes` + `appendfsync always`, and `requirepass`
//     when a password is given — in the file, never on the command line (/proc/*/cmdline);
//   - starts it with fork + exec; the child gets PR_SET_PDEATHSIG = SIGKILL, so a test process
//     that dies (abort, crash) takes its server with it;
//   - waits until PING answers (with AUTH when needed), up to a deadline;
//   - stop() is SIGTERM, then SIGKILL after a deadline; kill() is SIGKILL at once (a crash);
//     restart() starts again on the same port and directory; pause()/resume() are
//     SIGSTOP/SIGCONT. Only the pid this object started is ever signalled.
//   - the destructor stops the server and removes the directory.
// Ownership: owns the child process and the directory. Thread-safety: not thread-safe; one
// owner. Must be created and destroyed on the same thread (PR_SET_PDEATHSIG follows the
// creating thread).
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "redis/redis_options.h"

namespace hadr::redis {

// A TLS port beside the plain one (PEM files; clients need no certificate).
struct RedisTlsFiles {
  std::string certificate_file;
  std::string key_file;
  std::string ca_file;
};

struct RedisServerOptions {
  Secret password;           // set: the server requires it (requirepass)
  bool append_only = false;  // true: AOF with appendfsync always, so a restart keeps everything
  Milliseconds ready_timeout{10'000};
  std::optional<RedisTlsFiles> tls;  // set: also `tls-port` tls_port() on 127.0.0.1
};

// Absolute path of redis-server, or kFailedPrecondition telling how to install it.
Result<std::string> find_redis_server();

class RedisServer {
 public:
  static constexpr int kMaxPortAttempts = 8;

  static Result<std::unique_ptr<RedisServer>> start(RedisServerOptions options);
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  int tls_port() const { return tls_port_; }  // 0 without options.tls
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  const std::string& directory() const { return directory_; }
  std::string address() const;  // "127.0.0.1:port"

  // Client options for this server: host, port, its password, and `key_prefix`.
  RedisOptions client_options(std::string key_prefix) const;

  Status stop();
  Status kill();
  Status restart();
  Status pause();
  Status resume();

 private:
  RedisServer(RedisServerOptions options, std::string executable, std::string directory);

  Status write_config() const;
  Status spawn();
  Status wait_until_ready();
  Status wait_for_exit(Milliseconds timeout);
  std::string log_tail() const;

  RedisServerOptions options_;
  std::string executable_;
  std::string directory_;
  int port_ = 0;
  int tls_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace hadr::redis
