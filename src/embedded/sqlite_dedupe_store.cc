#include "embedded/sqlite_dedupe_store.h"

#include <limits>

#include "contracts/validation.h"

namespace hadr {
namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS dedupe_records (
  message_id TEXT PRIMARY KEY NOT NULL,
  state INTEGER NOT NULL,
  owner TEXT NOT NULL,
  claim_token TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  reason BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dedupe_records_by_expiry ON dedupe_records (expires_at_ms);
CREATE TABLE IF NOT EXISTS dedupe_pins (
  message_id TEXT NOT NULL,
  tag TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  PRIMARY KEY (message_id, tag)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dedupe_pins_by_expiry ON dedupe_pins (expires_at_ms);
CREATE TABLE IF NOT EXISTS dedupe_counters (
  name TEXT PRIMARY KEY NOT NULL,
  value INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// The tag row that marks a pin set that overflowed kPinsMax: permanently pinned. A real tag is
// never empty (validate_copy_pins), so no retire removes it.
constexpr std::string_view kPinsFullTag = "";

constexpr std::string_view kHighestEpoch = "highest_epoch";
constexpr std::string_view kClaimSequence = "claim_sequence";

using Mode = SqliteConnection::TransactionMode;

Status validate_id(const MessageId& id) {
  if (id.empty()) return invalid_argument("message id is empty; give the message's stable id");
  return ok_status();
}

Status validate_token(std::string_view claim_token) {
  return validate_printable("claim token", claim_token, kMaxNameBytes);
}

}  // namespace

Result<std::unique_ptr<SqliteDedupeStore>> SqliteDedupeStore::open(const std::string& path, const Clock& clock,
                                                                   const SqliteOptions& options) {
  HADR_ASSIGN_OR_RETURN(auto connection, SqliteConnection::open(path, options));
  HADR_TRY(connection->transaction(Mode::kWrite, [&] { return connection->execute(kSchema); }));
  HADR_ASSIGN_OR_RETURN(StoreClock store_clock, StoreClock::open(*connection, clock, options.boot_id));
  return std::unique_ptr<SqliteDedupeStore>(new SqliteDedupeStore(std::move(connection), std::move(store_clock)));
}

SqliteDedupeStore::SqliteDedupeStore(std::unique_ptr<SqliteConnection> connection, StoreClock store_clock)
    : connection_(std::move(connection)), store_clock_(std::move(store_clock)) {}

std::int64_t SqliteDedupeStore::store_now_ms() { return store_clock_.now_ms(*connection_); }

Result<std::optional<SqliteDedupeStore::Record>> SqliteDedupeStore::read_live_record(const MessageId& id,
                                                                                     std::int64_t now_ms) {
  HADR_ASSIGN_OR_RETURN(auto query, connection_->query("SELECT state, owner, claim_token, expires_at_ms "
                                                       "FROM dedupe_records "
                                                       "WHERE message_id = ? AND expires_at_ms > ?"));
  query.bind_text(1, id.str()).bind(2, now_ms);
  HADR_ASSIGN_OR_RETURN(const bool found, query.next_row());
  if (!found) return std::optional<Record>();
  const std::int64_t state = query.column_int64(0);
  if (state < static_cast<std::int64_t>(Stored::kClaimed) || state > static_cast<std::int64_t>(Stored::kDeadLettered)) {
    return data_loss("sqlite " + connection_->path() + ": dedupe record '" + id.str() + "' has unknown state " +
                     std::to_string(state));
  }
  return std::optional<Record>(
      Record{static_cast<Stored>(state), query.column_text(1), query.column_text(2), query.column_int64(3)});
}

Status SqliteDedupeStore::write_record(const MessageId& id, const Record& record, std::string_view reason) {
  HADR_ASSIGN_OR_RETURN(auto query,
                        connection_->query("INSERT OR REPLACE INTO dedupe_records "
                                           "(message_id, state, owner, claim_token, expires_at_ms, reason) "
                                           "VALUES (?, ?, ?, ?, ?, ?)"));
  query.bind_text(1, id.str()).bind(2, static_cast<std::int64_t>(record.state)).bind_text(3, record.owner);
  query.bind_text(4, record.claim_token).bind(5, record.expires_at_ms).bind_blob(6, reason);
  return query.run();
}

Result<std::int64_t> SqliteDedupeStore::read_counter(std::string_view name) {
  HADR_ASSIGN_OR_RETURN(auto query, connection_->query("SELECT value FROM dedupe_counters WHERE name = ?"));
  query.bind_text(1, name);
  HADR_ASSIGN_OR_RETURN(const bool found, query.next_row());
  return found ? query.column_int64(0) : std::int64_t{0};
}

Status SqliteDedupeStore::write_counter(std::string_view name, std::int64_t value) {
  HADR_ASSIGN_OR_RETURN(auto query, connection_->query("INSERT OR REPLACE INTO dedupe_counters (name, value) "
                                                       "VALUES (?, ?)"));
  query.bind_text(1, name).bind(2, value);
  return query.run();
}

Status SqliteDedupeStore::delete_expired(std::int64_t now_ms) {
  HADR_ASSIGN_OR_RETURN(auto query, connection_->query("DELETE FROM dedupe_records WHERE message_id IN "
                                                       "(SELECT message_id FROM dedupe_records "
                                                       "WHERE expires_at_ms <= ? LIMIT ?)"));
  query.bind(1, now_ms).bind(2, kCleanupBatch);
  HADR_TRY(query.run());
  HADR_ASSIGN_OR_RETURN(auto pins, connection_->query("DELETE FROM dedupe_pins WHERE (message_id, tag) IN "
                                                      "(SELECT message_id, tag FROM dedupe_pins "
                                                      "WHERE expires_at_ms <= ? LIMIT ?)"));
  pins.bind(1, now_ms).bind(2, kCleanupBatch);
  return pins.run();
}

Result<bool> SqliteDedupeStore::has_pin(const MessageId& id, std::string_view tag) {
  HADR_ASSIGN_OR_RETURN(auto query, connection_->query("SELECT 1 FROM dedupe_pins WHERE message_id = ? AND tag = ?"));
  query.bind_text(1, id.str()).bind_text(2, tag);
  return query.next_row();
}

Result<std::int64_t> SqliteDedupeStore::count_live_pins(const MessageId& id, std::int64_t now_ms) {
  HADR_ASSIGN_OR_RETURN(auto query, connection_->query("SELECT count(*) FROM dedupe_pins "
                                                       "WHERE message_id = ? AND expires_at_ms > ?"));
  query.bind_text(1, id.str()).bind(2, now_ms);
  HADR_ASSIGN_OR_RETURN(const bool found, query.next_row());
  HADR_ASSERT(found);
  return query.column_int64(0);
}

Result<ClaimOutcome> SqliteDedupeStore::claim(const MessageId& id, std::string_view owner, Epoch epoch,
                                              Milliseconds claim_ttl) {
  HADR_TRY(validate_id(id));
  HADR_TRY(validate_printable("claim owner", owner, kMaxNameBytes));
  HADR_TRY(validate_ttl("claim ttl", claim_ttl, kMaxDedupeTtl));
  if (epoch.value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return invalid_argument("epoch " + std::to_string(epoch.value) + " is above 2^63-1");
  }
  std::lock_guard lock(mutex_);
  const std::int64_t now_ms = store_now_ms();
  ClaimOutcome outcome;
  HADR_TRY(connection_->transaction(Mode::kWrite, [&]() -> Status {
    HADR_ASSIGN_OR_RETURN(outcome, claim_in_transaction(id, owner, epoch, claim_ttl, now_ms));
    return delete_expired(now_ms);
  }));
  HADR_ASSERT(outcome.highest_epoch >= epoch);
  return outcome;
}

Result<ClaimOutcome> SqliteDedupeStore::claim_in_transaction(const MessageId& id, std::string_view owner,
                                                             Epoch epoch, Milliseconds claim_ttl,
                                                             std::int64_t now_ms) {
  HADR_ASSIGN_OR_RETURN(std::int64_t highest, read_counter(kHighestEpoch));
  // Any claim with a higher epoch is news of a newer region epoch: record it whatever the answer.
  if (static_cast<std::int64_t>(epoch.value) > highest) {
    highest = static_cast<std::int64_t>(epoch.value);
    HADR_TRY(write_counter(kHighestEpoch, highest));
  }
  ClaimOutcome outcome;
  outcome.highest_epoch = Epoch{static_cast<std::uint64_t>(highest)};
  HADR_ASSIGN_OR_RETURN(const std::optional<Record> live, read_live_record(id, now_ms));
  if (live && live->state != Stored::kClaimed) {
    outcome.status = ClaimStatus::kAlreadyDone;
    return outcome;
  }
  if (static_cast<std::int64_t>(epoch.value) < highest) {
    outcome.status = ClaimStatus::kStaleEpoch;
    return outcome;
  }
  if (live && live->owner != owner) {
    outcome.status = ClaimStatus::kBusy;
    outcome.busy_owner = live->owner;
    outcome.busy_remaining = Milliseconds(live->expires_at_ms - now_ms);
    return outcome;
  }
  // Granted (also to the same owner again: a restarted worker must not wait for its own dead
  // claim). The new token replaces the old one, which stops working.
  HADR_ASSIGN_OR_RETURN(const std::int64_t sequence, read_counter(kClaimSequence));
  HADR_TRY(write_counter(kClaimSequence, sequence + 1));
  Record claimed{Stored::kClaimed, std::string(owner), "c", now_ms + claim_ttl.count()};
  claimed.claim_token += std::to_string(sequence + 1);
  HADR_TRY(write_record(id, claimed, ""));
  outcome.status = ClaimStatus::kClaimed;
  outcome.claim_token = claimed.claim_token;
  return outcome;
}

Status SqliteDedupeStore::settle_in_transaction(const MessageId& id, std::string_view claim_token, Stored final_state,
                                                std::string_view reason, Milliseconds record_ttl,
                                                std::int64_t now_ms, bool& already_settled) {
  already_settled = false;
  HADR_ASSIGN_OR_RETURN(const std::optional<Record> live, read_live_record(id, now_ms));
  if (live && live->claim_token == claim_token) {
    if (live->state == final_state) {
      already_settled = true;
      return ok_status();
    }
    if (live->state == Stored::kClaimed) {
      return write_record(id, Record{final_state, live->owner, live->claim_token, now_ms + record_ttl.count()},
                          reason);
    }
    return failed_precondition("message '" + id.str() + "' was already marked " +
                               (live->state == Stored::kDone ? "done" : "dead-lettered") +
                               " under this claim; it cannot change to another outcome");
  }
  std::string why = "no live claim (it expired or was released)";
  if (live && live->state == Stored::kClaimed) why = "it is now claimed by '" + live->owner + "'";
  if (live && live->state != Stored::kClaimed) why = "it was settled under another claim";
  return aborted("claim lost: token " + std::string(claim_token) + " is not the live claim of message '" + id.str() +
                 "': " + why);
}

Status SqliteDedupeStore::settle(const MessageId& id, std::string_view claim_token, Stored final_state,
                                 std::string_view reason, Milliseconds record_ttl,
                                 const std::function<Status(SqliteConnection&)>* effect) {
  HADR_TRY(validate_id(id));
  HADR_TRY(validate_token(claim_token));
  HADR_TRY(validate_ttl("record ttl", record_ttl, kMaxDedupeTtl));
  if (reason.size() > kMaxReasonBytes) {
    return invalid_argument("dead-letter reason is " + std::to_string(reason.size()) + " bytes; the maximum is " +
                            std::to_string(kMaxReasonBytes));
  }
  std::lock_guard lock(mutex_);
  const std::int64_t now_ms = store_now_ms();
  return connection_->transaction(Mode::kWrite, [&]() -> Status {
    bool already_settled = false;
    HADR_TRY(settle_in_transaction(id, claim_token, final_state, reason, record_ttl, now_ms, already_settled));
    // The effect commits with the mark or not at all; a repeat of a committed mark must not
    // apply it twice.
    if (effect != nullptr && !already_settled) HADR_TRY((*effect)(*connection_));
    return delete_expired(now_ms);
  });
}

Status SqliteDedupeStore::mark_done(const MessageId& id, std::string_view claim_token, Milliseconds record_ttl) {
  return settle(id, claim_token, Stored::kDone, "", record_ttl, nullptr);
}

Status SqliteDedupeStore::mark_dead_lettered(const MessageId& id, std::string_view claim_token,
                                             std::string_view reason, Milliseconds record_ttl) {
  return settle(id, claim_token, Stored::kDeadLettered, reason, record_ttl, nullptr);
}

Status SqliteDedupeStore::mark_done_with_effect(const MessageId& id, std::string_view claim_token,
                                                Milliseconds record_ttl,
                                                const std::function<Status(SqliteConnection&)>& effect) {
  HADR_ASSERT(effect != nullptr);
  return settle(id, claim_token, Stored::kDone, "", record_ttl, &effect);
}

Status SqliteDedupeStore::release(const MessageId& id, std::string_view claim_token) {
  HADR_TRY(validate_id(id));
  HADR_TRY(validate_token(claim_token));
  std::lock_guard lock(mutex_);
  const std::int64_t now_ms = store_now_ms();
  return connection_->transaction(Mode::kWrite, [&]() -> Status {
    HADR_ASSIGN_OR_RETURN(const std::optional<Record> live, read_live_record(id, now_ms));
    if (!live || live->state != Stored::kClaimed || live->claim_token != claim_token) {
      return aborted("claim lost: token " + std::string(claim_token) + " is not the live claim of message '" +
                     id.str() + "'; nothing to release");
    }
    HADR_ASSIGN_OR_RETURN(auto query, connection_->query("DELETE FROM dedupe_records WHERE message_id = ?"));
    query.bind_text(1, id.str());
    return query.run();
  });
}

Result<std::vector<RecordState>> SqliteDedupeStore::lookup(std::span<const MessageId> ids) {
  if (ids.size() > kMaxLookupBatch) {
    return invalid_argument("lookup of " + std::to_string(ids.size()) + " ids; the maximum batch is " +
                            std::to_string(kMaxLookupBatch));
  }
  for (const MessageId& id : ids) HADR_TRY(validate_id(id));
  std::lock_guard lock(mutex_);
  const std::int64_t now_ms = store_now_ms();
  std::vector<RecordState> states;
  states.reserve(ids.size());
  // One snapshot for the whole batch. In-process point reads cost microseconds each: there is
  // no round trip to save, unlike the Redis pipeline.
  HADR_TRY(connection_->transaction(Mode::kRead, [&]() -> Status {
    for (const MessageId& id : ids) {
      HADR_ASSIGN_OR_RETURN(const std::optional<Record> live, read_live_record(id, now_ms));
      if (!live) states.push_back(RecordState::kUnknown);
      else if (live->state == Stored::kClaimed) states.push_back(RecordState::kClaimed);
      else if (live->state == Stored::kDone) states.push_back(RecordState::kDone);
      else states.push_back(RecordState::kDeadLettered);
    }
    return ok_status();
  }));
  HADR_ASSERT(states.size() == ids.size());
  return states;
}

Status SqliteDedupeStore::pin(std::span<const CopyPin> pins) {
  HADR_TRY(validate_copy_pins("pin", pins));
  if (pins.empty()) return ok_status();
  std::lock_guard lock(mutex_);
  const std::int64_t now_ms = store_now_ms();
  const std::int64_t pinned_until = now_ms + kUnsettledRecordTtl.count();
  // One transaction for the batch. Pins live in their own table: a claim's row may come and go
  // (expire, release) under them.
  return connection_->transaction(Mode::kWrite, [&]() -> Status {
    for (const CopyPin& pin : pins) {
      HADR_ASSIGN_OR_RETURN(auto stale, connection_->query("DELETE FROM dedupe_pins WHERE message_id = ? AND "
                                                           "expires_at_ms <= ?"));
      stale.bind_text(1, pin.id.str()).bind(2, now_ms);
      HADR_TRY(stale.run());
      HADR_ASSIGN_OR_RETURN(const bool present, has_pin(pin.id, pin.tag));
      if (!present) {
        HADR_ASSIGN_OR_RETURN(const bool is_full, has_pin(pin.id, kPinsFullTag));
        HADR_ASSIGN_OR_RETURN(const std::int64_t count, count_live_pins(pin.id, now_ms));
        // A full set takes the overflow row instead: permanently pinned (the safe direction).
        const bool overflow = is_full || count >= static_cast<std::int64_t>(kPinsMax);
        HADR_ASSIGN_OR_RETURN(auto insert, connection_->query("INSERT OR REPLACE INTO dedupe_pins "
                                                              "(message_id, tag, expires_at_ms) VALUES (?, ?, ?)"));
        insert.bind_text(1, pin.id.str()).bind_text(2, overflow ? kPinsFullTag : std::string_view(pin.tag));
        insert.bind(3, pinned_until);
        HADR_TRY(insert.run());
      }
      HADR_ASSIGN_OR_RETURN(auto extend, connection_->query("UPDATE dedupe_pins SET expires_at_ms = ? "
                                                            "WHERE message_id = ?"));
      extend.bind(1, pinned_until).bind_text(2, pin.id.str());
      HADR_TRY(extend.run());
      // A final record that a retire shortened lives kUnsettledRecordTtl again.
      HADR_ASSIGN_OR_RETURN(auto record, connection_->query("UPDATE dedupe_records SET expires_at_ms = "
                                                            "max(expires_at_ms, ?) WHERE message_id = ? AND "
                                                            "state != ? AND expires_at_ms > ?"));
      record.bind(1, pinned_until)
          .bind_text(2, pin.id.str())
          .bind(3, static_cast<std::int64_t>(Stored::kClaimed))
          .bind(4, now_ms);
      HADR_TRY(record.run());
    }
    return delete_expired(now_ms);
  });
}

Status SqliteDedupeStore::retire(std::span<const CopyPin> pins, Milliseconds record_ttl) {
  HADR_TRY(validate_copy_pins("retire", pins));
  HADR_TRY(validate_ttl("record ttl", record_ttl, kMaxDedupeTtl));
  if (pins.empty()) return ok_status();
  std::lock_guard lock(mutex_);
  const std::int64_t now_ms = store_now_ms();
  // One transaction for the batch; a record moves only when no pin is left, and only a live
  // final record moves (a claim keeps its own TTL).
  return connection_->transaction(Mode::kWrite, [&]() -> Status {
    for (const CopyPin& pin : pins) {
      HADR_ASSIGN_OR_RETURN(auto unpin, connection_->query("DELETE FROM dedupe_pins WHERE message_id = ? AND tag = ?"));
      unpin.bind_text(1, pin.id.str()).bind_text(2, pin.tag);
      HADR_TRY(unpin.run());
      HADR_ASSIGN_OR_RETURN(const std::int64_t left, count_live_pins(pin.id, now_ms));
      if (left > 0) continue;  // another copy is not settled yet
      HADR_ASSIGN_OR_RETURN(auto query, connection_->query("UPDATE dedupe_records SET expires_at_ms = ? WHERE "
                                                           "message_id = ? AND state != ? AND expires_at_ms > ?"));
      query.bind(1, now_ms + record_ttl.count())
          .bind_text(2, pin.id.str())
          .bind(3, static_cast<std::int64_t>(Stored::kClaimed))
          .bind(4, now_ms);
      HADR_TRY(query.run());
    }
    return ok_status();
  });
}

Result<Epoch> SqliteDedupeStore::highest_epoch() {
  std::lock_guard lock(mutex_);
  HADR_ASSIGN_OR_RETURN(const std::int64_t highest, read_counter(kHighestEpoch));
  HADR_ASSERT(highest >= 0);
  return Epoch{static_cast<std::uint64_t>(highest)};
}

}  // namespace hadr
