// Proves what MemoryDedupeStore adds to the DedupeStore contract for the simulator: a fired
// kTimeoutAfterApply still claims or marks; a fired kClaimExpiresEarly makes the mark answer
// "claim lost" and frees the id; a disconnected client or kUnavailable changes nothing;
// restore() loses later marks and regresses the highest epoch (F10, F17) without ever
// reusing a claim token; records() shows what checkers need.
#include "memory/memory_dedupe_store.h"

#include <gtest/gtest.h>

#include <vector>

#include "memory/tests/memory_test_support.h"

namespace hadr {
namespace {

using std::chrono::milliseconds;
using memory_test::message_id;

constexpr Milliseconds kClaimTtl = milliseconds(200);
constexpr Milliseconds kRecordTtl = milliseconds(10'000);

class MemoryDedupeStoreTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  MemoryDedupeServer server_{clock_};
  ManualFaultInjector faults_;
  MemoryDedupeStore worker_a_{server_, &faults_};
  MemoryDedupeStore worker_b_{server_};
  const MessageId id_ = message_id("m-1");

  RecordState state_of(const MessageId& id) {
    auto states = worker_b_.lookup(std::vector<MessageId>{id});
    EXPECT_TRUE(states.ok()) << states.error().to_string();
    return states.ok() ? states->at(0) : RecordState::kUnknown;
  }
  std::string claim(MemoryDedupeStore& store, std::string_view owner, Epoch epoch) {
    auto outcome = store.claim(id_, owner, epoch, kClaimTtl);
    EXPECT_TRUE(outcome.ok()) << outcome.error().to_string();
    if (!outcome.ok()) return {};
    EXPECT_EQ(outcome->status, ClaimStatus::kClaimed);
    return outcome->claim_token;
  }
};

TEST_F(MemoryDedupeStoreTest, ClaimMarkThenAlreadyDoneForEveryone) {
  const std::string token = claim(worker_a_, "worker-a", Epoch{1});
  ASSERT_TRUE(worker_a_.mark_done(id_, token, kRecordTtl).ok());
  EXPECT_EQ(worker_b_.claim(id_, "worker-b", Epoch{1}, kClaimTtl)->status, ClaimStatus::kAlreadyDone);
  EXPECT_EQ(state_of(id_), RecordState::kDone);
  clock_.advance(kRecordTtl);
  EXPECT_EQ(state_of(id_), RecordState::kUnknown);  // the done record expired
}

TEST_F(MemoryDedupeStoreTest, ClaimTokensComeFromACounter) {
  EXPECT_EQ(claim(worker_a_, "worker-a", Epoch{1}), "claim-1");
  EXPECT_EQ(claim(worker_a_, "worker-a", Epoch{1}), "claim-2");  // same owner re-claims: new token
}

TEST_F(MemoryDedupeStoreTest, LiveClaimMayBeMarkedAfterTheEpochMovedOn) {
  const std::string token = claim(worker_a_, "worker-a", Epoch{1});
  auto newer = worker_b_.claim(message_id("m-2"), "worker-b", Epoch{2}, kClaimTtl);
  ASSERT_TRUE(newer.ok());
  EXPECT_EQ(newer->highest_epoch, Epoch{2});
  EXPECT_EQ(worker_a_.claim(message_id("m-3"), "worker-a", Epoch{1}, kClaimTtl)->status, ClaimStatus::kStaleEpoch);
  EXPECT_TRUE(worker_a_.mark_done(id_, token, kRecordTtl).ok());
}

TEST_F(MemoryDedupeStoreTest, DisconnectedClientChangesNothing) {
  worker_a_.set_connected(false);
  EXPECT_EQ(worker_a_.claim(id_, "worker-a", Epoch{5}, kClaimTtl).code(), ErrorCode::kUnavailable);
  EXPECT_EQ(state_of(id_), RecordState::kUnknown);
  EXPECT_EQ(*worker_b_.highest_epoch(), Epoch{0});  // the epoch never reached the store
}

TEST_F(MemoryDedupeStoreTest, UnavailableFaultChangesNothing) {
  const std::string token = claim(worker_a_, "worker-a", Epoch{1});
  faults_.arm(FaultSite::kUnavailable);
  EXPECT_EQ(worker_a_.mark_done(id_, token, kRecordTtl).code(), ErrorCode::kUnavailable);
  EXPECT_EQ(state_of(id_), RecordState::kClaimed);
  EXPECT_TRUE(worker_a_.mark_done(id_, token, kRecordTtl).ok());  // the retry after it heals
}

TEST_F(MemoryDedupeStoreTest, TimeoutAfterApplyOnClaimLeavesTheClaimHeld) {
  faults_.arm(FaultSite::kTimeoutAfterApply);
  EXPECT_EQ(worker_a_.claim(id_, "worker-a", Epoch{1}, kClaimTtl).code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(state_of(id_), RecordState::kClaimed);
  auto other = worker_b_.claim(id_, "worker-b", Epoch{1}, kClaimTtl);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->status, ClaimStatus::kBusy);
  EXPECT_EQ(other->busy_owner, "worker-a");
  // The owner retries with the same owner name and is granted again, with a new token.
  EXPECT_FALSE(claim(worker_a_, "worker-a", Epoch{1}).empty());
}

TEST_F(MemoryDedupeStoreTest, TimeoutAfterApplyOnMarkDoneRecordsDone) {
  const std::string token = claim(worker_a_, "worker-a", Epoch{1});
  faults_.arm(FaultSite::kTimeoutAfterApply);
  EXPECT_EQ(worker_a_.mark_done(id_, token, kRecordTtl).code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(state_of(id_), RecordState::kDone);
  EXPECT_TRUE(worker_a_.mark_done(id_, token, kRecordTtl).ok());  // the retry is idempotent
}

TEST_F(MemoryDedupeStoreTest, TimeoutAfterApplyOnMarkDeadLetteredRecordsIt) {
  const std::string token = claim(worker_a_, "worker-a", Epoch{1});
  faults_.arm(FaultSite::kTimeoutAfterApply);
  EXPECT_EQ(worker_a_.mark_dead_lettered(id_, token, "poison", kRecordTtl).code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(state_of(id_), RecordState::kDeadLettered);
}

TEST_F(MemoryDedupeStoreTest, ClaimExpiresEarlyMakesTheMarkLoseTheClaim) {
  const std::string token = claim(worker_a_, "worker-a", Epoch{1});
  faults_.arm(FaultSite::kClaimExpiresEarly);
  EXPECT_EQ(worker_a_.mark_done(id_, token, kRecordTtl).code(), ErrorCode::kAborted);
  EXPECT_EQ(state_of(id_), RecordState::kUnknown);
  EXPECT_FALSE(claim(worker_b_, "worker-b", Epoch{1}).empty());  // free for the next delivery
}

TEST_F(MemoryDedupeStoreTest, ClaimExpiresEarlyMakesReleaseLoseTheClaim) {
  const std::string token = claim(worker_a_, "worker-a", Epoch{1});
  faults_.arm(FaultSite::kClaimExpiresEarly);
  EXPECT_EQ(worker_a_.release(id_, token).code(), ErrorCode::kAborted);
  EXPECT_EQ(state_of(id_), RecordState::kUnknown);
}

TEST_F(MemoryDedupeStoreTest, ClaimExpiresEarlyLeavesADoneRecordAlone) {
  const std::string token = claim(worker_a_, "worker-a", Epoch{1});
  ASSERT_TRUE(worker_a_.mark_done(id_, token, kRecordTtl).ok());
  faults_.arm(FaultSite::kClaimExpiresEarly);
  EXPECT_TRUE(worker_a_.mark_done(id_, token, kRecordTtl).ok());
  EXPECT_EQ(state_of(id_), RecordState::kDone);
}

TEST_F(MemoryDedupeStoreTest, RestoreLosesLaterMarksAndRegressesTheEpoch) {
  const MemoryDedupeServer::Snapshot empty = server_.snapshot();
  const std::string token = claim(worker_a_, "worker-a", Epoch{3});
  ASSERT_TRUE(worker_a_.mark_done(id_, token, kRecordTtl).ok());
  server_.restore(empty);  // fault F10: the store restarts empty
  EXPECT_EQ(state_of(id_), RecordState::kUnknown);
  EXPECT_EQ(*worker_b_.highest_epoch(), Epoch{0});
  EXPECT_EQ(worker_b_.claim(id_, "worker-b", Epoch{1}, kClaimTtl)->status, ClaimStatus::kClaimed);
}

TEST_F(MemoryDedupeStoreTest, RestoreNeverReusesAClaimToken) {
  const MemoryDedupeServer::Snapshot before = server_.snapshot();
  const std::string old_token = claim(worker_a_, "worker-a", Epoch{1});
  server_.restore(before);
  const std::string new_token = claim(worker_a_, "worker-a", Epoch{1});
  EXPECT_NE(old_token, new_token);
  EXPECT_EQ(worker_a_.mark_done(id_, old_token, kRecordTtl).code(), ErrorCode::kAborted);
  EXPECT_TRUE(worker_a_.mark_done(id_, new_token, kRecordTtl).ok());
}

TEST_F(MemoryDedupeStoreTest, RecordsShowStateOwnerEpochAndLiveness) {
  const std::string token = claim(worker_a_, "worker-a", Epoch{2});
  ASSERT_TRUE(worker_a_.mark_dead_lettered(id_, token, "poison", kRecordTtl).ok());
  ASSERT_EQ(worker_b_.claim(message_id("m-0"), "worker-b", Epoch{2}, kClaimTtl)->status, ClaimStatus::kClaimed);
  auto records = server_.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].id.str(), "m-0");  // id order
  EXPECT_EQ(records[0].state, RecordState::kClaimed);
  EXPECT_EQ(records[1].state, RecordState::kDeadLettered);
  EXPECT_EQ(records[1].owner, "worker-a");
  EXPECT_EQ(records[1].epoch, Epoch{2});
  EXPECT_EQ(records[1].dead_letter_reason, "poison");
  EXPECT_TRUE(records[1].live);
  clock_.advance(kClaimTtl);
  EXPECT_FALSE(server_.records()[0].live);
}

TEST_F(MemoryDedupeStoreTest, BadInputIsInvalidArgumentAndChangesNothing) {
  EXPECT_EQ(worker_a_.claim(MessageId(), "worker-a", Epoch{1}, kClaimTtl).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(worker_a_.claim(id_, "", Epoch{1}, kClaimTtl).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(worker_a_.claim(id_, "worker-a", Epoch{9}, milliseconds(0)).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(worker_a_.mark_done(id_, "", kRecordTtl).code(), ErrorCode::kInvalidArgument);
  const std::vector<MessageId> too_many(DedupeStore::kMaxLookupBatch + 1, id_);
  EXPECT_EQ(worker_a_.lookup(too_many).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(*worker_b_.highest_epoch(), Epoch{0});
  EXPECT_TRUE(server_.records().empty());
}

}  // namespace
}  // namespace hadr
