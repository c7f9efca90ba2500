// hadr bench bus --backend amqp — hadr's relay publishing through the WAL (append + fdatasync
// per batch) to the broker, against a raw Qpid Proton publisher with the same window of
// unsettled messages, same run, same broker: messages/s of each and the ratio relay ÷ raw
// (src/bench/amqp_bus_bench.h). Starts a private RabbitMQ node (the local stand-in for a Service
// Bus namespace) and stops it afterwards.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "amqp/rabbitmq_node.h"
#include "apps/hadr/cli_support.h"
#include "apps/hadr/commands.h"
#include "bench/amqp_bus_bench.h"

namespace hadr::cli {

namespace {

struct BenchBusArguments {
  std::string backend = "amqp";
  std::size_t messages = 20'000;
  std::size_t body_bytes = 256;
  std::size_t window = 1'000;
  std::size_t batch = 1'000;
  std::size_t in_flight_max = 4'096;
  bool json = false;
};

int run_bench_bus(const BenchBusArguments& arguments) {
  if (arguments.backend != "amqp") {
    return report_error("bench bus", invalid_argument("--backend " + arguments.backend + " is unknown; use amqp"));
  }
  if (!arguments.json) std::fprintf(stderr, "hadr bench bus: starting a private RabbitMQ node (~5 s) ...\n");
  auto node = amqp::RabbitmqNode::start();
  if (!node.ok()) return report_error("bench bus", node.error());
  amqp::AmqpBusBenchOptions options;
  options.amqp = (*node)->client_options("hadr-bench-" + std::to_string(::getpid()) + "-");
  options.messages = arguments.messages;
  options.body_bytes = arguments.body_bytes;
  options.window = arguments.window;
  options.relay_batch = arguments.batch;
  options.relay_in_flight_max = arguments.in_flight_max;
  if (!arguments.json) {
    std::fprintf(stderr,
                 "hadr bench bus: %zu persistent messages of %zu bytes, window %zu: raw Proton, then the relay "
                 "(batch %zu) through the WAL\n",
                 options.messages, options.body_bytes, options.window, options.relay_batch);
  }
  auto report = amqp::run_amqp_bus_bench(options);
  (void)(*node)->stop();
  if (!report.ok()) return report_error("bench bus", report.error());
  if (arguments.json) {
    std::printf("{\"backend\": \"amqp\", \"broker\": \"rabbitmq (private node)\", \"messages\": %zu, "
                "\"body_bytes\": %zu, \"window\": %zu, \"relay_batch\": %zu, \"relay_in_flight_max\": %zu, "
                "\"raw_messages_per_second\": %.1f, \"relay_messages_per_second\": %.1f, \"ratio\": %.3f, "
                "\"target_ratio\": 0.80, \"wal_batches\": %llu, "
                "\"relay_path\": [\"memory source (input, pre-filled)\", \"relay (real RelayOptions)\", "
                "\"StaticFence(epoch 1)\", \"wal append + fdatasync (posix_env, temp dir)\", \"source ack\", "
                "\"AmqpBus::send (accepted)\"], "
                "\"raw_path\": [\"proton sender, same window, same message encoding\"]}\n",
                report->messages, report->body_bytes, report->window, report->relay_batch, options.relay_in_flight_max,
                report->raw_messages_per_second, report->relay_messages_per_second, report->ratio,
                static_cast<unsigned long long>(report->wal_batches));
  } else {
    std::printf("raw Proton publisher (window %zu)         %10.0f msg/s\n"
                "relay -> WAL -> AmqpBus (batch %zu)      %10.0f msg/s   (%llu WAL batches)\n"
                "ratio (relay / raw)                      %10.2f   (target >= 0.80)\n",
                report->window, report->raw_messages_per_second, report->relay_batch,
                report->relay_messages_per_second, static_cast<unsigned long long>(report->wal_batches), report->ratio);
  }
  return kExitOk;
}

}  // namespace

void add_bench_bus_command(CLI::App& bench, CommandContext& context) {
  auto arguments = std::make_shared<BenchBusArguments>();
  CLI::App* command =
      bench.add_subcommand("bus", "The relay through the WAL to the broker against a raw Proton publisher");
  command->add_option("--backend", arguments->backend, "amqp")->capture_default_str();
  command->add_option("--messages", arguments->messages, "messages per side")->capture_default_str();
  command->add_option("--size", arguments->body_bytes, "body bytes")->capture_default_str();
  command->add_option("--window", arguments->window, "unsettled messages in flight (raw publisher and AmqpBus::send)")
      ->capture_default_str();
  command->add_option("--batch", arguments->batch, "the relay's batch_max (receive, WAL append + fsync, send)")
      ->capture_default_str();
  command->add_option("--in-flight-max", arguments->in_flight_max, "the relay's in_flight_max")->capture_default_str();
  command->add_flag("--json", arguments->json, "print one JSON object");
  command->callback([arguments, &context] { context.exit_code = run_bench_bus(*arguments); });
}

}  // namespace hadr::cli
