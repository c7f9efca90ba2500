#include "embedded/sqlite_connection.h"

#include <chrono>
#include <thread>

#include <sqlite3.h>

#include <utility>

namespace hadr {
namespace {

// The SQL a store writes is a fixed set of literals; more distinct statements than this means
// SQL is being built at run time, which the cache was not made for.
constexpr std::size_t kMaxCachedStatements = 128;

}  // namespace

// ---- SqliteQuery ----

SqliteQuery::SqliteQuery(SqliteConnection* connection, sqlite3_stmt* statement, bool* in_use)
    : connection_(connection), statement_(statement), in_use_(in_use) {
  HADR_ASSERT(statement_ != nullptr);
  HADR_ASSERT_MSG(!*in_use_, "a statement is used twice at once: %s", sqlite3_sql(statement_));
  *in_use_ = true;
}

SqliteQuery::SqliteQuery(SqliteQuery&& other) noexcept
    : connection_(other.connection_), statement_(std::exchange(other.statement_, nullptr)), in_use_(other.in_use_) {}

SqliteQuery::~SqliteQuery() {
  if (statement_ == nullptr) return;
  // Resetting ends the statement's read of the database, so an idle query never pins a
  // snapshot (which would block WAL checkpoints and keep an autocommit read open).
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
  *in_use_ = false;
}

SqliteQuery& SqliteQuery::bind(int index, std::int64_t value) {
  const int code = sqlite3_bind_int64(statement_, index, value);
  HADR_ASSERT_MSG(code == SQLITE_OK, "bind %d of %s: %s", index, sqlite3_sql(statement_), sqlite3_errstr(code));
  return *this;
}

SqliteQuery& SqliteQuery::bind_text(int index, std::string_view value) {
  const int code =
      sqlite3_bind_text64(statement_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  HADR_ASSERT_MSG(code == SQLITE_OK, "bind %d of %s: %s", index, sqlite3_sql(statement_), sqlite3_errstr(code));
  return *this;
}

SqliteQuery& SqliteQuery::bind_blob(int index, std::string_view value) {
  // A zero-length blob must still be a BLOB, not NULL: pass a non-null pointer.
  const char* data = value.empty() ? "" : value.data();
  const int code = sqlite3_bind_blob64(statement_, index, data, value.size(), SQLITE_TRANSIENT);
  HADR_ASSERT_MSG(code == SQLITE_OK, "bind %d of %s: %s", index, sqlite3_sql(statement_), sqlite3_errstr(code));
  return *this;
}

SqliteQuery& SqliteQuery::bind_null(int index) {
  const int code = sqlite3_bind_null(statement_, index);
  HADR_ASSERT_MSG(code == SQLITE_OK, "bind %d of %s: %s", index, sqlite3_sql(statement_), sqlite3_errstr(code));
  return *this;
}

Result<bool> SqliteQuery::next_row() {
  HADR_ASSERT(statement_ != nullptr);
  const int code = sqlite3_step(statement_);
  if (code == SQLITE_ROW) return true;
  if (code == SQLITE_DONE) return false;
  return connection_->error(code, sqlite3_sql(statement_));
}

Status SqliteQuery::run() {
  HADR_ASSIGN_OR_RETURN(const bool has_row, next_row());
  HADR_ASSERT_MSG(!has_row, "run() on a statement that returns rows: %s", sqlite3_sql(statement_));
  return ok_status();
}

std::int64_t SqliteQuery::column_int64(int column) const { return sqlite3_column_int64(statement_, column); }

std::string SqliteQuery::column_text(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
  if (text == nullptr) return {};
  return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)));
}

std::string SqliteQuery::column_blob(int column) const {
  const auto* data = static_cast<const char*>(sqlite3_column_blob(statement_, column));
  if (data == nullptr) return {};
  return std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)));
}

bool SqliteQuery::column_is_null(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }

// ---- SqliteConnection ----

// SQLite's own busy handler sleeps 1, 2, 5, 10 ... 100 ms between attempts: under steady
// contention between processes (promoter, workers and relay share the bus and dedupe files) a
// waiter sleeps through many short commits and writers starve for tens of ms. This one polls
// at 50 us doubling to 1 ms, so a waiter gets the lock within about a millisecond of its release,
// up to the same busy_timeout. (An adapter: it may sleep; role logic never does.)
struct BusyWait {
  std::chrono::steady_clock::time_point started;
  Milliseconds timeout{0};
};

namespace {

int poll_busy_handler(void* context, int attempts) {
  auto* wait = static_cast<BusyWait*>(context);
  const auto now = std::chrono::steady_clock::now();
  if (attempts == 0) wait->started = now;
  if (now - wait->started >= wait->timeout) return 0;  // give up: SQLITE_BUSY -> kUnavailable
  const auto pause = std::chrono::microseconds(50 << std::min(attempts, 4));
  std::this_thread::sleep_for(pause);
  return 1;
}

}  // namespace

Result<std::unique_ptr<SqliteConnection>> SqliteConnection::open(const std::string& path,
                                                                 const SqliteOptions& options) {
  HADR_ASSERT(!path.empty());
  HADR_ASSERT(options.busy_timeout.count() >= 0);
  sqlite3* handle = nullptr;
  // NOMUTEX: the owning store serializes calls; SQLite's own mutex would only add cost.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int code = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
  if (handle == nullptr) return resource_exhausted("sqlite " + path + ": out of memory opening the database");
  std::unique_ptr<SqliteConnection> connection(new SqliteConnection(handle, path, options));
  if (code != SQLITE_OK) return connection->error(code, "open");
  HADR_TRY(connection->configure());
  return connection;
}

SqliteConnection::SqliteConnection(sqlite3* handle, std::string path, const SqliteOptions& options)
    : handle_(handle), path_(std::move(path)), options_(options) {}

SqliteConnection::~SqliteConnection() {
  for (auto& [sql, cached] : statements_) {
    HADR_ASSERT_MSG(!cached.in_use, "a query outlives its connection: %s", sql.c_str());
    sqlite3_finalize(cached.statement);
  }
  sqlite3_close(handle_);
}

Status SqliteConnection::configure() {
  sqlite3_extended_result_codes(handle_, 1);
  busy_wait_ = std::make_unique<BusyWait>();
  busy_wait_->timeout = options_.busy_timeout;
  sqlite3_busy_handler(handle_, poll_busy_handler, busy_wait_.get());
  // The first statement reads the file header: a corrupt file or another kind of file fails here.
  std::string mode;
  {
    HADR_ASSIGN_OR_RETURN(auto journal, query("PRAGMA journal_mode=WAL"));
    HADR_ASSIGN_OR_RETURN(const bool has_row, journal.next_row());
    if (has_row) mode = journal.column_text(0);
  }
  if (mode != "wal") {
    return failed_precondition("sqlite " + path_ + ": journal mode is '" + mode +
                               "', not 'wal'; put the database on a local file system that supports WAL");
  }
  return execute(options_.durable_commits ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
}

Result<SqliteQuery> SqliteConnection::query(std::string_view sql) {
  auto found = statements_.find(std::string(sql));
  if (found == statements_.end()) {
    HADR_ASSERT_MSG(statements_.size() < kMaxCachedStatements, "too many distinct statements on %s", path_.c_str());
    sqlite3_stmt* statement = nullptr;
    const int code = sqlite3_prepare_v3(handle_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                        &statement, nullptr);
    if (code != SQLITE_OK) {
      sqlite3_finalize(statement);
      return error(code, "prepare " + std::string(sql));
    }
    found = statements_.emplace(std::string(sql), CachedStatement{statement, false}).first;
  }
  return SqliteQuery(this, found->second.statement, &found->second.in_use);
}

Status SqliteConnection::execute(std::string_view sql) {
  const std::string text(sql);
  const int code = sqlite3_exec(handle_, text.c_str(), nullptr, nullptr, nullptr);
  if (code != SQLITE_OK) return error(code, text);
  return ok_status();
}

Status SqliteConnection::run_statement(std::string_view sql) {
  HADR_ASSIGN_OR_RETURN(auto statement, query(sql));
  return statement.run();
}

Status SqliteConnection::transaction(TransactionMode mode, const std::function<Status()>& body) {
  HADR_ASSERT_MSG(!in_transaction(), "nested transaction on %s", path_.c_str());
  HADR_TRY(run_statement(mode == TransactionMode::kWrite ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED"));
  Status status = body();
  if (status.ok()) status = run_statement("COMMIT");
  // After a failed body, or a COMMIT that failed (SQLite may or may not have rolled back
  // already), make sure nothing of this transaction remains.
  if (!status.ok() && in_transaction()) (void)run_statement("ROLLBACK");
  HADR_ASSERT(!in_transaction());
  return status;
}

bool SqliteConnection::in_transaction() const { return sqlite3_get_autocommit(handle_) == 0; }

std::int64_t SqliteConnection::changes() const { return sqlite3_changes64(handle_); }

Error SqliteConnection::error(int code, std::string_view operation) const {
  const char* message = handle_ != nullptr ? sqlite3_errmsg(handle_) : sqlite3_errstr(code);
  std::string detail = "sqlite " + path_ + ": " + std::string(operation) + ": " + message;
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return unavailable(detail + " (another connection held the lock for longer than the busy timeout of " +
                         std::to_string(options_.busy_timeout.count()) + " ms; retry)");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return data_loss(detail + " (the file is corrupt or not a SQLite database; move it away and restore it "
                                "from a backup)");
    case SQLITE_IOERR:
      return data_loss(detail + " (an I/O error: the state on disk is unknown; check the disk)");
    case SQLITE_FULL: return resource_exhausted(detail + " (the disk is full; free space)");
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return failed_precondition(detail + " (check that the directory exists and is writable)");
    case SQLITE_NOMEM: return resource_exhausted(detail);
    default: return internal_error(detail);
  }
}

}  // namespace hadr
