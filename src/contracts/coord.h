// Coord: small keyed records with compare-and-set and optional TTL — the bus alias (which
// namespace is "the bus"), role heartbeats, region checkpoints.
//
// Contract (docs/backends.md, "Coord"):
//   - every successful put() bumps the record's version by 1 (a new or expired record starts
//     at version 1) and stores the writer's epoch;
//   - conditions: kNone (always writes), kVersionEquals (writes only if the current version is
//     expected_version; 0 = "must not exist"), kEpochAtLeast (writes only if the record is absent
//     or its stored epoch <= the writer's epoch: the fencing rule — a lower epoch never
//     overwrites a higher one). A failed condition is kAborted and changes nothing; its detail
//     names the current version and epoch;
//   - ttl > 0 makes the record expire (heartbeats); expired records read as absent;
//   - list(prefix) returns live records in key order, at most kMaxList;
//   - keys 1..256 printable ASCII; values up to kMaxValueBytes.
// Thread-safety: implementations are safe to call from several threads and processes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/result.h"

namespace hadr {

struct CoordRecord {
  std::string key;
  std::string value;
  std::uint64_t version = 0;
  Epoch epoch;
  Milliseconds remaining{0};  // time to live left; 0 = no expiry
};

enum class CoordCondition { kNone, kVersionEquals, kEpochAtLeast };

struct CoordPut {
  std::string key;
  std::string value;
  Epoch epoch;
  CoordCondition condition = CoordCondition::kNone;
  std::uint64_t expected_version = 0;  // kVersionEquals only; 0 = must not exist
  Milliseconds ttl{0};                 // 0 = no expiry
};

class Coord {
 public:
  static constexpr std::size_t kMaxValueBytes = 64 * 1024;
  static constexpr std::size_t kMaxList = 10'000;

  virtual ~Coord() = default;

  // Returns the record as written.
  virtual Result<CoordRecord> put(const CoordPut& write) = 0;
  virtual Result<std::optional<CoordRecord>> get(std::string_view key) = 0;
  virtual Result<std::vector<CoordRecord>> list(std::string_view prefix) = 0;
  // Removes the record if present (ok when absent).
  virtual Status remove(std::string_view key) = 0;
};

}  // namespace hadr
