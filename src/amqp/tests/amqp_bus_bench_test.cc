// run_amqp_bus_bench measures both sides against the test's RabbitMQ node and reports
// positive rates and their ratio; bad options are refused before anything is sent.
// The figures are printed (and recorded as test properties) for the report, never asserted:
// tests check behaviour, not timings.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>

#include "amqp/amqp_bus_bench.h"
#include "amqp/testing/rabbitmq_test_environment.h"

namespace hadr::amqp {
namespace {

using testing::RabbitmqTestEnvironment;

TEST(AmqpBusBenchTest, MeasuresRawAndBusRates) {
  AmqpBusBenchOptions options;
  options.amqp = RabbitmqTestEnvironment::instance().options("bench");
  // HADR_AMQP_BENCH_MESSAGES scales a measurement run; the default keeps the test quick.
  const char* messages = std::getenv("HADR_AMQP_BENCH_MESSAGES");
  options.messages = messages != nullptr ? std::strtoull(messages, nullptr, 10) : 2'000;
  auto report = run_amqp_bus_bench(options);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(report->messages, options.messages);
  EXPECT_GT(report->raw_messages_per_second, 0);
  EXPECT_GT(report->bus_messages_per_second, 0);
  EXPECT_GT(report->ratio, 0);
  std::cout << "amqp bench: " << report->messages << " messages of " << options.body_bytes << " bytes; raw window "
            << options.raw_window << ": " << report->raw_messages_per_second << " msg/s; AmqpBus::send batch "
            << options.batch << ": " << report->bus_messages_per_second << " msg/s; ratio " << report->ratio << "\n";
  ::testing::Test::RecordProperty("raw_messages_per_second", std::to_string(report->raw_messages_per_second));
  ::testing::Test::RecordProperty("bus_messages_per_second", std::to_string(report->bus_messages_per_second));
}

TEST(AmqpBusBenchTest, RefusesZeroBatch) {
  AmqpBusBenchOptions options;
  options.batch = 0;
  auto report = run_amqp_bus_bench(options);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace hadr::amqp
