// RabbitmqNode: starts and stops a private RabbitMQ node (with its AMQP 1.0 plugin) on free
// loopback ports — for `hadr demo --backend real` (runtime/local_services.h), `hadr bench bus`
// and the tests (whose fixture, testing/rabbitmq_test_environment.h, uses it), so that plain
// `ctest` needs no broker set up. Production code: the `hadr` binary links it, and links no
// test fixture.
//
//   - Everything lives in a fresh temporary directory: HOME (with a 0400 .erlang.cookie),
//     config (listener 127.0.0.1:PORT, loopback_users = none, amqp1_0.default_user = guest;
//     with options.tls also a TLS listener on 127.0.0.1:tls_port()),
//     enabled plugins ([rabbitmq_amqp1_0].), mnesia (the data: it survives restart()), logs and
//     the pid file. Ports: AMQP, Erlang distribution and a private epmd, all picked free.
//   - Its own epmd is started first (`epmd -port P`, our child), so the node never spawns a
//     daemonized one; the destructor stops exactly that pid.
//   - The node runs /usr/lib/rabbitmq/bin/rabbitmq-server with RABBITMQ_ALLOW_INPUT, which
//     makes the script exec the Erlang VM: the pid we fork is the broker's. Its stdin is a pipe
//     this object holds open: if the test process dies, the VM sees end of file and halts
//     (and PR_SET_PDEATHSIG = SIGKILL backs that up). It runs as root here without trouble.
//   - Ready = an AMQP 1.0 connection opens (deadline ready_timeout, ~5 s typical).
//   - stop() is SIGTERM then wait (SIGKILL after a deadline); kill() is SIGKILL at once (a
//     crash); restart() starts again on the same ports and data; pause()/resume() are
//     SIGSTOP/SIGCONT. Only pids this object
//     started are ever signalled.
// Ownership: owns the child processes and the directory. Thread-safety: not thread-safe; one
// owner, created and destroyed on the same thread (PR_SET_PDEATHSIG follows that thread).
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "amqp/amqp_options.h"
#include "core/clock.h"
#include "core/result.h"

namespace hadr::amqp {

// A TLS listener beside the plain one (PEM files; the broker asks for no client certificate).
struct RabbitmqTlsFiles {
  std::string certificate_file;
  std::string key_file;
  std::string ca_file;
};

struct RabbitmqNodeOptions {
  Milliseconds ready_timeout{60'000};
  Milliseconds stop_timeout{30'000};
  std::optional<RabbitmqTlsFiles> tls;  // set: also listen for amqps on tls_port()
};

// The broker's well-known development account (loopback_users = none lets it connect).
inline constexpr std::string_view kRabbitmqTestUser = "guest";
inline constexpr std::string_view kRabbitmqTestPassword = "guest";

class RabbitmqNode {
 public:
  static constexpr int kMaxPortAttempts = 4;

  static Result<std::unique_ptr<RabbitmqNode>> start(RabbitmqNodeOptions options = {});
  ~RabbitmqNode();
  RabbitmqNode(const RabbitmqNode&) = delete;
  RabbitmqNode& operator=(const RabbitmqNode&) = delete;

  int amqp_port() const { return amqp_port_; }
  pid_t pid() const { return broker_pid_; }
  bool running() const { return broker_pid_ > 0; }
  const std::string& directory() const { return directory_; }
  std::string url() const;  // "amqp://127.0.0.1:PORT"
  int tls_port() const { return tls_port_; }  // 0 without options.tls

  // Client options for this node (guest/guest, RabbitMQ style) on `queue_prefix`.
  AmqpOptions client_options(std::string queue_prefix) const;

  Status stop();
  Status kill();
  Status restart();
  // SIGSTOP / SIGCONT: the broker holds its connections open but answers nothing.
  Status pause();
  Status resume();

 private:
  RabbitmqNode(RabbitmqNodeOptions options, std::string directory);

  Status write_files() const;
  Status pick_ports();
  Status spawn_epmd();
  Status spawn_broker();
  Status wait_until_ready();
  Status wait_for_exit(pid_t& pid, Milliseconds timeout);
  std::string log_tail() const;

  RabbitmqNodeOptions options_;
  std::string directory_;
  std::string node_name_;
  int amqp_port_ = 0;
  int distribution_port_ = 0;
  int epmd_port_ = 0;
  int tls_port_ = 0;
  pid_t broker_pid_ = -1;
  pid_t epmd_pid_ = -1;
  int stdin_write_fd_ = -1;  // the broker's stdin; closing it halts the VM
};

}  // namespace hadr::amqp
