// In-memory BlobStore for the deterministic simulator and role unit tests.
//
// MemoryBlobServer is one storage container: whole objects by key, with the semantics of
// contracts/blob_store.h exactly (all-or-nothing puts, put_if_absent, byte-ordered paged
// list). Several MemoryBlobStore clients share it (the relay shipping WAL segments, the other
// region's replayer reading them). Objects never expire, so the blob server needs no clock.
//
// Bounds: at most kMaxObjects objects and kMaxTotalBytes bytes in all; a put past either is
// kResourceExhausted and changes nothing.
// Ownership: a client borrows its server and injector.
// Thread-safety: the server is guarded by one mutex; clients follow memory_client.h.
// Invariants: total_bytes() is the sum of the sizes of the stored objects.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "contracts/blob_store.h"
#include "memory/memory_client.h"

namespace hadr {

class MemoryBlobServer {
 public:
  static constexpr std::size_t kMaxObjects = 1'000'000;
  static constexpr std::uint64_t kMaxTotalBytes = 4ull << 30;

  MemoryBlobServer() = default;
  MemoryBlobServer(const MemoryBlobServer&) = delete;
  MemoryBlobServer& operator=(const MemoryBlobServer&) = delete;

  Result<bool> put_if_absent(std::string_view key, std::string_view data);
  Status put(std::string_view key, std::string_view data);
  Result<std::string> get(std::string_view key) const;
  Result<BlobPage> list(std::string_view prefix, std::string_view start_after, std::size_t max) const;
  Status remove(std::string_view key);

  std::size_t object_count() const;
  std::uint64_t total_bytes() const;

 private:
  // Writes key -> data under the lock, replacing what is there; checks the bounds first.
  Status store_locked(std::string_view key, std::string_view data);

  mutable std::mutex mutex_;
  std::map<std::string, std::string, std::less<>> objects_;
  std::uint64_t total_bytes_ = 0;
};

class MemoryBlobStore final : public BlobStore, public MemoryClient {
 public:
  explicit MemoryBlobStore(MemoryBlobServer& server, FaultInjector* faults = nullptr)
      : MemoryClient(faults), server_(server) {}

  // Sites: every call kUnavailable; put_if_absent, put, remove kTimeoutAfterApply.
  Result<bool> put_if_absent(std::string_view key, std::string_view data) override;
  Status put(std::string_view key, std::string_view data) override;
  Result<std::string> get(std::string_view key) override;
  Result<BlobPage> list(std::string_view prefix, std::string_view start_after, std::size_t max) override;
  Status remove(std::string_view key) override;

 private:
  MemoryBlobServer& server_;
};

}  // namespace hadr
