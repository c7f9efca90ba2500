// Runs all six conformance suites (src/contracts/tests) against the embedded backends: SQLite
// files for LeaseStore, DedupeStore, Bus, Source and Coord, a directory for BlobStore. Passing
// them proves the embedded backends keep every contract the real systems are held to.
#include "contracts/tests/conformance.h"
#include "embedded/tests/embedded_backend_factory.h"

namespace hadr::testing {
namespace {

const auto kEmbedded = ::testing::Values(
    BackendParam{"embedded", [] { return std::unique_ptr<BackendFactory>(new EmbeddedBackendFactory()); }});

}  // namespace

INSTANTIATE_TEST_SUITE_P(Embedded, LeaseStoreConformance, kEmbedded, backend_param_name);
INSTANTIATE_TEST_SUITE_P(Embedded, DedupeStoreConformance, kEmbedded, backend_param_name);
INSTANTIATE_TEST_SUITE_P(Embedded, BusConformance, kEmbedded, backend_param_name);
INSTANTIATE_TEST_SUITE_P(Embedded, SourceConformance, kEmbedded, backend_param_name);
INSTANTIATE_TEST_SUITE_P(Embedded, BlobStoreConformance, kEmbedded, backend_param_name);
INSTANTIATE_TEST_SUITE_P(Embedded, CoordConformance, kEmbedded, backend_param_name);

}  // namespace hadr::testing
