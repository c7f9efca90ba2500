// Source: the queue the relay reads (the plan's "MQ"), with MQ get-under-syncpoint semantics.
//
// Contract (docs/backends.md, "Source"):
//   - put(batch) is the producing side (`hadr send`, the HTTP gateway): ok means durably
//     accepted. Ids are the producer's stable ids; the same id put twice is two messages (an MQ
//     does not dedupe; hadr does, downstream).
//   - receive(max) returns up to `max` messages that are not in flight, each with an ack handle,
//     and makes them invisible to other consumers. Never blocks.
//   - ack(handles) removes the messages for good. Acking an unknown or expired handle is
//     kAborted (the message may already be redelivered).
//   - A message received but not acked becomes visible again after the consumer's visibility
//     timeout, or at once when a consumer with the same name is opened again (it restarted).
//   - Order: receive returns messages in put order among those available.
// Thread-safety: implementations are safe to call from several threads.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "contracts/bus.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/result.h"

namespace hadr {

struct SourceMessage {
  MessageId id;
  std::string source_ref;  // where the message sits in the source, for operators ("orders@17")
  WallTime enqueued_at;
  Properties headers;
  std::string body;
  std::string ack_handle;  // set by receive(); ignored by put()
};

class Source {
 public:
  static constexpr std::size_t kMaxBatch = 1000;

  virtual ~Source() = default;

  virtual Status put(std::span<const SourceMessage> batch) = 0;
  virtual Result<std::vector<SourceMessage>> receive(std::size_t max) = 0;
  virtual Status ack(std::span<const std::string> ack_handles) = 0;
  // Messages not yet acked (in flight or available).
  virtual Result<std::uint64_t> depth() = 0;
};

}  // namespace hadr
