// AmqpOptions::validate() refuses every out-of-range field with an error naming it, never
// echoes the password, and describe() shows "***" instead of it; the broker style parses.
// Transport (issue 15): a SASL PLAIN password goes in plain text only to a loopback host or
// with allow_plaintext_password; Service Bus needs TLS; tls_ca_file needs TLS.
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

TEST(AmqpOptionsTest, PlaintextPasswordOnlyToLoopback) {
  for (const char* url : {"amqp://127.0.0.1:5672", "amqp://127.8.9.10:5672", "amqp://localhost:5672", "amqp://[::1]:5672"}) {
    AmqpOptions options = valid_options();
    options.url = url;
    EXPECT_TRUE(options.validate().ok()) << url;
  }
  for (const char* url : {"amqp://10.0.0.7:5672", "amqp://mq.example.com:5672", "amqp://127.0.0.1.evil.com:5672",
                          "amqp://1270.0.0.1:5672"}) {
    AmqpOptions options = valid_options();
    options.url = url;
    const Status status = options.validate();
    ASSERT_FALSE(status.ok()) << url;
    EXPECT_NE(status.error().detail.find("plain text"), std::string::npos) << status.error().detail;
    EXPECT_EQ(status.error().detail.find(kPassword), std::string::npos);
    options.allow_plaintext_password = true;
    EXPECT_TRUE(options.validate().ok()) << url;
    EXPECT_NE(options.describe().find("plaintext password allowed"), std::string::npos) << options.describe();
  }
}

TEST(AmqpOptionsTest, AnonymousToARemoteHostNeedsNoPermission) {
  AmqpOptions options = valid_options();
  options.url = "amqp://10.0.0.7:5672";
  options.user.clear();
  options.password = Secret();
  EXPECT_TRUE(options.validate().ok());
}

TEST(AmqpOptionsTest, TlsToARemoteHostIsValid) {
  AmqpOptions options = valid_options();
  options.url = "amqps://mq.example.com:5671";
  options.tls = true;
  options.tls_ca_file = "/etc/hadr/ca.pem";
  EXPECT_TRUE(options.validate().ok());
}

TEST(AmqpOptionsTest, ServiceBusWithoutTlsIsRefused) {
  AmqpOptions options = valid_options();
  options.broker = BrokerStyle::kServiceBus;
  expect_invalid(options, "Service Bus accepts only TLS");
}

TEST(AmqpOptionsTest, CaFileWithoutTlsIsRefused) {
  AmqpOptions options = valid_options();
  options.tls_ca_file = "/etc/hadr/ca.pem";
  expect_invalid(options, "tls_ca_file");
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
