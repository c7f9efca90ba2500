// examples/payment: applies each payment exactly once in PostgreSQL with hadr's C++ handler API
// (include/hadr/handler.h). The region's node runs in this process (relay, promoter, workers)
// with the function below as its handler: each message's INSERT and UPDATE commit in one
// transaction with its hadr_inbox row, so a redelivery, a replay or the other region can never
// add a payment to the balance twice.
//
//   psql "$DATABASE_URL" -f examples/payment/schema.sql
//   PAYMENTS_DB_PASSWORD=... build/examples/payment/payment examples/payment/region.toml
//   hadr send --config examples/payment/region.toml ...   (bodies: {"account": "acct-1", "amount_cents": 1250})
//
// A body that is not such an object, or names no known account, is dead-lettered (reject): it
// can never succeed. SIGTERM drains and stops.
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "hadr/handler.h"

namespace {

hadr::api::HandlerOutcome apply_payment(const hadr::api::Message& message, hadr::api::Transaction& transaction) {
  const nlohmann::json body = nlohmann::json::parse(message.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("account") || !body["account"].is_string() ||
      !body.contains("amount_cents") || !body["amount_cents"].is_number_integer()) {
    return hadr::api::HandlerOutcome::reject(R"(the body is not {"account": "...", "amount_cents": N})");
  }
  const std::string account = body["account"].get<std::string>();
  const std::string amount = std::to_string(body["amount_cents"].get<long long>());
  transaction.execute("INSERT INTO payments (message_id, account, amount_cents) VALUES ($1, $2, $3)",
                      {message.id, account, amount});
  const auto updated =
      transaction.execute("UPDATE accounts SET balance_cents = balance_cents + $2::bigint WHERE id = $1", {account, amount});
  // A failed statement needs no check here: hadr rolls back and acts on its SQLSTATE.
  if (updated && updated->affected_rows == 0) return hadr::api::HandlerOutcome::reject("no account " + account);
  return hadr::api::HandlerOutcome::done();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s REGION.toml   (its [handler] is kind = \"sql\": the payments database)\n", argv[0]);
    return 2;
  }
  return hadr::api::run_worker(argv[1], hadr::api::TransactionalHandler(apply_payment));
}
