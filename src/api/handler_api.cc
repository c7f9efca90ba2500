// The C++ handler API (include/hadr/handler.h): adapters from the public types to the
// worker's Handler (roles/handler.h), and run_worker(), which opens a RegionNode whose workers
// use them (NodeRoles::handler_factory). The transactional kind is the sql handler
// (handlers/sql_handler.h) with the program's function as the transaction's body.
#include "hadr/handler.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "handlers/handler_factory.h"
#include "handlers/sql_handler.h"
#include "postgres/pg_connection.h"
#include "roles/crash_points.h"
#include "runtime/region_node.h"
#include "runtime/stop_signal.h"

namespace hadr::api {

const std::string* Message::property(std::string_view name) const {
  for (const auto& [key, value] : properties) {
    if (key == name) return &value;
  }
  return nullptr;
}

namespace {

constexpr std::chrono::milliseconds kStopPollInterval{20};

Message message_of(const HandlerInput& input) {
  const BusMessage& message = input.message;
  return Message{.id = message.id.str(),
                 .body = message.body,
                 .source_region = message.source_region.str(),
                 .lsn = message.lsn.value,
                 .epoch = input.claim_epoch.value,
                 .delivery_count = input.delivery_count,
                 .properties = message.properties};
}

HandlerResult result_of(const HandlerOutcome& outcome) {
  switch (outcome.outcome) {
    case Outcome::kDone: return HandlerResult{.verdict = HandlerVerdict::kDone, .marked_done = false, .reason = {}};
    case Outcome::kRetryLater:
      return HandlerResult{.verdict = HandlerVerdict::kRetryLater, .marked_done = false, .reason = outcome.reason};
    case Outcome::kReject:
      return HandlerResult{.verdict = HandlerVerdict::kReject, .marked_done = false, .reason = outcome.reason};
  }
  HADR_UNREACHABLE();
}

// The message's transaction, over the sql handler's connection. Remembers the first failure:
// PostgreSQL refuses everything after it until the rollback anyway.
class PgTransaction final : public Transaction {
 public:
  explicit PgTransaction(postgres::PgConnection& connection) : connection_(connection) {}

  std::optional<Rows> execute(std::string_view sql, const std::vector<Parameter>& parameters) override {
    if (failure_) return std::nullopt;
    if (parameters.size() > postgres::PgConnection::kParametersMax) {
      fail(invalid_argument("Transaction::execute: " + std::to_string(parameters.size()) + " parameters; at most " +
                            std::to_string(postgres::PgConnection::kParametersMax)));
      return std::nullopt;
    }
    std::vector<postgres::PgParameter> bound;
    for (const Parameter& parameter : parameters) bound.push_back({parameter, false});
    auto result = connection_.execute(sql, bound);
    if (!result.ok()) {
      fail(std::move(result).take_error());
      return std::nullopt;
    }
    Rows rows;
    for (int row = 0; row < result.value().rows(); ++row) {
      auto& values = rows.values.emplace_back();
      for (int column = 0; column < result.value().columns(); ++column) {
        if (result.value().is_null(row, column)) {
          values.emplace_back(std::nullopt);
        } else {
          values.emplace_back(result.value().value(row, column));
        }
      }
    }
    rows.affected_rows = result.value().affected_rows();
    return rows;
  }

  const std::string& error() const override { return error_text_; }
  const std::optional<Error>& failure() const { return failure_; }

 private:
  void fail(Error error) {
    error_text_ = error.detail;
    failure_ = std::move(error);
  }

  postgres::PgConnection& connection_;
  std::optional<Error> failure_;
  std::string error_text_;
};

class PlainFunctionHandler final : public Handler {
 public:
  explicit PlainFunctionHandler(PlainHandler function) : function_(std::move(function)) {}
  std::string_view kind() const override { return "app"; }
  HandlerResult handle(const HandlerInput& input) override { return result_of(function_(message_of(input))); }

 private:
  PlainHandler function_;
};

Result<std::unique_ptr<Handler>> make_transactional(const HandlerConfig& config, const HandlerContext& context,
                                                    const TransactionalHandler& function) {
  if (config.kind != "sql") {
    return failed_precondition("handler.kind: '" + config.kind +
                               "' — a TransactionalHandler runs in the database of kind = \"sql\" (sql_url, a "
                               "password source, sslmode); set it, without sql_statements");
  }
  SqlOptions options;
  HADR_ASSIGN_OR_RETURN(options.connection, sql_connection_options(config, context.environment));
  options.connection.application_name = "hadr-app-" + context.region.str();
  options.statements = config.sql_statements;  // must be empty: SqlHandler::create says so
  options.statement_timeout = config.sql_statement_timeout;
  options.attempts_max = config.sql_attempts_max;
  options.isolation = config.sql_isolation;
  options.body = [function](const HandlerInput& input, postgres::PgConnection& connection) -> Result<HandlerResult> {
    PgTransaction transaction(connection);
    const HandlerOutcome outcome = function(message_of(input), transaction);
    // A failed statement decides, whatever the function answered: it was rolled back.
    if (transaction.failure()) return *transaction.failure();
    return result_of(outcome);
  };
  HADR_ASSIGN_OR_RETURN(std::unique_ptr<SqlHandler> handler, SqlHandler::create(std::move(options), context.region));
  return std::unique_ptr<Handler>(std::move(handler));
}

using Factory = std::function<Result<std::unique_ptr<Handler>>(const HandlerContext&)>;

int run(const RunOptions& options, const std::function<Factory(const RegionConfig&)>& make_factory) {
  auto config = load_region_config(options.config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "hadr: %s\n", config.error().to_string().c_str());
    return 1;
  }
  NodeRoles roles;
  roles.relay = options.relay;
  roles.promoter = options.promoter;
  roles.workers = options.workers;
  roles.process_name = options.process_name;
  roles.handler_factory = make_factory(*config);
  install_stop_signal_handlers();
  NoCrashPoints crash_points;
  auto node = RegionNode::open(*config, roles, crash_points);
  if (!node.ok()) {
    std::fprintf(stderr, "hadr: %s\n", node.error().to_string().c_str());
    return 1;
  }
  std::atomic<bool> finished{false};
  std::thread watcher;
  if (options.should_stop) {
    watcher = std::thread([&] {
      while (!finished.load()) {
        if (options.should_stop()) {
          (*node)->request_stop();
          return;
        }
        std::this_thread::sleep_for(kStopPollInterval);
      }
    });
  }
  const Status status = (*node)->run();
  finished.store(true);
  if (watcher.joinable()) watcher.join();
  if (!status.ok()) {
    std::fprintf(stderr, "hadr: %s\n", status.error().to_string().c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int run_worker(const RunOptions& options, TransactionalHandler handler) {
  return run(options, [&](const RegionConfig& config) -> Factory {
    return [handler, handler_config = config.handler](const HandlerContext& context) {
      return make_transactional(handler_config, context, handler);
    };
  });
}

int run_worker(const RunOptions& options, PlainHandler handler) {
  return run(options, [&](const RegionConfig&) -> Factory {
    return [handler](const HandlerContext&) -> Result<std::unique_ptr<Handler>> {
      return std::unique_ptr<Handler>(std::make_unique<PlainFunctionHandler>(handler));
    };
  });
}

int run_worker(const std::string& config_path, TransactionalHandler handler) {
  return run_worker(RunOptions{.config_path = config_path}, std::move(handler));
}

int run_worker(const std::string& config_path, PlainHandler handler) {
  return run_worker(RunOptions{.config_path = config_path}, std::move(handler));
}

}  // namespace hadr::api
