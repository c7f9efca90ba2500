// AzuriteTestEnvironment: the GoogleTest environment of every test binary that needs Azurite.
// Its SetUp starts one private Azurite (testing/azurite_server.h) for the whole run and its
// TearDown stops exactly that one (PR_SET_PDEATHSIG kills it if the test process dies).
//
// When azurite-blob is not installed (or does not start) every test FAILS, saying to run
// scripts/install-azurite — a missing emulator must not pass silently, nor show up as a skip —
// unless HADR_SKIP_AZURITE=1 is set: then options() fails and skipping() is true, and each
// test GTEST_SKIPs with the reason (so ctest counts it as skipped, not passed).
// Each caller gets a fresh container name, so tests sharing one server never see each
// other's blobs.
// Ownership: GoogleTest owns the registered instance. Thread-safety: main test thread only.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "azure/azure_blob_options.h"
#include "azure/azurite_server.h"

namespace hadr::azure::testing {

class AzuriteTestEnvironment final : public ::testing::Environment {
 public:
  static AzuriteTestEnvironment& instance();

  // The running server, or kFailedPrecondition saying why there is none (and how to fix it).
  Result<AzuriteServer*> server();
  // "<label>-<pid>-<n>" (label lower-cased, at most 63 bytes): a valid container name, unique
  // within this process and across concurrent test processes.
  std::string fresh_container(std::string_view label);
  // Shared Key options for a fresh container on server(), or server()'s error.
  Result<AzureBlobOptions> options(std::string_view label);
  // True when azurite is missing and HADR_SKIP_AZURITE=1 asked to skip rather than fail.
  bool skipping() const { return skipping_; }

  void SetUp() override;
  void TearDown() override;

 private:
  std::unique_ptr<AzuriteServer> server_;
  std::string start_failure_;  // why server_ is null, once SetUp failed
  bool skipping_ = false;
  std::uint64_t containers_made_ = 0;
};

}  // namespace hadr::azure::testing
