// SqlHandler: the `sql` handler — exactly-once effects in the user's own PostgreSQL database.
//
// Per message it runs, in ONE transaction of the user's database:
//   BEGIN ISOLATION LEVEL <isolation>; SET LOCAL statement_timeout = <statement_timeout>;
//   INSERT INTO hadr_inbox (message_id, region, epoch, source_region, lsn)
//     VALUES (...) ON CONFLICT (message_id) DO NOTHING;        -- the done mark, first
//   <the configured statements, in order, with the message's fields bound as parameters>;
//   COMMIT;
// If the inbox insert finds the message id already there (a second apply: a redelivery after a
// lost mark, a replay, the other region), the transaction is rolled back before any of the
// user's statements runs, and the message is reported done ("already applied"): the inbox row
// is the truth that the effect ran, the dedupe store's claim stays the fast pre-check and the
// fence. The insert comes first so that two concurrent applies of one id serialize on its
// primary key: the second waits for the first and then sees its row (or, if the first rolled
// back, applies). A COMMIT whose answer is lost (connection dropped) is settled the same way by
// the next attempt. Inbox rows are never deleted by hadr (docs/handlers.md#the-inbox-table).
//
// Parameters: each statement lists what its $1, $2, ... are bound to (never spliced into SQL):
//   $message_id, $region (the applying region), $source_region, $epoch (the claim's), $lsn,
//   $body (text), $body:text, $body:bytea (raw bytes, binary), $body:jsonb (text, typed jsonb),
//   $body.<path> (a field of the JSON body, keys and array indexes separated by '.': a string
//   binds its text, null or absent binds NULL, anything else its JSON text),
//   $property.<name> (an application property; absent binds NULL).
//
// Verdicts (roles/handler.h; the worker marks the claim done after kDone):
//   kDone        committed, or already in the inbox (marked_done = false: the worker marks);
//   kReject      the statements or the data are wrong — SQLSTATE class 21, 22, 23, 42, 44, P0,
//                or a $body.<path> on a body that is not JSON: dead-letter now, the SQLSTATE in
//                the reason;
//   kRetryLater  connection lost (class 08, 57P01.., reconnect), serialization failure 40001 or
//                deadlock 40P01: retried here up to attempts_max times while the message stays
//                claimed (keep_alive between attempts), then released for a later delivery;
//                statement_timeout / cancel (57014): released at once (the next delivery tries);
//   kFailed      anything else (e.g. the connection cannot be opened or re-prepared): released.
// Start-up (create): connects, creates hadr_inbox if missing, PREPAREs every statement and
// checks its parameter count; a statement that does not parse or takes a different number of
// parameters is refused, naming handler.sql_statements[i]. Secrets never appear in errors.
//
// Ownership: owns its connection. Thread-safety: one instance per worker thread (handler.h).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/result.h"
#include "handlers/sql_statement.h"
#include "postgres/pg_connection.h"
#include "roles/handler.h"

namespace hadr {

// The transaction's body in place of configured statements (the C++ handler API, src/api): runs
// on the open transaction right after the inbox insert. A result with kDone commits; kRetryLater,
// kFailed or kReject roll back with that verdict; an Error (a failed statement's) rolls back and
// is classified as a statement's error is.
using SqlTransactionBody = std::function<Result<HandlerResult>(const HandlerInput&, postgres::PgConnection&)>;

struct SqlOptions {
  postgres::PgConnectionOptions connection;  // the password already resolved
  std::vector<SqlStatementConfig> statements;  // empty only with a body
  SqlTransactionBody body;                     // set: runs instead of statements
  Milliseconds statement_timeout{2'000};
  std::uint32_t attempts_max = 3;
  std::string isolation = "read committed";  // "read committed" | "repeatable read" | "serializable"
};

class SqlHandler final : public Handler {
 public:
  static constexpr const char* kInboxTable = "hadr_inbox";

  static Result<std::unique_ptr<SqlHandler>> create(SqlOptions options, RegionId region);

  std::string_view kind() const override { return "sql"; }
  HandlerResult handle(const HandlerInput& input) override;

 private:
  struct Statement {
    std::string name;  // the prepared statement's name
    std::vector<SqlParameterSource> sources;
    std::vector<unsigned> types;
  };

  SqlHandler(SqlOptions options, RegionId region, std::vector<Statement> statements);

  Status connect();
  Result<std::vector<std::vector<postgres::PgParameter>>> bind(const HandlerInput& input) const;
  Result<HandlerResult> apply_once(const HandlerInput& input, const std::vector<std::vector<postgres::PgParameter>>& bound);
  Error rolled_back(Error error);

  const SqlOptions options_;
  const RegionId region_;
  const std::vector<Statement> statements_;
  std::unique_ptr<postgres::PgConnection> connection_;  // null: reconnect before the next attempt
};

}  // namespace hadr
