#include "handlers/sql_handler.h"

#include <nlohmann/json.hpp>

#include "core/assert.h"

namespace hadr {

namespace {

using postgres::PgConnection;
using postgres::PgParameter;
using Kind = SqlParameterSource::Kind;

constexpr std::size_t kPathSegmentsMax = 16;
constexpr const char* kParameterForms =
    "use $message_id, $region, $source_region, $epoch, $lsn, $body, $body:text, $body:bytea, $body:jsonb, "
    "$body.<field>[.<field>...] or $property.<name>";

std::vector<std::string> split_path(std::string_view text) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = text.find('.', start);
    segments.emplace_back(text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return segments;
    start = dot + 1;
  }
}

std::string statement_key(std::size_t index) { return "handler.sql_statements[" + std::to_string(index) + "]"; }

unsigned type_of(Kind kind) {
  if (kind == Kind::kBodyBytea) return postgres::kByteaType;
  if (kind == Kind::kBodyJsonb) return postgres::kJsonbType;
  return postgres::kUnspecifiedType;  // the statement decides (a cast, or the column it meets)
}

std::optional<std::string> json_field(const nlohmann::json& body, const std::vector<std::string>& path) {
  const nlohmann::json* node = &body;
  for (const std::string& key : path) {
    if (node->is_object()) {
      const auto found = node->find(key);
      if (found == node->end()) return std::nullopt;
      node = &*found;
    } else if (node->is_array() && !key.empty() && key.size() <= 9 &&
               key.find_first_not_of("0123456789") == std::string::npos) {
      const std::size_t index = std::stoul(key);
      if (index >= node->size()) return std::nullopt;
      node = &(*node)[index];
    } else {
      return std::nullopt;
    }
  }
  if (node->is_null()) return std::nullopt;
  if (node->is_string()) return node->get<std::string>();
  return node->dump();
}

std::optional<std::string> property_of(const BusMessage& message, const std::string& name) {
  for (const auto& [key, value] : message.properties) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::string isolation_sql(const std::string& isolation) {
  if (isolation == "serializable") return "SERIALIZABLE";
  if (isolation == "repeatable read") return "REPEATABLE READ";
  HADR_ASSERT(isolation == "read committed");
  return "READ COMMITTED";
}

HandlerResult verdict(HandlerVerdict verdict, std::string reason) {
  return HandlerResult{.verdict = verdict, .marked_done = false, .reason = std::move(reason)};
}

}  // namespace

Result<SqlParameterSource> parse_sql_parameter(std::string_view text) {
  static const std::pair<std::string_view, Kind> kFixed[] = {
      {"$message_id", Kind::kMessageId}, {"$region", Kind::kRegion},        {"$source_region", Kind::kSourceRegion},
      {"$epoch", Kind::kEpoch},          {"$lsn", Kind::kLsn},              {"$body", Kind::kBodyText},
      {"$body:text", Kind::kBodyText},   {"$body:bytea", Kind::kBodyBytea}, {"$body:jsonb", Kind::kBodyJsonb}};
  for (const auto& [name, kind] : kFixed) {
    if (text == name) return SqlParameterSource{.kind = kind, .path = {}};
  }
  const auto with_path = [&](std::string_view prefix, Kind kind) -> std::optional<Result<SqlParameterSource>> {
    if (text.substr(0, prefix.size()) != prefix) return std::nullopt;
    std::vector<std::string> path = kind == Kind::kProperty ? std::vector<std::string>{std::string(text.substr(prefix.size()))}
                                                            : split_path(text.substr(prefix.size()));
    const bool empty_segment = std::any_of(path.begin(), path.end(), [](const std::string& s) { return s.empty(); });
    if (empty_segment || path.size() > kPathSegmentsMax) {
      return Result<SqlParameterSource>(invalid_argument("parameter '" + std::string(text) +
                                                         "' has an empty or too long path; " + kParameterForms));
    }
    return Result<SqlParameterSource>(SqlParameterSource{.kind = kind, .path = std::move(path)});
  };
  if (auto field = with_path("$body.", Kind::kBodyField)) return std::move(*field);
  if (auto property = with_path("$property.", Kind::kProperty)) return std::move(*property);
  return invalid_argument("parameter '" + std::string(text) + "' is unknown; " + kParameterForms);
}

Status validate_sql_statements(const std::vector<SqlStatementConfig>& statements) {
  if (statements.size() > kSqlStatementsMax) {
    return invalid_argument("handler.sql_statements: " + std::to_string(statements.size()) +
                            " statements; write at most " + std::to_string(kSqlStatementsMax) +
                            " [[handler.sql_statements]] tables with sql and parameters");
  }
  for (std::size_t index = 0; index < statements.size(); ++index) {
    const SqlStatementConfig& statement = statements[index];
    if (statement.sql.find_first_not_of(" \t\r\n") == std::string::npos || statement.sql.size() > kSqlStatementBytesMax) {
      return invalid_argument(statement_key(index) + ".sql: is empty or longer than 64 KiB");
    }
    if (statement.parameters.size() > kSqlParametersMax) {
      return invalid_argument(statement_key(index) + ".parameters: more than " + std::to_string(kSqlParametersMax));
    }
    for (const std::string& parameter : statement.parameters) {
      auto parsed = parse_sql_parameter(parameter);
      if (!parsed.ok()) return invalid_argument(statement_key(index) + ".parameters: " + parsed.error().detail);
    }
  }
  return ok_status();
}

Result<std::unique_ptr<SqlHandler>> SqlHandler::create(SqlOptions options, RegionId region) {
  HADR_TRY(postgres::validate_connection_options(options.connection));
  HADR_TRY(validate_sql_statements(options.statements));
  if (options.isolation != "read committed" && options.isolation != "repeatable read" &&
      options.isolation != "serializable") {
    return invalid_argument("handler.sql_isolation: '" + options.isolation +
                            "' is unknown; use \"read committed\", \"repeatable read\" or \"serializable\"");
  }
  if (!options.body && options.statements.empty()) {
    return invalid_argument(
        "handler.sql_statements: none; list at least one [[handler.sql_statements]] table (only a program using the "
        "C++ handler API, include/hadr/handler.h, runs without: its function is the transaction's body)");
  }
  if (options.body && !options.statements.empty()) {
    return invalid_argument("handler.sql_statements: set, but this program's handler function is the transaction's "
                            "body; remove the statements from the config");
  }
  if (options.attempts_max == 0) return invalid_argument("handler.sql_attempts_max: must be at least 1");
  if (options.statement_timeout <= Milliseconds(0)) return invalid_argument("handler.sql_statement_timeout: must be positive");
  std::vector<Statement> statements;
  for (std::size_t index = 0; index < options.statements.size(); ++index) {
    Statement statement{.name = "hadr_statement_" + std::to_string(index), .sources = {}, .types = {}};
    for (const std::string& parameter : options.statements[index].parameters) {
      HADR_ASSIGN_OR_RETURN(SqlParameterSource source, parse_sql_parameter(parameter));
      statement.types.push_back(type_of(source.kind));
      statement.sources.push_back(std::move(source));
    }
    statements.push_back(std::move(statement));
  }
  std::unique_ptr<SqlHandler> handler(new SqlHandler(std::move(options), std::move(region), std::move(statements)));
  HADR_TRY(handler->connect());
  return handler;
}

SqlHandler::SqlHandler(SqlOptions options, RegionId region, std::vector<Statement> statements)
    : options_(std::move(options)), region_(std::move(region)), statements_(std::move(statements)) {}

// Opens the connection, makes sure hadr_inbox exists and prepares every statement. A statement
// that does not parse, or takes another number of parameters than it lists, is kInvalidArgument
// naming it; a database that cannot be reached is kUnavailable.
Status SqlHandler::connect() {
  connection_.reset();
  HADR_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> connection, PgConnection::open(options_.connection));
  auto created = connection->execute(
      "CREATE TABLE IF NOT EXISTS hadr_inbox ("
      " message_id text PRIMARY KEY, region text NOT NULL, epoch bigint NOT NULL,"
      " source_region text NOT NULL, lsn bigint NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
  // Two workers creating it at once: one of them loses on the catalog's unique index (23505);
  // the table is there either way.
  if (!created.ok() && created.error().detail.find("SQLSTATE 23505") == std::string::npos) {
    return Error{created.error().code, "creating hadr_inbox: " + created.error().detail};
  }
  const unsigned inbox_types[] = {postgres::kTextType, postgres::kTextType, 20, postgres::kTextType, 20};  // 20: int8
  HADR_TRY(connection->prepare("hadr_inbox_insert",
                               "INSERT INTO hadr_inbox (message_id, region, epoch, source_region, lsn)"
                               " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_id) DO NOTHING",
                               inbox_types));
  for (std::size_t index = 0; index < statements_.size(); ++index) {
    const Statement& statement = statements_[index];
    auto count = connection->prepare(statement.name, options_.statements[index].sql, statement.types);
    if (!count.ok()) {
      return Error{count.error().code, statement_key(index) + ": PREPARE failed: " + count.error().detail};
    }
    if (static_cast<std::size_t>(count.value()) != statement.sources.size()) {
      return invalid_argument(statement_key(index) + ": the SQL takes " + std::to_string(count.value()) +
                              " parameters but " + std::to_string(statement.sources.size()) +
                              " are listed in parameters; list one per $n");
    }
  }
  connection_ = std::move(connection);
  return ok_status();
}

// Every statement's parameters, from the message. kInvalidArgument when a $body.<path> meets a
// body that is not JSON (the message can never succeed).
Result<std::vector<std::vector<PgParameter>>> SqlHandler::bind(const HandlerInput& input) const {
  const BusMessage& message = input.message;
  std::optional<nlohmann::json> body_json;
  std::vector<std::vector<PgParameter>> bound;
  for (const Statement& statement : statements_) {
    std::vector<PgParameter>& parameters = bound.emplace_back();
    for (const SqlParameterSource& source : statement.sources) {
      switch (source.kind) {
        case Kind::kMessageId: parameters.push_back({message.id.str(), false}); break;
        case Kind::kRegion: parameters.push_back({region_.str(), false}); break;
        case Kind::kSourceRegion: parameters.push_back({message.source_region.str(), false}); break;
        case Kind::kEpoch: parameters.push_back({std::to_string(input.claim_epoch.value), false}); break;
        case Kind::kLsn: parameters.push_back({std::to_string(message.lsn.value), false}); break;
        case Kind::kBodyText:
        case Kind::kBodyJsonb: parameters.push_back({message.body, false}); break;
        case Kind::kBodyBytea: parameters.push_back({message.body, true}); break;
        case Kind::kProperty: parameters.push_back({property_of(message, source.path[0]), false}); break;
        case Kind::kBodyField:
          if (!body_json) {
            body_json = nlohmann::json::parse(message.body, nullptr, /*allow_exceptions=*/false);
            if (body_json->is_discarded()) return invalid_argument("the body is not JSON, and a $body.<field> parameter needs it");
          }
          parameters.push_back({json_field(*body_json, source.path), false});
          break;
      }
    }
  }
  return bound;
}

// After a failed statement: roll the transaction back if the connection still stands, drop the
// connection if not (the server rolls back what a lost connection left open).
Error SqlHandler::rolled_back(Error error) {
  if (connection_ != nullptr && connection_->healthy()) {
    auto rollback = connection_->execute("ROLLBACK");
    if (rollback.ok()) return error;
  }
  connection_.reset();
  return error;
}

Result<HandlerResult> SqlHandler::apply_once(const HandlerInput& input,
                                             const std::vector<std::vector<PgParameter>>& bound) {
  HADR_ASSERT(connection_ != nullptr);
  HADR_ASSERT(bound.size() == statements_.size());
  const std::string begin = "BEGIN ISOLATION LEVEL " + isolation_sql(options_.isolation) +
                            "; SET LOCAL statement_timeout = " + std::to_string(options_.statement_timeout.count());
  if (auto begun = connection_->execute(begin); !begun.ok()) return rolled_back(std::move(begun).take_error());
  const BusMessage& message = input.message;
  const PgParameter inbox[] = {{message.id.str(), false},
                               {region_.str(), false},
                               {std::to_string(input.claim_epoch.value), false},
                               {message.source_region.str(), false},
                               {std::to_string(message.lsn.value), false}};
  auto inserted = connection_->execute_prepared("hadr_inbox_insert", inbox);
  if (!inserted.ok()) return rolled_back(Error{inserted.error().code, "hadr_inbox insert: " + inserted.error().detail});
  if (inserted.value().affected_rows() == 0) {
    (void)rolled_back(internal_error("already applied"));
    return verdict(HandlerVerdict::kDone, "already applied: " + message.id.str() + " is in hadr_inbox");
  }
  for (std::size_t index = 0; index < statements_.size(); ++index) {
    auto executed = connection_->execute_prepared(statements_[index].name, bound[index]);
    if (!executed.ok()) {
      return rolled_back(Error{executed.error().code, statement_key(index) + ": " + executed.error().detail});
    }
  }
  if (options_.body) {
    Result<HandlerResult> declared = options_.body(input, *connection_);
    if (!declared.ok()) return rolled_back(Error{declared.error().code, "handler function: " + declared.error().detail});
    if (declared.value().verdict != HandlerVerdict::kDone) {
      (void)rolled_back(internal_error("declined"));
      return std::move(declared).value();
    }
  }
  if (auto committed = connection_->execute("COMMIT"); !committed.ok()) {
    // A COMMIT without an answer may have committed: the next attempt's inbox insert tells.
    return rolled_back(Error{committed.error().code, "COMMIT: " + committed.error().detail});
  }
  return verdict(HandlerVerdict::kDone, "");
}

HandlerResult SqlHandler::handle(const HandlerInput& input) {
  auto bound = bind(input);
  if (!bound.ok()) return verdict(HandlerVerdict::kReject, bound.error().detail);
  std::string last_reason;
  for (std::uint32_t attempt = 1; attempt <= options_.attempts_max; ++attempt) {
    if (attempt > 1 && input.keep_alive != nullptr) input.keep_alive->keep_alive();
    if (connection_ == nullptr) {
      if (Status connected = connect(); !connected.ok()) {
        // Not the message's fault, whatever the code (a dropped table fails PREPARE with 42P01).
        last_reason = "reconnecting: " + connected.error().to_string();
        continue;
      }
    }
    auto applied = apply_once(input, bound.value());
    if (applied.ok()) return std::move(applied).value();
    const Error& error = applied.error();
    last_reason = error.to_string();
    switch (error.code) {
      case ErrorCode::kInvalidArgument: return verdict(HandlerVerdict::kReject, error.detail);
      case ErrorCode::kUnavailable:
      case ErrorCode::kAborted: continue;  // reconnect / rerun the transaction, still claimed
      case ErrorCode::kDeadlineExceeded: return verdict(HandlerVerdict::kRetryLater, last_reason);
      default: return verdict(HandlerVerdict::kFailed, last_reason);
    }
  }
  return verdict(HandlerVerdict::kRetryLater, "after " + std::to_string(options_.attempts_max) + " attempts: " + last_reason);
}

}  // namespace hadr
