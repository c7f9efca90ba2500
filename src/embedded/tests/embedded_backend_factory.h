// EmbeddedBackendFactory: the embedded backends for the conformance suites. Each factory owns
// a fresh temporary directory (removed when the factory is destroyed) holding one SQLite file
// per contract and a blob directory, and one ManualClock that every instance it makes reads,
// so advance() moves store time for all of them at once — the way processes on one machine
// share the host's clock.
// Thread-safety: make_* and advance() may be called from several threads.
#pragma once

#include <memory>
#include <string>

#include "contracts/testing/backend_factory.h"
#include "core/clock.h"

namespace hadr::testing {

class EmbeddedBackendFactory final : public BackendFactory {
 public:
  EmbeddedBackendFactory();
  ~EmbeddedBackendFactory() override;

  std::unique_ptr<LeaseStore> make_lease_store() override;
  std::unique_ptr<DedupeStore> make_dedupe_store() override;
  std::unique_ptr<Bus> make_bus() override;
  std::unique_ptr<Source> make_source(const std::string& consumer, Milliseconds visibility_timeout) override;
  std::unique_ptr<BlobStore> make_blob_store() override;
  std::unique_ptr<Coord> make_coord() override;
  void advance(Milliseconds duration) override;
  bool wipe_blob_container() override;
  bool step_wall_clock(Milliseconds offset) override {
    clock_.jump_wall(offset);
    return true;
  }

  const std::string& directory() const { return directory_; }
  ManualClock& clock() { return clock_; }

 private:
  std::string directory_;
  ManualClock clock_;
  // fork() copies the factory into the child: only the process that made the directory removes it.
  int owner_pid_;
};

// A fresh temporary directory under GoogleTest's TempDir(), for tests that manage files themselves.
std::string make_temporary_directory();

}  // namespace hadr::testing
