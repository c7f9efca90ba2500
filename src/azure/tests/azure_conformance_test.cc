// Instantiates the shared BlobStore conformance suite (src/contracts/tests) for AzureBlobStore
// against a real Azurite started by the test environment. Each factory works on a fresh
// container, so every test sees an empty store while all share one server; the other
// contracts are not Azure Blob's, so those suites skip.
#include <gtest/gtest.h>

#include <thread>

#include "azure/azure_blob_store.h"
#include "azure/testing/azurite_test_environment.h"
#include "contracts/testing/backend_factory.h"
#include "contracts/tests/conformance.h"

namespace hadr::azure {
namespace {

using hadr::testing::BackendFactory;
using hadr::testing::BackendParam;
using testing::AzuriteTestEnvironment;

// Opening a store on the test's own running Azurite cannot fail unless the machine is broken;
// a failure stops the test with the reason.
std::unique_ptr<AzureBlobStore> opened(const AzureBlobOptions& options) {
  auto store = AzureBlobStore::open(options);
  HADR_ASSERT_MSG(store.ok(), "opening the azure blob store failed: %s", store.error().to_string().c_str());
  return std::move(store).value();
}

class AzuriteBackendFactory final : public BackendFactory {
 public:
  AzuriteBackendFactory() : options_(AzuriteTestEnvironment::instance().options("conformance")) {}

  std::unique_ptr<BlobStore> make_blob_store() override {
    // No Azurite: a failure (never a skip — see AzuriteTestEnvironment) that says how to fix
    // it. Fatal, so that the suite's SetUp, which skips on nullptr, cannot run the body.
    if (!options_.ok() && AzuriteTestEnvironment::instance().skipping()) {
      [this] { GTEST_SKIP() << options_.error().detail; }();
      return nullptr;
    }
    if (!options_.ok()) {
      [this] { FAIL() << options_.error().detail; }();
      return nullptr;
    }
    return opened(*options_);
  }
  std::unique_ptr<LeaseStore> make_lease_store() override { return nullptr; }
  std::unique_ptr<DedupeStore> make_dedupe_store() override { return nullptr; }
  std::unique_ptr<Coord> make_coord() override { return nullptr; }
  std::unique_ptr<Bus> make_bus() override { return nullptr; }
  std::unique_ptr<Source> make_source(const std::string&, Milliseconds) override { return nullptr; }

  // Azurite's own time passes by itself; blobs have no TTL, so the blob suite never waits.
  void advance(Milliseconds duration) override { std::this_thread::sleep_for(duration); }

 private:
  const Result<AzureBlobOptions> options_;
};

const BackendParam kAzuriteBackend{"Azurite", [] { return std::make_unique<AzuriteBackendFactory>(); }};

}  // namespace
}  // namespace hadr::azure

namespace hadr::testing {

INSTANTIATE_TEST_SUITE_P(Azurite, BlobStoreConformance, ::testing::Values(azure::kAzuriteBackend), backend_param_name);

}  // namespace hadr::testing
