// hadr bench dedupe — DedupeStore claim + mark_done against a raw baseline (pipelined SET NX
// for Redis, INSERT OR IGNORE for SQLite) in the same run on the same server
// (src/bench/dedupe_bench.h). Prints a few lines, or one JSON object with --json.
#include <cstdio>
#include <memory>
#include <string>

#include "apps/hadr/cli_support.h"
#include "apps/hadr/commands.h"
#include "bench/dedupe_bench.h"
#include "core/env.h"
#include "redis/redis_options.h"

namespace hadr::cli {

namespace {

struct DedupeBenchArguments {
  std::string backend;
  std::string redis_address;
  std::string password_env;
  std::string password_file;
  std::string dir;
  std::uint64_t messages = 100'000;
  std::uint32_t batch = 100;
  bool json = false;
};

// Turns the parsed arguments into options; errors name the flag.
Result<DedupeBenchOptions> bench_options(const DedupeBenchArguments& arguments) {
  DedupeBenchOptions options;
  options.backend = arguments.backend == "redis" ? DedupeBenchBackend::kRedis : DedupeBenchBackend::kEmbedded;
  options.messages = arguments.messages;
  options.batch = arguments.batch;
  options.dir = arguments.dir;
  const bool has_password = !arguments.password_env.empty() || !arguments.password_file.empty();
  if (arguments.redis_address.empty()) {
    if (has_password) return invalid_argument("--redis-password-env/--redis-password-file need --redis HOST:PORT");
    HADR_TRY(options.validate());
    return options;
  }
  HADR_ASSIGN_OR_RETURN(const redis::RedisAddress address, redis::RedisAddress::parse(arguments.redis_address));
  redis::RedisOptions redis_options;
  redis_options.host = address.host;
  redis_options.port = address.port;
  redis_options.password_env = arguments.password_env;
  redis_options.password_file = arguments.password_file;
  HADR_ASSIGN_OR_RETURN(options.redis,
                        redis::resolve_password(redis_options, posix_env(), redis::process_environment()));
  HADR_TRY(options.validate());
  return options;
}

}  // namespace

void add_bench_dedupe_command(CLI::App& bench, CommandContext& context) {
  auto arguments = std::make_shared<DedupeBenchArguments>();
  CLI::App* command = bench.add_subcommand("dedupe", "DedupeStore claim + mark_done vs a raw pipelined SET NX baseline");
  command->add_option("--backend", arguments->backend, "redis or embedded (SQLite)")
      ->required()
      ->check(CLI::IsMember({"redis", "embedded"}));
  command->add_option("--redis", arguments->redis_address,
                      "HOST:PORT of a Redis to use (default: start a temporary redis-server)");
  command->add_option("--redis-password-env", arguments->password_env,
                      "name of an environment variable holding the Redis password");
  command->add_option("--redis-password-file", arguments->password_file, "file holding the Redis password");
  command->add_option("--dir", arguments->dir, "embedded: directory for the SQLite files (default: temporary)");
  command->add_option("--messages", arguments->messages, "messages to claim and mark done")->capture_default_str();
  command->add_option("--batch", arguments->batch, "ids per batch = pipeline depth of the baseline")
      ->capture_default_str();
  command->add_flag("--json", arguments->json, "print one JSON object");
  command->callback([arguments, &context] {
    auto options = bench_options(*arguments);
    if (!options.ok()) {
      context.exit_code = report_error("bench dedupe", options.error());
      return;
    }
    if (!arguments->json) {
      std::fprintf(stderr, "hadr bench dedupe: %llu messages on %s, batch %u ...\n",
                   static_cast<unsigned long long>(arguments->messages), arguments->backend.c_str(), arguments->batch);
    }
    auto report = run_dedupe_bench(*options);
    if (!report.ok()) {
      context.exit_code = report_error("bench dedupe", report.error());
      return;
    }
    const std::string text = arguments->json ? dedupe_bench_json(*report) + "\n" : dedupe_bench_table(*report);
    std::fputs(text.c_str(), stdout);
    context.exit_code = kExitOk;
  });
}

}  // namespace hadr::cli
