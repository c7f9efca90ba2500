// Proves AMQP 1.0 over TLS against a real RabbitMQ node with a certificate authority the test
// makes with openssl (issue 15): with tls_ca_file naming that CA the bus connects to
// amqps://localhost, authenticates with SASL PLAIN inside the channel and carries messages;
// without the CA (the system's trust store) the server is refused, and so is a server whose
// certificate names another host (amqps://127.0.0.1 while the certificate says localhost).
// The node is this suite's own (a TLS listener beside the plain one), started once (~5 s).
#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "amqp/amqp_bus.h"
#include "amqp/amqp_connection.h"
#include "amqp/rabbitmq_node.h"
#include "core/local_server.h"

namespace hadr::amqp {
namespace {

// A refusal for the certificate, not for anything else (a closed port, a refused login).
bool names_a_certificate_failure(std::string detail) {
  for (char& c : detail) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return detail.find("certificate") != std::string::npos || detail.find("ssl") != std::string::npos ||
         detail.find("tls") != std::string::npos;
}

class AmqpTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto dir = make_temporary_directory("hadr-amqp-tls");
    ASSERT_TRUE(dir.ok());
    dir_ = new std::string(*dir);
    const Status made = make_test_certificates(*dir_);
    ASSERT_TRUE(made.ok()) << made.error().to_string();
    RabbitmqNodeOptions options;
    options.tls = RabbitmqTlsFiles{*dir_ + "/server.pem", *dir_ + "/server.key", *dir_ + "/ca.pem"};
    auto node = RabbitmqNode::start(options);
    ASSERT_TRUE(node.ok()) << node.error().to_string();
    node_ = std::move(node).value().release();
  }
  static void TearDownTestSuite() {
    delete node_;
    node_ = nullptr;
    if (dir_ != nullptr) std::filesystem::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }

  AmqpOptions tls_options(const std::string& host) const {
    AmqpOptions options = node_->client_options("tls-test");
    options.url = "amqps://" + host + ":" + std::to_string(node_->tls_port());
    options.tls = true;
    options.tls_ca_file = *dir_ + "/ca.pem";
    options.connect_timeout = Milliseconds(3'000);
    options.max_reconnect_attempts = 1;
    return options;
  }

  static RabbitmqNode* node_;
  static std::string* dir_;
};

RabbitmqNode* AmqpTlsTest::node_ = nullptr;
std::string* AmqpTlsTest::dir_ = nullptr;

TEST_F(AmqpTlsTest, TrustedCertificateCarriesMessages) {
  ASSERT_NE(node_, nullptr);
  const AmqpOptions options = tls_options("localhost");
  ASSERT_TRUE(options.validate().ok()) << options.validate().error().to_string();
  auto bus = AmqpBus::open(options);
  ASSERT_TRUE(bus.ok()) << bus.error().to_string();
  ASSERT_TRUE((*bus)->create_queue("tls", QueueOptions{}).ok());
  BusMessage message;
  message.id = MessageId::parse("tls-1").value();
  message.epoch = Epoch{1};
  message.source_region = RegionId::parse("a").value();
  message.lsn = Lsn{1};
  message.body = "over tls";
  ASSERT_TRUE((*bus)->send("tls", std::vector<BusMessage>{message}).ok());
  auto received = (*bus)->receive("tls", 10, std::chrono::seconds(30));
  ASSERT_TRUE(received.ok()) << received.error().to_string();
  ASSERT_EQ(received->size(), 1u);
  EXPECT_EQ(received->front().message.body, "over tls");
  EXPECT_TRUE((*bus)->complete("tls", received->front().lock_token).ok());
}

TEST_F(AmqpTlsTest, UntrustedCertificateIsRefused) {
  ASSERT_NE(node_, nullptr);
  AmqpOptions options = tls_options("localhost");
  options.tls_ca_file.clear();  // the system's CAs, which never signed the test CA
  auto connection = AmqpConnection::open(options);
  ASSERT_FALSE(connection.ok());
  EXPECT_TRUE(names_a_certificate_failure(connection.error().detail)) << connection.error().detail;
  EXPECT_EQ(connection.error().detail.find("guest"), std::string::npos) << connection.error().detail;
}

TEST_F(AmqpTlsTest, CertificateForAnotherNameIsRefused) {
  ASSERT_NE(node_, nullptr);
  auto connection = AmqpConnection::open(tls_options("127.0.0.1"));  // the certificate says localhost
  ASSERT_FALSE(connection.ok());
  EXPECT_TRUE(names_a_certificate_failure(connection.error().detail)) << connection.error().detail;
}

}  // namespace
}  // namespace hadr::amqp
