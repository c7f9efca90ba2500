// The conformance suites' fixtures, one per contract. The tests themselves (TEST_P) live in
// <contract>_conformance.cc and are compiled into the OBJECT library hadr_conformance; a
// backend's test binary links that library and instantiates the suites it implements, in a
// scope where these names resolve:
//
//   #include "contracts/tests/conformance.h"
//   namespace hadr::testing {
//   INSTANTIATE_TEST_SUITE_P(Embedded, LeaseStoreConformance,
//                            ::testing::Values(BackendParam{"embedded", [] { return make_my_factory(); }}),
//                            backend_param_name);
//   }
//
// Each test builds a fresh factory (an empty store) in SetUp, and skips when the factory
// returns nullptr for that contract. Store time passes only through factory_->advance().
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "contracts/blob_store.h"
#include "contracts/bus.h"
#include "contracts/coord.h"
#include "contracts/dedupe_store.h"
#include "contracts/lease_store.h"
#include "contracts/source.h"
#include "contracts/testing/backend_factory.h"
#include "contracts/tests/conformance_support.h"

namespace hadr::testing {

// Test names and failure messages show the backend's name, not the parameter's bytes.
inline void PrintTo(const BackendParam& param, std::ostream* out) { *out << param.name; }

class LeaseStoreConformance : public ::testing::TestWithParam<BackendParam> {
 protected:
  void SetUp() override;
  // Acquires `name` for `holder`, which must be granted; returns the epoch.
  Epoch grant(std::string_view name, std::string_view holder, Milliseconds ttl);
  LeaseState read_lease(std::string_view name);

  std::unique_ptr<BackendFactory> factory_;
  std::unique_ptr<LeaseStore> store_;
};

class DedupeStoreConformance : public ::testing::TestWithParam<BackendParam> {
 protected:
  void SetUp() override;
  // Claims `id`, which must be granted; returns the claim token.
  std::string claim_granted(const MessageId& id, std::string_view owner, Epoch epoch, Milliseconds ttl);
  RecordState state_of(const MessageId& id);

  std::unique_ptr<BackendFactory> factory_;
  std::unique_ptr<DedupeStore> store_;
};

class BusConformance : public ::testing::TestWithParam<BackendParam> {
 protected:
  void SetUp() override;
  void create(std::string_view queue, std::uint32_t max_delivery_count = 10);
  // Sends messages with these ids (and a body naming each) to `queue`.
  void send_ids(std::string_view queue, const std::vector<std::string>& ids);
  // Receives up to `max` messages, which must succeed.
  std::vector<ReceivedMessage> receive(std::string_view queue, std::size_t max, Milliseconds lock_duration);
  // Receives exactly one message.
  ReceivedMessage receive_one(std::string_view queue, Milliseconds lock_duration);
  QueueDepth depth_of(std::string_view queue);

  std::unique_ptr<BackendFactory> factory_;
  std::unique_ptr<Bus> bus_;
};

class SourceConformance : public ::testing::TestWithParam<BackendParam> {
 protected:
  void SetUp() override;
  void put_ids(const std::vector<std::string>& ids);
  std::vector<SourceMessage> receive(Source& source, std::size_t max);
  std::uint64_t depth_of(Source& source);

  std::unique_ptr<BackendFactory> factory_;
  // The consumer "relay" with a long visibility timeout.
  std::unique_ptr<Source> source_;
};

class BlobStoreConformance : public ::testing::TestWithParam<BackendParam> {
 protected:
  void SetUp() override;
  void put(std::string_view key, std::string_view data);
  std::string get(std::string_view key);
  BlobPage list(std::string_view prefix, std::string_view start_after, std::size_t max);

  std::unique_ptr<BackendFactory> factory_;
  std::unique_ptr<BlobStore> blobs_;
};

class CoordConformance : public ::testing::TestWithParam<BackendParam> {
 protected:
  void SetUp() override;
  CoordRecord put(const CoordPut& write);
  std::optional<CoordRecord> get(std::string_view key);

  std::unique_ptr<BackendFactory> factory_;
  std::unique_ptr<Coord> coord_;
};

}  // namespace hadr::testing
