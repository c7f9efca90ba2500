#include "amqp/testing/rabbitmq_test_environment.h"

#include <unistd.h>

namespace hadr::amqp::testing {

namespace {

// GoogleTest owns and deletes registered environments at exit.
RabbitmqTestEnvironment* const registered_environment = static_cast<RabbitmqTestEnvironment*>(
    ::testing::AddGlobalTestEnvironment(new RabbitmqTestEnvironment()));

}  // namespace

RabbitmqTestEnvironment& RabbitmqTestEnvironment::instance() {
  HADR_ASSERT(registered_environment != nullptr);
  return *registered_environment;
}

RabbitmqNode* RabbitmqTestEnvironment::node() {
  if (node_ == nullptr && !start_failed_) {
    auto started = RabbitmqNode::start();
    if (!started.ok()) {
      start_failed_ = true;  // do not spend a minute per test on a machine without RabbitMQ
      ADD_FAILURE() << "cannot start RabbitMQ: " << started.error().to_string();
      return nullptr;
    }
    node_ = std::move(started).value();
  }
  if (node_ == nullptr) {
    ADD_FAILURE() << "RabbitMQ did not start; see the first failure";
    return nullptr;
  }
  if (!node_->running()) {
    // A test that killed the node must restart it; heal here so later tests still run.
    ADD_FAILURE() << "the test's RabbitMQ node was left stopped by an earlier step; restarting it";
    if (!node_->restart().ok()) return nullptr;
  }
  return node_.get();
}

std::string RabbitmqTestEnvironment::fresh_queue_prefix(std::string_view label) {
  ++prefixes_made_;
  return std::string(label) + "-" + std::to_string(::getpid()) + "-" + std::to_string(prefixes_made_) + "-";
}

AmqpOptions RabbitmqTestEnvironment::options(std::string_view label) {
  RabbitmqNode* rabbitmq = node();
  HADR_ASSERT_MSG(rabbitmq != nullptr, "RabbitMQ did not start; see the failure above");
  AmqpOptions result = rabbitmq->client_options(fresh_queue_prefix(label));
  // RabbitMQ answers a refused login only when it closes the socket, ~3 s later.
  result.connect_timeout = Milliseconds(5'000);
  result.operation_timeout = Milliseconds(10'000);
  // Long enough that a loaded machine (sanitizers, parallel builds) still sees every
  // available message in one receive; short enough that empty receives stay cheap.
  result.receive_wait = Milliseconds(100);
  result.max_reconnect_attempts = 3;
  result.reconnect_backoff_initial = Milliseconds(50);
  result.reconnect_backoff_max = Milliseconds(500);
  return result;
}

void RabbitmqTestEnvironment::TearDown() {
  if (node_ != nullptr) (void)node_->stop();
  node_.reset();
}

}  // namespace hadr::amqp::testing
