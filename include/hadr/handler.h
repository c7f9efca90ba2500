// hadr's C++ handler API: a program supplies the function that applies each message, and hadr
// runs the region (source → WAL → relay → staging → promoter → bus → workers, from the region's
// TOML config) with that function as the workers' handler. Link the `hadr_api` library.
//
// Two kinds of handler, as in docs/handlers.md:
//   - TransactionalHandler: exactly once in the user's PostgreSQL. The config's [handler] is
//     kind = "sql" (sql_url, password, sslmode, statement_timeout, isolation — no statements);
//     per message hadr opens a transaction, inserts the message's hadr_inbox row first, calls
//     the function with that transaction, and commits when it returns done(). A message already
//     in the inbox is never passed to the function (the effect ran: it counts as done). When a
//     statement fails, the transaction is rolled back whatever the function returns, and the
//     failure's SQLSTATE decides: a constraint or data error dead-letters the message; a lost
//     connection, a serialization failure or a deadlock reruns the function in a new
//     transaction (the message stays claimed) — so the function must have no effect outside
//     the transaction.
//   - PlainHandler: any other effect, at least once (a crash between the effect and hadr's
//     done mark repeats it); make the effect idempotent on message.id.
// Outcomes: done(); retry_later(reason) (released, redelivered later, dead-lettered past the
// bus's max deliveries); reject(reason) (dead-lettered now).
//
// The function runs on a worker thread, one call at a time per worker (`workers.count` workers
// may call it concurrently); it must not throw and must not keep the Transaction after it
// returns. Only standard C++ types appear here, so a program needs no other hadr header.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hadr::api {

struct Message {
  std::string id;             // stable message id (the dedupe and inbox key)
  std::string body;
  std::string source_region;  // the region whose WAL holds it
  std::uint64_t lsn = 0;      // its position there
  std::uint64_t epoch = 0;    // the fencing epoch of this worker's claim
  std::uint32_t delivery_count = 0;
  std::vector<std::pair<std::string, std::string>> properties;

  // The first property named `name`, or nullptr.
  const std::string* property(std::string_view name) const;
};

enum class Outcome { kDone, kRetryLater, kReject };

struct HandlerOutcome {
  Outcome outcome = Outcome::kDone;
  std::string reason;  // for kRetryLater and kReject: shown in logs and dead-letter reasons

  static HandlerOutcome done() { return {Outcome::kDone, {}}; }
  static HandlerOutcome retry_later(std::string reason) { return {Outcome::kRetryLater, std::move(reason)}; }
  static HandlerOutcome reject(std::string reason) { return {Outcome::kReject, std::move(reason)}; }
};

// A statement parameter in its text form; std::nullopt is SQL NULL.
using Parameter = std::optional<std::string>;

struct Rows {
  std::vector<std::vector<std::optional<std::string>>> values;  // rows × columns, text form, NULL = nullopt
  std::uint64_t affected_rows = 0;                               // INSERT / UPDATE / DELETE
};

// The message's transaction on the user's PostgreSQL (hadr_inbox row already inserted).
class Transaction {
 public:
  virtual ~Transaction() = default;
  // Runs one statement with $1..$n bound to `parameters` (never spliced into the SQL). nullopt
  // when it failed: the transaction is then failed and later calls fail too; error() says why.
  virtual std::optional<Rows> execute(std::string_view sql, const std::vector<Parameter>& parameters = {}) = 0;
  // The first failure ("SQLSTATE 23505: duplicate key value ..."), or "" while none.
  virtual const std::string& error() const = 0;
};

using TransactionalHandler = std::function<HandlerOutcome(const Message&, Transaction&)>;
using PlainHandler = std::function<HandlerOutcome(const Message&)>;

struct RunOptions {
  std::string config_path;  // the region's TOML config
  // Which roles this process runs (the others run in other processes, e.g. `hadr relay`).
  bool relay = true;
  bool promoter = true;
  bool workers = true;
  std::string process_name = "app";  // names the stats file and the workers' owners
  // Asked between steps; true stops and drains, as SIGTERM and SIGINT do. Empty: signals only.
  std::function<bool()> should_stop;
};

// Runs until a stop (SIGTERM, SIGINT or should_stop) and returns 0 after a clean drain, or 1
// with the error on stderr (a bad config, a database that cannot be reached, a failed role).
int run_worker(const RunOptions& options, TransactionalHandler handler);
int run_worker(const RunOptions& options, PlainHandler handler);
// run_worker({.config_path = config_path}, handler).
int run_worker(const std::string& config_path, TransactionalHandler handler);
int run_worker(const std::string& config_path, PlainHandler handler);

}  // namespace hadr::api
