#include "sim/sim_runner.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "core/clock.h"

namespace hadr::sim {
namespace {

Result<std::uint64_t> parse_seed(std::string_view text, std::string_view whole) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return invalid_argument("seed \"" + std::string(whole) + "\" is not a number or a range A..B of numbers");
  }
  return value;
}

}  // namespace

Result<SeedRange> parse_seed_range(std::string_view text) {
  const std::size_t dots = text.find("..");
  if (dots == std::string_view::npos) {
    HADR_ASSIGN_OR_RETURN(std::uint64_t seed, parse_seed(text, text));
    return SeedRange{seed, seed};
  }
  HADR_ASSIGN_OR_RETURN(std::uint64_t first, parse_seed(text.substr(0, dots), text));
  HADR_ASSIGN_OR_RETURN(std::uint64_t last, parse_seed(text.substr(dots + 2), text));
  if (first > last) return invalid_argument("seed range " + std::string(text) + " is empty; write it as low..high");
  if (last - first >= kSeedsPerRunMax) {
    return invalid_argument("seed range " + std::string(text) + " has more than " + std::to_string(kSeedsPerRunMax) +
                            " seeds; split it");
  }
  return SeedRange{first, last};
}

SimReport run_seeds(const SimOptions& options, SeedRange range, const std::function<void(const SimResult&)>& on_result) {
  HADR_ASSERT(range.first <= range.last && range.last - range.first < kSeedsPerRunMax);
  SimReport report;
  const MonoTime started = RealClock::instance().now_monotonic();
  for (std::uint64_t seed = range.first;; ++seed) {
    SimOptions run_options = options;
    run_options.seed = seed;
    SimResult result = run_simulation(run_options);
    ++report.seeds;
    report.steps += result.steps;
    report.rare.add(result.rare);
    if (!result.ok()) {
      report.violations += result.violations.size();
      report.failing_seeds.push_back(seed);
      if (report.failures.size() < SimReport::kFailuresKeptMax) report.failures.push_back(result);
    }
    if (on_result) on_result(result);
    if (seed == range.last) break;
  }
  report.seconds = std::chrono::duration<double>(RealClock::instance().now_monotonic() - started).count();
  HADR_ASSERT(report.seeds == range.last - range.first + 1);
  return report;
}

std::string describe_failure(const SimResult& result, const SimOptions& options) {
  SimOptions repro_options = options;
  repro_options.seed = result.seed;
  std::string text;
  for (const Violation& violation : result.violations) {
    text += "seed " + std::to_string(result.seed) + " violates " + violation.invariant + ": " + violation.detail + "\n";
  }
  text += "  faults on: " + (result.faults_enabled.empty() ? std::string("none") : result.faults_enabled) + "\n";
  text += "  repro: " + result.repro(repro_options) + "\n";
  return text;
}

std::string report_json(const SimReport& report, const SimOptions& options) {
  nlohmann::json failures = nlohmann::json::array();
  for (const SimResult& result : report.failures) {
    nlohmann::json violations = nlohmann::json::array();
    for (const Violation& violation : result.violations) {
      violations.push_back({{"invariant", violation.invariant}, {"detail", violation.detail}});
    }
    SimOptions repro_options = options;
    repro_options.seed = result.seed;
    failures.push_back({{"seed", result.seed}, {"violations", violations}, {"repro", result.repro(repro_options)}});
  }
  const nlohmann::json json = {
      {"seeds", report.seeds},
      {"violations", report.violations},
      {"failing_seeds", report.failing_seeds},
      {"seeds_per_second", report.seeds_per_second()},
      {"caught_share", report.caught_share()},
      {"torn_tail", report.rare.torn_tail},
      {"wal_repair", report.rare.wal_repair},
      {"stale_epoch_rejection", report.rare.stale_epoch_rejection},
      {"lease_steal", report.rare.lease_steal},
      {"replay", report.rare.replay},
      {"dead_letter", report.rare.dead_letter},
      {"switchover", report.rare.switchover},
      {"known_finding", report.rare.known_finding},
      {"steps", report.steps},
      {"faults", options.faults.describe()},
      {"broken", broken_variant_name(options.broken)},
      {"failures", failures},
  };
  return json.dump(2);
}

}  // namespace hadr::sim
