// SqliteConnection and SqliteQuery: the one RAII wrapper around sqlite3 and sqlite3_stmt that
// every embedded store shares (lease, dedupe, bus, source, coord).
//
//   - open() sets the journal to WAL (readers never block the writer), a busy timeout (a writer
//     waits that long for another connection — thread or process — that holds the write lock,
//     then gets kUnavailable), and synchronous=FULL when the store promises durability (a
//     commit is on disk when it returns: one fsync of the WAL per commit);
//   - query(sql) hands out a cached prepared statement as a SqliteQuery, which resets the
//     statement and clears its bindings when it goes out of scope, so no statement keeps a
//     read snapshot open by accident;
//   - transaction(kWrite, body) runs body between BEGIN IMMEDIATE and COMMIT (ROLLBACK when
//     body fails): the write lock is taken before the first read, so a read-modify-write is
//     atomic across connections and processes and never fails half-way with SQLITE_BUSY;
//   - errors are mapped once, by how the caller reacts: busy/locked → kUnavailable (retry),
//     corrupt/not a database/I/O error → kDataLoss (alert; the detail names the file), disk
//     full → kResourceExhausted, cannot open/read-only → kFailedPrecondition, else kInternal.
//
// Ownership: owns the sqlite3 handle and every cached statement; a SqliteQuery borrows its
// statement and must not outlive the connection.
// Thread-safety: NOT thread-safe. A store owns one connection and serializes calls to it with
// a mutex; separate connections (threads, processes) coordinate through SQLite's file locks.
// A connection must not be used in a child after fork(): open a new one there.
// Invariants: at most one SqliteQuery per distinct SQL text is alive at a time; transactions
// do not nest.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace hadr {

struct SqliteOptions {
  // How long a write waits for the write lock held by another connection before kUnavailable.
  Milliseconds busy_timeout{5000};
  // true: synchronous=FULL (a commit is durable when it returns). false: NORMAL (a power loss
  // may lose the last commits) — only for data that may be lost.
  bool durable_commits = true;
  // The boot this process runs in, for the stores' clock (store_clock.h). Empty: the host's
  // (/proc/sys/kernel/random/boot_id); tests set one to play a reboot.
  std::string boot_id;
};

class SqliteConnection;

// One use of a cached prepared statement. Bind with 1-based indices, then step with
// next_row() (queries) or run() (statements without rows). Move-only.
class SqliteQuery {
 public:
  SqliteQuery(SqliteQuery&& other) noexcept;
  SqliteQuery& operator=(SqliteQuery&&) = delete;
  SqliteQuery(const SqliteQuery&) = delete;
  SqliteQuery& operator=(const SqliteQuery&) = delete;
  ~SqliteQuery();

  SqliteQuery& bind(int index, std::int64_t value);
  SqliteQuery& bind_text(int index, std::string_view value);
  // Bytes stored as a BLOB: for bodies, encoded properties and free text that may not be UTF-8.
  SqliteQuery& bind_blob(int index, std::string_view value);
  SqliteQuery& bind_null(int index);

  // Steps once: true when a row is ready, false when the statement is done.
  Result<bool> next_row();
  // Steps to completion; the statement must not return rows.
  Status run();

  std::int64_t column_int64(int column) const;
  std::string column_text(int column) const;
  std::string column_blob(int column) const;
  bool column_is_null(int column) const;

 private:
  friend class SqliteConnection;
  SqliteQuery(SqliteConnection* connection, sqlite3_stmt* statement, bool* in_use);

  SqliteConnection* connection_;
  sqlite3_stmt* statement_;
  bool* in_use_;
};

class SqliteConnection {
 public:
  enum class TransactionMode {
    kRead,   // BEGIN DEFERRED: one consistent snapshot for several reads
    kWrite,  // BEGIN IMMEDIATE: takes the write lock first (read-modify-write)
  };

  // Opens (creating if missing) the database at `path`. A file that is not a SQLite database
  // or is corrupt gives kDataLoss naming the path.
  static Result<std::unique_ptr<SqliteConnection>> open(const std::string& path, const SqliteOptions& options);

  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;
  ~SqliteConnection();

  const std::string& path() const { return path_; }

  // The cached prepared statement for `sql` (prepared on first use), ready to bind.
  Result<SqliteQuery> query(std::string_view sql);
  // Runs SQL without parameters or results (schema, pragmas); may hold several statements.
  Status execute(std::string_view sql);
  // Runs `body` in a transaction: COMMIT when it returns ok, ROLLBACK when it fails (its error
  // is returned). `body` must not begin or end transactions itself.
  Status transaction(TransactionMode mode, const std::function<Status()>& body);
  bool in_transaction() const;
  // Rows changed by the last INSERT, UPDATE or DELETE.
  std::int64_t changes() const;

  // Turns a SQLite result code into an Error that names this database and `operation`.
  Error error(int code, std::string_view operation) const;

 private:
  std::unique_ptr<struct BusyWait> busy_wait_;  // the busy handler's state (sqlite_connection.cc)
  struct CachedStatement {
    sqlite3_stmt* statement = nullptr;
    bool in_use = false;
  };

  SqliteConnection(sqlite3* handle, std::string path, const SqliteOptions& options);
  Status configure();
  Status run_statement(std::string_view sql);

  sqlite3* handle_;
  std::string path_;
  SqliteOptions options_;
  std::unordered_map<std::string, CachedStatement> statements_;
};

}  // namespace hadr
