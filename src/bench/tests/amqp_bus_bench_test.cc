// run_amqp_bus_bench measures both sides (hadr's relay through the WAL to the broker, and a raw
// Proton publisher with the same window) against the test's RabbitMQ node: every message goes
// through the relay (published and acked, each WAL batch at most relay_batch), and the report
// gives positive rates and their ratio; bad options are refused before anything is sent.
// The figures are printed (and recorded as test properties) for the report, never asserted:
// tests check behaviour, not timings.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>

#include "amqp/testing/rabbitmq_test_environment.h"
#include "bench/amqp_bus_bench.h"

namespace hadr::amqp {
namespace {

using testing::RabbitmqTestEnvironment;

TEST(AmqpBusBenchTest, MeasuresRawAndRelayRates) {
  AmqpBusBenchOptions options;
  options.amqp = RabbitmqTestEnvironment::instance().options("bench");
  // HADR_AMQP_BENCH_MESSAGES scales a measurement run; the default keeps the test quick.
  const char* messages = std::getenv("HADR_AMQP_BENCH_MESSAGES");
  options.messages = messages != nullptr ? std::strtoull(messages, nullptr, 10) : 2'000;
  auto report = run_amqp_bus_bench(options);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(report->messages, options.messages);
  EXPECT_GT(report->raw_messages_per_second, 0);
  EXPECT_GT(report->relay_messages_per_second, 0);
  EXPECT_GT(report->ratio, 0);
  // Every message went through the WAL in batches of at most relay_batch.
  EXPECT_GE(report->wal_batches, (options.messages + options.relay_batch - 1) / options.relay_batch);
  EXPECT_LE(report->wal_batches, options.messages);
  std::cout << "amqp bench: " << report->messages << " messages of " << options.body_bytes << " bytes, window "
            << options.window << ": raw " << report->raw_messages_per_second << " msg/s; relay (batch "
            << options.relay_batch << ", " << report->wal_batches << " WAL batches) "
            << report->relay_messages_per_second << " msg/s; ratio " << report->ratio << "\n";
  ::testing::Test::RecordProperty("raw_messages_per_second", std::to_string(report->raw_messages_per_second));
  ::testing::Test::RecordProperty("relay_messages_per_second", std::to_string(report->relay_messages_per_second));
}

TEST(AmqpBusBenchTest, RefusesZeroRelayBatch) {
  AmqpBusBenchOptions options;
  options.relay_batch = 0;
  auto report = run_amqp_bus_bench(options);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace hadr::amqp
