// Building the configured Handler (the plan's "Function"): `ledger`, `sql`, `exec` or `http`.
// The [handler] table of a region's TOML config parses into HandlerConfig (src/config); the
// runtime calls make_handler() once per worker. Guarantees and tables: docs/handlers.md.
// Ownership: make_handler() returns an owned handler that borrows context.ledger (or
// context.ledger_store) and context.clock (both must outlive it). Thread-safety: HandlerConfig is a value; make_handler()
// may be called from any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "contracts/dedupe_store.h"
#include "contracts/effect_ledger.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/result.h"
#include "core/secret.h"
#include "handlers/sql_statement.h"
#include "postgres/pg_connection.h"
#include "roles/handler.h"

namespace hadr {

class SqliteDedupeStore;

struct HandlerConfig {
  std::string kind = "ledger";  // "ledger" | "sql" | "exec" | "http"

  // exec: argv of the command run per message (no shell); payload on stdin; HADR_MESSAGE_ID,
  // HADR_EPOCH, HADR_REGION, HADR_SOURCE_REGION, HADR_LSN, HADR_DELIVERY_COUNT in the environment.
  // Exit 0 = done, 75 = retry later, anything else = failure. Killed after exec_timeout.
  std::vector<std::string> exec_command;
  Milliseconds exec_timeout{30'000};
  std::size_t exec_output_bytes_max = 64 * 1024;  // stdout/stderr kept for the failure reason
  // Names of the worker's environment variables the command also gets; its environment is
  // otherwise clean (core/child_environment.h: PATH, HOME, LANG and the HADR_* above).
  std::vector<std::string> exec_environment;

  // http: POST body to http_url with Idempotency-Key: <message id>; 2xx done; 408/429/5xx retried
  // with backoff up to http_attempts_max, then retry later; other 4xx reject (dead-letter).
  std::string http_url;
  Milliseconds http_timeout{10'000};
  std::uint32_t http_attempts_max = 3;
  Milliseconds http_backoff_initial{100};
  // Added by the handlers: the longest wait between attempts, whether from the exponential
  // backoff or from a server's Retry-After.
  Milliseconds http_backoff_max{5'000};

  // sql (handlers/sql_handler.h): the statements and the hadr_inbox insert in one transaction
  // of the user's PostgreSQL. The URL is libpq's (a password in it is discouraged); the
  // password comes from the environment variable sql_password_env or the file
  // sql_password_file (at most one of them), is never logged and never in an error.
  std::string sql_url;
  std::string sql_password_env;
  std::string sql_password_file;
  std::string sql_sslmode;  // libpq sslmode; empty: libpq's default (prefer)
  std::vector<SqlStatementConfig> sql_statements;
  Milliseconds sql_statement_timeout{2'000};  // SET LOCAL statement_timeout per transaction
  std::uint32_t sql_attempts_max = 3;         // per delivery, on connection loss / 40001 / 40P01
  std::string sql_isolation = "read committed";

  // Fails with kInvalidArgument naming the key ("handler.exec_command is empty; ...").
  Status validate() const;
};

// Fields are in this order because callers aggregate-initialize it positionally; new fields go last.
struct HandlerContext {
  RegionId region;
  // Kind "ledger" needs `ledger` or, for the embedded store, `ledger_store` (then a
  // SqliteEffectLedger over it): the effect and the mark commit together in that store.
  // `ledger` wins when both are set.
  SqliteDedupeStore* ledger_store = nullptr;
  const Clock* clock = nullptr;  // ledger's applied_at_ms; nullptr = RealClock::instance()
  // Added by the handlers: the record TTL the ledger's done mark is written with; must equal
  // the worker's WorkerOptions::record_ttl.
  Milliseconds record_ttl = kDefaultDedupeRecordTtl;
  // The dedupe store's EffectLedger (contracts/effect_ledger.h): a redis::RedisDedupeStore, or a
  // SqliteEffectLedger. Borrowed; must outlive the handler.
  EffectLedger* ledger = nullptr;
  // Added by the sql handler: where sql_password_env is looked up; null = the process environment.
  EnvironmentLookup environment;
};

Result<std::unique_ptr<Handler>> make_handler(const HandlerConfig& config, const HandlerContext& context);

// The sql handler's connection (kind "sql"): URL, sslmode and the password read from
// sql_password_env (through `environment`; null: the process environment) or sql_password_file.
// Also for readers of hadr_inbox (`hadr verify`). Errors name the variable or file, never the value.
Result<postgres::PgConnectionOptions> sql_connection_options(const HandlerConfig& config,
                                                             const EnvironmentLookup& environment);

}  // namespace hadr
