#include "runtime/local_services.h"

#include <stdlib.h>

#include <sstream>

#include "amqp/rabbitmq_node.h"
#include "azure/azurite_server.h"
#include "redis/redis_server.h"

namespace hadr {

struct LocalServices::Servers {
  std::unique_ptr<redis::RedisServer> redis;
  std::unique_ptr<amqp::RabbitmqNode> primary;
  std::unique_ptr<amqp::RabbitmqNode> secondary;
  std::unique_ptr<amqp::RabbitmqNode> mq;
  std::unique_ptr<azure::AzuriteServer> azurite;
};

LocalServices::LocalServices(std::unique_ptr<Servers> servers) : servers_(std::move(servers)) {}

LocalServices::~LocalServices() {
  // Brokers first (they take the longest), then the stores.
  for (auto* node : {&servers_->mq, &servers_->secondary, &servers_->primary}) {
    if (*node && (*node)->running()) (void)(*node)->stop();
  }
  if (servers_->azurite && servers_->azurite->running()) (void)servers_->azurite->stop();
  if (servers_->redis && servers_->redis->running()) (void)servers_->redis->stop();
}

Result<std::unique_ptr<LocalServices>> LocalServices::start(const std::function<void(const std::string&)>& progress) {
  auto servers = std::make_unique<Servers>();
  redis::RedisServerOptions redis_options;
  redis_options.append_only = true;  // appendfsync always: an acknowledged claim or mark is on disk
  HADR_ASSIGN_OR_RETURN(servers->redis, redis::RedisServer::start(redis_options));
  progress("redis " + servers->redis->address() + " (AOF, fsync always): lease, dedupe, coord, ledger");
  HADR_ASSIGN_OR_RETURN(servers->azurite, azure::AzuriteServer::start());
  progress("azurite " + servers->azurite->endpoint() + ": the WAL backup container");
  for (auto [node, role] : {std::pair{&servers->primary, "bus namespace primary (region a)"},
                            std::pair{&servers->secondary, "bus namespace secondary (region b)"},
                            std::pair{&servers->mq, "the source MQ"}}) {
    HADR_ASSIGN_OR_RETURN(*node, amqp::RabbitmqNode::start());
    progress("rabbitmq " + (*node)->url() + ": " + role);
  }
  return std::unique_ptr<LocalServices>(new LocalServices(std::move(servers)));
}

void LocalServices::export_secrets() {
  ::setenv(kAmqpPasswordVariable, std::string(amqp::kRabbitmqTestPassword).c_str(), 1);
  ::setenv(kAzureKeyVariable, std::string(azure::kAzuriteAccountKey).c_str(), 1);
}

void LocalServices::write_config_sections(std::ostream& out, std::string_view bus_namespace,
                                          std::string_view key_prefix) const {
  const amqp::RabbitmqNode& bus_node = bus_namespace == "primary" ? *servers_->primary : *servers_->secondary;
  const auto amqp_connection = [&](const amqp::RabbitmqNode& node) {
    out << "url = \"" << node.url() << "\"\nuser = \"" << amqp::kRabbitmqTestUser << "\"\npassword_env = \""
        << kAmqpPasswordVariable << "\"\nqueue_prefix = \"" << key_prefix << "\"\n"
        << "connect_timeout = \"1s\"\noperation_timeout = \"5s\"\n";
  };
  out << "[backends]\nkind = \"real\"\nbus_namespace = \"" << bus_namespace << "\"\n";
  out << "[redis]\naddress = \"" << servers_->redis->address() << "\"\nkey_prefix = \"" << key_prefix << "\"\n";
  out << "[amqp]\n";
  amqp_connection(bus_node);
  out << "[azure]\nendpoint = \"" << servers_->azurite->endpoint() << "\"\naccount = \""
      << azure::kAzuriteAccount << "\"\ncontainer = \"" << key_prefix << "-backup\"\nkey_env = \""
      << kAzureKeyVariable << "\"\n";
  out << "[source]\nkind = \"amqp\"\nqueue = \"ingress\"\n";
  amqp_connection(*servers_->mq);
}

Status LocalServices::kill_primary_broker() { return servers_->primary->kill(); }

std::string LocalServices::describe() const {
  std::ostringstream out;
  out << "redis " << servers_->redis->address() << ", azurite " << servers_->azurite->endpoint() << ", rabbitmq primary "
      << servers_->primary->url() << ", secondary " << servers_->secondary->url() << ", mq " << servers_->mq->url();
  return out.str();
}

}  // namespace hadr
