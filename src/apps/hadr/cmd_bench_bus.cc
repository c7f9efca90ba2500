// hadr bench bus --backend amqp — AmqpBus::send (batches of the relay's size) against a raw
// Qpid Proton publisher with a window of unsettled messages, same run, same broker: messages/s
// of each and the ratio (src/amqp/amqp_bus_bench.h). Starts a private RabbitMQ node (the
// local stand-in for a Service Bus namespace) unless --url names a broker.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "amqp/amqp_bus_bench.h"
#include "amqp/testing/rabbitmq_node.h"
#include "apps/hadr/cli_support.h"
#include "apps/hadr/commands.h"

namespace hadr::cli {

namespace {

struct BenchBusArguments {
  std::string backend = "amqp";
  std::size_t messages = 20'000;
  std::size_t body_bytes = 256;
  std::size_t window = 1'000;
  std::size_t batch = 256;
  bool json = false;
};

int run_bench_bus(const BenchBusArguments& arguments) {
  if (arguments.backend != "amqp") {
    return report_error("bench bus", invalid_argument("--backend " + arguments.backend + " is unknown; use amqp"));
  }
  if (!arguments.json) std::fprintf(stderr, "hadr bench bus: starting a private RabbitMQ node (~5 s) ...\n");
  auto node = amqp::testing::RabbitmqNode::start();
  if (!node.ok()) return report_error("bench bus", node.error());
  amqp::AmqpBusBenchOptions options;
  options.amqp = (*node)->client_options("hadr-bench-" + std::to_string(::getpid()) + "-");
  options.messages = arguments.messages;
  options.body_bytes = arguments.body_bytes;
  options.raw_window = arguments.window;
  options.batch = arguments.batch;
  if (!arguments.json) {
    std::fprintf(stderr, "hadr bench bus: %zu persistent messages of %zu bytes: raw Proton (window %zu), then AmqpBus (batch %zu)\n",
                 options.messages, options.body_bytes, options.raw_window, options.batch);
  }
  auto report = amqp::run_amqp_bus_bench(options);
  (void)(*node)->stop();
  if (!report.ok()) return report_error("bench bus", report.error());
  if (arguments.json) {
    std::printf("{\"backend\": \"amqp\", \"messages\": %zu, \"raw_messages_per_second\": %.1f, "
                "\"bus_messages_per_second\": %.1f, \"ratio\": %.3f}\n",
                report->messages, report->raw_messages_per_second, report->bus_messages_per_second, report->ratio);
  } else {
    std::printf("raw Proton publisher   %10.0f msg/s\nAmqpBus::send          %10.0f msg/s\nratio (bus / raw)      %10.2f\n",
                report->raw_messages_per_second, report->bus_messages_per_second, report->ratio);
  }
  return kExitOk;
}

}  // namespace

void add_bench_bus_command(CLI::App& bench, CommandContext& context) {
  auto arguments = std::make_shared<BenchBusArguments>();
  CLI::App* command = bench.add_subcommand("bus", "AmqpBus against a raw Proton publisher on the same broker");
  command->add_option("--backend", arguments->backend, "amqp")->capture_default_str();
  command->add_option("--messages", arguments->messages, "messages per side")->capture_default_str();
  command->add_option("--size", arguments->body_bytes, "body bytes")->capture_default_str();
  command->add_option("--window", arguments->window, "the raw publisher's unsettled window")->capture_default_str();
  command->add_option("--batch", arguments->batch, "AmqpBus::send batch (the relay's batch_max)")->capture_default_str();
  command->add_flag("--json", arguments->json, "print one JSON object");
  command->callback([arguments, &context] { context.exit_code = run_bench_bus(*arguments); });
}

}  // namespace hadr::cli
