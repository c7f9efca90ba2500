// Instantiates the shared Bus and Source conformance suites (src/contracts/tests/
// bus_conformance.cc, source_conformance.cc) for AmqpBus and AmqpSource on a real RabbitMQ
// node started by the test environment. Each factory works on a fresh queue prefix, so every
// test sees an empty namespace while all share one node; the sources of one factory are
// consumers of one queue. The other contracts are not AMQP's, so their suites skip. Time
// passes by really sleeping: lock and visibility deadlines are measured on the real clock.
#include <gtest/gtest.h>

#include <thread>

#include "amqp/amqp_bus.h"
#include "amqp/amqp_source.h"
#include "amqp/testing/rabbitmq_test_environment.h"
#include "contracts/testing/backend_factory.h"
#include "contracts/tests/conformance.h"

namespace hadr::amqp {
namespace {

using hadr::testing::BackendFactory;
using hadr::testing::BackendParam;
using testing::RabbitmqTestEnvironment;

class AmqpBackendFactory final : public BackendFactory {
 public:
  AmqpBackendFactory() : options_(RabbitmqTestEnvironment::instance().options("conformance")) {}

  std::unique_ptr<Bus> make_bus() override {
    auto bus = AmqpBus::open(options_);
    // Opening a bus on the test's own running node cannot fail unless the machine is broken.
    HADR_ASSERT_MSG(bus.ok(), "opening an AMQP bus failed: %s", bus.error().to_string().c_str());
    return std::move(bus).value();
  }
  std::unique_ptr<LeaseStore> make_lease_store() override { return nullptr; }
  std::unique_ptr<DedupeStore> make_dedupe_store() override { return nullptr; }
  std::unique_ptr<Coord> make_coord() override { return nullptr; }
  std::unique_ptr<Source> make_source(const std::string& consumer, Milliseconds visibility_timeout) override {
    auto source = AmqpSource::open(options_, "source", consumer, visibility_timeout);
    HADR_ASSERT_MSG(source.ok(), "opening an AMQP source failed: %s", source.error().to_string().c_str());
    return std::move(source).value();
  }
  std::unique_ptr<BlobStore> make_blob_store() override { return nullptr; }

  void advance(Milliseconds duration) override { std::this_thread::sleep_for(duration); }
  bool supports_fork() const override { return false; }

 private:
  const AmqpOptions options_;
};

const BackendParam kAmqpBackend{"RabbitMQ", [] { return std::make_unique<AmqpBackendFactory>(); }};

}  // namespace
}  // namespace hadr::amqp

namespace hadr::testing {

INSTANTIATE_TEST_SUITE_P(Amqp, BusConformance, ::testing::Values(amqp::kAmqpBackend), backend_param_name);
INSTANTIATE_TEST_SUITE_P(Amqp, SourceConformance, ::testing::Values(amqp::kAmqpBackend), backend_param_name);

}  // namespace hadr::testing
