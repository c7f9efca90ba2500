// Proves what only the SQLite dedupe store promises beyond the DedupeStore contract:
//   - mark_done_with_effect() commits a handler's effect (a row in a ledger table of the same
//     file) and the mark together or not at all: an effect that fails is rolled back and the
//     claim stays live; a lost claim runs no effect; a repeated mark never applies it twice —
//     the exactly-once building block;
//   - expired records are deleted in bounded batches by later writes;
//   - claim tokens are deterministic (the same history gives the same tokens);
//   - a file written before copy pins opens: the pin table is added, its records have no pins.
#include "embedded/sqlite_dedupe_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "contracts/tests/conformance_support.h"
#include "contracts/validation.h"
#include "embedded/tests/embedded_backend_factory.h"

namespace hadr::testing {
namespace {

class SqliteDedupeStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = make_temporary_directory();
    path_ = directory_ + "/dedupe.db";
    auto store = SqliteDedupeStore::open(path_, clock_);
    ASSERT_TRUE(succeeded(store));
    store_ = std::move(store).value();
    auto inspector = SqliteConnection::open(path_, SqliteOptions{});
    ASSERT_TRUE(succeeded(inspector));
    inspector_ = std::move(inspector).value();
    ASSERT_TRUE(succeeded(inspector_->execute("CREATE TABLE ledger (message_id TEXT PRIMARY KEY, amount INTEGER)")));
  }
  void TearDown() override {
    store_.reset();
    inspector_.reset();
    std::filesystem::remove_all(directory_);
  }

  std::string claim(const MessageId& id, std::string_view owner, Milliseconds ttl) {
    auto outcome = store_->claim(id, owner, Epoch{1}, ttl);
    EXPECT_TRUE(succeeded(outcome));
    EXPECT_EQ(outcome.ok() ? outcome->status : ClaimStatus::kBusy, ClaimStatus::kClaimed);
    return outcome.ok() ? outcome->claim_token : std::string();
  }

  // The ledger handler's effect: one row per message, in the store's own transaction.
  std::function<Status(SqliteConnection&)> book(const MessageId& id, std::int64_t amount) {
    return [this, id, amount](SqliteConnection& connection) -> Status {
      ++effect_runs_;
      HADR_ASSIGN_OR_RETURN(auto insert, connection.query("INSERT INTO ledger (message_id, amount) VALUES (?, ?)"));
      insert.bind_text(1, id.str()).bind(2, amount);
      return insert.run();
    };
  }

  std::int64_t count(std::string_view sql) {
    auto query = inspector_->query(sql);
    EXPECT_TRUE(succeeded(query));
    if (!query.ok()) return -1;
    auto has_row = query->next_row();
    EXPECT_TRUE(succeeded(has_row));
    return query->column_int64(0);
  }

  RecordState state_of(const MessageId& id) {
    const std::vector<MessageId> ids{id};
    auto states = store_->lookup(ids);
    EXPECT_TRUE(succeeded(states));
    return states.ok() ? states->front() : RecordState::kUnknown;
  }

  std::string directory_;
  std::string path_;
  ManualClock clock_;
  std::unique_ptr<SqliteDedupeStore> store_;
  std::unique_ptr<SqliteConnection> inspector_;
  int effect_runs_ = 0;
};

TEST_F(SqliteDedupeStoreTest, EffectAndMarkCommitTogether) {
  const MessageId id = message_id("payment-1");
  const std::string token = claim(id, "worker-a", kLongTtl);
  ASSERT_TRUE(succeeded(store_->mark_done_with_effect(id, token, kLongTtl, book(id, 100))));
  EXPECT_EQ(effect_runs_, 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM ledger"), 1);
  EXPECT_EQ(state_of(id), RecordState::kDone);
}

TEST_F(SqliteDedupeStoreTest, FailedEffectIsRolledBackAndClaimStaysLive) {
  const MessageId id = message_id("payment-1");
  const std::string token = claim(id, "worker-a", kLongTtl);
  const auto failing = [&](SqliteConnection& connection) -> Status {
    HADR_TRY(book(id, 100)(connection));  // the row is written, then the handler fails
    return unavailable("downstream refused");
  };
  const Status status = store_->mark_done_with_effect(id, token, kLongTtl, failing);
  ASSERT_TRUE(failed_with(status, ErrorCode::kUnavailable));
  EXPECT_EQ(count("SELECT COUNT(*) FROM ledger"), 0);
  EXPECT_EQ(state_of(id), RecordState::kClaimed);
  ASSERT_TRUE(succeeded(store_->mark_done_with_effect(id, token, kLongTtl, book(id, 100))));
  EXPECT_EQ(count("SELECT COUNT(*) FROM ledger"), 1);
}

TEST_F(SqliteDedupeStoreTest, LostClaimRunsNoEffect) {
  const MessageId id = message_id("payment-1");
  const std::string token = claim(id, "worker-a", kShortTtl);
  clock_.advance(kPastShortTtl);
  EXPECT_TRUE(failed_with(store_->mark_done_with_effect(id, token, kLongTtl, book(id, 100)), ErrorCode::kAborted));
  EXPECT_EQ(effect_runs_, 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM ledger"), 0);
  EXPECT_EQ(state_of(id), RecordState::kUnknown);
}

TEST_F(SqliteDedupeStoreTest, ClaimTakenOverByAnotherWorkerRunsNoEffectForTheFirst) {
  const MessageId id = message_id("payment-1");
  const std::string token_a = claim(id, "worker-a", kShortTtl);
  clock_.advance(kPastShortTtl);
  const std::string token_b = claim(id, "worker-b", kLongTtl);
  EXPECT_TRUE(failed_with(store_->mark_done_with_effect(id, token_a, kLongTtl, book(id, 100)), ErrorCode::kAborted));
  ASSERT_TRUE(succeeded(store_->mark_done_with_effect(id, token_b, kLongTtl, book(id, 100))));
  EXPECT_EQ(effect_runs_, 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM ledger"), 1);
}

TEST_F(SqliteDedupeStoreTest, RepeatedMarkDoesNotApplyEffectTwice) {
  const MessageId id = message_id("payment-1");
  const std::string token = claim(id, "worker-a", kLongTtl);
  ASSERT_TRUE(succeeded(store_->mark_done_with_effect(id, token, kLongTtl, book(id, 100))));
  // The worker lost the answer (crash, timeout) and marks again with the same token.
  ASSERT_TRUE(succeeded(store_->mark_done_with_effect(id, token, kLongTtl, book(id, 100))));
  EXPECT_EQ(effect_runs_, 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM ledger"), 1);
}

TEST_F(SqliteDedupeStoreTest, EffectSeesItsOwnEarlierWritesInTheSameTransaction) {
  const MessageId id = message_id("payment-1");
  const std::string token = claim(id, "worker-a", kLongTtl);
  std::int64_t rows_inside = -1;
  ASSERT_TRUE(succeeded(store_->mark_done_with_effect(id, token, kLongTtl, [&](SqliteConnection& connection) -> Status {
    HADR_TRY(book(id, 5)(connection));
    HADR_ASSIGN_OR_RETURN(auto query, connection.query("SELECT COUNT(*) FROM ledger"));
    HADR_ASSIGN_OR_RETURN(const bool has_row, query.next_row());
    rows_inside = has_row ? query.column_int64(0) : -1;
    return ok_status();
  })));
  EXPECT_EQ(rows_inside, 1);
}

TEST_F(SqliteDedupeStoreTest, ExpiredRecordsAreDeletedInBoundedBatches) {
  const std::vector<MessageId> ids = message_ids("old", 100);
  for (const MessageId& id : ids) claim(id, "worker-a", kShortTtl);
  clock_.advance(kPastShortTtl);
  EXPECT_EQ(count("SELECT COUNT(*) FROM dedupe_records"), 100) << "nothing is deleted before a write";
  claim(message_id("new-0"), "worker-a", kLongTtl);
  EXPECT_EQ(count("SELECT COUNT(*) FROM dedupe_records"), 100 - SqliteDedupeStore::kCleanupBatch + 1);
  for (int i = 1; i < 10; ++i) claim(message_id(numbered("new-", i)), "worker-a", kLongTtl);
  EXPECT_EQ(count("SELECT COUNT(*) FROM dedupe_records"), 10) << "only the live claims remain";
}

TEST_F(SqliteDedupeStoreTest, ClaimTokensAreDeterministic) {
  const std::string other_path = directory_ + "/other.db";
  auto other = SqliteDedupeStore::open(other_path, clock_);
  ASSERT_TRUE(succeeded(other));
  for (const MessageId& id : message_ids("m", 5)) {
    const std::string mine = claim(id, "worker-a", kLongTtl);
    auto theirs = (*other)->claim(id, "worker-a", Epoch{1}, kLongTtl);
    ASSERT_TRUE(succeeded(theirs));
    EXPECT_EQ(mine, theirs->claim_token);
  }
}

TEST_F(SqliteDedupeStoreTest, MarkingDoneAfterDeadLetteredIsFailedPrecondition) {
  const MessageId id = message_id("m1");
  const std::string token = claim(id, "worker-a", kLongTtl);
  ASSERT_TRUE(succeeded(store_->mark_dead_lettered(id, token, "poison", kLongTtl)));
  EXPECT_TRUE(failed_with(store_->mark_done(id, token, kLongTtl), ErrorCode::kFailedPrecondition));
  EXPECT_EQ(state_of(id), RecordState::kDeadLettered);
}

TEST_F(SqliteDedupeStoreTest, DeadLetterReasonOverLimitIsRejected) {
  const MessageId id = message_id("m1");
  const std::string token = claim(id, "worker-a", kLongTtl);
  EXPECT_TRUE(failed_with(store_->mark_dead_lettered(id, token, std::string(kMaxReasonBytes + 1, 'r'), kLongTtl),
                          ErrorCode::kInvalidArgument));
  EXPECT_EQ(state_of(id), RecordState::kClaimed);
}

// A dedupe file from before copy pins (no dedupe_pins table) opens: the table is created, and
// its done records, which have no pins, are shortened by the first retire as before.
TEST_F(SqliteDedupeStoreTest, FileFromBeforePinsOpensAndItsMarksRetireAsBefore) {
  const std::string old_path = directory_ + "/before-pins.db";
  {
    auto old = SqliteConnection::open(old_path, SqliteOptions{});
    ASSERT_TRUE(succeeded(old));
    ASSERT_TRUE(succeeded((*old)->execute(
        "CREATE TABLE dedupe_records (message_id TEXT PRIMARY KEY NOT NULL, state INTEGER NOT NULL, "
        "owner TEXT NOT NULL, claim_token TEXT NOT NULL, expires_at_ms INTEGER NOT NULL, reason BLOB NOT NULL) "
        "WITHOUT ROWID;"
        "CREATE INDEX dedupe_records_by_expiry ON dedupe_records (expires_at_ms);"
        "CREATE TABLE dedupe_counters (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) WITHOUT ROWID;"
        "INSERT INTO dedupe_records VALUES ('m-old', 2, 'worker-a', 'c1', 4611686018427387904, x'');")));
  }
  auto opened = SqliteDedupeStore::open(old_path, clock_);
  ASSERT_TRUE(succeeded(opened));
  SqliteDedupeStore& store = **opened;
  const std::vector<MessageId> old_id{message_id("m-old")};
  auto states = store.lookup(old_id);
  ASSERT_TRUE(succeeded(states));
  EXPECT_EQ(states->front(), RecordState::kDone);
  const std::vector<CopyPin> retire{{message_id("m-old"), "a:1"}};
  ASSERT_TRUE(succeeded(store.retire(retire, kShortTtl)));
  const std::vector<CopyPin> pins{{message_id("m-new"), "a:2"}};
  ASSERT_TRUE(succeeded(store.pin(pins)));
  clock_.advance(kPastShortTtl);
  states = store.lookup(old_id);
  ASSERT_TRUE(succeeded(states));
  EXPECT_EQ(states->front(), RecordState::kUnknown);
}

}  // namespace
}  // namespace hadr::testing
