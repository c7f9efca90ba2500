// FaultInjector: where the in-memory backends ask "should this call go wrong now?" (BUGGIFY).
//
// Each client of an in-memory store takes an optional FaultInjector*. At a fixed set of sites
// it asks fire(site); a true answer makes the call fail in the one way that site documents
// (docs/memory-backends.md has the table):
//   kUnavailable        the call fails with kUnavailable and changes nothing (store unreachable).
//   kTimeoutAfterApply  the call's effect is applied but the caller gets kDeadlineExceeded: the
//                       confirm was lost after the store accepted (fault F7).
//   kDuplicateDelivery  bus / source receive: a message locked by another receiver has its lock
//                       expire at once and is handed out again, first in the batch.
//   kLockExpiresEarly   bus settle (complete, abandon, dead_letter, renew_lock) and source ack:
//                       the token's lock expires just before the call, so it answers kAborted
//                       "lock lost" and the message is available again (or dead-lettered).
//   kClaimExpiresEarly  dedupe mark_done, mark_dead_lettered, release: the claim expires just
//                       before the call (a worker paused past its claim TTL), so it answers
//                       kAborted "claim lost". Separate from kLockExpiresEarly so a run can keep
//                       it off when the handler is not transactional (it forces a re-run).
//
// Two implementations:
//   SeededFaultInjector  BUGGIFY semantics from one injected Random: each site is switched on
//                        for the run with enable_probability (decided on its first use) and,
//                        when on, fires with fire_probability. Same seed, same calls -> same faults.
//   ManualFaultInjector  tests and scripted fault workloads arm a site for the next N asks.
// Both count how often each site was asked and fired, for reports and for tests that must
// prove a fault really happened.
//
// Thread-safety: neither implementation is thread-safe (the simulator is single-threaded, and
// Random is not thread-safe either). Give each thread of control its own injector.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/random.h"

namespace hadr {

enum class FaultSite : unsigned char {
  kUnavailable,
  kTimeoutAfterApply,
  kDuplicateDelivery,
  kLockExpiresEarly,
  kClaimExpiresEarly,
};
inline constexpr std::size_t kFaultSiteCount = 5;

// "unavailable", "timeout_after_apply", ... (stable names for reports).
std::string_view fault_site_name(FaultSite site);

class FaultInjector {
 public:
  virtual ~FaultInjector() = default;
  // True: inject the site's fault in the call that is asking now.
  virtual bool fire(FaultSite site) = 0;
};

// How often each site was asked and how often it fired.
class FaultCounters {
 public:
  void record(FaultSite site, bool fired);
  std::uint64_t asked(FaultSite site) const;
  std::uint64_t fired(FaultSite site) const;

 private:
  std::array<std::uint64_t, kFaultSiteCount> asked_{};
  std::array<std::uint64_t, kFaultSiteCount> fired_{};
};

class SeededFaultInjector final : public FaultInjector {
 public:
  static constexpr double kDefaultEnableProbability = 0.25;
  static constexpr double kDefaultFireProbability = 0.25;

  // `random` must outlive the injector; every draw comes from it, none from anywhere else.
  explicit SeededFaultInjector(Random& random, double fire_probability = kDefaultFireProbability,
                               double enable_probability = kDefaultEnableProbability);

  bool fire(FaultSite site) override;

  // false: no site fires and no random draw is made (the "faults stop, everything drains"
  // phase of a simulation). Decisions already made for the run are kept.
  void set_active(bool active) { active_ = active; }
  // Whether the site was switched on for this run; nullopt until its first use.
  std::optional<bool> enabled(FaultSite site) const;
  const FaultCounters& counters() const { return counters_; }

 private:
  enum class SiteDecision : unsigned char { kUndecided, kOn, kOff };

  Random& random_;
  double fire_probability_;
  double enable_probability_;
  bool active_ = true;
  std::array<SiteDecision, kFaultSiteCount> decisions_{};
  FaultCounters counters_;
};

class ManualFaultInjector final : public FaultInjector {
 public:
  // The next `times` asks of `site` fire (added to what is still armed).
  void arm(FaultSite site, std::uint64_t times = 1);
  // Asks still armed for `site`.
  std::uint64_t armed(FaultSite site) const;

  bool fire(FaultSite site) override;
  const FaultCounters& counters() const { return counters_; }

 private:
  std::array<std::uint64_t, kFaultSiteCount> armed_{};
  FaultCounters counters_;
};

}  // namespace hadr
