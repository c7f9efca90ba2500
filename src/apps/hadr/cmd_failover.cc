// hadr status | switchover | demo — the two-region commands (src/runtime/cluster.h and
// src/runtime/failover_drill.h). Exit codes: cli_support.h; `demo` exits 1 when the drill
// finds a loss, a duplicate effect, a failover slower than its bound or (switchover) a
// duplicate delivery.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "apps/hadr/cli_support.h"
#include "apps/hadr/commands.h"
#include "config/region_config.h"
#include "runtime/child_process.h"
#include "runtime/cluster.h"
#include "runtime/failover_drill.h"

namespace hadr::cli {

namespace {

void add_status_command(CLI::App& app, CommandContext& context) {
  auto config_path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  CLI::App* status = app.add_subcommand("status", "Lease, alias, last failover, regions, heartbeats and queues");
  status->add_option("--config", *config_path, "a region's TOML file")->required();
  status->add_flag("--json", *json, "print one JSON object");
  status->callback([config_path, json, &context] {
    auto config = load_region_config(*config_path);
    if (!config.ok()) {
      context.exit_code = report_error("status", config.error());
      return;
    }
    auto status_view = read_cluster_status(*config);
    if (!status_view.ok()) {
      context.exit_code = report_error("status", status_view.error());
      return;
    }
    const std::string text = *json ? status_view->to_json() + "\n" : status_view->to_text();
    std::fputs(text.c_str(), stdout);
    // What could be read is shown; a part that could not be is an environment error.
    context.exit_code = status_view->unreachable.empty() ? kExitOk : kExitEnvironment;
  });
}

void add_switchover_command(CLI::App& app, CommandContext& context) {
  auto config_path = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  auto timeout = std::make_shared<std::string>("120s");
  auto json = std::make_shared<bool>(false);
  CLI::App* switchover = app.add_subcommand(
      "switchover", "Planned move of the active region: drain, seal the WAL, hand the lease over (also failback)");
  switchover->add_option("--config", *config_path, "a region's TOML file")->required();
  switchover->add_option("--to", *to, "the region that becomes active")->required();
  add_duration_option(*switchover, "--timeout", *timeout, "how long to wait for the handover")->capture_default_str();
  switchover->add_flag("--json", *json, "print one JSON object");
  switchover->callback([config_path, to, timeout, json, &context] {
    auto config = load_region_config(*config_path);
    if (!config.ok()) {
      context.exit_code = report_error("switchover", config.error());
      return;
    }
    auto region = RegionId::parse(*to);
    if (!region.ok()) {
      context.exit_code = report_error("switchover", invalid_argument("--to: " + region.error().detail));
      return;
    }
    auto wait = parse_duration("--timeout", *timeout);
    if (!wait.ok()) {
      context.exit_code = report_error("switchover", wait.error());
      return;
    }
    auto report = request_switchover(*config, *region, *wait, [](const std::string& line) {
      std::fprintf(stderr, "hadr switchover: %s\n", line.c_str());
    });
    if (!report.ok()) {
      context.exit_code = report_error("switchover", report.error());
      return;
    }
    if (*json) {
      std::printf("%s\n", report->to_json().c_str());
    } else if (report->already_there) {
      std::printf("%s is already active (epoch %llu)\n", report->to.str().c_str(),
                  static_cast<unsigned long long>(report->epoch_after));
    } else {
      std::printf("switched %s -> %s in %lld ms (epoch %llu -> %llu)\n", report->from.str().c_str(),
                  report->to.str().c_str(), static_cast<long long>(report->elapsed_ms),
                  static_cast<unsigned long long>(report->epoch_before),
                  static_cast<unsigned long long>(report->epoch_after));
    }
    context.exit_code = kExitOk;
  });
}

void add_demo_command(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<DemoOptions>();
  auto lease_ttl = std::make_shared<std::string>("2s");
  auto json = std::make_shared<bool>(false);
  CLI::App* demo = app.add_subcommand(
      "demo", "Two regions on this machine: kill the active one under load, watch the other take over, verify");
  demo->add_option("--scenario", options->scenario, "failover | switchover | failback | broker-kill (real backends)")
      ->capture_default_str();
  demo->add_option("--backend", options->backend,
                   "embedded (SQLite files) | real (starts Redis, three RabbitMQ nodes and Azurite here)")
      ->capture_default_str();
  demo->add_option("--effects", options->effects,
                   "ledger (hadr's own store) | postgres (the sql handler on a PostgreSQL started in DIR/postgres)")
      ->capture_default_str();
  demo->add_option("--messages", options->messages, "messages sent during the drill")->capture_default_str();
  demo->add_option("--kill-at", options->kill_at, "effects before the kill or switchover (default: a third)");
  add_duration_option(*demo, "--lease-ttl", *lease_ttl, "the lease TTL")->capture_default_str();
  demo->add_option("--rate", options->rate, "messages per second offered (0: as fast as possible)")
      ->capture_default_str();
  demo->add_option("--keep", options->keep_dir, "run in this directory and keep it (configs, logs, stores)");
  demo->add_flag("--json", *json, "print one JSON object");
  demo->callback([options, lease_ttl, json, &context] {
    auto ttl = parse_duration("--lease-ttl", *lease_ttl);
    if (!ttl.ok()) {
      context.exit_code = report_error("demo", ttl.error());
      return;
    }
    options->lease_ttl = *ttl;
    auto binary = current_executable();
    if (!binary.ok()) {
      context.exit_code = report_error("demo", binary.error());
      return;
    }
    options->hadr_binary = *binary;
    auto report = run_demo(*options, [](const std::string& line) { std::fprintf(stderr, "hadr demo %s\n", line.c_str()); });
    if (!report.ok()) {
      context.exit_code = report_error("demo", report.error());
      return;
    }
    const std::string text = *json ? report->to_json() + "\n" : report->to_text();
    std::fputs(text.c_str(), stdout);
    context.exit_code = report->passed() ? kExitOk : kExitCheckFailed;
  });
}

}  // namespace

void add_failover_commands(CLI::App& app, CommandContext& context) {
  add_status_command(app, context);
  add_switchover_command(app, context);
  add_demo_command(app, context);
}

}  // namespace hadr::cli
