// The statements of the `sql` handler as configured ([[handler.sql_statements]]) and the
// parameter references they bind — what the config layer needs without the handler itself
// (handlers/sql_handler.h). Thread-safety: values and pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace hadr {

struct SqlStatementConfig {
  std::string sql;                       // positional $1..$n, as PostgreSQL's PREPARE takes them
  std::vector<std::string> parameters;   // what $1..$n bind to ("$message_id", "$body.amount", ...)
};

// One resolved parameter reference (the list in handlers/sql_handler.h).
struct SqlParameterSource {
  enum class Kind { kMessageId, kRegion, kSourceRegion, kEpoch, kLsn, kBodyText, kBodyBytea, kBodyJsonb, kBodyField, kProperty };
  Kind kind = Kind::kMessageId;
  std::vector<std::string> path;  // kBodyField: the keys; kProperty: the one name
};

inline constexpr std::size_t kSqlStatementsMax = 16;
inline constexpr std::size_t kSqlStatementBytesMax = 64 * 1024;
inline constexpr std::size_t kSqlParametersMax = 32;

// kInvalidArgument naming the reference and the accepted forms.
Result<SqlParameterSource> parse_sql_parameter(std::string_view text);
// Checks counts, sizes and every parameter reference; errors name "handler.sql_statements[i]".
// No statements is valid here: a program using the C++ handler API (include/hadr/handler.h)
// brings its own transaction body; SqlHandler::create refuses none without one.
Status validate_sql_statements(const std::vector<SqlStatementConfig>& statements);

// The sql handler's connect timeout (the config's keep-alive check counts it in an attempt);
// libpq's smallest.
inline constexpr Milliseconds kSqlConnectTimeout{2'000};

}  // namespace hadr
