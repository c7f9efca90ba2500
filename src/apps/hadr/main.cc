// hadr: the command line. Parsing only; every command's work lives in a library.
#include <sys/stat.h>

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "apps/hadr/cli_support.h"
#include "apps/hadr/commands.h"
#include "hadr_version.h"

int main(int argc, char** argv) {
  // Every file hadr creates (SQLite stores, logs, stats, WAL) is at most 0640 and every
  // directory at most 0750, whatever the code site asks for: state and logs hold message
  // bodies and may quote what a child printed (issue 15). A stricter umask of the operator's
  // is kept.
  ::umask(::umask(0) | 027);
  // Named "hadr", so that --help and errors show that rather than the binary's absolute path.
  CLI::App app{"hadr: two-region message relay with zero loss of acknowledged messages", "hadr"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "hadr " HADR_VERSION " (commit " HADR_GIT_COMMIT ")");
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
    // An unknown command or flag is named (CLI11 says only "A subcommand is required" or
    // "The following arguments were not expected").
    const std::string unknown = hadr::cli::unknown_word_message(app, argc, argv);
    if (!unknown.empty()) {
      std::fprintf(stderr, "%s\n", unknown.c_str());
      return hadr::cli::kExitUsage;
    }
    (void)app.exit(error);
    return hadr::cli::kExitUsage;
  }
  return context.exit_code;
}
