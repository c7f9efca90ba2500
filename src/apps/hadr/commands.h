// Registration of the `hadr` subcommands. Each group lives in its own cmd_*.cc file and adds
// its subcommands to its parent; callbacks set the process exit code through CommandContext so
// main() can return it after CLI11 has parsed everything.
#pragma once

#include <CLI/CLI.hpp>

namespace hadr::cli {

struct CommandContext {
  int exit_code = 0;
};

void add_wal_commands(CLI::App& app, CommandContext& context);    // hadr wal verify|dump
void add_bench_commands(CLI::App& app, CommandContext& context);  // hadr bench …
// hadr node|relay|promoter|worker|send|verify|config check (cmd_region.cc)
void add_region_commands(CLI::App& app, CommandContext& context);
void add_chaos_command(CLI::App& app, CommandContext& context);  // hadr chaos (cmd_chaos.cc)
// hadr status|switchover|demo (cmd_failover.cc)
void add_failover_commands(CLI::App& app, CommandContext& context);
void add_sim_command(CLI::App& app, CommandContext& context);  // hadr sim (cmd_sim.cc)
// hadr gateway|post and `hadr bench gateway` (cmd_gateway.cc); call after add_bench_commands.
void add_gateway_commands(CLI::App& app, CommandContext& context);

// Children of `hadr bench`, one file each.
void add_bench_wal_command(CLI::App& bench, CommandContext& context);     // cmd_bench_wal.cc
void add_bench_dedupe_command(CLI::App& bench, CommandContext& context);  // cmd_bench_dedupe.cc
void add_bench_pipeline_command(CLI::App& bench, CommandContext& context);  // cmd_bench_pipeline.cc
void add_bench_bus_command(CLI::App& bench, CommandContext& context);       // cmd_bench_bus.cc

}  // namespace hadr::cli
