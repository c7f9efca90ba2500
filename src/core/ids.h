// Strong types for the identifiers that cross every layer, so that an LSN can never be
// passed where an epoch is expected.
//
//   Lsn       position of a record in one region's WAL; starts at 1, strictly +1 per record.
//   Epoch     fencing epoch of an `active_dc` lease grant; 0 = "no lease"; only ever grows.
//   MessageId stable id of a message across redelivery, replay and failover (the source's own
//             id or a deterministic hash of source position). 1..kMaxBytes printable ASCII.
//   RegionId  short region name ("a", "b", "westeurope"): [a-z0-9_-], 1..kMaxBytes.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace hadr {

struct Lsn {
  std::uint64_t value = 0;

  constexpr Lsn next() const { return Lsn{value + 1}; }
  constexpr auto operator<=>(const Lsn&) const = default;
};

struct Epoch {
  std::uint64_t value = 0;

  constexpr auto operator<=>(const Epoch&) const = default;
};

class MessageId {
 public:
  static constexpr std::size_t kMaxBytes = 128;

  MessageId() = default;
  // Validates: non-empty, at most kMaxBytes, printable ASCII (0x21..0x7e), so an id can be a
  // Redis key, an AMQP message-id, a file name fragment and a log field without escaping.
  static Result<MessageId> parse(std::string_view text);

  const std::string& str() const { return value_; }
  bool empty() const { return value_.empty(); }
  auto operator<=>(const MessageId&) const = default;

 private:
  explicit MessageId(std::string value) : value_(std::move(value)) {}
  std::string value_;
};

class RegionId {
 public:
  static constexpr std::size_t kMaxBytes = 32;

  RegionId() = default;
  static Result<RegionId> parse(std::string_view text);

  const std::string& str() const { return value_; }
  bool empty() const { return value_.empty(); }
  auto operator<=>(const RegionId&) const = default;

 private:
  explicit RegionId(std::string value) : value_(std::move(value)) {}
  std::string value_;
};

}  // namespace hadr

template <>
struct std::hash<hadr::MessageId> {
  std::size_t operator()(const hadr::MessageId& id) const noexcept {
    return std::hash<std::string>{}(id.str());
  }
};
template <>
struct std::hash<hadr::RegionId> {
  std::size_t operator()(const hadr::RegionId& id) const noexcept {
    return std::hash<std::string>{}(id.str());
  }
};
