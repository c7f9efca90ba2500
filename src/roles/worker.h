// Worker: the plan's Function. Receives from `main` in peek-lock, claims each message id in
// the dedupe store, runs the handler, marks the claim done and completes the message. State
// machine, crash points and what a crash leaves: docs/roles.md, "Worker".
//
// Per message (the batch is handled in order; before each message the locks of the messages
// not yet settled are renewed when they end within lock_duration / 2):
//   no writable epoch     abandon; stop the batch (a passive region takes no new claims)
//   LSN <= settled floor  complete without claiming or running the handler: the record is done or
//                         dead-lettered for good (roles/settled_floor.h). This is what keeps a
//                         leftover that outlived its done mark (an outage longer than
//                         dedupe.record_ttl, then a failback) from being applied again
//   claim fails           leave the message locked (transient: the bus redelivers it after the
//                         lock, one delivery per lock_duration, not a hot loop); stop the batch
//   kAlreadyDone          complete without running the handler (a suppressed duplicate); if the
//                         record says dead-lettered, dead-letter this copy too
//   kBusy                 leave it locked: another worker runs it now; the redelivery after the
//                         lock finds it done (or the other claim expired)
//   kStaleEpoch           abandon; stop the batch and back off (the fence will catch up)
//   kClaimed              handler -> kDone: mark done (unless the handler marked it in its own
//                         transaction) -> complete; kRetryLater / kFailed: release the claim and
//                         abandon, or, at max_delivery_count, dead-letter with the reason;
//                         kReject: dead-letter now.
// A long handler calls keep_alive() (handler.h): the worker renews the locks of the message and
// of the rest of the batch when they end within lock_duration / 2, and claims the id again
// (same owner: a fresh TTL and token) once a third of claim_ttl has passed, so a running
// effect never loses its claim to another worker.
// Dead-lettering marks the dedupe record dead-lettered first, then moves the bus message, so a
// crash between the two leaves a copy that the next delivery dead-letters (never a silent drop).
// An effect whose mark failed is kept as the one "unmarked effect": the worker receives nothing
// more until it is marked (retried with backoff, its lock renewed); if the claim was lost, the
// worker claims again and marks without re-running the handler. Only when another worker holds
// the claim can the effect run twice (at-least-once, counted in claim_lost_after_effect).
//
// Ownership: borrows its dependencies; one handler per worker. Thread-safety: step() from the
// worker's own thread; health() and stats() from any thread. Bus and dedupe store are shared
// with the other workers (they are thread-safe).
// Invariants: the handler runs only under a claim granted to this worker's owner; a message is
// completed only after its id is done in the dedupe store (marked by the worker or the handler,
// or found done).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "contracts/blob_store.h"
#include "contracts/bus.h"
#include "contracts/coord.h"
#include "contracts/dedupe_store.h"
#include "roles/backoff.h"
#include "roles/crash_points.h"
#include "roles/fence.h"
#include "roles/handler.h"
#include "roles/role.h"
#include "roles/role_support.h"
#include "roles/settled_floor.h"

namespace hadr {

struct WorkerOptions {
  std::string owner;  // unique per worker and stable across restarts, e.g. "a/worker-2"
  std::string main_queue = "main";
  std::size_t batch_max = 16;  // 1 .. Bus::kMaxReceiveBatch
  Milliseconds lock_duration{30'000};  // 1 ms .. 5 min
  Milliseconds claim_ttl{60'000};      // > the handler's timeout; 1 ms .. 365 days
  Milliseconds record_ttl = kDefaultDedupeRecordTtl;  // > claim_ttl
  // How long a settled floor read from Coord is trusted under one epoch (a new epoch always
  // reloads it): 1 ms .. 1 h. A done mark must outlive it.
  Milliseconds floor_refresh_interval{1'000};
  std::uint32_t max_delivery_count = 10;  // the main queue's; 1 .. 10,000
  BackoffOptions backoff;

  Status validate() const;
};

struct WorkerDependencies {
  Bus& bus;
  DedupeStore& dedupe;
  Coord& coord;  // settled floors (roles/settled_floor.h): read-only
  Handler& handler;
  const RegionFence& fence;
  const Clock& clock;
  CrashPoints& crash_points;
  // The settled copies in the blob store (two regions); nullptr: coord's record alone.
  BlobStore* blobs = nullptr;
};

struct WorkerStats {
  std::uint64_t received = 0;
  std::uint64_t effects = 0;                 // handler runs that answered kDone
  std::uint64_t completed = 0;               // messages completed (suppressed duplicates included)
  std::uint64_t suppressed_duplicates = 0;   // claim answered kAlreadyDone: handler not run
  std::uint64_t busy_deferred = 0;           // claim answered kBusy: left locked
  std::uint64_t stale_epoch = 0;             // claim answered kStaleEpoch: abandoned
  std::uint64_t fenced_abandoned = 0;        // no writable epoch: abandoned
  std::uint64_t handler_failures = 0;        // kRetryLater / kFailed
  std::uint64_t dead_lettered = 0;           // moved to the dead-letter queue by this worker
  std::uint64_t claim_lost_after_effect = 0;  // alert-worthy: the effect may run twice
  std::uint64_t reclaimed_after_effect = 0;  // claim lost, claimed again, marked without a re-run
  std::uint64_t locks_renewed = 0;
  std::uint64_t lock_renewal_failures = 0;
  std::uint64_t settle_failures = 0;         // complete / abandon / dead-letter refused (lock lost, ...)
  std::uint64_t claims_extended = 0;         // a long handler's claim taken again under it (keep_alive)
  std::uint64_t suppressed_settled = 0;      // at or below its region's settled floor: handler not run
};

class Worker final : public Role {
 public:
  static Result<std::unique_ptr<Worker>> create(const WorkerDependencies& dependencies, WorkerOptions options);

  std::string_view name() const override { return "worker"; }
  Result<StepOutcome> step() override;
  RoleHealth health() const override { return health_.snapshot(); }
  WorkerStats stats() const;
  const std::string& owner() const { return options_.owner; }

 private:
  enum class BatchFlow { kContinue, kStop };
  class KeepAlive;
  // An applied effect whose done mark is not recorded yet. claim_token empty: the claim was
  // lost and must be taken again before marking.
  struct UnmarkedEffect {
    ReceivedMessage message;
    std::string claim_token;
  };

  Worker(const WorkerDependencies& dependencies, WorkerOptions options);

  Status process_batch(std::vector<ReceivedMessage>& batch);
  Result<BatchFlow> process_message(ReceivedMessage& message);
  // true: the message's record is at or below its region's settled floor (completed here).
  // nullopt: the floor could not be read (backoff armed; the message stays locked).
  Result<std::optional<bool>> complete_if_settled(const ReceivedMessage& message, Epoch epoch);
  Result<BatchFlow> run_handler(ReceivedMessage& message, std::string claim_token, Epoch epoch);
  Result<BatchFlow> dead_letter(const ReceivedMessage& message, const std::string& claim_token,
                                const std::string& reason);
  Status settle_already_done(const ReceivedMessage& message);
  // Settles a copy of a message whose record is done or dead-lettered (or expired past the
  // settled floor): dead-lettered moves it to the dead-letter queue, anything else completes it.
  // A failed lookup leaves it locked for the redelivery.
  Status settle_by_record(const ReceivedMessage& message);
  // true: settled (marked and completed, or handed over); false: retry later (backoff armed).
  Result<bool> settle_effect(UnmarkedEffect& effect);
  Result<bool> reclaim_for_mark(UnmarkedEffect& effect);
  Result<StepOutcome> retry_unmarked_effect();
  Status finish_done(const ReceivedMessage& message);
  Status renew_due_locks(std::span<ReceivedMessage> messages);
  Status abandon(const ReceivedMessage& message);
  // Records a failed settlement (lock lost is expected); returns the error only when the
  // region must stop.
  Status note_settle_failure(std::string_view what, const Status& status);

  WorkerDependencies deps_;
  const WorkerOptions options_;
  Backoff backoff_;
  std::optional<UnmarkedEffect> unmarked_;
  // The message being handled and the rest of its batch (process_batch sets it per message).
  std::span<ReceivedMessage> batch_rest_;
  HealthRecorder health_;
  FloorCache floors_;

  struct Counters {
    std::atomic<std::uint64_t> received{0}, effects{0}, completed{0}, suppressed_duplicates{0}, busy_deferred{0},
        stale_epoch{0}, fenced_abandoned{0}, handler_failures{0}, dead_lettered{0}, claim_lost_after_effect{0},
        reclaimed_after_effect{0}, locks_renewed{0}, lock_renewal_failures{0}, settle_failures{0},
        claims_extended{0}, suppressed_settled{0};
  };
  Counters counters_;
};

}  // namespace hadr
