// hadr node|relay|promoter|worker|send|verify|config — the commands that run and check one
// region from its TOML config. The work lives in src/config and src/runtime; this file only
// parses flags, maps errors to exit codes (cli_support.h) and prints.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include <unistd.h>

#include "apps/hadr/cli_support.h"
#include "apps/hadr/commands.h"
#include "config/region_config.h"
#include "runtime/node_http.h"
#include "runtime/process_crash_points.h"
#include "runtime/region_node.h"
#include "runtime/send_verify.h"
#include "runtime/stop_signal.h"

namespace hadr::cli {

namespace {

// Runs `roles` of the region in `config_path` until SIGTERM/SIGINT (exit 0 after draining) or
// a failed role (exit 1, the error on stderr).
// `listen_flag`: `hadr node --listen` (none when not given; only the node has the flag).
int run_roles(const std::string& command, const std::string& config_path, const NodeRoles& roles,
              const std::optional<std::string>& listen_flag = std::nullopt) {
  auto config = load_region_config(config_path);
  if (!config.ok()) return report_error(command, config.error());
  // Checked before anything opens: a bad address changes nothing.
  auto listen = choose_node_listen_address(listen_flag, *config);
  if (!listen.ok()) return report_error(command, listen.error());
  auto crash_points = ProcessCrashPoints::from_environment();
  if (!crash_points.ok()) return report_error(command, crash_points.error());
  install_stop_signal_handlers();
  auto node = RegionNode::open(*config, roles, **crash_points);
  if (!node.ok()) return report_error(command, node.error());
  std::unique_ptr<NodeHttpServer> http;
  if (listen->has_value()) {
    auto started = NodeHttpServer::start(**node, **listen, listen_flag.has_value() ? "--listen" : "http.listen");
    if (!started.ok()) return report_error(command, started.error());
    http = std::move(*started);
    std::fprintf(stderr, "hadr %s: serving /metrics /healthz /readyz /status on http://%s:%d%s\n", command.c_str(),
                 (*listen)->host.c_str(), http->port(),
                 http->on_loopback() ? "" : " (not loopback: plain HTTP, anyone who reaches it can read it)");
  }
  std::fprintf(stderr, "hadr %s: region %s running (pid %d); SIGTERM drains and stops\n", command.c_str(),
               config->region.str().c_str(), static_cast<int>(getpid()));
  const Status status = (*node)->run();
  if (http) http->stop();  // before the node it reads goes away
  if (!status.ok()) {
    (void)report_error(command, status.error());
    return kExitCheckFailed;
  }
  std::fprintf(stderr, "hadr %s: stopped cleanly\n", command.c_str());
  return kExitOk;
}

void add_role_command(CLI::App& app, CommandContext& context, const std::string& name, const std::string& help,
                      NodeRoles roles) {
  auto config_path = std::make_shared<std::string>();
  auto instance = std::make_shared<std::string>(roles.process_name);
  CLI::App* command = app.add_subcommand(name, help);
  command->add_option("--config", *config_path, "the region's TOML file")->required();
  if (name == "worker") {
    command->add_option("--instance", *instance,
                        "name of this worker process (its stats file; its workers' owners add a random "
                        "incarnation per start, so two processes never share one)")
        ->capture_default_str();
  }
  auto listen = std::make_shared<std::string>();
  CLI::Option* listen_option = nullptr;
  if (name == "node") {
    listen_option = command->add_option("--listen", *listen,
                        "HOST:PORT to serve /metrics, /healthz, /readyz and /status on (wins over [http] listen; "
                        "default: that key, else no listener)")
        ->type_name("HOST:PORT");
  }
  command->callback([config_path, instance, roles, name, listen, listen_option, &context] {
    NodeRoles chosen = roles;
    chosen.process_name = *instance;
    const bool listen_given = listen_option != nullptr && listen_option->count() > 0;
    context.exit_code = run_roles(name, *config_path, chosen, listen_given ? std::optional(*listen) : std::nullopt);
  });
}

void add_config_command(CLI::App& app, CommandContext& context) {
  CLI::App* config = app.add_subcommand("config", "Region configuration");
  config->require_subcommand(1);
  auto path = std::make_shared<std::string>();
  auto positional = std::make_shared<std::string>();
  CLI::App* check = config->add_subcommand("check", "Validate a region config; name the bad key and the fix");
  // --config F like every other command; `config check F` still works.
  CLI::Option* flag = check->add_option("--config", *path, "the region's TOML file")->type_name("FILE");
  CLI::Option* file =
      check->add_option("FILE", *positional, "the same, positionally (an alias of --config)")->type_name("FILE");
  flag->excludes(file);
  check->callback([path, positional, &context] {
    if (path->empty()) *path = *positional;
    if (path->empty()) {
      context.exit_code = report_error("config check", invalid_argument("--config is required: hadr config check --config FILE"));
      return;
    }
    auto loaded = load_region_config(*path);
    if (!loaded.ok()) {
      context.exit_code = report_error("config check", loaded.error());
      return;
    }
    std::printf("%s: ok\n%s", path->c_str(), describe(*loaded).c_str());
    context.exit_code = kExitOk;
  });
}

void add_send_command(CLI::App& app, CommandContext& context) {
  auto config_path = std::make_shared<std::string>();
  auto options = std::make_shared<SendOptions>();
  auto json = std::make_shared<bool>(false);
  auto quiet = std::make_shared<bool>(false);
  CLI::App* send = app.add_subcommand("send", "Put messages into the region's source and record what it acknowledged");
  send->add_option("--config", *config_path, "the region's TOML file")->required();
  send->add_option("--count", options->count, "messages to send")->required();
  send->add_option("--rate", options->rate_per_second, "messages per second (0: as fast as possible)")
      ->capture_default_str();
  send->add_option("--size", options->body_bytes, "body bytes per message")->capture_default_str();
  send->add_option("--prefix", options->prefix, "message ids are PREFIX-<n>")->capture_default_str();
  send->add_option("--first", options->first_number, "the first <n>")->capture_default_str();
  send->add_option("--batch", options->batch_max, "messages per source put")->capture_default_str();
  send->add_flag("--json", *json, "print one JSON object");
  send->add_flag("--quiet", *quiet, "no progress lines on stderr");
  send->callback([config_path, options, json, quiet, &context] {
    auto config = load_region_config(*config_path);
    if (!config.ok()) {
      context.exit_code = report_error("send", config.error());
      return;
    }
    install_stop_signal_handlers();
    if (!*quiet) {
      // A long send says how far it is (every 2 s, on stderr; stdout keeps the one result).
      options->progress = [](const SendProgress& progress) {
        const double left = progress.rate_per_second > 0
                                ? static_cast<double>(progress.count - progress.sent) / progress.rate_per_second
                                : 0;
        std::fprintf(stderr, "hadr send: %llu/%llu sent (%.0f%%), %.0f msg/s, about %.0f s left\n",
                     static_cast<unsigned long long>(progress.sent), static_cast<unsigned long long>(progress.count),
                     100.0 * static_cast<double>(progress.sent) / static_cast<double>(progress.count),
                     progress.rate_per_second, left);
      };
    }
    auto report = send_messages(*config, *options, [] { return stop_requested(); });
    if (!report.ok()) {
      context.exit_code = report_error("send", report.error());
      return;
    }
    if (*json) {
      std::printf("{\"sent\": %llu, \"elapsed_seconds\": %.3f}\n", static_cast<unsigned long long>(report->sent),
                  report->elapsed_seconds);
    } else {
      std::printf("sent %llu in %.2f s\n", static_cast<unsigned long long>(report->sent), report->elapsed_seconds);
    }
    context.exit_code = kExitOk;
  });
}

void add_verify_command(CLI::App& app, CommandContext& context) {
  auto config_path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  CLI::App* verify = app.add_subcommand("verify", "Compare what was sent with the ledger and the dead letters");
  verify->add_option("--config", *config_path, "the region's TOML file")->required();
  verify->add_flag("--json", *json, "print one JSON object");
  verify->callback([config_path, json, &context] {
    auto config = load_region_config(*config_path);
    if (!config.ok()) {
      context.exit_code = report_error("verify", config.error());
      return;
    }
    auto report = verify_region(*config);
    if (!report.ok()) {
      context.exit_code = report_error("verify", report.error());
      return;
    }
    const std::string text = *json ? report->to_json() + "\n" : report->to_text();
    std::fputs(text.c_str(), stdout);
    context.exit_code = report->passed() ? kExitOk : kExitCheckFailed;
  });
}

}  // namespace

void add_region_commands(CLI::App& app, CommandContext& context) {
  add_role_command(app, context, "node", "Run every role of one region in this process",
                   NodeRoles{true, true, true, "node"});
  add_role_command(app, context, "relay", "Run the relay (and the checkpointer, which shares its WAL)",
                   NodeRoles{true, false, false, "relay"});
  add_role_command(app, context, "promoter", "Run the promoter (staging -> main)", NodeRoles{false, true, false, "promoter"});
  add_role_command(app, context, "worker", "Run workers.count workers", NodeRoles{false, false, true, "worker"});
  add_config_command(app, context);
  add_send_command(app, context);
  add_verify_command(app, context);
}

}  // namespace hadr::cli
