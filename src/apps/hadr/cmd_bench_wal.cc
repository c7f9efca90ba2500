// hadr bench wal — placeholder until src/bench/wal_bench lands.
#include "apps/hadr/commands.h"

namespace hadr::cli {

void add_bench_wal_command(CLI::App& bench, CommandContext& context) {
  (void)bench;
  (void)context;
}

}  // namespace hadr::cli
