#include "memory/fault_injector.h"

#include "core/assert.h"

namespace hadr {
namespace {

std::size_t site_index(FaultSite site) {
  const auto index = static_cast<std::size_t>(site);
  HADR_ASSERT_MSG(index < kFaultSiteCount, "fault site %zu is out of range", index);
  return index;
}

}  // namespace

std::string_view fault_site_name(FaultSite site) {
  switch (site) {
    case FaultSite::kUnavailable:
      return "unavailable";
    case FaultSite::kTimeoutAfterApply:
      return "timeout_after_apply";
    case FaultSite::kDuplicateDelivery:
      return "duplicate_delivery";
    case FaultSite::kLockExpiresEarly:
      return "lock_expires_early";
    case FaultSite::kClaimExpiresEarly:
      return "claim_expires_early";
  }
  HADR_UNREACHABLE();
}

void FaultCounters::record(FaultSite site, bool fired) {
  const std::size_t index = site_index(site);
  ++asked_[index];
  if (fired) ++fired_[index];
  HADR_ASSERT(fired_[index] <= asked_[index]);
}

std::uint64_t FaultCounters::asked(FaultSite site) const { return asked_[site_index(site)]; }
std::uint64_t FaultCounters::fired(FaultSite site) const { return fired_[site_index(site)]; }

SeededFaultInjector::SeededFaultInjector(Random& random, double fire_probability, double enable_probability)
    : random_(random), fire_probability_(fire_probability), enable_probability_(enable_probability) {
  HADR_ASSERT_MSG(fire_probability >= 0 && fire_probability <= 1, "fire probability %f is not in [0, 1]",
                  fire_probability);
  HADR_ASSERT_MSG(enable_probability >= 0 && enable_probability <= 1, "enable probability %f is not in [0, 1]",
                  enable_probability);
}

bool SeededFaultInjector::fire(FaultSite site) {
  if (!active_) return false;
  SiteDecision& decision = decisions_[site_index(site)];
  // BUGGIFY: a site is on or off for the whole run, decided the first time it is reached, so
  // that a run either exercises a fault path often or not at all (FoundationDB's Buggify.h).
  if (decision == SiteDecision::kUndecided) {
    decision = random_.chance(enable_probability_) ? SiteDecision::kOn : SiteDecision::kOff;
  }
  const bool fired = decision == SiteDecision::kOn && random_.chance(fire_probability_);
  counters_.record(site, fired);
  return fired;
}

std::optional<bool> SeededFaultInjector::enabled(FaultSite site) const {
  const SiteDecision decision = decisions_[site_index(site)];
  if (decision == SiteDecision::kUndecided) return std::nullopt;
  return decision == SiteDecision::kOn;
}

void ManualFaultInjector::arm(FaultSite site, std::uint64_t times) {
  std::uint64_t& armed = armed_[site_index(site)];
  HADR_ASSERT_MSG(armed + times >= armed, "arming %s overflows", fault_site_name(site).data());
  armed += times;
}

std::uint64_t ManualFaultInjector::armed(FaultSite site) const { return armed_[site_index(site)]; }

bool ManualFaultInjector::fire(FaultSite site) {
  std::uint64_t& armed = armed_[site_index(site)];
  const bool fired = armed > 0;
  if (fired) --armed;
  counters_.record(site, fired);
  return fired;
}

}  // namespace hadr
