// hadr: the command line. Parsing only; every command's work lives in a library.
#include <sys/stat.h>

#include <CLI/CLI.hpp>

#include "apps/hadr/cli_support.h"
#include "apps/hadr/commands.h"

int main(int argc, char** argv) {
  // Every file hadr creates (SQLite stores, logs, stats, WAL) is at most 0640 and every
  // directory at most 0750, whatever the code site asks for: state and logs hold message
  // bodies and may quote what a child printed (issue 15). A stricter umask of the operator's
  // is kept.
  ::umask(::umask(0) | 027);
  CLI::App app{"hadr: two-region message relay with zero loss of acknowledged messages"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "hadr 0.1.0");
  hadr::cli::CommandContext context;
  hadr::cli::add_wal_commands(app, context);
  hadr::cli::add_bench_commands(app, context);
  hadr::cli::add_region_commands(app, context);
  hadr::cli::add_chaos_command(app, context);
  hadr::cli::add_failover_commands(app, context);
  hadr::cli::add_sim_command(app, context);
  hadr::cli::add_gateway_commands(app, context);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForVersion& version) {
    return app.exit(version);
  } catch (const CLI::ParseError& error) {
    (void)app.exit(error);
    return hadr::cli::kExitUsage;
  }
  return context.exit_code;
}
