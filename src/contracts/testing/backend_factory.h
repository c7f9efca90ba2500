// BackendFactory: what the conformance suites (src/contracts/tests/*_conformance.cc) need from
// one implementation of the contracts. Each backend's test binary defines a factory and
// instantiates the suites with it, so one suite proves every implementation.
//
// Each conformance test builds a fresh factory (an empty store: a new SQLite directory, a new
// Redis key prefix). Instances made by one factory share that store, as two processes would.
// A make_* that returns nullptr means "this backend does not implement that contract": the
// suite skips with that reason.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "contracts/blob_store.h"
#include "contracts/bus.h"
#include "contracts/coord.h"
#include "contracts/dedupe_store.h"
#include "contracts/lease_store.h"
#include "contracts/source.h"

namespace hadr::testing {

class BackendFactory {
 public:
  virtual ~BackendFactory() = default;

  virtual std::unique_ptr<LeaseStore> make_lease_store() = 0;
  virtual std::unique_ptr<DedupeStore> make_dedupe_store() = 0;
  virtual std::unique_ptr<Bus> make_bus() = 0;
  // A consumer named `consumer`; making a second one with the same name is a restart of it.
  virtual std::unique_ptr<Source> make_source(const std::string& consumer, Milliseconds visibility_timeout) = 0;
  virtual std::unique_ptr<BlobStore> make_blob_store() = 0;
  virtual std::unique_ptr<Coord> make_coord() = 0;

  // Lets `duration` of store time pass: moves a ManualClock, or sleeps for a real server.
  virtual void advance(Milliseconds duration) = 0;
  // Steps the wall clock of the store's host by `offset` (an NTP correction, an operator's
  // `date -s`) while no time passes. false: this backend cannot (a real server); the clock-step
  // cases then skip. Stores whose TTLs run on a clock that can step must not offer this.
  virtual bool step_wall_clock(Milliseconds /*offset*/) { return false; }
  // Deletes the blob store's whole container (the directory, the Azure container) under the
  // stores already made, as a restart of the blob server without its volume does (issue 12,
  // hole 13). false: this backend cannot; the case skips.
  virtual bool wipe_blob_container() { return false; }
  // Whether instances can be made in a child after fork() (two-process race tests).
  virtual bool supports_fork() const { return true; }
};

// The conformance suites are parameterized on this.
struct BackendParam {
  std::string name;
  std::function<std::unique_ptr<BackendFactory>()> make;
};

inline std::string backend_param_name(const ::testing::TestParamInfo<BackendParam>& info) {
  return info.param.name;
}

}  // namespace hadr::testing
