#include "roles/lease_manager.h"

#include <algorithm>

#include "core/assert.h"

namespace hadr {
namespace {

std::int64_t to_ns(MonoTime time) { return time.time_since_epoch().count(); }

}  // namespace

Status LeaseOptions::validate() const {
  if (name.empty()) return invalid_argument("lease.name is empty; set it, e.g. \"active_dc\"");
  if (holder.empty()) return invalid_argument("lease holder is empty; it is the region's name");
  if (ttl < Milliseconds(30) || ttl > std::chrono::hours(1)) {
    return invalid_argument(
                 "lease.ttl = " + std::to_string(ttl.count()) + "ms is out of range; use 30ms .. 1h (e.g. \"2s\")");
  }
  return backoff.validate("lease backoff");
}

Result<std::unique_ptr<LeaseManager>> LeaseManager::create(LeaseStore& store, const Clock& clock,
                                                           LeaseOptions options) {
  HADR_TRY(options.validate());
  return std::unique_ptr<LeaseManager>(new LeaseManager(store, clock, std::move(options)));
}

LeaseManager::LeaseManager(LeaseStore& store, const Clock& clock, LeaseOptions options)
    : store_(store), clock_(clock), options_(std::move(options)), backoff_(clock, options_.backoff) {}

std::optional<Epoch> LeaseManager::writable_epoch() const {
  const std::uint64_t epoch = epoch_.load();
  if (epoch == 0 || !confirmed_.load()) return std::nullopt;
  if (to_ns(clock_.now_monotonic()) >= deadline_ns_.load()) return std::nullopt;
  return Epoch{epoch};
}

Milliseconds LeaseManager::time_to_deadline() const {
  if (epoch_.load() == 0) return Milliseconds(0);
  const std::int64_t left_ns = deadline_ns_.load() - to_ns(clock_.now_monotonic());
  return left_ns <= 0 ? Milliseconds(0) : std::chrono::duration_cast<Milliseconds>(Nanoseconds(left_ns));
}

void LeaseManager::observe_epoch(Epoch epoch) {
  std::uint64_t seen = highest_epoch_seen_.load();
  while (epoch.value > seen && !highest_epoch_seen_.compare_exchange_weak(seen, epoch.value)) {
  }
}

void LeaseManager::confirm() {
  HADR_ASSERT(holding());
  confirmed_.store(true);
}

void LeaseManager::hold(Epoch epoch, MonoTime sent_at) {
  HADR_ASSERT(epoch.value > 0);
  deadline_ns_.store(to_ns(sent_at + options_.deadline_after_send()));
  epoch_.store(epoch.value);
  next_renew_at_ = sent_at + options_.renew_interval();
  deadline_reported_ = false;
}

void LeaseManager::forget() {
  confirmed_.store(false);
  epoch_.store(0);
  deadline_ns_.store(0);
}

Result<bool> LeaseManager::try_acquire(LeaseAcquireOutcome* outcome_out) {
  if (holding()) return true;
  const MonoTime sent_at = clock_.now_monotonic();
  auto outcome = store_.acquire(options_.name, options_.holder, options_.ttl);
  if (!outcome.ok()) {
    health_.record_error("lease acquire", outcome.error());
    return outcome.error();
  }
  if (outcome_out != nullptr) *outcome_out = *outcome;
  if (!outcome->granted) {
    observe_epoch(outcome->epoch);
    return false;
  }
  const Epoch granted = outcome->epoch;
  const std::uint64_t floor = highest_epoch_seen_.load();
  if (granted.value <= floor) {
    // The store handed out an epoch we have already seen: its counter went backwards. Writing
    // under it could let two regions share an epoch. Give it back and let the watchdog halt.
    (void)store_.release(options_.name, options_.holder, granted);
    return failed_precondition(
                 "epoch regression: lease store granted epoch " + std::to_string(granted.value) +
                     " but epoch " + std::to_string(floor) +
                     " was already seen; the lease store lost its state (restored from an old snapshot?). "
                     "Raise its epoch counter above " + std::to_string(floor) + " before restarting the watchdog");
  }
  observe_epoch(granted);
  confirmed_.store(false);  // writable only after confirm()
  hold(granted, sent_at);
  acquired_.fetch_add(1);
  health_.add_progress(1);
  return true;
}

Result<StepOutcome> LeaseManager::step() {
  if (!holding()) return StepOutcome::kIdle;
  const MonoTime now = clock_.now_monotonic();
  if (!deadline_reported_ && to_ns(now) >= deadline_ns_.load()) {
    deadline_reported_ = true;
    self_fenced_.fetch_add(1);
  }
  if (now < next_renew_at_ || !backoff_.ready()) return StepOutcome::kIdle;
  const Epoch epoch{epoch_.load()};
  const Status renewed = store_.renew(options_.name, options_.holder, epoch, options_.ttl);
  if (renewed.ok()) {
    backoff_.record_success();
    hold(epoch, now);
    renewed_.fetch_add(1);
    health_.add_progress(1);
    return StepOutcome::kProgress;
  }
  if (renewed.code() == ErrorCode::kAborted) {
    // Expired in the store, or taken by someone else: our epoch is over.
    lost_.fetch_add(1);
    health_.record_error("lease lost", renewed.error());
    forget();
    return StepOutcome::kProgress;
  }
  renew_failures_.fetch_add(1);
  backoff_.record_failure();
  health_.record_error("lease renew", renewed.error());
  return StepOutcome::kIdle;
}

Status LeaseManager::release() {
  if (!holding()) return Status();
  const Epoch epoch{epoch_.load()};
  forget();  // fence first: nothing may be written under the epoch we are giving up
  const Status released = store_.release(options_.name, options_.holder, epoch);
  if (!released.ok() && released.code() != ErrorCode::kAborted) return released;
  return Status();
}

LeaseStats LeaseManager::stats() const {
  return LeaseStats{.epoch = epoch_.load(),
                    .acquired = acquired_.load(),
                    .renewed = renewed_.load(),
                    .renew_failures = renew_failures_.load(),
                    .lost = lost_.load(),
                    .self_fenced = self_fenced_.load(),
                    .highest_epoch_seen = highest_epoch_seen_.load()};
}

}  // namespace hadr
