// Running many seeds and reporting them (`hadr sim`, the ctest seed ranges).
//
// run_seeds() runs options with every seed of [first, last] in order and sums the results;
// report_json() renders the report with the keys the issue names: seeds, violations,
// failing_seeds, seeds_per_second and the hit count of each rare path. The runner measures its
// own duration on the real monotonic clock (only for seeds_per_second; no run reads it).
// Thread-safety: none; call from one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sim/simulation.h"

namespace hadr::sim {

struct SeedRange {
  std::uint64_t first = 1;
  std::uint64_t last = 1;
};
inline constexpr std::uint64_t kSeedsPerRunMax = 10'000'000;

// "A..B" with A <= B, or a single seed "S". kInvalidArgument names the problem.
Result<SeedRange> parse_seed_range(std::string_view text);

struct SimReport {
  static constexpr std::size_t kFailuresKeptMax = 100;

  std::uint64_t seeds = 0;
  std::uint64_t violations = 0;
  std::vector<std::uint64_t> failing_seeds;  // all of them (bounded by the seed count)
  std::vector<SimResult> failures;           // the first kFailuresKeptMax, with their violations
  RarePathCounts rare;
  std::uint64_t steps = 0;
  double seconds = 0;

  double seeds_per_second() const { return seconds > 0 ? static_cast<double>(seeds) / seconds : 0; }
  // The share of seeds with a violation: with --broken, how sensitive the fault mix is to
  // that variant (a mutation score; issue 12 asks >= 5% of the default mix for each).
  double caught_share() const { return seeds > 0 ? static_cast<double>(failing_seeds.size()) / static_cast<double>(seeds) : 0; }
};

// Runs every seed of `range`; `on_result` (optional) sees each result as it finishes.
SimReport run_seeds(const SimOptions& options, SeedRange range,
                    const std::function<void(const SimResult&)>& on_result = {});

std::string report_json(const SimReport& report, const SimOptions& options);
// The human lines for one failing seed: seed, invariant, detail, repro.
std::string describe_failure(const SimResult& result, const SimOptions& options);

}  // namespace hadr::sim
