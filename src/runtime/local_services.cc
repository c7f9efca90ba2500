#include "runtime/local_services.h"

#include <stdlib.h>

#include <sstream>

#include "amqp/testing/rabbitmq_node.h"
#include "azure/testing/azurite_server.h"
#include "redis/testing/redis_server.h"

namespace hadr {

struct LocalServices::Servers {
  std::unique_ptr<redis::testing::RedisServer> redis;
  std::unique_ptr<amqp::testing::RabbitmqNode> primary;
  std::unique_ptr<amqp::testing::RabbitmqNode> secondary;
  std::unique_ptr<amqp::testing::RabbitmqNode> mq;
  std::unique_ptr<azure::testing::AzuriteServer> azurite;
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
  redis::testing::RedisServerOptions redis_options;
  redis_options.append_only = true;  // appendfsync always: an acknowledged claim or mark is on disk
  HADR_ASSIGN_OR_RETURN(servers->redis, redis::testing::RedisServer::start(redis_options));
  progress("redis " + servers->redis->address() + " (AOF, fsync always): lease, dedupe, coord, ledger");
  HADR_ASSIGN_OR_RETURN(servers->azurite, azure::testing::AzuriteServer::start());
  progress("azurite " + servers->azurite->endpoint() + ": the WAL backup container");
  for (auto [node, role] : {std::pair{&servers->primary, "bus namespace primary (region a)"},
                            std::pair{&servers->secondary, "bus namespace secondary (region b)"},
                            std::pair{&servers->mq, "the source MQ"}}) {
    HADR_ASSIGN_OR_RETURN(*node, amqp::testing::RabbitmqNode::start());
    progress("rabbitmq " + (*node)->url() + ": " + role);
  }
  return std::unique_ptr<LocalServices>(new LocalServices(std::move(servers)));
}

void LocalServices::export_secrets() {
  ::setenv(kAmqpPasswordVariable, std::string(amqp::testing::kRabbitmqTestPassword).c_str(), 1);
  ::setenv(kAzureKeyVariable, std::string(azure::testing::kAzuriteAccountKey).c_str(), 1);
}

void LocalServices::write_config_sections(std::ostream& out, std::string_view bus_namespace,
                                          std::string_view key_prefix) const {
  const amqp::testing::RabbitmqNode& bus_node = bus_namespace == "primary" ? *servers_->primary : *servers_->secondary;
  const auto amqp_connection = [&](const amqp::testing::RabbitmqNode& node) {
    out << "url = \"" << node.url() << "\"\nuser = \"" << amqp::testing::kRabbitmqTestUser << "\"\npassword_env = \""
        << kAmqpPasswordVariable << "\"\nqueue_prefix = \"" << key_prefix << "\"\n"
        << "connect_timeout = \"1s\"\noperation_timeout = \"5s\"\n";
  };
  out << "[backends]\nkind = \"real\"\nbus_namespace = \"" << bus_namespace << "\"\n";
  out << "[redis]\naddress = \"" << servers_->redis->address() << "\"\nkey_prefix = \"" << key_prefix << "\"\n";
  out << "[amqp]\n";
  amqp_connection(bus_node);
  out << "[azure]\nendpoint = \"" << servers_->azurite->endpoint() << "\"\naccount = \""
      << azure::testing::kAzuriteAccount << "\"\ncontainer = \"" << key_prefix << "-backup\"\nkey_env = \""
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
