// RabbitmqTestEnvironment: the GoogleTest environment of every test binary that needs a
// RabbitMQ broker. It starts ONE private node (testing/rabbitmq_node.h, ~5 s) on first use and
// stops exactly that node at the end of the run, also when tests failed (a dying test process
// takes the node with it: see RabbitmqNode). Tests share the node and stay apart through a
// fresh queue prefix each.
// Ownership: GoogleTest owns the registered instance. Thread-safety: main test thread only.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "amqp/amqp_options.h"
#include "amqp/rabbitmq_node.h"

namespace hadr::amqp::testing {

class RabbitmqTestEnvironment final : public ::testing::Environment {
 public:
  static RabbitmqTestEnvironment& instance();

  // nullptr (with a test failure recorded) when the node cannot start.
  RabbitmqNode* node();

  // "<label>-<pid>-<n>-": unique within this process and across concurrent test processes.
  std::string fresh_queue_prefix(std::string_view label);
  // Options for node() on a fresh queue prefix, with waits short enough for tests.
  AmqpOptions options(std::string_view label);

  void TearDown() override;

 private:
  std::unique_ptr<RabbitmqNode> node_;
  bool start_failed_ = false;
  std::uint64_t prefixes_made_ = 0;
};

}  // namespace hadr::amqp::testing
