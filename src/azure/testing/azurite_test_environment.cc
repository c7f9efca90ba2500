#include "azure/testing/azurite_test_environment.h"

#include <unistd.h>

#include <cstdlib>

namespace hadr::azure::testing {

namespace {

// GoogleTest owns and deletes registered environments at exit.
AzuriteTestEnvironment* const registered_environment = static_cast<AzuriteTestEnvironment*>(
    ::testing::AddGlobalTestEnvironment(new AzuriteTestEnvironment()));

bool skip_requested() {
  const char* skip = std::getenv("HADR_SKIP_AZURITE");
  return skip != nullptr && std::string_view(skip) == "1";
}

}  // namespace

AzuriteTestEnvironment& AzuriteTestEnvironment::instance() {
  HADR_ASSERT(registered_environment != nullptr);
  return *registered_environment;
}

void AzuriteTestEnvironment::SetUp() {
  auto executable = find_azurite_blob();
  if (!executable.ok() && skip_requested()) {
    start_failure_ = "HADR_SKIP_AZURITE=1 and " + executable.error().detail;
    skipping_ = true;
    return;
  }
  // Not a fatal failure and never a skip: every test must run and fail on its own, so that
  // neither GoogleTest nor ctest can count a missing emulator as skipped.
  if (!executable.ok()) {
    start_failure_ = executable.error().detail + " (or set HADR_SKIP_AZURITE=1 to skip the Azure backend tests)";
    ADD_FAILURE() << start_failure_;
    return;
  }
  auto started = AzuriteServer::start();
  if (!started.ok()) {
    start_failure_ = "cannot start azurite-blob: " + started.error().to_string();
    ADD_FAILURE() << start_failure_;
    return;
  }
  server_ = std::move(started).value();
}

void AzuriteTestEnvironment::TearDown() {
  if (server_ != nullptr) (void)server_->stop();
  server_.reset();
}

Result<AzuriteServer*> AzuriteTestEnvironment::server() {
  if (server_ == nullptr) {
    return failed_precondition(start_failure_.empty() ? "azurite was not started" : start_failure_);
  }
  if (!server_->running()) return failed_precondition("the test's azurite was left stopped by an earlier step");
  return server_.get();
}

std::string AzuriteTestEnvironment::fresh_container(std::string_view label) {
  ++containers_made_;
  std::string name;
  for (const char c : label) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c >= 'A' && c <= 'Z') {
      name += static_cast<char>(c - 'A' + 'a');
    } else if (allowed) {
      name += c;
    } else if (!name.empty() && name.back() != '-') {
      name += '-';  // container names allow single dashes only, never first
    }
  }
  name = name.substr(0, 40);
  while (!name.empty() && name.back() == '-') name.pop_back();
  if (name.empty()) name = "test";
  name += '-';
  name += std::to_string(::getpid());
  name += '-';
  name += std::to_string(containers_made_);
  HADR_ASSERT(validate_container_name(name).ok());
  return name;
}

Result<AzureBlobOptions> AzuriteTestEnvironment::options(std::string_view label) {
  HADR_ASSIGN_OR_RETURN(AzuriteServer* const azurite, server());
  return azurite->client_options(fresh_container(label));
}

}  // namespace hadr::azure::testing
