// hadr chaos --scenario kill-roles — the real-process fault drill of src/runtime/chaos.h.
// Exit 0 when verify finds 0 lost and 0 duplicate effects, 1 otherwise.
#include <cstdio>
#include <memory>
#include <string>

#include "apps/hadr/cli_support.h"
#include "apps/hadr/commands.h"
#include "runtime/chaos.h"
#include "runtime/child_process.h"

namespace hadr::cli {

void add_chaos_command(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<ChaosOptions>();
  auto json = std::make_shared<bool>(false);
  CLI::App* chaos = app.add_subcommand("chaos", "Kill roles of a region at random moments; verify nothing is lost");
  chaos->add_option("--scenario", options->scenario, "kill-roles")->capture_default_str();
  chaos->add_option("--messages", options->messages, "messages sent during the drill")->capture_default_str();
  chaos->add_option("--kills", options->kills, "SIGKILLs of a random role")->capture_default_str();
  chaos->add_option("--seed", options->seed, "seed of the kill sequence")->capture_default_str();
  chaos->add_option("--keep", options->keep_dir, "run in this existing directory and keep it");
  chaos->add_flag("--json", *json, "print one JSON object");
  chaos->callback([options, json, &context] {
    auto binary = current_executable();
    if (!binary.ok()) {
      context.exit_code = report_error("chaos", binary.error());
      return;
    }
    options->hadr_binary = *binary;
    auto report = run_chaos(*options, [](const std::string& line) { std::fprintf(stderr, "hadr chaos: %s\n", line.c_str()); });
    if (!report.ok()) {
      context.exit_code = report_error("chaos", report.error());
      return;
    }
    if (*json) {
      std::printf("%s\n", report->to_json().c_str());
    } else {
      std::printf("%skills %u\nelapsed_seconds %.1f\n", report->verify.to_text().c_str(), report->kills,
                  report->elapsed_seconds);
    }
    context.exit_code = report->verify.passed() ? kExitOk : kExitCheckFailed;
  });
}

}  // namespace hadr::cli
