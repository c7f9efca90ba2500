// Runs all six conformance suites (src/contracts/tests) against the in-memory backends, one
// fresh world of servers on a ManualClock per test. Passing them proves the simulator's stores
// keep every contract that SQLite and Redis are held to, so a role that passes the simulation
// meets the same semantics in production.
#include "contracts/tests/conformance.h"
#include "memory/tests/memory_test_support.h"

namespace hadr::testing {
namespace {

const auto kMemory = ::testing::Values(BackendParam{
    "memory", [] { return std::unique_ptr<BackendFactory>(new memory_test::MemoryBackendFactory()); }});

}  // namespace

INSTANTIATE_TEST_SUITE_P(Memory, LeaseStoreConformance, kMemory, backend_param_name);
INSTANTIATE_TEST_SUITE_P(Memory, DedupeStoreConformance, kMemory, backend_param_name);
INSTANTIATE_TEST_SUITE_P(Memory, BusConformance, kMemory, backend_param_name);
INSTANTIATE_TEST_SUITE_P(Memory, SourceConformance, kMemory, backend_param_name);
INSTANTIATE_TEST_SUITE_P(Memory, BlobStoreConformance, kMemory, backend_param_name);
INSTANTIATE_TEST_SUITE_P(Memory, CoordConformance, kMemory, backend_param_name);

}  // namespace hadr::testing
