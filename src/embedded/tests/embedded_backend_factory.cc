// The embedded backends' factory for the conformance suites (see embedded_backend_factory.h).
#include "embedded/tests/embedded_backend_factory.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "core/env.h"
#include "embedded/directory_blob_store.h"
#include "embedded/sqlite_bus.h"
#include "embedded/sqlite_coord.h"
#include "embedded/sqlite_dedupe_store.h"
#include "embedded/sqlite_lease_store.h"
#include "embedded/sqlite_source.h"

namespace hadr::testing {
namespace {

// Opening a store in a fresh directory cannot fail unless the machine is broken; a failure
// stops the test with the reason.
template <typename Store>
std::unique_ptr<Store> opened(Result<std::unique_ptr<Store>> store) {
  HADR_ASSERT_MSG(store.ok(), "opening an embedded store failed: %s", store.error().to_string().c_str());
  return std::move(store).value();
}

}  // namespace

std::string make_temporary_directory() {
  std::string pattern = ::testing::TempDir() + "hadr-embedded-XXXXXX";
  HADR_ASSERT_MSG(::mkdtemp(pattern.data()) != nullptr, "mkdtemp %s failed", pattern.c_str());
  return pattern;
}

EmbeddedBackendFactory::EmbeddedBackendFactory() : directory_(make_temporary_directory()), owner_pid_(::getpid()) {}

EmbeddedBackendFactory::~EmbeddedBackendFactory() {
  if (::getpid() != owner_pid_) return;
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

std::unique_ptr<LeaseStore> EmbeddedBackendFactory::make_lease_store() {
  return opened(SqliteLeaseStore::open(join_path(directory_, "lease.db"), clock_));
}

std::unique_ptr<DedupeStore> EmbeddedBackendFactory::make_dedupe_store() {
  return opened(SqliteDedupeStore::open(join_path(directory_, "dedupe.db"), clock_));
}

std::unique_ptr<Bus> EmbeddedBackendFactory::make_bus() {
  return opened(SqliteBus::open(join_path(directory_, "bus.db"), clock_));
}

std::unique_ptr<Source> EmbeddedBackendFactory::make_source(const std::string& consumer,
                                                            Milliseconds visibility_timeout) {
  return opened(SqliteSource::open(join_path(directory_, "source.db"), consumer, visibility_timeout, clock_));
}

bool EmbeddedBackendFactory::wipe_blob_container() {
  std::error_code error;
  std::filesystem::remove_all(join_path(directory_, "blobs"), error);
  return !error;
}

std::unique_ptr<BlobStore> EmbeddedBackendFactory::make_blob_store() {
  return opened(DirectoryBlobStore::open(posix_env(), join_path(directory_, "blobs")));
}

std::unique_ptr<Coord> EmbeddedBackendFactory::make_coord() {
  return opened(SqliteCoord::open(join_path(directory_, "coord.db"), clock_));
}

void EmbeddedBackendFactory::advance(Milliseconds duration) { clock_.advance(duration); }

}  // namespace hadr::testing
