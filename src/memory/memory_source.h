// In-memory Source (the plan's "MQ") for the deterministic simulator and role unit tests.
//
// MemorySourceServer is one source queue with MQ get-under-syncpoint semantics, exactly as in
// contracts/source.h. Producers (`hadr send`, the gateway) and consumers (the relays of both
// regions) are MemorySource clients of one server. A consumer has a name and a visibility
// timeout; opening a consumer with a name already in use is a restart of it, which makes its
// in-flight messages visible again at once.
//
// put() stamps each message with where it sits ("<source name>@<n>") and the server's time as
// enqueued_at; the producer's values for those fields and for ack_handle are ignored. Ack
// handles are "<source name>:<n>" from a counter. Visibility timeouts run on the server's
// clock and are applied lazily, in (deadline, put order) order, before every call.
//
// ack() of a batch is all or nothing, like the SQLite source: if any handle is not live for
// the acking consumer (expired, already acked, another consumer's or unknown), the answer is
// kAborted and nothing is acked; an empty or repeated handle is kInvalidArgument.
//
// Ownership: a server borrows its clock; a client borrows its server and injector.
// Thread-safety: the server is guarded by one mutex; clients follow memory_client.h.
// Invariants: a message is either visible or in flight under exactly one live handle; receive
// hands out visible messages in put order.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "contracts/source.h"
#include "core/clock.h"
#include "memory/memory_client.h"

namespace hadr {

class MemorySourceServer {
 public:
  static constexpr std::size_t kMaxMessages = 1'000'000;

  // `source_name` appears in source_ref and ack handles: [A-Za-z0-9._-], 1..64 bytes.
  MemorySourceServer(const Clock& clock, std::string source_name);
  MemorySourceServer(const MemorySourceServer&) = delete;
  MemorySourceServer& operator=(const MemorySourceServer&) = delete;

  Status put(std::span<const SourceMessage> batch);
  // duplicate_delivery: the in-flight message whose visibility timeout ends first becomes
  // visible now and is handed out first in this batch (fault kDuplicateDelivery).
  Result<std::vector<SourceMessage>> receive(std::string_view consumer, std::size_t max,
                                             Milliseconds visibility_timeout, bool duplicate_delivery = false);
  // All or nothing: kAborted, and nothing acked, when any handle is not live for `consumer`.
  Status ack(std::string_view consumer, std::span<const std::string> ack_handles);
  std::uint64_t depth();

  // A consumer (re)opens: every message in flight to a consumer of that name is visible again.
  Status open_consumer(std::string_view consumer);
  // Fault hook: if `ack_handle` is live, its message becomes visible now. Else nothing.
  void expire_handle_early(std::string_view ack_handle);

  // For checkers: messages not yet acked, in put order (ack_handle set while in flight).
  std::vector<SourceMessage> messages();
  std::uint64_t acked_count() const;

 private:
  struct Entry {
    SourceMessage message;  // message.ack_handle is empty while visible
    std::string consumer;
    WallTime visible_at;
  };

  WallTime now() const { return clock_.now_wall(); }
  void apply_expiries(WallTime time);
  void make_visible(std::uint64_t sequence);

  const Clock& clock_;
  const std::string source_name_;
  mutable std::mutex mutex_;
  std::map<std::uint64_t, Entry> entries_;  // by put order
  std::set<std::uint64_t> visible_;
  std::set<std::pair<WallTime, std::uint64_t>> in_flight_by_deadline_;
  std::map<std::string, std::uint64_t, std::less<>> sequence_by_handle_;
  std::uint64_t next_sequence_ = 1;
  std::uint64_t next_handle_number_ = 1;
  std::uint64_t acked_ = 0;
};

class MemorySource final : public Source, public MemoryClient {
 public:
  // Opens consumer `consumer` (1..128 printable ASCII, no spaces) with a visibility
  // timeout of 1 ms .. 1 day; a second open of the same name is a restart of that consumer.
  static Result<std::unique_ptr<MemorySource>> open(MemorySourceServer& server, std::string_view consumer,
                                                    Milliseconds visibility_timeout,
                                                    FaultInjector* faults = nullptr);

  // Sites: every call kUnavailable; put, receive, ack kTimeoutAfterApply; receive
  // kDuplicateDelivery; ack kLockExpiresEarly (on the first handle of the batch, which makes
  // the whole batch fail).
  Status put(std::span<const SourceMessage> batch) override;
  Result<std::vector<SourceMessage>> receive(std::size_t max) override;
  Status ack(std::span<const std::string> ack_handles) override;
  Result<std::uint64_t> depth() override;

 private:
  MemorySource(MemorySourceServer& server, std::string consumer, Milliseconds visibility_timeout,
               FaultInjector* faults)
      : MemoryClient(faults), server_(server), consumer_(std::move(consumer)),
        visibility_timeout_(visibility_timeout) {}

  MemorySourceServer& server_;
  const std::string consumer_;
  const Milliseconds visibility_timeout_;
};

}  // namespace hadr
