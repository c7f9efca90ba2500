// DedupeStore: "check + process + mark" by stable message id, fenced by epoch.
//
// Contract (docs/backends.md, "DedupeStore"):
//   - claim(id, owner, epoch, claim_ttl):
//       kAlreadyDone     the id was marked done (or dead-lettered) and the record has not expired;
//       kBusy            another owner holds a live claim (busy_owner, busy_remaining say who/how long);
//       kStaleEpoch      `epoch` is lower than the highest epoch this store has seen: no new claim
//                        is granted (fencing, DESIGN.md "Failover" step 6);
//       kClaimed         granted; `claim_token` identifies this claim. A claim is a short lease on
//                        one message: it expires after claim_ttl unless marked.
//     A claim by the same owner whose own claim is still live is granted again with a new token
//     (the old token stops working): the worker's keep-alive extends a running handler's claim
//     so. Owners must therefore be unique per process incarnation — "<region>/<process>-<n>
//     #<incarnation>", random per start — so that a second process started with the same name,
//     or a restarted one, is another owner: kBusy until the old claim expires, never a second
//     run beside a handler that may still run (issue 12, hole 7).
//     A step of a wall clock is no time passing: it expires no claim and no done record.
//     Claims with a higher epoch raise the store's highest epoch.
//   - mark_done(id, token, record_ttl): ok while the claim is live, WHATEVER the current epoch
//     (a refused mark would force a re-run: a duplicate effect). kAborted "claim lost" when the
//     claim expired and/or someone else claimed since. The done record expires after
//     record_ttl (default 7 days). Marking twice with the same token is ok (idempotent).
//   - mark_dead_lettered(id, token, reason, record_ttl): like mark_done, but records that the
//     message went to the dead-letter queue; claim() then answers kAlreadyDone too.
//   - release(id, token): gives a live claim up (handler failed; the next delivery may claim at
//     once). kAborted if the token is not the live claim.
//   - lookup(ids): batch state of up to kMaxLookupBatch ids, in order, for the replayer and the
//     checkpointer (pipelined / one query, never one round trip per id).
//   - pin(pins): for each CopyPin {id, tag}, adds `tag` ("<region>:<lsn>", copy_pin_tag(): the
//     WAL record that carries a copy of the message) to the id's pin set. An id without a
//     record gets a pin-only record: lookup reads it as kUnknown and claim treats it as free,
//     keeping its pins. A done or dead-lettered record that a retire had shortened goes back to
//     kUnsettledRecordTtl. At most kPinsMax tags per id: a further tag makes the record
//     permanently pinned (never shortened; the safe direction). Pins never expire with a claim:
//     claim, mark_done, mark_dead_lettered and release keep them; a pin set lives
//     kUnsettledRecordTtl from its last pin. Up to kMaxLookupBatch pins, one round trip or one
//     transaction. The relay pins every message before it appends it to the WAL.
//   - retire(pins, record_ttl): for each CopyPin, removes `tag` from the id's pin set (removing
//     an absent tag is a no-op, so a replayer and a checkpointer settling the same WAL record
//     cannot unpin another copy); then, only if no pin is left and the record is done or
//     dead-lettered, it expires record_ttl from now (claimed or unknown ids are left as they
//     are; records without pins, from before pins existed, are shortened at once). Up to
//     kMaxLookupBatch pins, one round trip or one transaction. Workers mark with
//     kUnsettledRecordTtl; once a settled set (roles/checkpoint.h) is persisted over a WAL
//     record, its checkpointer or replayer retires that record's tag, so no mark expires before
//     something without a TTL remembers every copy of its id (issue 12, hole 1, "One id in two
//     WAL records" in docs/failover.md).
//   - Ids are MessageIds (validated by the type); owners 1..128 printable ASCII; pin tags
//     1..kMaxPinTagBytes printable ASCII; TTLs 1 ms .. 365 days.
// Thread-safety: implementations are safe to call from several threads and processes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/result.h"

namespace hadr {

inline constexpr Milliseconds kDefaultDedupeRecordTtl = std::chrono::hours(24 * 7);
// How long a done mark lives until a settled set covers it and it is retired (the largest TTL
// the stores accept). Only a region that stays away for a year with its marks unretired relies
// on it.
inline constexpr Milliseconds kUnsettledRecordTtl = std::chrono::hours(24 * 365);

// Copy pins: tags per id (more make the record permanently pinned) and a tag's length.
inline constexpr std::size_t kPinsMax = 16;
inline constexpr std::size_t kMaxPinTagBytes = 64;

// One WAL copy of a message: `tag` names the record, "<region>:<lsn>".
struct CopyPin {
  MessageId id;
  std::string tag;
};

inline std::string copy_pin_tag(std::string_view region, std::uint64_t lsn) {
  std::string tag(region);
  tag += ':';
  tag += std::to_string(lsn);
  return tag;
}

// The relay's second pin of a record: the source may still deliver the message again until it
// confirmed the ack of this record's delivery ("<region>:<lsn>:unacked").
inline std::string copy_pin_unacked_tag(std::string_view region, std::uint64_t lsn) {
  return copy_pin_tag(region, lsn) + ":unacked";
}

enum class ClaimStatus { kClaimed, kAlreadyDone, kBusy, kStaleEpoch };

struct ClaimOutcome {
  ClaimStatus status = ClaimStatus::kBusy;
  std::string claim_token;        // kClaimed only
  std::string busy_owner;         // kBusy only
  Milliseconds busy_remaining{0};  // kBusy only
  Epoch highest_epoch;            // the store's highest epoch after this call
};

enum class RecordState { kUnknown, kClaimed, kDone, kDeadLettered };

class DedupeStore {
 public:
  static constexpr std::size_t kMaxLookupBatch = 10'000;

  virtual ~DedupeStore() = default;

  virtual Result<ClaimOutcome> claim(const MessageId& id, std::string_view owner, Epoch epoch,
                                     Milliseconds claim_ttl) = 0;
  virtual Status mark_done(const MessageId& id, std::string_view claim_token, Milliseconds record_ttl) = 0;
  virtual Status mark_dead_lettered(const MessageId& id, std::string_view claim_token, std::string_view reason,
                                    Milliseconds record_ttl) = 0;
  virtual Status release(const MessageId& id, std::string_view claim_token) = 0;
  virtual Result<std::vector<RecordState>> lookup(std::span<const MessageId> ids) = 0;
  virtual Status pin(std::span<const CopyPin> pins) = 0;
  virtual Status retire(std::span<const CopyPin> pins, Milliseconds record_ttl) = 0;
  virtual Result<Epoch> highest_epoch() = 0;
};

}  // namespace hadr
