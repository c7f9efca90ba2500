// LocalServices: the real engines of `hadr demo --backend real`, started on this machine on
// free loopback ports, each in a private temporary directory, by each backend's own launcher
// (redis/redis_server.h, amqp/rabbitmq_node.h, azure/azurite_server.h) — production code that
// the backend tests' fixtures (src/*/testing) use too, never the other way round:
//   - Redis with AOF and appendfsync always: the lease, dedupe records, coord records, ledger;
//   - RabbitMQ node "primary": region a's bus namespace;
//   - RabbitMQ node "secondary": region b's bus namespace;
//   - RabbitMQ node "mq": the source queue, standing in for the on-premises MQ, which neither
//     region's failure takes down;
//   - Azurite: the Blob Storage account holding both regions' WAL backups.
// The nodes start one after the other (~5 s each): every server must be started and stopped on
// one thread, because a fixture ties its child's life to the creating thread (PR_SET_PDEATHSIG).
//
// write_config_sections() writes the [backends], [redis], [amqp], [azure] and [source] sections
// of a region config pointing at these servers; the secrets are named by environment variables
// that export_secrets() sets in this process, so that the `hadr` children inherit them and no
// secret is ever written to a file.
//
// Ownership: owns the servers (stopped in the destructor). Thread-safety: one thread.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "core/result.h"

namespace hadr {

class LocalServices {
 public:
  static constexpr const char* kAmqpPasswordVariable = "HADR_DEMO_AMQP_PASSWORD";
  static constexpr const char* kAzureKeyVariable = "HADR_DEMO_AZURE_KEY";

  // Starts every server; `progress` gets a line per server.
  static Result<std::unique_ptr<LocalServices>> start(const std::function<void(const std::string&)>& progress);
  ~LocalServices();
  LocalServices(const LocalServices&) = delete;
  LocalServices& operator=(const LocalServices&) = delete;

  // Sets kAmqpPasswordVariable and kAzureKeyVariable (the well-known development credentials
  // of RabbitMQ and Azurite) in this process's environment.
  static void export_secrets();
  // The sections of a region config on these servers; `bus_namespace` is "primary" or "secondary".
  void write_config_sections(std::ostream& out, std::string_view bus_namespace, std::string_view key_prefix) const;
  // F16: SIGKILL the broker of namespace "primary" (region a's bus) mid-stream.
  Status kill_primary_broker();
  // One line per server: what runs where (no secrets).
  std::string describe() const;

 private:
  struct Servers;
  explicit LocalServices(std::unique_ptr<Servers> servers);
  std::unique_ptr<Servers> servers_;
};

}  // namespace hadr
