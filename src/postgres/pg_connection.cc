#include "postgres/pg_connection.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>

#include "core/assert.h"

namespace hadr::postgres {

namespace {

constexpr std::size_t kErrorTextBytesMax = 400;

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.size() > kErrorTextBytesMax) text = text.substr(0, kErrorTextBytesMax) + "...";
  return text;
}

std::string seconds_text(Milliseconds timeout) {
  const auto seconds = std::max<std::int64_t>(2, (timeout.count() + 999) / 1000);
  return std::to_string(seconds);
}

struct ParameterArrays {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
};

ParameterArrays arrays_of(std::span<const PgParameter> parameters) {
  ParameterArrays arrays;
  for (const PgParameter& parameter : parameters) {
    arrays.values.push_back(parameter.value ? parameter.value->data() : nullptr);
    arrays.lengths.push_back(parameter.value ? static_cast<int>(parameter.value->size()) : 0);
    arrays.formats.push_back(parameter.binary ? 1 : 0);
  }
  return arrays;
}

}  // namespace

ErrorCode error_code_for_sqlstate(std::string_view sqlstate) {
  if (sqlstate.size() != 5) return ErrorCode::kInternal;
  if (sqlstate == "40001" || sqlstate == "40P01") return ErrorCode::kAborted;
  if (sqlstate == "57014") return ErrorCode::kDeadlineExceeded;
  if (sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03") return ErrorCode::kUnavailable;
  const std::string_view error_class = sqlstate.substr(0, 2);
  if (error_class == "08" || error_class == "53" || error_class == "58") return ErrorCode::kUnavailable;
  if (error_class == "21" || error_class == "22" || error_class == "23" || error_class == "42" ||
      error_class == "44" || error_class == "P0") {
    return ErrorCode::kInvalidArgument;
  }
  return ErrorCode::kInternal;
}

std::string scrub_secret(std::string text, const Secret& secret) {
  if (secret.empty()) return text;
  const std::string& value = secret.reveal();
  for (std::size_t at = text.find(value); at != std::string::npos; at = text.find(value, at + 3)) {
    text.replace(at, value.size(), "***");
  }
  return text;
}

Status validate_connection_options(const PgConnectionOptions& options) {
  if (options.url.empty()) {
    return invalid_argument("postgres url: is empty; write e.g. postgresql://app@db.example:5432/payments");
  }
  static constexpr std::string_view kModes[] = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"};
  if (!options.sslmode.empty() && std::find(std::begin(kModes), std::end(kModes), options.sslmode) == std::end(kModes)) {
    return invalid_argument("postgres sslmode: '" + options.sslmode +
                            "' is unknown; use disable, allow, prefer, require, verify-ca or verify-full");
  }
  if (options.connect_timeout <= Milliseconds(0) || options.connect_timeout > Milliseconds(600'000)) {
    return invalid_argument("postgres connect_timeout: out of range; use 1 ms .. 10 min");
  }
  return ok_status();
}

PgResult::PgResult(pg_result* result) : result_(result) { HADR_ASSERT(result_ != nullptr); }
PgResult::~PgResult() {
  if (result_ != nullptr) PQclear(result_);
}
PgResult::PgResult(PgResult&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
int PgResult::rows() const { return PQntuples(result_); }
int PgResult::columns() const { return PQnfields(result_); }
bool PgResult::is_null(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
std::string PgResult::value(int row, int column) const {
  HADR_ASSERT(row >= 0 && row < rows() && column >= 0 && column < columns());
  return std::string(PQgetvalue(result_, row, column), static_cast<std::size_t>(PQgetlength(result_, row, column)));
}
std::uint64_t PgResult::affected_rows() const {
  const char* text = PQcmdTuples(result_);
  return text == nullptr || *text == '\0' ? 0 : std::strtoull(text, nullptr, 10);
}

Result<std::unique_ptr<PgConnection>> PgConnection::open(const PgConnectionOptions& options) {
  HADR_TRY(validate_connection_options(options));
  const std::string connect_timeout = seconds_text(options.connect_timeout);
  const std::string user_timeout = std::to_string(options.tcp_user_timeout.count());
  // dbname first with expand_dbname = 1: the URL expands in its place, and the keywords after
  // it override what it says.
  std::vector<const char*> keywords = {"dbname", "connect_timeout", "keepalives", "keepalives_idle",
                                       "keepalives_interval", "keepalives_count", "tcp_user_timeout",
                                       "application_name"};
  std::vector<const char*> values = {options.url.c_str(), connect_timeout.c_str(), "1", "5", "2", "3",
                                     user_timeout.c_str(), options.application_name.c_str()};
  if (!options.password.empty()) {
    keywords.push_back("password");
    values.push_back(options.password.reveal().c_str());
  }
  if (!options.sslmode.empty()) {
    keywords.push_back("sslmode");
    values.push_back(options.sslmode.c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  pg_conn* connection = PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1);
  if (connection == nullptr) return resource_exhausted("postgres: libpq could not allocate a connection");
  if (PQstatus(connection) != CONNECTION_OK) {
    // Which URL is not said: it may hold a password. libpq's message names host and port.
    std::string message = scrub_secret(trimmed(PQerrorMessage(connection)), options.password);
    PQfinish(connection);
    const bool bad_option = message.find("invalid") != std::string::npos && message.find("option") != std::string::npos;
    if (bad_option) return invalid_argument("postgres: cannot connect: " + message);
    return unavailable("postgres: cannot connect: " + message);
  }
  return std::unique_ptr<PgConnection>(new PgConnection(connection, options.password));
}

PgConnection::PgConnection(pg_conn* connection, Secret password)
    : connection_(connection), password_(std::move(password)) {}

PgConnection::~PgConnection() { PQfinish(connection_); }

bool PgConnection::healthy() const { return PQstatus(connection_) == CONNECTION_OK; }

int PgConnection::backend_pid() const { return PQbackendPID(connection_); }

Result<PgResult> PgConnection::finish(pg_result* result, std::string_view what) {
  const ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return PgResult(result);
  // Copied before PQclear: the fields point into the result.
  const char* state_field = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* primary = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  const std::string state = state_field != nullptr ? std::string(state_field) : std::string();
  std::string message = primary != nullptr ? std::string(primary) : std::string(PQerrorMessage(connection_));
  if (result != nullptr) PQclear(result);
  message = scrub_secret(trimmed(std::move(message)), password_);
  if (!healthy()) {
    return unavailable("postgres: " + std::string(what) + ": connection lost (SQLSTATE " +
                       (state.empty() ? std::string("none") : state) + "): " + message);
  }
  if (state.empty()) return internal_error("postgres: " + std::string(what) + ": " + message);
  return Error{error_code_for_sqlstate(state), "SQLSTATE " + state + ": " + message};
}

Result<PgResult> PgConnection::execute(std::string_view sql) {
  const std::string text(sql);
  return finish(PQexec(connection_, text.c_str()), "execute");
}

Result<PgResult> PgConnection::execute(std::string_view sql, std::span<const PgParameter> parameters) {
  HADR_ASSERT(parameters.size() <= kParametersMax);
  const std::string text(sql);
  const ParameterArrays arrays = arrays_of(parameters);
  return finish(PQexecParams(connection_, text.c_str(), static_cast<int>(parameters.size()), nullptr,
                             arrays.values.data(), arrays.lengths.data(), arrays.formats.data(), 0),
                "execute");
}

Result<int> PgConnection::prepare(const std::string& name, std::string_view sql,
                                  std::span<const unsigned> parameter_types) {
  HADR_ASSERT(parameter_types.size() <= kParametersMax);
  const std::string text(sql);
  HADR_ASSIGN_OR_RETURN(PgResult prepared,
                        finish(PQprepare(connection_, name.c_str(), text.c_str(),
                                         static_cast<int>(parameter_types.size()), parameter_types.data()),
                               "prepare"));
  (void)prepared;
  pg_result* described = PQdescribePrepared(connection_, name.c_str());
  HADR_ASSIGN_OR_RETURN(PgResult description, finish(described, "describe"));
  (void)description;
  return PQnparams(described);
}

Result<PgResult> PgConnection::execute_prepared(const std::string& name, std::span<const PgParameter> parameters) {
  HADR_ASSERT(parameters.size() <= kParametersMax);
  const ParameterArrays arrays = arrays_of(parameters);
  return finish(PQexecPrepared(connection_, name.c_str(), static_cast<int>(parameters.size()), arrays.values.data(),
                               arrays.lengths.data(), arrays.formats.data(), 0),
                "execute");
}

}  // namespace hadr::postgres
