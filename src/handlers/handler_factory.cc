#include "handlers/handler_factory.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/child_environment.h"
#include "embedded/sqlite_dedupe_store.h"
#include "handlers/exec_handler.h"
#include "handlers/http_handler.h"
#include "handlers/ledger_handler.h"
#include "handlers/sql_handler.h"

namespace hadr {
namespace {

constexpr Milliseconds kExecTimeoutMax = std::chrono::hours(1);
constexpr std::size_t kExecOutputBytesMax = 16 * 1024 * 1024;
constexpr Milliseconds kHttpTimeoutMax{10 * 60 * 1000};
constexpr std::uint32_t kHttpAttemptsMax = 100;
constexpr Milliseconds kHttpBackoffMax{10 * 60 * 1000};

Status validate_exec(const HandlerConfig& config) {
  if (config.exec_command.empty() || config.exec_command[0].empty()) {
    return invalid_argument(
        "handler.exec_command: is empty; set it to the argv of the program to run, e.g. [\"/usr/local/bin/apply\"]");
  }
  if (config.exec_timeout <= Milliseconds(0) || config.exec_timeout > kExecTimeoutMax) {
    return invalid_argument("handler.exec_timeout: " + std::to_string(config.exec_timeout.count()) +
                            " ms is out of range; use 1 ms .. 1 h");
  }
  if (config.exec_output_bytes_max == 0 || config.exec_output_bytes_max > kExecOutputBytesMax) {
    return invalid_argument("handler.exec_output_bytes_max: " + std::to_string(config.exec_output_bytes_max) +
                            " is out of range; use 1 .. 16 MiB");
  }
  if (config.exec_environment.size() > kChildEnvironmentNamesMax) {
    return invalid_argument("handler.exec_environment: " + std::to_string(config.exec_environment.size()) +
                            " names; list at most " + std::to_string(kChildEnvironmentNamesMax));
  }
  for (const std::string& name : config.exec_environment) {
    HADR_TRY(validate_environment_name("handler.exec_environment", name));
  }
  return ok_status();
}

Status validate_http(const HandlerConfig& config) {
  if (config.http_url.rfind("http://", 0) != 0 && config.http_url.rfind("https://", 0) != 0) {
    return invalid_argument("handler.http_url: '" + redact_url(config.http_url) +
                            "' is not an http:// or https:// URL; set it to the endpoint that receives the POSTs");
  }
  if (config.http_timeout <= Milliseconds(0) || config.http_timeout > kHttpTimeoutMax) {
    return invalid_argument("handler.http_timeout: " + std::to_string(config.http_timeout.count()) +
                            " ms is out of range; use 1 ms .. 10 min");
  }
  if (config.http_attempts_max == 0 || config.http_attempts_max > kHttpAttemptsMax) {
    return invalid_argument("handler.http_attempts_max: " + std::to_string(config.http_attempts_max) +
                            " is out of range; use 1 .. 100");
  }
  if (config.http_backoff_initial < Milliseconds(0) || config.http_backoff_max < config.http_backoff_initial ||
      config.http_backoff_max > kHttpBackoffMax) {
    return invalid_argument("handler.http_backoff_initial: " + std::to_string(config.http_backoff_initial.count()) +
                            " ms does not fit handler.http_backoff_max (" + std::to_string(config.http_backoff_max.count()) +
                            " ms); keep 0 <= initial <= max <= 10 min");
  }
  return ok_status();
}

constexpr Milliseconds kSqlStatementTimeoutMax{10 * 60 * 1000};
constexpr std::uint32_t kSqlAttemptsMax = 10;
constexpr std::size_t kPasswordFileBytesMax = 4096;

Status validate_sql(const HandlerConfig& config) {
  if (config.sql_url.empty()) {
    return invalid_argument("handler.sql_url: is empty; set it to the database, e.g. \"postgresql://app@db.example:5432/payments\"");
  }
  if (!config.sql_password_env.empty() && !config.sql_password_file.empty()) {
    return invalid_argument("handler.sql_password_env and handler.sql_password_file: both set; keep one");
  }
  postgres::PgConnectionOptions connection;
  connection.url = config.sql_url;
  connection.sslmode = config.sql_sslmode;
  if (Status valid = postgres::validate_connection_options(connection); !valid.ok()) {
    return invalid_argument("handler.sql_sslmode: " + valid.error().detail);
  }
  if (config.sql_statement_timeout <= Milliseconds(0) || config.sql_statement_timeout > kSqlStatementTimeoutMax) {
    return invalid_argument("handler.sql_statement_timeout: " + std::to_string(config.sql_statement_timeout.count()) +
                            " ms is out of range; use 1 ms .. 10 min");
  }
  if (config.sql_attempts_max == 0 || config.sql_attempts_max > kSqlAttemptsMax) {
    return invalid_argument("handler.sql_attempts_max: " + std::to_string(config.sql_attempts_max) +
                            " is out of range; use 1 .. 10");
  }
  if (config.sql_isolation != "read committed" && config.sql_isolation != "repeatable read" &&
      config.sql_isolation != "serializable") {
    return invalid_argument("handler.sql_isolation: '" + config.sql_isolation +
                            "' is unknown; use \"read committed\", \"repeatable read\" or \"serializable\"");
  }
  return validate_sql_statements(config.sql_statements);
}

// The password of the sql handler: from the environment or a file (one trailing newline
// dropped). Errors name the variable or the file, never the contents.
Result<Secret> sql_password(const HandlerConfig& config, const EnvironmentLookup& environment) {
  if (!config.sql_password_env.empty()) {
    const EnvironmentLookup lookup = environment ? environment : process_environment();
    const std::optional<std::string> value = lookup(config.sql_password_env);
    if (!value || value->empty()) {
      return failed_precondition("handler.sql_password_env: the environment variable " + config.sql_password_env +
                                 " is not set or empty");
    }
    return Secret(*value);
  }
  if (config.sql_password_file.empty()) return Secret();
  const int fd = ::open(config.sql_password_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return failed_precondition("handler.sql_password_file: cannot open " + config.sql_password_file + ": " +
                               std::strerror(errno));
  }
  std::string contents(kPasswordFileBytesMax + 1, '\0');
  const ssize_t read_bytes = ::read(fd, contents.data(), contents.size());
  ::close(fd);
  if (read_bytes <= 0 || static_cast<std::size_t>(read_bytes) > kPasswordFileBytesMax) {
    return failed_precondition("handler.sql_password_file: " + config.sql_password_file +
                               " is empty, unreadable or longer than 4 KiB");
  }
  contents.resize(static_cast<std::size_t>(read_bytes));
  if (!contents.empty() && contents.back() == '\n') contents.pop_back();
  if (!contents.empty() && contents.back() == '\r') contents.pop_back();
  return Secret(std::move(contents));
}

}  // namespace

Status HandlerConfig::validate() const {
  if (kind == "ledger") return ok_status();
  if (kind == "sql") return validate_sql(*this);
  if (kind == "exec") return validate_exec(*this);
  if (kind == "http") return validate_http(*this);
  return invalid_argument("handler.kind: '" + kind + "' is unknown; use ledger, sql, exec or http");
}

Result<postgres::PgConnectionOptions> sql_connection_options(const HandlerConfig& config,
                                                             const EnvironmentLookup& environment) {
  HADR_ASSERT(config.kind == "sql");
  postgres::PgConnectionOptions options;
  options.url = config.sql_url;
  options.sslmode = config.sql_sslmode;
  options.connect_timeout = kSqlConnectTimeout;
  HADR_ASSIGN_OR_RETURN(options.password, sql_password(config, environment));
  return options;
}

Result<std::unique_ptr<Handler>> make_handler(const HandlerConfig& config, const HandlerContext& context) {
  HADR_TRY(config.validate());
  if (context.region.empty()) return invalid_argument("handler context: the region is empty; pass the region's id");
  if (config.kind == "ledger") {
    const Clock& clock = context.clock != nullptr ? *context.clock : RealClock::instance();
    if (context.ledger != nullptr) {
      return std::unique_ptr<Handler>(
          std::make_unique<LedgerHandler>(*context.ledger, context.region, clock, context.record_ttl));
    }
    if (context.ledger_store != nullptr) {
      return std::unique_ptr<Handler>(
          std::make_unique<LedgerHandler>(*context.ledger_store, context.region, clock, context.record_ttl));
    }
    return failed_precondition(
        "handler.kind 'ledger' needs the dedupe store's effect ledger (HandlerContext::ledger: the Redis or the "
        "embedded dedupe store), so that the effect and the mark commit together; none was given");
  }
  if (config.kind == "sql") {
    SqlOptions options;
    HADR_ASSIGN_OR_RETURN(options.connection, sql_connection_options(config, context.environment));
    options.connection.application_name = "hadr-" + context.region.str();
    options.statements = config.sql_statements;
    options.statement_timeout = config.sql_statement_timeout;
    options.attempts_max = config.sql_attempts_max;
    options.isolation = config.sql_isolation;
    HADR_ASSIGN_OR_RETURN(std::unique_ptr<SqlHandler> sql, SqlHandler::create(std::move(options), context.region));
    return std::unique_ptr<Handler>(std::move(sql));
  }
  if (config.kind == "exec") {
    return std::unique_ptr<Handler>(std::make_unique<ExecHandler>(
        ExecOptions{.command = config.exec_command,
                    .timeout = config.exec_timeout,
                    .output_bytes_max = config.exec_output_bytes_max,
                    .environment = config.exec_environment},
        context.region));
  }
  HADR_ASSERT(config.kind == "http");
  HADR_ASSIGN_OR_RETURN(std::unique_ptr<HttpHandler> http,
                        HttpHandler::create(HttpOptions{.url = config.http_url,
                                                        .timeout = config.http_timeout,
                                                        .attempts_max = config.http_attempts_max,
                                                        .backoff_initial = config.http_backoff_initial,
                                                        .backoff_max = config.http_backoff_max},
                                            context.region));
  return std::unique_ptr<Handler>(std::move(http));
}

}  // namespace hadr
