// hadr bench … — benchmarks that measure hadr and a raw baseline in the same run and print
// the ratio (speed is measured, never asserted in tests).
#include "apps/hadr/commands.h"

namespace hadr::cli {

void add_bench_commands(CLI::App& app, CommandContext& context) {
  CLI::App* bench = app.add_subcommand("bench", "Measure hadr against a raw baseline in the same run");
  bench->require_subcommand(1);
  add_bench_wal_command(*bench, context);
  add_bench_dedupe_command(*bench, context);
  add_bench_pipeline_command(*bench, context);
  add_bench_bus_command(*bench, context);
}

}  // namespace hadr::cli
