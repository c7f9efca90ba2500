// hadr gateway | hadr post | hadr bench gateway — the HTTP ingest gateway in front of the
// region's Source, its producer client with retries, and its benchmark (docs/gateway.md). The
// work lives in src/gateway; this file parses flags, maps errors to exit codes and prints.
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "apps/hadr/cli_support.h"
#include "apps/hadr/commands.h"
#include "bench/gateway_bench.h"
#include "config/region_config.h"
#include "core/env.h"
#include "gateway/gateway.h"
#include "gateway/gateway_client.h"
#include "gateway/gateway_server.h"
#include "runtime/region_backends.h"
#include "runtime/stop_signal.h"

namespace hadr::cli {

namespace {

constexpr Milliseconds kStopPollInterval{100};

struct GatewayArguments {
  std::string config_path;
  std::string listen = "127.0.0.1:8080";
  std::string data_dir;  // empty: <region data_dir>/gateway
  std::string key_ttl = "24h";
  std::string header_timeout = "10s";
  std::string body_timeout = "30s";
  std::string idle_timeout = "5s";
  std::string write_timeout = "10s";
  std::vector<std::string> token_env;   // names of variables holding bearer tokens
  std::vector<std::string> token_file;  // files holding bearer tokens, one per line
  GatewayOptions options;
};

// The options the flags describe; errors name the flag.
Result<GatewayOptions> gateway_options(const GatewayArguments& arguments) {
  GatewayOptions options = arguments.options;
  HADR_TRY(parse_listen_address(arguments.listen, options));
  HADR_ASSIGN_OR_RETURN(options.idempotency_ttl, parse_duration("--key-ttl", arguments.key_ttl));
  HADR_ASSIGN_OR_RETURN(options.header_timeout, parse_duration("--header-timeout", arguments.header_timeout));
  HADR_ASSIGN_OR_RETURN(options.body_timeout, parse_duration("--body-timeout", arguments.body_timeout));
  HADR_ASSIGN_OR_RETURN(options.idle_timeout, parse_duration("--idle-timeout", arguments.idle_timeout));
  HADR_ASSIGN_OR_RETURN(options.write_timeout, parse_duration("--write-timeout", arguments.write_timeout));
  HADR_ASSIGN_OR_RETURN(options.tokens, BearerTokens::load(arguments.token_env, arguments.token_file,
                                                           process_environment()));
  HADR_TRY(options.validate());
  return options;
}

// Serves until SIGTERM/SIGINT, then drains the requests in progress.
Status serve_gateway(const GatewayArguments& arguments) {
  HADR_ASSIGN_OR_RETURN(const GatewayOptions options, gateway_options(arguments));
  HADR_ASSIGN_OR_RETURN(const RegionConfig config, load_region_config(arguments.config_path));
  const std::string data_dir = arguments.data_dir.empty() ? config.data_dir + "/gateway" : arguments.data_dir;
  HADR_TRY(posix_env().create_dirs(data_dir));
  const Clock& clock = RealClock::instance();
  // The region's source on whichever engine its config names (SQLite queue or AMQP broker).
  HADR_ASSIGN_OR_RETURN(const RegionBackends backends, RegionBackends::resolve(config, process_environment()));
  HADR_ASSIGN_OR_RETURN(auto source, backends.open_source("hadr-gateway"));
  HADR_ASSIGN_OR_RETURN(auto keys, SqliteIdempotencyStore::open(data_dir + "/idempotency.db"));
  install_stop_signal_handlers();
  Gateway gateway(*source, *keys, clock, [](Milliseconds wait) { std::this_thread::sleep_for(wait); }, options);
  HADR_ASSIGN_OR_RETURN(auto server, GatewayServer::start(gateway, options));
  std::fprintf(stderr, "hadr gateway: region %s, source %s, listening on http://%s:%d (pid %d); SIGTERM drains and stops\n",
               config.region.str().c_str(), backends.describe().c_str(), options.listen_host.c_str(),
               server->port(), static_cast<int>(getpid()));
  std::fprintf(stderr, "hadr gateway: ingest authentication %s\n",
               options.tokens.enabled() ? (std::to_string(options.tokens.size()) + " bearer token(s)").c_str()
                                        : "off (no --token-env/--token-file)");
  if (!server->on_loopback()) {
    std::fprintf(stderr, "hadr gateway: WARNING: plain HTTP on a network address (--insecure)%s\n",
                 options.tokens.enabled() ? "; bearer tokens cross the network unencrypted"
                                          : " and no authentication: anyone who reaches it can write");
  }
  while (!stop_requested()) std::this_thread::sleep_for(kStopPollInterval);  // signals only set a flag
  std::fprintf(stderr, "hadr gateway: stopping; finishing the requests in progress\n");
  server->stop();
  const GatewayMetrics metrics = gateway.metrics();
  std::fprintf(stderr, "hadr gateway: stopped cleanly: %llu accepted, %llu replayed, %llu throttled\n",
               static_cast<unsigned long long>(metrics.responses(202)), static_cast<unsigned long long>(metrics.replayed),
               static_cast<unsigned long long>(metrics.throttled_by_client + metrics.throttled_globally));
  return ok_status();
}

void add_gateway_command(CLI::App& app, CommandContext& context) {
  auto arguments = std::make_shared<GatewayArguments>();
  GatewayOptions& options = arguments->options;
  CLI::App* command = app.add_subcommand("gateway", "Serve the HTTP ingest gateway in front of the region's source");
  command->add_option("--config", arguments->config_path, "the region's TOML file")->required();
  command->add_option("--listen", arguments->listen, "HOST:PORT to listen on")->capture_default_str();
  command->add_option("--data-dir", arguments->data_dir, "where the idempotency keys live (default <data_dir>/gateway)");
  command->add_option("--rate", options.throttle.client_rate_per_second, "requests/s per client (0: no limit)")
      ->capture_default_str();
  command->add_option("--burst", options.throttle.client_burst, "burst per client")->capture_default_str();
  command->add_option("--global-rate", options.throttle.global_rate_per_second, "requests/s for all clients (0: no limit)")
      ->capture_default_str();
  command->add_option("--global-burst", options.throttle.global_burst, "burst for all clients")->capture_default_str();
  command->add_option("--clients-max", options.throttle.clients_tracked_max, "clients tracked (LRU)")->capture_default_str();
  command->add_option("--in-flight-max", options.in_flight_max, "POSTs in progress at once; more get 503")
      ->capture_default_str();
  command->add_option("--threads", options.server_threads, "server threads")->capture_default_str();
  command->add_option("--body-max", options.body_bytes_max, "largest body in bytes (413 above)")->capture_default_str();
  add_duration_option(*command, "--key-ttl", arguments->key_ttl, "how long an Idempotency-Key is remembered")->capture_default_str();
  add_duration_option(*command, "--header-timeout", arguments->header_timeout, "time for a whole header section (else 408)")
      ->capture_default_str();
  add_duration_option(*command, "--body-timeout", arguments->body_timeout, "time for a whole body after the headers (else 408)")
      ->capture_default_str();
  add_duration_option(*command, "--idle-timeout", arguments->idle_timeout, "keep-alive time between requests")->capture_default_str();
  add_duration_option(*command, "--write-timeout", arguments->write_timeout, "time for a client to read its answer")
      ->capture_default_str();
  command->add_option("--connections-max", options.connections_max, "open connections in all (503 above)")
      ->capture_default_str();
  command->add_option("--connections-per-address-max", options.connections_per_address_max,
                      "open connections per client IP (429 above)")
      ->capture_default_str();
  command->add_option("--header-max", options.header_bytes_max, "bytes of request line and headers (431 above)")
      ->capture_default_str();
  command->add_option("--header-count-max", options.header_count_max, "header fields (431 above)")->capture_default_str();
  command->add_option("--body-buffer-max", options.body_buffer_bytes_max, "bytes of bodies in memory at once (503 above)")
      ->capture_default_str();
  command->add_option("--token-env", arguments->token_env,
                      "NAME of an environment variable holding a bearer token for POST /v1/messages (repeatable)");
  command->add_option("--token-file", arguments->token_file,
                      "file of bearer tokens, one per line, for POST /v1/messages (repeatable)");
  command->add_flag("--insecure", options.allow_insecure_listener,
                    "allow plain HTTP on an address that is not loopback (no TLS in hadr)");
  command->add_option("--put-attempts", options.put_attempts_max, "source put attempts per request")->capture_default_str();
  command->callback([arguments, &context] {
    const Status status = serve_gateway(*arguments);
    context.exit_code = status.ok() ? kExitOk : report_error("gateway", status.error());
  });
}

void print_post_report(const PostReport& report, bool json) {
  if (json) {
    std::printf("{\"sent\": %llu, \"retried\": %llu, \"failed\": %llu, \"elapsed_seconds\": %.3f, "
                "\"posts_per_second\": %.1f}\n",
                static_cast<unsigned long long>(report.sent), static_cast<unsigned long long>(report.retried),
                static_cast<unsigned long long>(report.failed), report.elapsed_seconds, report.posts_per_second());
    return;
  }
  std::printf("sent %llu, retried %llu, failed %llu in %.2f s (%.0f posts/s)\n",
              static_cast<unsigned long long>(report.sent), static_cast<unsigned long long>(report.retried),
              static_cast<unsigned long long>(report.failed), report.elapsed_seconds, report.posts_per_second());
  if (!report.first_failure.empty()) std::printf("first failure: %s\n", report.first_failure.c_str());
}

void add_post_command(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<PostOptions>();
  auto json = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand("post", "POST messages to a gateway with stable Idempotency-Keys and retries");
  command->add_option("--url", options->url, "the gateway, e.g. http://127.0.0.1:8080")->required();
  command->add_option("--count", options->count, "messages to post")->required();
  command->add_option("--size", options->body_bytes, "body bytes per message")->capture_default_str();
  command->add_option("--rate", options->rate_per_second, "posts per second (0: as fast as possible)")
      ->capture_default_str();
  command->add_option("--key-prefix", options->key_prefix, "keys are PREFIX-<n>")->capture_default_str();
  command->add_option("--first", options->first_number, "the first <n>")->capture_default_str();
  command->add_option("--connections", options->connections, "parallel connections")->capture_default_str();
  command->add_option("--attempts", options->attempts_max, "attempts per message")->capture_default_str();
  command->add_flag("--json", *json, "print one JSON object");
  command->callback([options, json, &context] {
    install_stop_signal_handlers();
    auto report = post_messages(*options, [] { return stop_requested(); });
    if (!report.ok()) {
      context.exit_code = report_error("post", report.error());
      return;
    }
    print_post_report(*report, *json);
    context.exit_code = report->failed == 0 ? kExitOk : kExitCheckFailed;
  });
}

void add_bench_gateway_command(CLI::App& bench, CommandContext& context) {
  auto options = std::make_shared<GatewayBenchOptions>();
  auto json = std::make_shared<bool>(false);
  CLI::App* command = bench.add_subcommand("gateway", "POSTs through the gateway vs SqliteSource::put directly");
  command->add_option("--messages", options->messages, "messages on each side")->capture_default_str();
  command->add_option("--size", options->body_bytes, "body bytes per message")->capture_default_str();
  command->add_option("--connections", options->connections, "client connections to the gateway")->capture_default_str();
  command->add_option("--dir", options->dir, "where the databases go (default: a temporary directory)");
  command->add_flag("--json", *json, "print one JSON object");
  command->callback([options, json, &context] {
    auto report = run_gateway_bench(*options);
    if (!report.ok()) {
      context.exit_code = report_error("bench gateway", report.error());
      return;
    }
    const std::string text = *json ? report->to_json() + "\n" : report->to_text();
    std::fputs(text.c_str(), stdout);
    context.exit_code = kExitOk;
  });
}

}  // namespace

void add_gateway_commands(CLI::App& app, CommandContext& context) {
  add_gateway_command(app, context);
  add_post_command(app, context);
  // `hadr bench` is made by add_bench_commands (cmd_bench.cc), registered before this.
  const std::vector<CLI::App*> bench =
      app.get_subcommands([](CLI::App* subcommand) { return subcommand->get_name() == "bench"; });
  if (!bench.empty()) add_bench_gateway_command(*bench.front(), context);
}

}  // namespace hadr::cli
