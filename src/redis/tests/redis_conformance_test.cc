// Instantiates the shared conformance suites (src/contracts/tests) for the Redis backends:
// LeaseStore, DedupeStore and Coord on a real redis-server started by the test environment.
// Each factory works on a fresh key prefix, so every test sees an empty store while all share
// one server; Bus, Source and BlobStore are not Redis contracts, so those suites skip.
// Time passes by really sleeping: Redis measures TTLs by its own clock.
#include <gtest/gtest.h>

#include <thread>

#include "contracts/testing/backend_factory.h"
#include "contracts/tests/conformance.h"
#include "redis/redis_coord.h"
#include "redis/redis_dedupe_store.h"
#include "redis/redis_lease_store.h"
#include "redis/testing/redis_test_environment.h"

namespace hadr::redis {
namespace {

using hadr::testing::BackendFactory;
using hadr::testing::BackendParam;
using testing::RedisTestEnvironment;

// Opening a store on the test's own running server cannot fail unless the machine is broken;
// a failure stops the test with the reason.
template <typename Store>
std::unique_ptr<Store> opened(Result<std::unique_ptr<Store>> store) {
  HADR_ASSERT_MSG(store.ok(), "opening a redis store failed: %s", store.error().to_string().c_str());
  return std::move(store).value();
}

class RedisBackendFactory final : public BackendFactory {
 public:
  RedisBackendFactory() : options_(RedisTestEnvironment::instance().options("conformance")) {}

  std::unique_ptr<LeaseStore> make_lease_store() override { return opened(RedisLeaseStore::open(options_)); }
  std::unique_ptr<DedupeStore> make_dedupe_store() override { return opened(RedisDedupeStore::open(options_)); }
  std::unique_ptr<Coord> make_coord() override { return opened(RedisCoord::open(options_)); }
  std::unique_ptr<Bus> make_bus() override { return nullptr; }
  std::unique_ptr<Source> make_source(const std::string&, Milliseconds) override { return nullptr; }
  std::unique_ptr<BlobStore> make_blob_store() override { return nullptr; }

  void advance(Milliseconds duration) override { std::this_thread::sleep_for(duration); }

 private:
  const RedisOptions options_;
};

const BackendParam kRedisBackend{"Redis", [] { return std::make_unique<RedisBackendFactory>(); }};

}  // namespace
}  // namespace hadr::redis

namespace hadr::testing {

INSTANTIATE_TEST_SUITE_P(Redis, LeaseStoreConformance, ::testing::Values(redis::kRedisBackend), backend_param_name);
INSTANTIATE_TEST_SUITE_P(Redis, DedupeStoreConformance, ::testing::Values(redis::kRedisBackend), backend_param_name);
INSTANTIATE_TEST_SUITE_P(Redis, CoordConformance, ::testing::Values(redis::kRedisBackend), backend_param_name);

}  // namespace hadr::testing
