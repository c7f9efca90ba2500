// Proves the fault injectors behave as the simulator relies on: SeededFaultInjector has
// BUGGIFY semantics (a site is on or off for the whole run, decided at first use; on sites
// fire about a quarter of the time), is a pure function of its seed, and draws nothing while
// inactive; ManualFaultInjector fires exactly the armed number of times; both count.
#include "memory/fault_injector.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace hadr {
namespace {

constexpr FaultSite kAllSites[] = {FaultSite::kUnavailable, FaultSite::kTimeoutAfterApply,
                                   FaultSite::kDuplicateDelivery, FaultSite::kLockExpiresEarly,
                                   FaultSite::kClaimExpiresEarly};

// The answers of `asks` calls cycling through every site.
std::vector<bool> fire_sequence(std::uint64_t seed, int asks) {
  Random random(seed);
  SeededFaultInjector injector(random);
  std::vector<bool> fired;
  for (int i = 0; i < asks; ++i) fired.push_back(injector.fire(kAllSites[i % kFaultSiteCount]));
  return fired;
}

TEST(SeededFaultInjectorTest, SameSeedGivesSameFaults) {
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    ASSERT_EQ(fire_sequence(seed, 2000), fire_sequence(seed, 2000)) << "seed " << seed;
  }
}

TEST(SeededFaultInjectorTest, DifferentSeedsGiveDifferentFaults) {
  std::set<std::vector<bool>> distinct;
  for (std::uint64_t seed = 1; seed <= 50; ++seed) distinct.insert(fire_sequence(seed, 2000));
  // Runs with every site off are identical, so not all 50 differ; many must.
  EXPECT_GT(distinct.size(), 10u);
}

TEST(SeededFaultInjectorTest, SiteIsDecidedAtFirstUseForTheWholeRun) {
  Random random(7);
  SeededFaultInjector injector(random);
  EXPECT_FALSE(injector.enabled(FaultSite::kUnavailable).has_value());
  injector.fire(FaultSite::kUnavailable);
  ASSERT_TRUE(injector.enabled(FaultSite::kUnavailable).has_value());
  const bool enabled = *injector.enabled(FaultSite::kUnavailable);
  for (int i = 0; i < 10'000; ++i) injector.fire(FaultSite::kUnavailable);
  EXPECT_EQ(injector.enabled(FaultSite::kUnavailable), enabled);
  if (!enabled) {
    EXPECT_EQ(injector.counters().fired(FaultSite::kUnavailable), 0u);
  }
  EXPECT_EQ(injector.counters().asked(FaultSite::kUnavailable), 10'001u);
}

TEST(SeededFaultInjectorTest, SitesAreOnForAQuarterOfRunsAndFireAQuarterOfTheTime) {
  int decided = 0;
  int on = 0;
  std::uint64_t asked_on = 0;
  std::uint64_t fired_on = 0;
  for (std::uint64_t seed = 1; seed <= 2000; ++seed) {
    Random random(seed);
    SeededFaultInjector injector(random);
    for (int i = 0; i < 100; ++i) injector.fire(FaultSite::kTimeoutAfterApply);
    ++decided;
    if (*injector.enabled(FaultSite::kTimeoutAfterApply)) {
      ++on;
      asked_on += injector.counters().asked(FaultSite::kTimeoutAfterApply);
      fired_on += injector.counters().fired(FaultSite::kTimeoutAfterApply);
    }
  }
  // Fixed seeds: these fractions are deterministic, the bounds only document the intent.
  const double on_fraction = static_cast<double>(on) / decided;
  const double fire_fraction = static_cast<double>(fired_on) / static_cast<double>(asked_on);
  EXPECT_GT(on_fraction, 0.20);
  EXPECT_LT(on_fraction, 0.30);
  EXPECT_GT(fire_fraction, 0.22);
  EXPECT_LT(fire_fraction, 0.28);
}

TEST(SeededFaultInjectorTest, InactiveInjectorNeitherFiresNorDraws) {
  Random random(11);
  Random twin(11);
  SeededFaultInjector injector(random, /*fire_probability=*/1.0, /*enable_probability=*/1.0);
  injector.set_active(false);
  for (const FaultSite site : kAllSites) EXPECT_FALSE(injector.fire(site));
  EXPECT_EQ(random.next_u64(), twin.next_u64());  // no draw was made
  EXPECT_FALSE(injector.enabled(FaultSite::kUnavailable).has_value());
  injector.set_active(true);
  EXPECT_TRUE(injector.fire(FaultSite::kUnavailable));
  EXPECT_EQ(injector.counters().fired(FaultSite::kUnavailable), 1u);
}

TEST(SeededFaultInjectorTest, ProbabilityOneAlwaysFiresAndZeroNever) {
  Random random(3);
  SeededFaultInjector always(random, 1.0, 1.0);
  SeededFaultInjector never(random, 0.0, 1.0);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(always.fire(FaultSite::kDuplicateDelivery));
    ASSERT_FALSE(never.fire(FaultSite::kDuplicateDelivery));
  }
}

TEST(ManualFaultInjectorTest, FiresExactlyTheArmedNumberOfTimes) {
  ManualFaultInjector injector;
  EXPECT_FALSE(injector.fire(FaultSite::kLockExpiresEarly));
  injector.arm(FaultSite::kLockExpiresEarly, 2);
  EXPECT_EQ(injector.armed(FaultSite::kLockExpiresEarly), 2u);
  EXPECT_FALSE(injector.fire(FaultSite::kUnavailable));  // other sites stay quiet
  EXPECT_TRUE(injector.fire(FaultSite::kLockExpiresEarly));
  EXPECT_TRUE(injector.fire(FaultSite::kLockExpiresEarly));
  EXPECT_FALSE(injector.fire(FaultSite::kLockExpiresEarly));
  EXPECT_EQ(injector.counters().asked(FaultSite::kLockExpiresEarly), 4u);
  EXPECT_EQ(injector.counters().fired(FaultSite::kLockExpiresEarly), 2u);
  EXPECT_EQ(injector.counters().fired(FaultSite::kUnavailable), 0u);
}

TEST(FaultSiteTest, NamesAreDistinctAndStable) {
  std::set<std::string> names;
  for (const FaultSite site : kAllSites) names.insert(std::string(fault_site_name(site)));
  EXPECT_EQ(names.size(), kFaultSiteCount);
  EXPECT_EQ(fault_site_name(FaultSite::kTimeoutAfterApply), "timeout_after_apply");
}

}  // namespace
}  // namespace hadr
