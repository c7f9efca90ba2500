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

// Children of `hadr bench`, one file each.
void add_bench_wal_command(CLI::App& bench, CommandContext& context);     // cmd_bench_wal.cc
void add_bench_dedupe_command(CLI::App& bench, CommandContext& context);  // cmd_bench_dedupe.cc

}  // namespace hadr::cli
