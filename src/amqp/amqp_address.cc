#include "amqp/amqp_address.h"

namespace hadr::amqp {

namespace {

std::string escape_for_rabbitmq(std::string_view name) {
  std::string escaped;
  for (char c : name) {
    if (c == '%') escaped += "%25";
    else if (c == '/') escaped += "%2F";
    else escaped += c;
  }
  return escaped;
}

}  // namespace

std::string broker_queue_name(const AmqpOptions& options, std::string_view queue) {
  return options.queue_prefix + std::string(queue);
}

std::string queue_address(const AmqpOptions& options, std::string_view queue) {
  const std::string broker_name = broker_queue_name(options, queue);
  if (options.broker == BrokerStyle::kServiceBus) return broker_name;
  return "/amq/queue/" + escape_for_rabbitmq(broker_name);
}

std::string declare_address(const AmqpOptions& options, std::string_view queue) {
  const std::string broker_name = broker_queue_name(options, queue);
  if (options.broker == BrokerStyle::kServiceBus) return broker_name;
  return "/queue/" + escape_for_rabbitmq(broker_name);
}

}  // namespace hadr::amqp
