// In-memory DedupeStore for the deterministic simulator and role unit tests.
//
// MemoryDedupeServer holds every claim and done record and the store's highest epoch; several
// MemoryDedupeStore clients share it (workers of both regions, the replayer, the
// checkpointer). The contract is contracts/dedupe_store.h, exactly; TTLs run on the server's
// clock. Claim tokens are "claim-<n>" from a counter that restore() does not reset, so a
// token is never handed out twice by one server.
//
// For checkers and fault workloads:
//   - records(): every stored record in id order, with whether it is still live;
//   - snapshot() / restore(): a store restarted from an old snapshot (or empty: restore a
//     snapshot of a fresh server) loses later marks and its highest epoch regresses (F10, F17);
//   - expire_claim_early(): the live claim with that token expires now (what the client's
//     kClaimExpiresEarly site does; the simulator may call it directly for a paused worker).
//
// Ownership: a server borrows its clock; a client borrows its server and injector.
// Thread-safety: the server is guarded by one mutex; clients follow memory_client.h.
// Invariants: at most one live claim per id; a claim is only granted at an epoch >= the
// highest epoch seen; a record's token never changes once it is done or dead-lettered.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/dedupe_store.h"
#include "core/clock.h"
#include "memory/expiry.h"
#include "memory/memory_client.h"

namespace hadr {

struct DedupeRecordView {
  MessageId id;
  RecordState state = RecordState::kUnknown;  // as stored: kClaimed, kDone or kDeadLettered
  bool live = false;                          // false once expired (it then reads as kUnknown)
  std::string owner;
  Epoch epoch;  // the epoch of the claim
  std::string claim_token;
  WallTime expires_at;
  std::string dead_letter_reason;
  std::vector<std::string> pins;  // copy pin tags (live ones), in the order pinned
  bool pins_full = false;         // more than kPinsMax tags: permanently pinned
};

class MemoryDedupeServer {
  // A record has a state (kUnknown: pin-only) with its own expiry (a claim's or a mark's), and a
  // pin set with another: a claim that expires leaves the pins.
  struct Record {
    RecordState state = RecordState::kClaimed;
    std::string owner;
    Epoch epoch;
    std::string claim_token;
    WallTime expires_at;
    std::string dead_letter_reason;
    std::vector<std::string> pins;
    bool pins_full = false;
    WallTime pinned_until;
  };

 public:
  // Records kept, live or expired (expired ones are purged when the store is full).
  static constexpr std::size_t kMaxRecords = 10'000'000;

  class Snapshot {
    friend class MemoryDedupeServer;
    std::map<MessageId, Record> records_;
    Epoch highest_epoch_;
  };

  explicit MemoryDedupeServer(const Clock& clock, TtlClock ttl_clock = TtlClock::kMonotonic)
      : clock_(clock), ttl_clock_(ttl_clock) {}
  MemoryDedupeServer(const MemoryDedupeServer&) = delete;
  MemoryDedupeServer& operator=(const MemoryDedupeServer&) = delete;

  Result<ClaimOutcome> claim(const MessageId& id, std::string_view owner, Epoch epoch, Milliseconds claim_ttl);
  Status mark_done(const MessageId& id, std::string_view claim_token, Milliseconds record_ttl);
  Status mark_dead_lettered(const MessageId& id, std::string_view claim_token, std::string_view reason,
                            Milliseconds record_ttl);
  Status release(const MessageId& id, std::string_view claim_token);
  Result<std::vector<RecordState>> lookup(std::span<const MessageId> ids) const;
  Status pin(std::span<const CopyPin> pins);
  Status retire(std::span<const CopyPin> pins, Milliseconds record_ttl);
  Epoch highest_epoch() const;

  // Fault hook: if `claim_token` is the live claim of `id`, it expires now. Otherwise nothing.
  void expire_claim_early(const MessageId& id, std::string_view claim_token);

  Snapshot snapshot() const;
  void restore(const Snapshot& snapshot);
  std::vector<DedupeRecordView> records() const;

 private:
  WallTime now() const { return ttl_now(clock_, ttl_clock_); }
  // mark_done and mark_dead_lettered: turn the live claim into a final record.
  Status finish_claim(const MessageId& id, std::string_view claim_token, RecordState final_state,
                      std::string_view reason, Milliseconds record_ttl);
  static bool state_live(const Record& record, WallTime time) {
    return record.state != RecordState::kUnknown && is_live(record.expires_at, time);
  }
  static bool pinned(const Record& record, WallTime time) {
    return (!record.pins.empty() || record.pins_full) && is_live(record.pinned_until, time);
  }
  // Whether the entry still holds anything (a live state or live pins).
  static bool kept(const Record& record, WallTime time) { return state_live(record, time) || pinned(record, time); }
  // Room for one more record, purging expired ones when full.
  Status make_room(WallTime time);

  const Clock& clock_;
  const TtlClock ttl_clock_;
  mutable std::mutex mutex_;
  std::map<MessageId, Record> records_;
  Epoch highest_epoch_;
  std::uint64_t next_claim_number_ = 1;
};

class MemoryDedupeStore final : public DedupeStore, public MemoryClient {
 public:
  explicit MemoryDedupeStore(MemoryDedupeServer& server, FaultInjector* faults = nullptr)
      : MemoryClient(faults), server_(server) {}

  // Sites: all calls kUnavailable; claim, mark_done, mark_dead_lettered, release, pin
  // kTimeoutAfterApply; mark_done, mark_dead_lettered, release kClaimExpiresEarly.
  Result<ClaimOutcome> claim(const MessageId& id, std::string_view owner, Epoch epoch,
                             Milliseconds claim_ttl) override;
  Status mark_done(const MessageId& id, std::string_view claim_token, Milliseconds record_ttl) override;
  Status mark_dead_lettered(const MessageId& id, std::string_view claim_token, std::string_view reason,
                            Milliseconds record_ttl) override;
  Status release(const MessageId& id, std::string_view claim_token) override;
  Result<std::vector<RecordState>> lookup(std::span<const MessageId> ids) override;
  Status pin(std::span<const CopyPin> pins) override;
  Status retire(std::span<const CopyPin> pins, Milliseconds record_ttl) override;
  Result<Epoch> highest_epoch() override;

 private:
  void maybe_expire_claim_early(const MessageId& id, std::string_view claim_token);

  MemoryDedupeServer& server_;
};

}  // namespace hadr
