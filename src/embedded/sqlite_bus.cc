#include "embedded/sqlite_bus.h"

#include <charconv>
#include <limits>
#include <optional>

#include "contracts/validation.h"
#include "embedded/properties_codec.h"

namespace hadr {
namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS bus_queues (
  name TEXT PRIMARY KEY NOT NULL,
  max_delivery_count INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bus_messages (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
  queue TEXT NOT NULL,
  message_id TEXT NOT NULL,
  epoch INTEGER NOT NULL,
  source_region TEXT NOT NULL,
  lsn INTEGER NOT NULL,
  properties BLOB NOT NULL,
  body BLOB NOT NULL,
  delivery_count INTEGER NOT NULL,
  lock_token TEXT,
  locked_until_ms INTEGER NOT NULL,
  dead_letter_reason BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS bus_messages_by_queue ON bus_messages (queue, sequence);
)sql";

using Mode = SqliteConnection::TransactionMode;

constexpr std::int64_t kUnlimitedDeliveries = std::numeric_limits<std::int64_t>::max();
constexpr std::uint64_t kMaxStoredInteger = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

std::string lock_token_for(std::int64_t sequence, std::int64_t delivery_count) {
  return std::to_string(sequence) + "-" + std::to_string(delivery_count);
}

// The sequence a token was issued for, or nullopt when it is not one of this bus's tokens.
std::optional<std::int64_t> sequence_of_token(std::string_view lock_token) {
  std::int64_t sequence = 0;
  const auto [end, error] = std::from_chars(lock_token.data(), lock_token.data() + lock_token.size(), sequence);
  if (error != std::errc() || end == lock_token.data() || end == lock_token.data() + lock_token.size() ||
      *end != '-') {
    return std::nullopt;
  }
  return sequence;
}

Status validate_message(std::size_t index, const BusMessage& message) {
  const std::string what = "message " + std::to_string(index);
  if (message.id.empty()) return invalid_argument(what + " has an empty id; give every message its stable id");
  if (message.body.size() > Bus::kMaxBodyBytes) {
    return invalid_argument(what + " ('" + message.id.str() + "') has a body of " +
                            std::to_string(message.body.size()) + " bytes; the maximum is " +
                            std::to_string(Bus::kMaxBodyBytes));
  }
  if (message.epoch.value > kMaxStoredInteger || message.lsn.value > kMaxStoredInteger) {
    return invalid_argument(what + " ('" + message.id.str() + "') has an epoch or LSN above 2^63-1");
  }
  return validate_message_properties(what + " properties", message.properties);
}

Status validate_lock_token(std::string_view lock_token) {
  return validate_printable("lock token", lock_token, kMaxNameBytes);
}

}  // namespace

Result<std::unique_ptr<SqliteBus>> SqliteBus::open(const std::string& path, const Clock& clock,
                                                   const SqliteOptions& options) {
  HADR_ASSIGN_OR_RETURN(auto connection, SqliteConnection::open(path, options));
  HADR_TRY(connection->transaction(Mode::kWrite, [&] { return connection->execute(kSchema); }));
  HADR_ASSIGN_OR_RETURN(StoreClock store_clock, StoreClock::open(*connection, clock, options.boot_id));
  return std::unique_ptr<SqliteBus>(new SqliteBus(std::move(connection), clock, std::move(store_clock)));
}

SqliteBus::SqliteBus(std::unique_ptr<SqliteConnection> connection, const Clock& clock, StoreClock store_clock)
    : connection_(std::move(connection)), clock_(clock), store_clock_(std::move(store_clock)) {}

std::int64_t SqliteBus::store_now_ms() { return store_clock_.now_ms(*connection_); }

std::int64_t SqliteBus::QueueRef::max_delivery_count() const {
  return is_dead_letter ? kUnlimitedDeliveries : base_max_delivery_count;
}

Result<SqliteBus::QueueRef> SqliteBus::find_queue(std::string_view queue) {
  QueueRef ref;
  ref.name = std::string(queue);
  ref.base_name = ref.name;
  const std::string suffix = dead_letter_queue("");
  if (ref.base_name.size() > suffix.size() && ref.base_name.ends_with(suffix)) {
    ref.base_name.resize(ref.base_name.size() - suffix.size());
    ref.is_dead_letter = true;
  }
  ref.dead_letter_name = dead_letter_queue(ref.base_name);
  HADR_ASSIGN_OR_RETURN(auto query, connection_->query("SELECT max_delivery_count FROM bus_queues WHERE name = ?"));
  query.bind_text(1, ref.base_name);
  HADR_ASSIGN_OR_RETURN(const bool found, query.next_row());
  if (!found) {
    return not_found("queue '" + ref.base_name + "' does not exist in " + connection_->path() +
                     "; create it first (create_queue)");
  }
  ref.base_max_delivery_count = query.column_int64(0);
  HADR_ASSERT(ref.base_max_delivery_count >= 1);
  return ref;
}

Status SqliteBus::create_queue(std::string_view queue, const QueueOptions& options) {
  HADR_TRY(validate_queue_name(queue, QueueNameUse::kCreateOrSend));
  if (options.max_delivery_count < 1 || options.max_delivery_count > kMaxDeliveryCountLimit) {
    return invalid_argument("max_delivery_count of queue '" + std::string(queue) + "' is " +
                            std::to_string(options.max_delivery_count) + "; it must be 1.." +
                            std::to_string(kMaxDeliveryCountLimit));
  }
  std::lock_guard lock(mutex_);
  return connection_->transaction(Mode::kWrite, [&]() -> Status {
    // An existing queue keeps its options (create is idempotent, as declaring a queue is).
    HADR_ASSIGN_OR_RETURN(auto query, connection_->query("INSERT OR IGNORE INTO bus_queues (name, max_delivery_count) "
                                                         "VALUES (?, ?)"));
    query.bind_text(1, queue).bind(2, static_cast<std::int64_t>(options.max_delivery_count));
    return query.run();
  });
}

Status SqliteBus::send(std::string_view queue, std::span<const BusMessage> batch) {
  HADR_TRY(validate_queue_name(queue, QueueNameUse::kCreateOrSend));
  if (batch.size() > kMaxSendBatch) {
    return invalid_argument("send batch of " + std::to_string(batch.size()) + " messages; the maximum is " +
                            std::to_string(kMaxSendBatch));
  }
  for (std::size_t i = 0; i < batch.size(); ++i) HADR_TRY(validate_message(i, batch[i]));
  std::lock_guard lock(mutex_);
  return connection_->transaction(Mode::kWrite, [&]() -> Status {
    HADR_ASSIGN_OR_RETURN(const QueueRef ref, find_queue(queue));
    for (const BusMessage& message : batch) {
      HADR_ASSIGN_OR_RETURN(auto insert, connection_->query(
                                             "INSERT INTO bus_messages (queue, message_id, epoch, source_region, lsn, "
                                             "properties, body, delivery_count, lock_token, locked_until_ms, "
                                             "dead_letter_reason) VALUES (?, ?, ?, ?, ?, ?, ?, 0, NULL, 0, x'')"));
      insert.bind_text(1, ref.name).bind_text(2, message.id.str());
      insert.bind(3, static_cast<std::int64_t>(message.epoch.value));
      insert.bind_text(4, message.source_region.str()).bind(5, static_cast<std::int64_t>(message.lsn.value));
      insert.bind_blob(6, encode_properties(message.properties)).bind_blob(7, message.body);
      HADR_TRY(insert.run());
    }
    return ok_status();
  });
}

Status SqliteBus::sweep_expired_at_maximum(const QueueRef& queue, std::int64_t now_ms) {
  // Always the base queue: a receive from the dead-letter queue must see what it dead-lettered.
  HADR_ASSIGN_OR_RETURN(auto sweep, connection_->query(
                                        "UPDATE bus_messages SET queue = ?, lock_token = NULL, locked_until_ms = 0, "
                                        "dead_letter_reason = ? WHERE sequence IN (SELECT sequence FROM bus_messages "
                                        "WHERE queue = ? AND lock_token IS NOT NULL AND locked_until_ms <= ? "
                                        "AND delivery_count >= ? ORDER BY sequence LIMIT ?)"));
  sweep.bind_text(1, queue.dead_letter_name).bind_blob(2, kMaxDeliveryCountExceeded).bind_text(3, queue.base_name);
  sweep.bind(4, now_ms).bind(5, queue.base_max_delivery_count).bind(6, kSweepBatch);
  return sweep.run();
}

Result<std::vector<ReceivedMessage>> SqliteBus::receive(std::string_view queue, std::size_t max,
                                                        Milliseconds lock_duration) {
  HADR_TRY(validate_queue_name(queue, QueueNameUse::kReceiveOrSettle));
  if (max < 1 || max > kMaxReceiveBatch) {
    return invalid_argument("receive of " + std::to_string(max) + " messages; ask for 1.." +
                            std::to_string(kMaxReceiveBatch));
  }
  HADR_TRY(validate_ttl("lock duration", lock_duration, kMaxLockDuration));
  std::lock_guard lock(mutex_);
  const std::int64_t now_ms = store_now_ms();
  std::vector<ReceivedMessage> received;
  HADR_TRY(connection_->transaction(Mode::kWrite, [&]() -> Status {
    HADR_ASSIGN_OR_RETURN(const QueueRef ref, find_queue(queue));
    HADR_TRY(sweep_expired_at_maximum(ref, now_ms));
    HADR_ASSIGN_OR_RETURN(received, receive_in_transaction(ref, max, lock_duration, now_ms));
    return ok_status();
  }));
  HADR_ASSERT(received.size() <= max);
  return received;
}

Result<std::vector<ReceivedMessage>> SqliteBus::receive_in_transaction(const QueueRef& queue, std::size_t max,
                                                                       Milliseconds lock_duration,
                                                                       std::int64_t now_ms) {
  std::vector<ReceivedMessage> received;
  std::vector<std::int64_t> sequences;
  {
    HADR_ASSIGN_OR_RETURN(auto select, connection_->query(
                                           "SELECT sequence, message_id, epoch, source_region, lsn, properties, body, "
                                           "delivery_count, dead_letter_reason FROM bus_messages WHERE queue = ? AND "
                                           "(lock_token IS NULL OR (locked_until_ms <= ? AND delivery_count < ?)) "
                                           "ORDER BY sequence LIMIT ?"));
    select.bind_text(1, queue.name).bind(2, now_ms).bind(3, queue.max_delivery_count());
    select.bind(4, static_cast<std::int64_t>(max));
    for (std::size_t row = 0; row < max; ++row) {
      HADR_ASSIGN_OR_RETURN(const bool has_row, select.next_row());
      if (!has_row) break;
      const std::int64_t sequence = select.column_int64(0);
      const std::string where = "sqlite " + connection_->path() + " message " + std::to_string(sequence);
      ReceivedMessage message;
      auto id = MessageId::parse(select.column_text(1));
      if (!id.ok()) return data_loss(where + ": stored id is invalid: " + id.error().detail);
      message.message.id = std::move(id).value();
      message.message.epoch = Epoch{static_cast<std::uint64_t>(select.column_int64(2))};
      const std::string region = select.column_text(3);
      if (!region.empty()) {
        auto parsed = RegionId::parse(region);
        if (!parsed.ok()) return data_loss(where + ": stored region is invalid: " + parsed.error().detail);
        message.message.source_region = std::move(parsed).value();
      }
      message.message.lsn = Lsn{static_cast<std::uint64_t>(select.column_int64(4))};
      HADR_ASSIGN_OR_RETURN(message.message.properties, decode_properties(select.column_blob(5), where));
      message.message.body = select.column_blob(6);
      message.delivery_count = static_cast<std::uint32_t>(select.column_int64(7) + 1);
      message.lock_token = lock_token_for(sequence, message.delivery_count);
      message.locked_until = store_clock_.to_wall(now_ms + lock_duration.count(), now_ms);
      message.dead_letter_reason = select.column_blob(8);
      sequences.push_back(sequence);
      received.push_back(std::move(message));
    }
  }
  for (std::size_t i = 0; i < received.size(); ++i) {
    HADR_ASSIGN_OR_RETURN(auto lock, connection_->query("UPDATE bus_messages SET delivery_count = ?, lock_token = ?, "
                                                        "locked_until_ms = ? WHERE sequence = ?"));
    lock.bind(1, received[i].delivery_count).bind_text(2, received[i].lock_token);
    lock.bind(3, now_ms + lock_duration.count()).bind(4, sequences[i]);
    HADR_TRY(lock.run());
  }
  return received;
}

Result<SqliteBus::LockedMessage> SqliteBus::find_locked(const QueueRef& queue, std::string_view lock_token,
                                                        std::int64_t now_ms) {
  const std::string lost = "lock lost: token " + std::string(lock_token) + " in queue '" + queue.name + "' ";
  const std::optional<std::int64_t> sequence = sequence_of_token(lock_token);
  if (!sequence) return aborted(lost + "is unknown");
  HADR_ASSIGN_OR_RETURN(auto query, connection_->query("SELECT delivery_count, lock_token, locked_until_ms "
                                                       "FROM bus_messages WHERE sequence = ? AND queue = ?"));
  query.bind(1, *sequence).bind_text(2, queue.name);
  HADR_ASSIGN_OR_RETURN(const bool found, query.next_row());
  if (!found || query.column_text(1) != lock_token) {
    return aborted(lost + "is not the message's current lock; it may be with another receiver");
  }
  if (query.column_int64(2) <= now_ms) return aborted(lost + "expired; the message may be with another receiver");
  return LockedMessage{*sequence, query.column_int64(0)};
}

Status SqliteBus::move_to_dead_letter(const QueueRef& queue, std::int64_t sequence, std::string_view reason) {
  HADR_ASSIGN_OR_RETURN(auto move, connection_->query("UPDATE bus_messages SET queue = ?, lock_token = NULL, "
                                                      "locked_until_ms = 0, dead_letter_reason = ? "
                                                      "WHERE sequence = ?"));
  move.bind_text(1, queue.dead_letter_name).bind_blob(2, reason).bind(3, sequence);
  return move.run();
}

Status SqliteBus::settle(
    std::string_view queue, std::string_view lock_token,
    const std::function<Status(const QueueRef&, const LockedMessage&, std::int64_t now_ms)>& action) {
  HADR_TRY(validate_queue_name(queue, QueueNameUse::kReceiveOrSettle));
  HADR_TRY(validate_lock_token(lock_token));
  std::lock_guard lock(mutex_);
  const std::int64_t now_ms = store_now_ms();
  return connection_->transaction(Mode::kWrite, [&]() -> Status {
    HADR_ASSIGN_OR_RETURN(const QueueRef ref, find_queue(queue));
    HADR_ASSIGN_OR_RETURN(const LockedMessage locked, find_locked(ref, lock_token, now_ms));
    return action(ref, locked, now_ms);
  });
}

Status SqliteBus::complete(std::string_view queue, std::string_view lock_token) {
  return settle(queue, lock_token, [&](const QueueRef&, const LockedMessage& locked, std::int64_t) -> Status {
    HADR_ASSIGN_OR_RETURN(auto remove, connection_->query("DELETE FROM bus_messages WHERE sequence = ?"));
    remove.bind(1, locked.sequence);
    return remove.run();
  });
}

Status SqliteBus::abandon(std::string_view queue, std::string_view lock_token) {
  return settle(queue, lock_token, [&](const QueueRef& ref, const LockedMessage& locked, std::int64_t) -> Status {
    if (locked.delivery_count >= ref.max_delivery_count()) {
      return move_to_dead_letter(ref, locked.sequence, kMaxDeliveryCountExceeded);
    }
    HADR_ASSIGN_OR_RETURN(auto unlock, connection_->query("UPDATE bus_messages SET lock_token = NULL, "
                                                          "locked_until_ms = 0 WHERE sequence = ?"));
    unlock.bind(1, locked.sequence);
    return unlock.run();
  });
}

Status SqliteBus::dead_letter(std::string_view queue, std::string_view lock_token, std::string_view reason) {
  if (reason.size() > kMaxReasonBytes) {
    return invalid_argument("dead-letter reason is " + std::to_string(reason.size()) + " bytes; the maximum is " +
                            std::to_string(kMaxReasonBytes));
  }
  return settle(queue, lock_token, [&](const QueueRef& ref, const LockedMessage& locked, std::int64_t) -> Status {
    if (ref.is_dead_letter) {
      return invalid_argument("queue '" + ref.name + "' is a dead-letter queue; complete its messages instead");
    }
    return move_to_dead_letter(ref, locked.sequence, reason);
  });
}

Result<WallTime> SqliteBus::renew_lock(std::string_view queue, std::string_view lock_token,
                                       Milliseconds lock_duration) {
  HADR_TRY(validate_ttl("lock duration", lock_duration, kMaxLockDuration));
  std::int64_t locked_until_ms = 0;
  std::int64_t renewed_at_ms = 0;
  HADR_TRY(settle(queue, lock_token, [&](const QueueRef&, const LockedMessage& locked, std::int64_t now_ms) -> Status {
    renewed_at_ms = now_ms;
    locked_until_ms = now_ms + lock_duration.count();
    HADR_ASSIGN_OR_RETURN(auto renew, connection_->query("UPDATE bus_messages SET locked_until_ms = ? "
                                                         "WHERE sequence = ?"));
    renew.bind(1, locked_until_ms).bind(2, locked.sequence);
    return renew.run();
  }));
  HADR_ASSERT(locked_until_ms > 0);
  return store_clock_.to_wall(locked_until_ms, renewed_at_ms);
}

Result<QueueDepth> SqliteBus::depth(std::string_view queue) {
  HADR_TRY(validate_queue_name(queue, QueueNameUse::kReceiveOrSettle));
  std::lock_guard lock(mutex_);
  const std::int64_t now_ms = store_now_ms();
  QueueDepth depth;
  HADR_TRY(connection_->transaction(Mode::kRead, [&]() -> Status {
    HADR_ASSIGN_OR_RETURN(const QueueRef ref, find_queue(queue));
    // Messages whose lock expired at the maximum count as dead-lettered before the sweep moves
    // them. A dead-letter queue has no dead-letter queue of its own: ?2 never matches there.
    const std::string dead_letter_name = ref.is_dead_letter ? dead_letter_queue(ref.name) : ref.dead_letter_name;
    HADR_ASSIGN_OR_RETURN(
        auto count, connection_->query(
                        "SELECT "
                        "COALESCE(SUM(queue = ?1 AND (lock_token IS NULL OR (locked_until_ms <= ?3 "
                        "AND delivery_count < ?4))), 0), "
                        "COALESCE(SUM(queue = ?1 AND lock_token IS NOT NULL AND locked_until_ms > ?3), 0), "
                        "COALESCE(SUM(queue = ?2 OR (queue = ?1 AND lock_token IS NOT NULL AND locked_until_ms <= ?3 "
                        "AND delivery_count >= ?4)), 0) "
                        "FROM bus_messages WHERE queue IN (?1, ?2)"));
    count.bind_text(1, ref.name).bind_text(2, dead_letter_name).bind(3, now_ms).bind(4, ref.max_delivery_count());
    HADR_ASSIGN_OR_RETURN(const bool has_row, count.next_row());
    HADR_ASSERT(has_row);
    depth.available = static_cast<std::uint64_t>(count.column_int64(0));
    depth.locked = static_cast<std::uint64_t>(count.column_int64(1));
    depth.dead_lettered = static_cast<std::uint64_t>(count.column_int64(2));
    return ok_status();
  }));
  return depth;
}

}  // namespace hadr
