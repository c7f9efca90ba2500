// hadr bench dedupe — placeholder until src/bench/dedupe_bench lands.
#include "apps/hadr/commands.h"

namespace hadr::cli {

void add_bench_dedupe_command(CLI::App& bench, CommandContext& context) {
  (void)bench;
  (void)context;
}

}  // namespace hadr::cli
