// hadr bench wal — the WAL against a raw write + fdatasync baseline, in the same run on the
// same directory (src/bench/wal_bench.h). Prints a table, or one JSON object with --json.
#include <cmath>
#include <cstdio>
#include <memory>

#include "apps/hadr/cli_support.h"
#include "apps/hadr/commands.h"
#include "bench/wal_bench.h"

namespace hadr::cli {

void add_bench_wal_command(CLI::App& bench, CommandContext& context) {
  struct Arguments {
    WalBenchOptions options;
    double seconds = 5;
    bool json = false;
  };
  auto arguments = std::make_shared<Arguments>();
  CLI::App* command = bench.add_subcommand("wal", "WAL appends vs plain write + fdatasync of the same bytes");
  command->add_option("--record-bytes", arguments->options.record_bytes, "payload bytes per record")->capture_default_str();
  command->add_option("--batch", arguments->options.batch_records, "records per append (one fdatasync each)")
      ->capture_default_str();
  command->add_option("--seconds", arguments->seconds, "seconds per side (WAL and baseline alternate)")
      ->capture_default_str();
  command->add_option("--dir", arguments->options.dir, "directory to run in (default: a fresh one under /var/tmp, removed after)");
  command->add_flag("--json", arguments->json, "print one JSON object");
  command->callback([arguments, &context] {
    WalBenchOptions options = arguments->options;
    options.duration = std::chrono::milliseconds(std::llround(arguments->seconds * 1000));
    if (!arguments->json) {
      std::fprintf(stderr, "hadr bench wal: measuring for about %.1f s ...\n", 2 * arguments->seconds);
    }
    auto report = run_wal_bench(options);
    if (!report.ok()) {
      context.exit_code = report_error("bench wal", report.error());
      return;
    }
    const std::string text = arguments->json ? wal_bench_json(*report) + "\n" : wal_bench_table(*report);
    std::fputs(text.c_str(), stdout);
    context.exit_code = kExitOk;
  });
}

}  // namespace hadr::cli
