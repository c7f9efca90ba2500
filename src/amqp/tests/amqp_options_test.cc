// AmqpOptions::validate() refuses every out-of-range field with an error naming it, never
// echoes the password, and describe() shows "***" instead of it; the broker style parses.
#include <gtest/gtest.h>

#include "amqp/amqp_options.h"

namespace hadr::amqp {
namespace {

constexpr std::string_view kPassword = "very-Secret-Key-77";

AmqpOptions valid_options() {
  AmqpOptions options;
  options.url = "amqp://127.0.0.1:5672";
  options.user = "guest";
  options.password = Secret(std::string(kPassword));
  return options;
}

void expect_invalid(const AmqpOptions& options, std::string_view field) {
  const Status status = options.validate();
  ASSERT_FALSE(status.ok()) << "expected " << field << " to be refused";
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(status.error().detail.find(field), std::string::npos) << status.error().detail;
  EXPECT_EQ(status.error().detail.find(kPassword), std::string::npos) << status.error().detail;
}

TEST(AmqpOptionsTest, DefaultsWithCredentialsAreValid) { EXPECT_TRUE(valid_options().validate().ok()); }

TEST(AmqpOptionsTest, ServiceBusStyleWithTlsIsValid) {
  AmqpOptions options = valid_options();
  options.url = "amqps://example.servicebus.windows.net";
  options.tls = true;
  options.broker = BrokerStyle::kServiceBus;
  options.user = "RootManageSharedAccessKey";
  EXPECT_TRUE(options.validate().ok());
}

TEST(AmqpOptionsTest, RejectsUrlWithoutScheme) {
  AmqpOptions options = valid_options();
  options.url = "127.0.0.1:5672";
  expect_invalid(options, "url");
}

TEST(AmqpOptionsTest, RejectsCredentialsInUrl) {
  AmqpOptions options = valid_options();
  options.url = std::string("amqp://guest:") + std::string(kPassword) + "@127.0.0.1:5672";
  expect_invalid(options, "url");
}

TEST(AmqpOptionsTest, RejectsAmqpsWithoutTls) {
  AmqpOptions options = valid_options();
  options.url = "amqps://127.0.0.1:5671";
  expect_invalid(options, "tls");
}

TEST(AmqpOptionsTest, RejectsTlsOnPlainAmqp) {
  AmqpOptions options = valid_options();
  options.tls = true;
  expect_invalid(options, "tls");
}

TEST(AmqpOptionsTest, RejectsPasswordWithoutUser) {
  AmqpOptions options = valid_options();
  options.user = "";
  expect_invalid(options, "user");
}

TEST(AmqpOptionsTest, RejectsQueuePrefixWithSlash) {
  AmqpOptions options = valid_options();
  options.queue_prefix = "a/b";
  expect_invalid(options, "queue_prefix");
}

TEST(AmqpOptionsTest, RejectsZeroSendWindow) {
  AmqpOptions options = valid_options();
  options.send_window = 0;
  expect_invalid(options, "send_window");
}

TEST(AmqpOptionsTest, RejectsZeroReceiveWait) {
  AmqpOptions options = valid_options();
  options.receive_wait = Milliseconds(0);
  expect_invalid(options, "receive_wait");
}

TEST(AmqpOptionsTest, RejectsZeroReconnectAttempts) {
  AmqpOptions options = valid_options();
  options.max_reconnect_attempts = 0;
  expect_invalid(options, "max_reconnect_attempts");
}

TEST(AmqpOptionsTest, RejectsBackoffMaxBelowInitial) {
  AmqpOptions options = valid_options();
  options.reconnect_backoff_initial = Milliseconds(500);
  options.reconnect_backoff_max = Milliseconds(100);
  expect_invalid(options, "reconnect_backoff_max");
}

TEST(AmqpOptionsTest, DescribeHidesPassword) {
  const std::string text = valid_options().describe();
  EXPECT_EQ(text.find(kPassword), std::string::npos) << text;
  EXPECT_NE(text.find("password=***"), std::string::npos) << text;
}

TEST(AmqpOptionsTest, ReconnectBudgetSumsTimeoutsAndBackoffs) {
  AmqpOptions options = valid_options();
  options.connect_timeout = Milliseconds(100);
  options.max_reconnect_attempts = 3;
  options.reconnect_backoff_initial = Milliseconds(10);
  options.reconnect_backoff_max = Milliseconds(15);
  EXPECT_EQ(options.reconnect_budget(), Milliseconds(300 + 10 + 15));
}

TEST(AmqpOptionsTest, BrokerStyleParses) {
  EXPECT_EQ(parse_broker_style("rabbitmq").value(), BrokerStyle::kRabbitMq);
  EXPECT_EQ(parse_broker_style("servicebus").value(), BrokerStyle::kServiceBus);
  EXPECT_EQ(parse_broker_style("kafka").code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace hadr::amqp
