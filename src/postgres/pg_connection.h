// PgConnection: one blocking libpq connection to PostgreSQL, for the `sql` handler
// (handlers/sql_handler.h) and the tests. A thin wrapper: it opens the connection, runs plain,
// parameterized and prepared statements, and turns every failure into an Error whose code says
// how the caller reacts (below). Values are always bound as libpq parameters, never spliced
// into SQL text.
//
// Error codes (by SQLSTATE, https://www.postgresql.org/docs/15/errcodes-appendix.html):
//   kUnavailable        the connection is gone or the server cannot serve (class 08, 53, 58,
//                       57P01..57P03 — e.g. pg_terminate_backend): reconnect and retry;
//   kAborted            serialization failure 40001, deadlock 40P01: the transaction was
//                       rolled back, retry it;
//   kDeadlineExceeded   57014: statement_timeout fired or the query was cancelled;
//   kInvalidArgument    the statement or the data is wrong (class 21, 22, 23, 42, 44, P0): it
//                       can never succeed as written;
//   kInternal           anything else.
// The detail reads "SQLSTATE 23505: <the server's primary message>"; it never holds the
// password (options.password is passed to libpq as a separate keyword, and any echo of it is
// replaced by "***") nor the server's DETAIL field (which may quote row values).
//
// Timeouts: connect_timeout bounds the connect; TCP keepalives and tcp_user_timeout bound how
// long a call blocks on a dead peer; statement_timeout (set per transaction by the caller)
// bounds a running statement on the server.
// Ownership: owns the PGconn. Thread-safety: not thread-safe; one owner thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "core/secret.h"

struct pg_conn;
struct pg_result;

namespace hadr::postgres {

struct PgConnectionOptions {
  // A libpq connection URI or key=value string ("postgresql://app@db.example:5432/payments").
  // A password inside it is allowed but discouraged; errors never show it.
  std::string url;
  Secret password;             // sent as libpq's `password` keyword; empty: none (or the URL's)
  std::string sslmode;         // libpq sslmode (disable, prefer, require, verify-ca, verify-full); empty: libpq's default
  Milliseconds connect_timeout{5'000};  // rounded up to whole seconds, at least 2 (libpq's rule)
  Milliseconds tcp_user_timeout{10'000};  // unacknowledged data on a dead peer fails the call after this
  std::string application_name = "hadr";
};

// Validates the option values that libpq would otherwise reject late ("sslmode: 'x' is not ...").
Status validate_connection_options(const PgConnectionOptions& options);

// Object ids of the parameter types the sql handler declares (pg_type.oid).
inline constexpr unsigned kUnspecifiedType = 0;  // the server infers the type from the statement
inline constexpr unsigned kByteaType = 17;
inline constexpr unsigned kTextType = 25;
inline constexpr unsigned kJsonbType = 3802;

struct PgParameter {
  std::optional<std::string> value;  // nullopt: SQL NULL
  bool binary = false;               // true: raw bytes (bytea); false: the type's text form
};

// The result of a successful statement. Ownership: owns the PGresult.
class PgResult {
 public:
  explicit PgResult(pg_result* result);
  ~PgResult();
  PgResult(PgResult&& other) noexcept;
  PgResult& operator=(PgResult&&) = delete;
  PgResult(const PgResult&) = delete;

  int rows() const;
  int columns() const;
  bool is_null(int row, int column) const;
  std::string value(int row, int column) const;  // text form; "" for NULL
  std::uint64_t affected_rows() const;           // INSERT/UPDATE/DELETE count; 0 for others

 private:
  pg_result* result_;
};

class PgConnection {
 public:
  static constexpr std::size_t kParametersMax = 64;

  static Result<std::unique_ptr<PgConnection>> open(const PgConnectionOptions& options);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // False once the connection is known to be broken; open a new one.
  bool healthy() const;
  int backend_pid() const;

  // One statement (or several separated by ';', without parameters).
  Result<PgResult> execute(std::string_view sql);
  Result<PgResult> execute(std::string_view sql, std::span<const PgParameter> parameters);
  // PREPARE name with the declared parameter types (kUnspecifiedType: inferred). Returns the
  // number of parameters the statement takes.
  Result<int> prepare(const std::string& name, std::string_view sql, std::span<const unsigned> parameter_types);
  Result<PgResult> execute_prepared(const std::string& name, std::span<const PgParameter> parameters);

 private:
  PgConnection(pg_conn* connection, Secret password);
  Result<PgResult> finish(pg_result* result, std::string_view what);

  pg_conn* connection_;
  const Secret password_;  // only to scrub it from error texts
};

// Replaces every occurrence of `secret` in `text` by "***" (no-op for an empty secret).
std::string scrub_secret(std::string text, const Secret& secret);

// The ErrorCode for a SQLSTATE (above). An empty or unknown state gives kInternal.
ErrorCode error_code_for_sqlstate(std::string_view sqlstate);

}  // namespace hadr::postgres
