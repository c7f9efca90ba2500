// Promoter: the staging queue pattern. Moves a batch from `staging` to `main` and completes it
// in staging only after main confirmed the send. State machine and crash analysis:
// docs/roles.md, "Promoter".
//
// One step: (fenced: nothing) -> receive(staging) -> fence check again (fenced: abandon the
// batch) -> send(main) the same messages -> crash point "promoter.after_send_before_complete"
// -> complete each in staging. A failed or unconfirmed send (kDeadlineExceeded: maybe sent)
// abandons the batch and backs off: the retry sends the same ids again, a duplicate delivery
// at worst and never a loss. A complete that fails (lock lost) leaves the message to be
// promoted again after its lock ends: again a duplicate delivery, which the worker's claim
// absorbs. Because every failure adds a delivery in staging, the staging queue needs a large
// max_delivery_count (docs/roles.md): a message the bus dead-letters there is alerted on,
// never silently dropped.
//
// Ownership: borrows its dependencies. Thread-safety: step() from one thread at a time (the
// region's control thread); health() and stats() from any thread.
// Invariants: a message is completed in staging only after a send to main returned ok.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "contracts/bus.h"
#include "roles/backoff.h"
#include "roles/crash_points.h"
#include "roles/fence.h"
#include "roles/role.h"
#include "roles/role_support.h"

namespace hadr {

struct PromoterOptions {
  std::string staging_queue = "staging";
  std::string main_queue = "main";
  std::size_t batch_max = 256;  // 1 .. min(Bus::kMaxReceiveBatch, Bus::kMaxSendBatch)
  Milliseconds lock_duration{30'000};  // staging lock while promoting: 1 ms .. 5 min
  BackoffOptions backoff;

  Status validate() const;
};

struct PromoterDependencies {
  Bus& bus;
  const RegionFence& fence;
  const Clock& clock;
  CrashPoints& crash_points;
};

struct PromoterStats {
  std::uint64_t promoted = 0;           // messages sent to main and completed in staging
  std::uint64_t complete_failures = 0;  // sent to main, but the staging complete failed: promoted again later
  std::uint64_t send_failures = 0;      // batches whose send failed or was unconfirmed: abandoned
  std::uint64_t fenced_abandoned = 0;   // messages received, then abandoned because the region was fenced
};

class Promoter final : public Role {
 public:
  static Result<std::unique_ptr<Promoter>> create(const PromoterDependencies& dependencies, PromoterOptions options);

  std::string_view name() const override { return "promoter"; }
  Result<StepOutcome> step() override;
  RoleHealth health() const override { return health_.snapshot(); }
  PromoterStats stats() const;

 private:
  Promoter(const PromoterDependencies& dependencies, PromoterOptions options);
  // Abandons every message of the batch; the bus redelivers them (or their locks expire).
  Status abandon_all(const std::vector<ReceivedMessage>& batch);
  Status complete_all(const std::vector<ReceivedMessage>& batch);

  PromoterDependencies deps_;
  const PromoterOptions options_;
  Backoff backoff_;
  HealthRecorder health_;
  std::atomic<std::uint64_t> promoted_{0}, complete_failures_{0}, send_failures_{0}, fenced_abandoned_{0};
};

}  // namespace hadr
