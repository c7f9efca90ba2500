// hadr wal verify|dump — operator commands over a WAL directory. (Filled in with src/wal.)
#include "apps/hadr/commands.h"

namespace hadr::cli {

void add_wal_commands(CLI::App& app, CommandContext& context) {
  (void)app;
  (void)context;
}

}  // namespace hadr::cli
