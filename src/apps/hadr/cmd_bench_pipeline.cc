// hadr bench pipeline — source -> effect throughput and latency of one region in one process,
// with the WAL-only and bus-only throughputs of the same run (src/bench/pipeline_bench.h).
#include <cstdio>
#include <memory>

#include "apps/hadr/cli_support.h"
#include "apps/hadr/commands.h"
#include "bench/pipeline_bench.h"

namespace hadr::cli {

void add_bench_pipeline_command(CLI::App& bench, CommandContext& context) {
  auto options = std::make_shared<PipelineBenchOptions>();
  auto json = std::make_shared<bool>(false);
  CLI::App* command = bench.add_subcommand("pipeline", "Source -> effect msg/s and latency, with WAL-only and bus-only");
  command->add_option("--backend", options->backend, "embedded")->required()->check(CLI::IsMember({"embedded"}));
  command->add_option("--messages", options->messages, "messages through the pipeline")->capture_default_str();
  command->add_option("--size", options->body_bytes, "body bytes per message")->capture_default_str();
  command->add_option("--workers", options->workers, "worker threads")->capture_default_str();
  command->add_flag("--json", *json, "print one JSON object");
  command->callback([options, json, &context] {
    if (!*json) {
      std::fprintf(stderr, "hadr bench pipeline: %llu messages on embedded ...\n",
                   static_cast<unsigned long long>(options->messages));
    }
    auto report = run_pipeline_bench(*options);
    if (!report.ok()) {
      context.exit_code = report_error("bench pipeline", report.error());
      return;
    }
    const std::string text = *json ? report->to_json() + "\n" : report->to_text();
    std::fputs(text.c_str(), stdout);
    context.exit_code = kExitOk;
  });
}

}  // namespace hadr::cli
