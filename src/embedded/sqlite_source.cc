#include "embedded/sqlite_source.h"

#include <charconv>
#include <set>

#include "contracts/validation.h"
#include "embedded/properties_codec.h"

namespace hadr {
namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS source_messages (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id TEXT NOT NULL,
  enqueued_at_ms INTEGER NOT NULL,
  headers BLOB NOT NULL,
  body BLOB NOT NULL,
  consumer TEXT,
  ack_handle TEXT,
  invisible_until_ms INTEGER NOT NULL,
  receive_count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS source_messages_by_consumer ON source_messages (consumer) WHERE consumer IS NOT NULL;
)sql";

using Mode = SqliteConnection::TransactionMode;

WallTime wall_time_from_millis(std::int64_t millis) {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(Milliseconds(millis)));
}

std::string file_name_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

Status validate_message(std::size_t index, const SourceMessage& message) {
  const std::string what = "message " + std::to_string(index);
  if (message.id.empty()) return invalid_argument(what + " has an empty id; give every message its stable id");
  if (message.body.size() > Bus::kMaxBodyBytes) {
    return invalid_argument(what + " ('" + message.id.str() + "') has a body of " +
                            std::to_string(message.body.size()) + " bytes; the maximum is " +
                            std::to_string(Bus::kMaxBodyBytes));
  }
  return validate_message_properties(what + " headers", message.headers);
}

}  // namespace

Result<std::unique_ptr<SqliteSource>> SqliteSource::open(const std::string& path, std::string_view consumer,
                                                         Milliseconds visibility_timeout, const Clock& clock,
                                                         const SqliteOptions& options) {
  HADR_TRY(validate_printable("source consumer", consumer, kMaxNameBytes));
  HADR_TRY(validate_ttl("visibility timeout", visibility_timeout, kMaxVisibilityTimeout));
  HADR_ASSIGN_OR_RETURN(auto connection, SqliteConnection::open(path, options));
  HADR_TRY(connection->transaction(Mode::kWrite, [&]() -> Status {
    HADR_TRY(connection->execute(kSchema));
    // This consumer (re)starts: whatever its earlier incarnation held is visible again now.
    HADR_ASSIGN_OR_RETURN(auto release, connection->query("UPDATE source_messages SET consumer = NULL, "
                                                          "ack_handle = NULL, invisible_until_ms = 0 "
                                                          "WHERE consumer = ?"));
    release.bind_text(1, consumer);
    return release.run();
  }));
  HADR_ASSIGN_OR_RETURN(StoreClock store_clock, StoreClock::open(*connection, clock, options.boot_id));
  return std::unique_ptr<SqliteSource>(
      new SqliteSource(std::move(connection), std::string(consumer), visibility_timeout, clock, std::move(store_clock)));
}

SqliteSource::SqliteSource(std::unique_ptr<SqliteConnection> connection, std::string consumer,
                           Milliseconds visibility_timeout, const Clock& clock, StoreClock store_clock)
    : connection_(std::move(connection)),
      consumer_(std::move(consumer)),
      visibility_timeout_(visibility_timeout),
      source_name_(file_name_of(connection_->path())),
      clock_(clock), store_clock_(std::move(store_clock)) {}

std::int64_t SqliteSource::store_now_ms() { return store_clock_.now_ms(*connection_); }

Status SqliteSource::put(std::span<const SourceMessage> batch) {
  if (batch.size() > kMaxBatch) {
    return invalid_argument("put batch of " + std::to_string(batch.size()) + " messages; the maximum is " +
                            std::to_string(kMaxBatch));
  }
  for (std::size_t i = 0; i < batch.size(); ++i) HADR_TRY(validate_message(i, batch[i]));
  std::lock_guard lock(mutex_);
  // A timestamp that leaves the store (SourceMessage::enqueued_at), not a TTL: wall time.
  const std::int64_t enqueued_at_ms = unix_millis(clock_.now_wall());
  return connection_->transaction(Mode::kWrite, [&]() -> Status {
    for (const SourceMessage& message : batch) {
      HADR_ASSIGN_OR_RETURN(auto insert, connection_->query(
                                             "INSERT INTO source_messages (message_id, enqueued_at_ms, headers, body, "
                                             "consumer, ack_handle, invisible_until_ms, receive_count) "
                                             "VALUES (?, ?, ?, ?, NULL, NULL, 0, 0)"));
      insert.bind_text(1, message.id.str()).bind(2, enqueued_at_ms).bind_blob(3, encode_properties(message.headers));
      insert.bind_blob(4, message.body);
      HADR_TRY(insert.run());
    }
    return ok_status();
  });
}

Result<std::vector<SourceMessage>> SqliteSource::receive(std::size_t max) {
  if (max < 1 || max > kMaxBatch) {
    return invalid_argument("receive of " + std::to_string(max) + " messages; ask for 1.." + std::to_string(kMaxBatch));
  }
  std::lock_guard lock(mutex_);
  const std::int64_t now_ms = store_now_ms();
  std::vector<SourceMessage> received;
  std::vector<std::pair<std::int64_t, std::int64_t>> deliveries;  // (sequence, receive count)
  HADR_TRY(connection_->transaction(Mode::kWrite, [&]() -> Status {
    {
      HADR_ASSIGN_OR_RETURN(auto select, connection_->query(
                                             "SELECT sequence, message_id, enqueued_at_ms, headers, body, "
                                             "receive_count FROM source_messages WHERE consumer IS NULL "
                                             "OR invisible_until_ms <= ? ORDER BY sequence LIMIT ?"));
      select.bind(1, now_ms).bind(2, static_cast<std::int64_t>(max));
      for (std::size_t row = 0; row < max; ++row) {
        HADR_ASSIGN_OR_RETURN(const bool has_row, select.next_row());
        if (!has_row) break;
        const std::int64_t sequence = select.column_int64(0);
        const std::string where = "sqlite " + connection_->path() + " source message " + std::to_string(sequence);
        SourceMessage message;
        auto id = MessageId::parse(select.column_text(1));
        if (!id.ok()) return data_loss(where + ": stored id is invalid: " + id.error().detail);
        message.id = std::move(id).value();
        message.source_ref = source_name_ + "@" + std::to_string(sequence);
        message.enqueued_at = wall_time_from_millis(select.column_int64(2));
        HADR_ASSIGN_OR_RETURN(message.headers, decode_properties(select.column_blob(3), where));
        message.body = select.column_blob(4);
        const std::int64_t receive_count = select.column_int64(5) + 1;
        message.ack_handle = std::to_string(sequence) + "-" + std::to_string(receive_count);
        deliveries.emplace_back(sequence, receive_count);
        received.push_back(std::move(message));
      }
    }
    for (std::size_t i = 0; i < received.size(); ++i) {
      HADR_ASSIGN_OR_RETURN(auto hide, connection_->query("UPDATE source_messages SET consumer = ?, ack_handle = ?, "
                                                          "invisible_until_ms = ?, receive_count = ? "
                                                          "WHERE sequence = ?"));
      hide.bind_text(1, consumer_).bind_text(2, received[i].ack_handle);
      hide.bind(3, now_ms + visibility_timeout_.count()).bind(4, deliveries[i].second).bind(5, deliveries[i].first);
      HADR_TRY(hide.run());
    }
    return ok_status();
  }));
  HADR_ASSERT(received.size() <= max);
  return received;
}

Status SqliteSource::ack_one(const std::string& ack_handle, std::int64_t now_ms) {
  const std::string lost = "ack handle " + ack_handle + " of consumer '" + consumer_ + "' ";
  std::int64_t sequence = 0;
  const auto [end, error] = std::from_chars(ack_handle.data(), ack_handle.data() + ack_handle.size(), sequence);
  if (error != std::errc() || end == ack_handle.data() + ack_handle.size() || *end != '-') {
    return aborted(lost + "is unknown");
  }
  HADR_ASSIGN_OR_RETURN(auto remove, connection_->query("DELETE FROM source_messages WHERE sequence = ? AND "
                                                        "ack_handle = ? AND consumer = ? AND invisible_until_ms > ?"));
  remove.bind(1, sequence).bind_text(2, ack_handle).bind_text(3, consumer_).bind(4, now_ms);
  HADR_TRY(remove.run());
  if (connection_->changes() != 1) {
    return aborted(lost + "is unknown or expired; the message may already be redelivered");
  }
  return ok_status();
}

Status SqliteSource::ack(std::span<const std::string> ack_handles) {
  HADR_TRY(validate_ack_handles(ack_handles, kMaxBatch));
  std::lock_guard lock(mutex_);
  const std::int64_t now_ms = store_now_ms();
  return connection_->transaction(Mode::kWrite, [&]() -> Status {
    for (const std::string& handle : ack_handles) HADR_TRY(ack_one(handle, now_ms));
    return ok_status();
  });
}

Result<std::uint64_t> SqliteSource::depth() {
  std::lock_guard lock(mutex_);
  HADR_ASSIGN_OR_RETURN(auto count, connection_->query("SELECT COUNT(*) FROM source_messages"));
  HADR_ASSIGN_OR_RETURN(const bool has_row, count.next_row());
  HADR_ASSERT(has_row);
  return static_cast<std::uint64_t>(count.column_int64(0));
}

}  // namespace hadr
