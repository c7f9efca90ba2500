// Broker addresses of hadr queue names (docs/amqp.md, "Service Bus semantics ..."), shared by
// AmqpBus and AmqpSource:
//   RabbitMQ:    use "/amq/queue/<prefix><name>" (never auto-creates: a receiver attach to a
//                missing queue is refused with amqp:not-found); declare "/queue/<prefix><name>"
//                with a durable target. '/' and '%' in names are escaped as %2F and %25,
//                because RabbitMQ's address parser splits on '/' and unescapes.
//   Service Bus: the address is "<prefix><name>" for both.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "amqp/amqp_options.h"

namespace hadr::amqp {

// The queue's name on the broker: queue_prefix + queue, joined as is (so a prefix should end
// in '-' or '.': "hadr-example-" gives "hadr-example-main").
std::string broker_queue_name(const AmqpOptions& options, std::string_view queue);
std::string queue_address(const AmqpOptions& options, std::string_view queue);
std::string declare_address(const AmqpOptions& options, std::string_view queue);

}  // namespace hadr::amqp
