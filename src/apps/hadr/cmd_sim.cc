// hadr sim — the deterministic simulation of both regions (src/sim, docs/simulation.md).
//   hadr sim --seeds A..B [--faults all|everything|all+LIST|none|LIST] [--broken NAME] [--json]
//   hadr sim --seed S [--faults ...] [--trace]
// Exit 0 when no seed violated an invariant, 1 otherwise (each failure prints its seed, the
// invariant, the offending ids and the repro line), 2 on bad arguments.
#include <cstdio>
#include <memory>
#include <string>

#include "apps/hadr/cli_support.h"
#include "apps/hadr/commands.h"
#include "sim/sim_runner.h"

namespace hadr::cli {
namespace {

struct SimArguments {
  std::string seed;
  std::string seeds;
  std::string faults = "all";
  std::string broken = "none";
  bool trace = false;
  bool json = false;
};

// Builds the run options, or the usage error naming the bad argument.
Result<std::pair<sim::SimOptions, sim::SeedRange>> parse_arguments(const SimArguments& arguments) {
  if (!arguments.seed.empty() && !arguments.seeds.empty()) {
    return invalid_argument("give either --seed S or --seeds A..B, not both");
  }
  sim::SimOptions options;
  HADR_ASSIGN_OR_RETURN(options.faults, sim::FaultSelection::parse(arguments.faults));
  HADR_ASSIGN_OR_RETURN(options.broken, sim::parse_broken_variant(arguments.broken));
  options.trace = arguments.trace;
  const std::string range_text = !arguments.seed.empty() ? arguments.seed : (arguments.seeds.empty() ? "1..100" : arguments.seeds);
  HADR_ASSIGN_OR_RETURN(sim::SeedRange range, sim::parse_seed_range(range_text));
  if (!arguments.seed.empty() && range.first != range.last) {
    return invalid_argument("--seed takes one seed; use --seeds A..B for a range");
  }
  return std::pair{options, range};
}

int run(const SimArguments& arguments) {
  auto parsed = parse_arguments(arguments);
  if (!parsed.ok()) return report_error("sim", parsed.error());
  // Named references, not a structured binding: clang 14 (the fuzz build) cannot capture one.
  const sim::SimOptions& options = parsed->first;
  const sim::SeedRange& range = parsed->second;
  const sim::SimReport report = sim::run_seeds(options, range, [&](const sim::SimResult& result) {
    if (!result.ok()) std::fprintf(stderr, "%s", sim::describe_failure(result, options).c_str());
  });
  if (arguments.json) {
    std::printf("%s\n", sim::report_json(report, options).c_str());
  } else {
    std::printf("seeds %llu\nviolations %llu\nfailing_seeds %zu\ncaught_share %.3f\nseeds_per_second %.1f\n"
                "torn_tail %llu\nwal_repair %llu\nstale_epoch_rejection %llu\nlease_steal %llu\nreplay %llu\ndead_letter %llu\n"
                "switchover %llu\n",
                static_cast<unsigned long long>(report.seeds), static_cast<unsigned long long>(report.violations),
                report.failing_seeds.size(), report.caught_share(), report.seeds_per_second(),
                static_cast<unsigned long long>(report.rare.torn_tail),
                static_cast<unsigned long long>(report.rare.wal_repair),
                static_cast<unsigned long long>(report.rare.stale_epoch_rejection),
                static_cast<unsigned long long>(report.rare.lease_steal),
                static_cast<unsigned long long>(report.rare.replay),
                static_cast<unsigned long long>(report.rare.dead_letter),
                static_cast<unsigned long long>(report.rare.switchover));
  }
  return report.failing_seeds.empty() ? kExitOk : kExitCheckFailed;
}

}  // namespace

void add_sim_command(CLI::App& app, CommandContext& context) {
  auto arguments = std::make_shared<SimArguments>();
  CLI::App* command = app.add_subcommand("sim", "Deterministic simulation of both regions under seeded faults");
  command->add_option("--seed", arguments->seed, "run one seed (replays it exactly)");
  command->add_option("--seeds", arguments->seeds, "run the seeds A..B (default 1..100)");
  command->add_option("--faults", arguments->faults,
                      "all (the default mix) | everything (with the categories awaiting a fix) | all+LIST (the default "
                      "mix with the listed awaiting categories on trial) | none | comma list of fault categories "
                      "(docs/simulation.md)")
      ->capture_default_str();
  command->add_option("--broken", arguments->broken,
                      "wire a deliberately broken variant (checker tests; the report's caught_share is the share of "
                      "seeds that catch it): ack_before_fsync, claim_ignores_epoch, staging_completed_before_main, "
                      "relay_ignores_intake_gate, checkpoint_past_unsettled, replay_stops_before_seal, "
                      "renew_without_deadline, claim_regranted_to_stale_owner")
      ->capture_default_str();
  command->add_flag("--trace", arguments->trace, "print every step, fault and alert");
  command->add_flag("--json", arguments->json, "print one JSON report");
  command->callback([arguments, &context] { context.exit_code = run(*arguments); });
}

}  // namespace hadr::cli
