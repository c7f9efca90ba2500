// Shared pieces of the in-memory backend tests: a BackendFactory over one "world" of memory
// servers (what the conformance suites need), and small builders for ids and messages.
//
// Ownership: the factory owns its clock and servers; clients it makes borrow them, so they
// must be destroyed before the factory (the conformance fixtures declare it first).
// Thread-safety: as the servers (one mutex each); advance() is safe from any thread.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "contracts/testing/backend_factory.h"
#include "core/clock.h"
#include "memory/memory_blob_store.h"
#include "memory/memory_bus.h"
#include "memory/memory_coord.h"
#include "memory/memory_dedupe_store.h"
#include "memory/memory_lease_store.h"
#include "memory/memory_source.h"

namespace hadr::memory_test {

class MemoryBackendFactory final : public testing::BackendFactory {
 public:
  std::unique_ptr<LeaseStore> make_lease_store() override { return std::make_unique<MemoryLeaseStore>(lease_server); }
  std::unique_ptr<DedupeStore> make_dedupe_store() override {
    return std::make_unique<MemoryDedupeStore>(dedupe_server);
  }
  std::unique_ptr<Bus> make_bus() override { return std::make_unique<MemoryBus>(bus_server); }
  std::unique_ptr<Source> make_source(const std::string& consumer, Milliseconds visibility_timeout) override {
    auto source = MemorySource::open(source_server, consumer, visibility_timeout);
    EXPECT_TRUE(source.ok()) << source.error().to_string();
    return source.ok() ? std::move(source).value() : nullptr;
  }
  std::unique_ptr<BlobStore> make_blob_store() override { return std::make_unique<MemoryBlobStore>(blob_server); }
  std::unique_ptr<Coord> make_coord() override { return std::make_unique<MemoryCoord>(coord_server); }

  void advance(Milliseconds duration) override { clock.advance(duration); }
  bool step_wall_clock(Milliseconds offset) override {
    clock.jump_wall(offset);
    return true;
  }
  bool wipe_blob_container() override {
    // Bounded: the conformance cases write a handful of objects.
    for (std::size_t round = 0; round < 100; ++round) {
      auto page = blob_server.list("", "", BlobStore::kMaxListPage);
      if (!page.ok() || page->keys.empty()) return page.ok();
      for (const std::string& key : page->keys) EXPECT_TRUE(blob_server.remove(key).ok());
    }
    return false;
  }
  // The state lives in this process's memory: a forked child would work on a copy.
  bool supports_fork() const override { return false; }

  ManualClock clock;
  MemoryLeaseServer lease_server{clock};
  MemoryDedupeServer dedupe_server{clock};
  MemoryBusServer bus_server{clock, "namespace-a"};
  MemorySourceServer source_server{clock, "orders"};
  MemoryBlobServer blob_server;
  MemoryCoordServer coord_server{clock};
};

inline MessageId message_id(std::string_view text) {
  auto id = MessageId::parse(text);
  EXPECT_TRUE(id.ok()) << id.error().to_string();
  return id.ok() ? *id : MessageId();
}

inline BusMessage bus_message(std::string_view id, std::string body = "body") {
  return BusMessage{.id = message_id(id), .epoch = Epoch{1}, .source_region = *RegionId::parse("a"),
                    .lsn = Lsn{1}, .properties = {{"key", "value"}}, .body = std::move(body)};
}

inline SourceMessage source_message(std::string_view id, std::string body = "body") {
  return SourceMessage{.id = message_id(id), .headers = {{"header", "value"}}, .body = std::move(body)};
}

}  // namespace hadr::memory_test
