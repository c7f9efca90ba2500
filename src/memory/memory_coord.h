// In-memory Coord for the deterministic simulator and role unit tests.
//
// MemoryCoordServer holds the small keyed records of contracts/coord.h (the bus alias, role
// heartbeats, region checkpoints) with compare-and-set on version or epoch and optional TTL,
// exactly as the contract says; TTLs run on the server's clock. Several MemoryCoord clients
// (watchdogs and roles of both regions) share one server.
//
// For fault workloads: snapshot() / restore() model a store restarted from an old snapshot —
// later writes vanish and stored epochs go back (F17), which the watchdog must detect.
//
// Bounds: at most kMaxRecords records (expired ones are purged when full).
// Ownership: a server borrows its clock; a client borrows its server and injector.
// Thread-safety: the server is guarded by one mutex; clients follow memory_client.h.
// Invariants: a live record's version >= 1; a kEpochAtLeast write never lowers a stored epoch.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/coord.h"
#include "core/clock.h"
#include "memory/memory_client.h"

namespace hadr {

class MemoryCoordServer {
  struct Stored {
    std::string value;
    std::uint64_t version = 0;
    Epoch epoch;
    std::optional<WallTime> expires_at;  // nullopt: no expiry
  };

 public:
  static constexpr std::size_t kMaxRecords = 100'000;

  class Snapshot {
    friend class MemoryCoordServer;
    std::map<std::string, Stored, std::less<>> records_;
  };

  explicit MemoryCoordServer(const Clock& clock) : clock_(clock) {}
  MemoryCoordServer(const MemoryCoordServer&) = delete;
  MemoryCoordServer& operator=(const MemoryCoordServer&) = delete;

  Result<CoordRecord> put(const CoordPut& write);
  Result<std::optional<CoordRecord>> get(std::string_view key) const;
  Result<std::vector<CoordRecord>> list(std::string_view prefix) const;
  Status remove(std::string_view key);

  Snapshot snapshot() const;
  void restore(const Snapshot& snapshot);

 private:
  WallTime now() const { return clock_.now_wall(); }
  static bool live(const Stored& stored, WallTime time);
  static CoordRecord view(const std::string& key, const Stored& stored, WallTime time);
  // kAborted when `write`'s condition does not hold against `current` (nullptr: absent).
  static Status check_condition(const CoordPut& write, const Stored* current);
  Status make_room(WallTime time);

  const Clock& clock_;
  mutable std::mutex mutex_;
  std::map<std::string, Stored, std::less<>> records_;
};

class MemoryCoord final : public Coord, public MemoryClient {
 public:
  explicit MemoryCoord(MemoryCoordServer& server, FaultInjector* faults = nullptr)
      : MemoryClient(faults), server_(server) {}

  // Sites: every call kUnavailable; put, remove kTimeoutAfterApply.
  Result<CoordRecord> put(const CoordPut& write) override;
  Result<std::optional<CoordRecord>> get(std::string_view key) override;
  Result<std::vector<CoordRecord>> list(std::string_view prefix) override;
  Status remove(std::string_view key) override;

 private:
  MemoryCoordServer& server_;
};

}  // namespace hadr
