// Proves the ledger handler's exactly-once building block: the ledger row and the dedupe mark
// commit together (kDone + marked_done, one row with the message's fields); a lost or expired
// claim rolls back and leaves no row (kRetryLater saying the effect did not happen); a repeated
// call under the same done claim adds no second row; and LedgerReader makes a duplicate effect
// visible (a row inserted twice for one id is counted, listed and streamed, never hidden).
#include "handlers/ledger_handler.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include "embedded/sqlite_dedupe_store.h"
#include "handlers/tests/handler_test_support.h"

namespace hadr::handlers_test {
namespace {

class LedgerHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = directory_.path() + "/dedupe.db";
    auto store = SqliteDedupeStore::open(path_, clock_);
    ASSERT_TRUE(store.ok()) << store.error().to_string();
    store_ = std::move(store).value();
    handler_ = std::make_unique<LedgerHandler>(*store_, test_region("b"), clock_, Milliseconds(3'600'000));
  }

  std::string claim(std::string_view id, Milliseconds ttl = Milliseconds(60'000)) {
    auto outcome = store_->claim(test_id(id), "b/worker-1", Epoch{7}, ttl);
    EXPECT_TRUE(outcome.ok());
    EXPECT_EQ(outcome->status, ClaimStatus::kClaimed);
    return outcome->claim_token;
  }

  std::unique_ptr<LedgerReader> reader() {
    auto opened = LedgerReader::open(path_);
    EXPECT_TRUE(opened.ok()) << opened.error().to_string();
    return std::move(opened).value();
  }

  std::uint64_t rows_of(std::string_view id) { return reader()->effect_count(id).value(); }

  TemporaryDirectory directory_;
  std::string path_;
  ManualClock clock_;
  std::unique_ptr<SqliteDedupeStore> store_;
  std::unique_ptr<LedgerHandler> handler_;
};

TEST_F(LedgerHandlerTest, EffectAndMarkCommitTogether) {
  const BusMessage message = test_message("m-1", "hello");
  const std::string token = claim("m-1");
  const HandlerResult result = handler_->handle(test_input(message, token));
  EXPECT_EQ(result.verdict, HandlerVerdict::kDone) << result.reason;
  EXPECT_TRUE(result.marked_done);
  EXPECT_EQ(rows_of("m-1"), 1u);
  const MessageId id = test_id("m-1");
  EXPECT_EQ(store_->lookup(std::span(&id, 1)).value()[0], RecordState::kDone);
}

TEST_F(LedgerHandlerTest, RowCarriesTheMessageFields) {
  const BusMessage message = test_message("m-1", "hello");
  ASSERT_EQ(handler_->handle(test_input(message, claim("m-1"))).verdict, HandlerVerdict::kDone);
  auto inspector = SqliteConnection::open(path_, SqliteOptions{}).value();
  auto query = inspector
                   ->query("SELECT message_id, region, epoch, source_region, lsn, body_bytes, body_xxh3_64, "
                           "applied_at_ms FROM ledger")
                   .value();
  ASSERT_TRUE(query.next_row().value());
  EXPECT_EQ(query.column_text(0), "m-1");
  EXPECT_EQ(query.column_text(1), "b");
  EXPECT_EQ(query.column_int64(2), 7);
  EXPECT_EQ(query.column_text(3), "a");
  EXPECT_EQ(query.column_int64(4), 42);
  EXPECT_EQ(query.column_int64(5), 5);
  EXPECT_EQ(static_cast<std::uint64_t>(query.column_int64(6)), XXH3_64bits("hello", 5));
  EXPECT_EQ(query.column_int64(7), unix_millis(clock_.now_wall()));
}

TEST_F(LedgerHandlerTest, LostClaimRollsBackAndLeavesNoRow) {
  const BusMessage message = test_message("m-1");
  const std::string stale_token = claim("m-1", Milliseconds(1'000));
  clock_.advance(Milliseconds(2'000));  // the claim expires
  const std::string live_token = claim("m-1");
  ASSERT_NE(stale_token, live_token);
  const HandlerResult result = handler_->handle(test_input(message, stale_token));
  EXPECT_EQ(result.verdict, HandlerVerdict::kRetryLater);
  EXPECT_FALSE(result.marked_done);
  EXPECT_NE(result.reason.find("claim lost"), std::string::npos) << result.reason;
  EXPECT_NE(result.reason.find("not applied"), std::string::npos) << result.reason;
  EXPECT_EQ(rows_of("m-1"), 0u);
}

TEST_F(LedgerHandlerTest, ExpiredClaimWithoutSuccessorLeavesNoRow) {
  const std::string token = claim("m-1", Milliseconds(1'000));
  clock_.advance(Milliseconds(2'000));
  const BusMessage message = test_message("m-1");
  EXPECT_EQ(handler_->handle(test_input(message, token)).verdict, HandlerVerdict::kRetryLater);
  EXPECT_EQ(rows_of("m-1"), 0u);
}

TEST_F(LedgerHandlerTest, RepeatUnderTheSameDoneClaimAddsNoRow) {
  const BusMessage message = test_message("m-1");
  const std::string token = claim("m-1");
  ASSERT_EQ(handler_->handle(test_input(message, token)).verdict, HandlerVerdict::kDone);
  const HandlerResult again = handler_->handle(test_input(message, token));
  EXPECT_EQ(again.verdict, HandlerVerdict::kDone);
  EXPECT_TRUE(again.marked_done);
  EXPECT_EQ(rows_of("m-1"), 1u);
}

// Another message's live claim token is no claim of this message: kRetryLater, nothing applied
// (the EffectLedger answers kAborted "claim lost"; src/contracts/tests/effect_ledger_conformance.cc).
TEST_F(LedgerHandlerTest, TokenOfAnotherMessagesClaimIsRetriedLater) {
  const std::string token = claim("m-1");
  ASSERT_EQ(handler_->handle(test_input(test_message("m-1"), token)).verdict, HandlerVerdict::kDone);
  claim("m-2");
  const HandlerResult lost = handler_->handle(test_input(test_message("m-2"), token));
  EXPECT_EQ(lost.verdict, HandlerVerdict::kRetryLater);
  EXPECT_FALSE(lost.marked_done);
  EXPECT_NE(lost.reason.find("claim lost"), std::string::npos) << lost.reason;
  EXPECT_EQ(rows_of("m-1"), 1u);
  EXPECT_EQ(rows_of("m-2"), 0u);
}

TEST_F(LedgerHandlerTest, ReaderOfADatabaseWithoutLedgerIsEmpty) {
  const LedgerSummary summary = reader()->summarize().value();
  EXPECT_EQ(summary.effects, 0u);
  EXPECT_EQ(summary.distinct_ids, 0u);
  EXPECT_TRUE(summary.duplicates.empty());
}

// A duplicate effect (here forced by a second row written behind the store's back, as a broken
// handler would) must be counted and listed, never hidden by a constraint.
TEST_F(LedgerHandlerTest, DuplicateEffectIsVisibleInTheSummary) {
  for (const char* id : {"m-1", "m-2", "m-3"}) {
    const BusMessage message = test_message(id);
    ASSERT_EQ(handler_->handle(test_input(message, claim(id))).verdict, HandlerVerdict::kDone);
  }
  auto inspector = SqliteConnection::open(path_, SqliteOptions{}).value();
  ASSERT_TRUE(inspector->execute("INSERT INTO ledger (message_id, region, epoch, source_region, lsn, body_bytes, "
                                 "body_xxh3_64, applied_at_ms) SELECT message_id, region, epoch, source_region, lsn, "
                                 "body_bytes, body_xxh3_64, applied_at_ms FROM ledger WHERE message_id = 'm-2'")
                  .ok());
  const LedgerSummary summary = reader()->summarize().value();
  EXPECT_EQ(summary.effects, 4u);
  EXPECT_EQ(summary.distinct_ids, 3u);
  EXPECT_EQ(summary.duplicated_ids, 1u);
  ASSERT_EQ(summary.duplicates.size(), 1u);
  EXPECT_EQ(summary.duplicates[0].first, "m-2");
  EXPECT_EQ(summary.duplicates[0].second, 2u);
}

TEST_F(LedgerHandlerTest, EffectCountsStreamInIdOrder) {
  for (const char* id : {"m-3", "m-1", "m-2"}) {
    const BusMessage message = test_message(id);
    ASSERT_EQ(handler_->handle(test_input(message, claim(id))).verdict, HandlerVerdict::kDone);
  }
  std::vector<std::pair<std::string, std::uint64_t>> seen;
  ASSERT_TRUE(reader()
                  ->for_each_effect_count(10,
                                          [&](const std::string& id, std::uint64_t count) {
                                            seen.emplace_back(id, count);
                                            return ok_status();
                                          })
                  .ok());
  const std::vector<std::pair<std::string, std::uint64_t>> expected = {{"m-1", 1}, {"m-2", 1}, {"m-3", 1}};
  EXPECT_EQ(seen, expected);
}

TEST_F(LedgerHandlerTest, StreamingPastTheIdLimitIsRefused) {
  for (const char* id : {"m-1", "m-2", "m-3"}) {
    const BusMessage message = test_message(id);
    ASSERT_EQ(handler_->handle(test_input(message, claim(id))).verdict, HandlerVerdict::kDone);
  }
  const Status status = reader()->for_each_effect_count(2, [](const std::string&, std::uint64_t) {
    return ok_status();
  });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(status.error().detail.find("more than 2"), std::string::npos);
}

}  // namespace
}  // namespace hadr::handlers_test
