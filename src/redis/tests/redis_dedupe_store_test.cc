// Proves RedisDedupeStore against a real redis-server: claim → mark → claim is kAlreadyDone;
// another owner's live claim is kBusy; a lower epoch gets no new claim while a granted claim
// may still be marked whatever the epoch; expired or superseded claims are "claim lost";
// marks are idempotent; lookup of 10,000 ids takes a handful of commands, not 10,000; the
// batch calls answer exactly like the single ones; two processes racing for the same ids get
// each id exactly once; bad input is kInvalidArgument.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "redis/redis_connection.h"
#include "redis/redis_dedupe_store.h"
#include "redis/testing/redis_test_environment.h"

namespace hadr::redis {
namespace {

using testing::RedisTestEnvironment;

constexpr Milliseconds kClaimTtl{60'000};

MessageId id_of(std::string_view text) { return MessageId::parse(text).value(); }

std::unique_ptr<RedisDedupeStore> open_store(const RedisOptions& options) {
  auto store = RedisDedupeStore::open(options);
  HADR_ASSERT_MSG(store.ok(), "%s", store.error().to_string().c_str());
  return std::move(store).value();
}

std::unique_ptr<RedisDedupeStore> fresh_store() {
  return open_store(RedisTestEnvironment::instance().options("dedupe"));
}

std::string claim_token(RedisDedupeStore& store, const MessageId& id, std::string_view owner, Epoch epoch = Epoch{1},
                        Milliseconds ttl = kClaimTtl) {
  auto outcome = store.claim(id, owner, epoch, ttl);
  HADR_ASSERT_MSG(outcome.ok() && outcome->status == ClaimStatus::kClaimed, "claim of %s failed", id.str().c_str());
  return outcome->claim_token;
}

bool wait_until_state(RedisDedupeStore& store, const MessageId& id, RecordState wanted) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto states = store.lookup(std::span(&id, 1));
    if (states.ok() && states->front() == wanted) return true;
    std::this_thread::sleep_for(Milliseconds(5));
  }
  return false;
}

TEST(RedisDedupeStore, ClaimMarkDoneThenClaimIsAlreadyDone) {
  auto store = fresh_store();
  const MessageId id = id_of("m-1");
  const std::string token = claim_token(*store, id, "worker-a");
  EXPECT_EQ(token, "worker-a/1");
  ASSERT_TRUE(store->mark_done(id, token, kDefaultDedupeRecordTtl).ok());
  auto again = store->claim(id, "worker-b", Epoch{1}, kClaimTtl);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, ClaimStatus::kAlreadyDone);
}

TEST(RedisDedupeStore, LiveClaimOfAnotherOwnerIsBusy) {
  auto store = fresh_store();
  const MessageId id = id_of("m-1");
  claim_token(*store, id, "worker-a");
  auto busy = store->claim(id, "worker-b", Epoch{1}, kClaimTtl);
  ASSERT_TRUE(busy.ok());
  EXPECT_EQ(busy->status, ClaimStatus::kBusy);
  EXPECT_EQ(busy->busy_owner, "worker-a");
  EXPECT_GT(busy->busy_remaining, Milliseconds(0));
  EXPECT_LE(busy->busy_remaining, kClaimTtl);
}

TEST(RedisDedupeStore, SameOwnerClaimsAgainWithANewTokenAndTheOldOneStops) {
  auto store = fresh_store();
  const MessageId id = id_of("m-1");
  const std::string first = claim_token(*store, id, "worker-a");
  const std::string second = claim_token(*store, id, "worker-a");
  EXPECT_NE(first, second);
  const Status old_mark = store->mark_done(id, first, kDefaultDedupeRecordTtl);
  ASSERT_FALSE(old_mark.ok());
  EXPECT_EQ(old_mark.code(), ErrorCode::kAborted);
  EXPECT_TRUE(store->mark_done(id, second, kDefaultDedupeRecordTtl).ok());
}

TEST(RedisDedupeStore, LowerEpochGetsNoNewClaim) {
  auto store = fresh_store();
  claim_token(*store, id_of("m-1"), "worker-b", Epoch{5});
  auto stale = store->claim(id_of("m-2"), "worker-a", Epoch{4}, kClaimTtl);
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->status, ClaimStatus::kStaleEpoch);
  EXPECT_EQ(stale->highest_epoch, Epoch{5});
  auto highest = store->highest_epoch();
  ASSERT_TRUE(highest.ok());
  EXPECT_EQ(*highest, Epoch{5});
}

TEST(RedisDedupeStore, HigherEpochRaisesTheHighestEpoch) {
  auto store = fresh_store();
  auto outcome = store->claim(id_of("m-1"), "worker-a", Epoch{3}, kClaimTtl);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->highest_epoch, Epoch{3});
  EXPECT_EQ(store->highest_epoch().value(), Epoch{3});
}

TEST(RedisDedupeStore, GrantedClaimIsMarkedDoneEvenAfterAHigherEpochAppeared) {
  auto store = fresh_store();
  const MessageId id = id_of("m-1");
  const std::string token = claim_token(*store, id, "worker-a", Epoch{1});
  claim_token(*store, id_of("m-2"), "worker-b", Epoch{2});  // region b took over
  EXPECT_TRUE(store->mark_done(id, token, kDefaultDedupeRecordTtl).ok());
  auto states = store->lookup(std::span(&id, 1));
  ASSERT_TRUE(states.ok());
  EXPECT_EQ(states->front(), RecordState::kDone);
}

TEST(RedisDedupeStore, MarkAfterTheClaimExpiredIsClaimLost) {
  auto store = fresh_store();
  const MessageId id = id_of("m-1");
  const std::string token = claim_token(*store, id, "worker-a", Epoch{1}, Milliseconds(20));
  ASSERT_TRUE(wait_until_state(*store, id, RecordState::kUnknown));
  const Status marked = store->mark_done(id, token, kDefaultDedupeRecordTtl);
  ASSERT_FALSE(marked.ok());
  EXPECT_EQ(marked.code(), ErrorCode::kAborted);
  EXPECT_NE(marked.error().detail.find("claim lost"), std::string::npos);
}

TEST(RedisDedupeStore, MarkAfterAnotherOwnerClaimedIsClaimLost) {
  auto store = fresh_store();
  const MessageId id = id_of("m-1");
  const std::string token = claim_token(*store, id, "worker-a", Epoch{1}, Milliseconds(20));
  ASSERT_TRUE(wait_until_state(*store, id, RecordState::kUnknown));
  const std::string other = claim_token(*store, id, "worker-b");
  EXPECT_EQ(store->mark_done(id, token, kDefaultDedupeRecordTtl).code(), ErrorCode::kAborted);
  EXPECT_TRUE(store->mark_done(id, other, kDefaultDedupeRecordTtl).ok());
}

TEST(RedisDedupeStore, MarkingTwiceWithTheSameTokenIsOk) {
  auto store = fresh_store();
  const MessageId id = id_of("m-1");
  const std::string token = claim_token(*store, id, "worker-a");
  ASSERT_TRUE(store->mark_done(id, token, kDefaultDedupeRecordTtl).ok());
  EXPECT_TRUE(store->mark_done(id, token, kDefaultDedupeRecordTtl).ok());
}

TEST(RedisDedupeStore, DeadLetteredIsAlreadyDoneForClaimsAndShowsInLookup) {
  auto store = fresh_store();
  const MessageId id = id_of("m-1");
  const std::string token = claim_token(*store, id, "worker-a");
  ASSERT_TRUE(store->mark_dead_lettered(id, token, "max deliveries (10) reached", kDefaultDedupeRecordTtl).ok());
  auto claimed = store->claim(id, "worker-b", Epoch{1}, kClaimTtl);
  ASSERT_TRUE(claimed.ok());
  EXPECT_EQ(claimed->status, ClaimStatus::kAlreadyDone);
  auto states = store->lookup(std::span(&id, 1));
  ASSERT_TRUE(states.ok());
  EXPECT_EQ(states->front(), RecordState::kDeadLettered);
  EXPECT_TRUE(store->mark_dead_lettered(id, token, "again", kDefaultDedupeRecordTtl).ok());
}

TEST(RedisDedupeStore, MarkDoneAfterDeadLetteredWithTheSameTokenIsFailedPrecondition) {
  auto store = fresh_store();
  const MessageId id = id_of("m-1");
  const std::string token = claim_token(*store, id, "worker-a");
  ASSERT_TRUE(store->mark_dead_lettered(id, token, "poison", kDefaultDedupeRecordTtl).ok());
  EXPECT_EQ(store->mark_done(id, token, kDefaultDedupeRecordTtl).code(), ErrorCode::kFailedPrecondition);
}

TEST(RedisDedupeStore, DoneRecordExpiresAfterItsTtl) {
  auto store = fresh_store();
  const MessageId id = id_of("m-1");
  const std::string token = claim_token(*store, id, "worker-a");
  ASSERT_TRUE(store->mark_done(id, token, Milliseconds(20)).ok());
  ASSERT_TRUE(wait_until_state(*store, id, RecordState::kUnknown));
  auto claimed = store->claim(id, "worker-b", Epoch{1}, kClaimTtl);
  ASSERT_TRUE(claimed.ok());
  EXPECT_EQ(claimed->status, ClaimStatus::kClaimed);
}

TEST(RedisDedupeStore, ReleaseLetsTheNextDeliveryClaimAtOnce) {
  auto store = fresh_store();
  const MessageId id = id_of("m-1");
  const std::string token = claim_token(*store, id, "worker-a");
  ASSERT_TRUE(store->release(id, token).ok());
  auto claimed = store->claim(id, "worker-b", Epoch{1}, kClaimTtl);
  ASSERT_TRUE(claimed.ok());
  EXPECT_EQ(claimed->status, ClaimStatus::kClaimed);
}

TEST(RedisDedupeStore, ReleaseWithAnotherTokenIsAbortedAndKeepsTheClaim) {
  auto store = fresh_store();
  const MessageId id = id_of("m-1");
  claim_token(*store, id, "worker-a");
  EXPECT_EQ(store->release(id, "worker-a/999").code(), ErrorCode::kAborted);
  auto busy = store->claim(id, "worker-b", Epoch{1}, kClaimTtl);
  ASSERT_TRUE(busy.ok());
  EXPECT_EQ(busy->status, ClaimStatus::kBusy);
}

TEST(RedisDedupeStore, ReleaseOfADoneRecordIsAborted) {
  auto store = fresh_store();
  const MessageId id = id_of("m-1");
  const std::string token = claim_token(*store, id, "worker-a");
  ASSERT_TRUE(store->mark_done(id, token, kDefaultDedupeRecordTtl).ok());
  EXPECT_EQ(store->release(id, token).code(), ErrorCode::kAborted);
}

TEST(RedisDedupeStore, LookupReportsEachStateInOrder) {
  auto store = fresh_store();
  const std::vector<MessageId> ids = {id_of("unknown"), id_of("claimed"), id_of("done"), id_of("dead")};
  claim_token(*store, ids[1], "w");
  ASSERT_TRUE(store->mark_done(ids[2], claim_token(*store, ids[2], "w"), kDefaultDedupeRecordTtl).ok());
  ASSERT_TRUE(store->mark_dead_lettered(ids[3], claim_token(*store, ids[3], "w"), "r", kDefaultDedupeRecordTtl).ok());
  auto states = store->lookup(ids);
  ASSERT_TRUE(states.ok()) << states.error().to_string();
  EXPECT_EQ(*states, (std::vector<RecordState>{RecordState::kUnknown, RecordState::kClaimed, RecordState::kDone,
                                               RecordState::kDeadLettered}));
}

// Counts how often the server ran `command` (INFO commandstats), to prove batching.
long long command_calls(const RedisOptions& options, std::string_view command) {
  auto connection = RedisConnection::open(options);
  HADR_ASSERT(connection.ok());
  auto info = (*connection)->command({"INFO", "commandstats"}, CommandKind::kReadOnly);
  HADR_ASSERT(info.ok());
  const std::string text(info->view().text());
  const std::string marker = "cmdstat_" + std::string(command) + ":calls=";
  const std::size_t at = text.find(marker);
  if (at == std::string::npos) return 0;
  return std::stoll(text.substr(at + marker.size()));
}

TEST(RedisDedupeStore, LookupOfTenThousandIdsIsAFewCommandsNotOnePerId) {
  const RedisOptions options = RedisTestEnvironment::instance().options("lookup-batch");
  auto store = open_store(options);
  std::vector<MessageId> ids;
  for (int i = 0; i < 10'000; ++i) ids.push_back(id_of("m-" + std::to_string(i)));
  ASSERT_TRUE(store->mark_done(ids[9'999], claim_token(*store, ids[9'999], "w"), kDefaultDedupeRecordTtl).ok());
  const long long before = command_calls(options, "mget");
  auto states = store->lookup(ids);
  const long long after = command_calls(options, "mget");
  ASSERT_TRUE(states.ok()) << states.error().to_string();
  ASSERT_EQ(states->size(), ids.size());
  EXPECT_EQ(states->front(), RecordState::kUnknown);
  EXPECT_EQ(states->back(), RecordState::kDone);
  EXPECT_EQ(after - before, 10);  // 10,000 ids / 1,000 per MGET, sent as one pipeline
}

TEST(RedisDedupeStore, LookupAboveTheMaximumIsInvalid) {
  auto store = fresh_store();
  const std::vector<MessageId> ids(DedupeStore::kMaxLookupBatch + 1, id_of("m"));
  EXPECT_EQ(store->lookup(ids).code(), ErrorCode::kInvalidArgument);
}

TEST(RedisDedupeStore, EmptyLookupIsEmpty) {
  auto states = fresh_store()->lookup({});
  ASSERT_TRUE(states.ok());
  EXPECT_TRUE(states->empty());
}

TEST(RedisDedupeStore, ClaimBatchAnswersLikeSingleClaims) {
  auto store = fresh_store();
  const MessageId done = id_of("done");
  const MessageId busy = id_of("busy");
  ASSERT_TRUE(store->mark_done(done, claim_token(*store, done, "w"), kDefaultDedupeRecordTtl).ok());
  claim_token(*store, busy, "other");
  const std::vector<MessageId> ids = {done, busy, id_of("fresh-1"), id_of("fresh-2")};
  auto outcomes = store->claim_batch(ids, "w", Epoch{1}, kClaimTtl);
  ASSERT_TRUE(outcomes.ok()) << outcomes.error().to_string();
  ASSERT_EQ(outcomes->size(), 4u);
  EXPECT_EQ((*outcomes)[0].status, ClaimStatus::kAlreadyDone);
  EXPECT_EQ((*outcomes)[1].status, ClaimStatus::kBusy);
  EXPECT_EQ((*outcomes)[1].busy_owner, "other");
  EXPECT_EQ((*outcomes)[2].status, ClaimStatus::kClaimed);
  EXPECT_EQ((*outcomes)[3].status, ClaimStatus::kClaimed);
  const std::vector<MessageId> marked = {ids[2], ids[3], ids[1]};
  const std::vector<std::string> tokens = {(*outcomes)[2].claim_token, (*outcomes)[3].claim_token, "w/424242"};
  auto statuses = store->mark_done_batch(marked, tokens, kDefaultDedupeRecordTtl);
  ASSERT_TRUE(statuses.ok()) << statuses.error().to_string();
  EXPECT_TRUE((*statuses)[0].ok());
  EXPECT_TRUE((*statuses)[1].ok());
  EXPECT_EQ((*statuses)[2].code(), ErrorCode::kAborted);
}

TEST(RedisDedupeStore, ClaimBatchLargerThanOneScriptCallKeepsOrder) {
  auto store = fresh_store();
  std::vector<MessageId> ids;
  for (std::size_t i = 0; i < RedisDedupeStore::kIdsPerScriptCall * 2 + 3; ++i) ids.push_back(id_of("m-" + std::to_string(i)));
  auto outcomes = store->claim_batch(ids, "w", Epoch{1}, kClaimTtl);
  ASSERT_TRUE(outcomes.ok()) << outcomes.error().to_string();
  std::vector<std::string> tokens;
  for (const ClaimOutcome& outcome : *outcomes) {
    ASSERT_EQ(outcome.status, ClaimStatus::kClaimed);
    tokens.push_back(outcome.claim_token);
  }
  auto statuses = store->mark_done_batch(ids, tokens, kDefaultDedupeRecordTtl);
  ASSERT_TRUE(statuses.ok());
  for (const Status& status : *statuses) EXPECT_TRUE(status.ok());
}

TEST(RedisDedupeStore, TokenSharedByABatchOnlyMarksEachIdsOwnClaim) {
  auto store = fresh_store();
  const std::vector<MessageId> ids = {id_of("a"), id_of("b")};
  auto outcomes = store->claim_batch(ids, "w", Epoch{1}, kClaimTtl);
  ASSERT_TRUE(outcomes.ok());
  const std::string token_of_a = (*outcomes)[0].claim_token;
  const std::string fresh_token_of_b = claim_token(*store, ids[1], "w");  // b claimed again: new token
  EXPECT_TRUE(store->mark_done(ids[0], token_of_a, kDefaultDedupeRecordTtl).ok());
  EXPECT_EQ(store->mark_done(ids[1], (*outcomes)[1].claim_token, kDefaultDedupeRecordTtl).code(), ErrorCode::kAborted);
  EXPECT_TRUE(store->mark_done(ids[1], fresh_token_of_b, kDefaultDedupeRecordTtl).ok());
}

TEST(RedisDedupeStore, DuplicateIdInOneBatchGetsANewTokenAndTheFirstStops) {
  auto store = fresh_store();
  const std::vector<MessageId> ids = {id_of("a"), id_of("a")};
  auto outcomes = store->claim_batch(ids, "w", Epoch{1}, kClaimTtl);
  ASSERT_TRUE(outcomes.ok()) << outcomes.error().to_string();
  ASSERT_EQ((*outcomes)[1].status, ClaimStatus::kClaimed);
  EXPECT_NE((*outcomes)[0].claim_token, (*outcomes)[1].claim_token);
  EXPECT_EQ(store->mark_done(ids[0], (*outcomes)[0].claim_token, kDefaultDedupeRecordTtl).code(),
            ErrorCode::kAborted);
  EXPECT_TRUE(store->mark_done(ids[0], (*outcomes)[1].claim_token, kDefaultDedupeRecordTtl).ok());
}

TEST(RedisDedupeStore, RefusedMarkLeavesTheRecordAsItWas) {
  auto store = fresh_store();
  const MessageId id = id_of("m-1");
  claim_token(*store, id, "worker-a");
  auto before = store->claim(id, "worker-b", Epoch{1}, kClaimTtl);
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->status, ClaimStatus::kBusy);
  EXPECT_EQ(store->mark_done(id, "worker-b/999", kDefaultDedupeRecordTtl).code(), ErrorCode::kAborted);
  auto after = store->claim(id, "worker-b", Epoch{1}, kClaimTtl);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status, ClaimStatus::kBusy);
  EXPECT_EQ(after->busy_owner, "worker-a");
  EXPECT_LE(after->busy_remaining, before->busy_remaining);
  EXPECT_GT(after->busy_remaining, kClaimTtl / 2);
  EXPECT_EQ(store->lookup(std::span(&id, 1)).value().front(), RecordState::kClaimed);
}

TEST(RedisDedupeStore, MarkBatchWithMismatchedTokensIsInvalid) {
  auto store = fresh_store();
  const std::vector<MessageId> ids = {id_of("a"), id_of("b")};
  const std::vector<std::string> tokens = {"w/1"};
  EXPECT_EQ(store->mark_done_batch(ids, tokens, kDefaultDedupeRecordTtl).code(), ErrorCode::kInvalidArgument);
}

TEST(RedisDedupeStore, EmptyOwnerIsInvalid) {
  EXPECT_EQ(fresh_store()->claim(id_of("m"), "", Epoch{1}, kClaimTtl).code(), ErrorCode::kInvalidArgument);
}

TEST(RedisDedupeStore, OversizedOwnerIsInvalid) {
  EXPECT_EQ(fresh_store()->claim(id_of("m"), std::string(129, 'o'), Epoch{1}, kClaimTtl).code(),
            ErrorCode::kInvalidArgument);
}

TEST(RedisDedupeStore, ZeroClaimTtlIsInvalidAndClaimsNothing) {
  auto store = fresh_store();
  const MessageId id = id_of("m");
  EXPECT_EQ(store->claim(id, "w", Epoch{1}, Milliseconds(0)).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->lookup(std::span(&id, 1)).value().front(), RecordState::kUnknown);
}

TEST(RedisDedupeStore, NegativeRecordTtlIsInvalid) {
  auto store = fresh_store();
  const MessageId id = id_of("m");
  const std::string token = claim_token(*store, id, "w");
  EXPECT_EQ(store->mark_done(id, token, Milliseconds(-1)).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->lookup(std::span(&id, 1)).value().front(), RecordState::kClaimed);
}

TEST(RedisDedupeStore, TtlAboveOneYearIsInvalid) {
  EXPECT_EQ(fresh_store()->claim(id_of("m"), "w", Epoch{1}, std::chrono::hours(24 * 366)).code(),
            ErrorCode::kInvalidArgument);
}

TEST(RedisDedupeStore, EmptyTokenIsInvalid) {
  EXPECT_EQ(fresh_store()->mark_done(id_of("m"), "", kDefaultDedupeRecordTtl).code(), ErrorCode::kInvalidArgument);
}

TEST(RedisDedupeStore, OversizedReasonIsInvalid) {
  auto store = fresh_store();
  const MessageId id = id_of("m");
  const std::string token = claim_token(*store, id, "w");
  EXPECT_EQ(store->mark_dead_lettered(id, token, std::string(kMaxReasonBytes + 1, 'r'), kDefaultDedupeRecordTtl).code(),
            ErrorCode::kInvalidArgument);
}

TEST(RedisDedupeStore, EpochAboveTheScriptRangeIsInvalid) {
  EXPECT_EQ(fresh_store()->claim(id_of("m"), "w", Epoch{std::uint64_t{1} << 60}, kClaimTtl).code(),
            ErrorCode::kInvalidArgument);
}

TEST(RedisDedupeStore, KeyPrefixesIsolateClustersOnOneServer) {
  auto& environment = RedisTestEnvironment::instance();
  auto cluster_one = open_store(environment.options("cluster-one"));
  auto cluster_two = open_store(environment.options("cluster-two"));
  const MessageId id = id_of("m-1");
  ASSERT_TRUE(cluster_one->mark_done(id, claim_token(*cluster_one, id, "w", Epoch{9}), kDefaultDedupeRecordTtl).ok());
  auto claimed = cluster_two->claim(id, "w", Epoch{1}, kClaimTtl);
  ASSERT_TRUE(claimed.ok());
  EXPECT_EQ(claimed->status, ClaimStatus::kClaimed);
  EXPECT_EQ(claimed->highest_epoch, Epoch{1});
}

// Each child opens its own store (a connection is never shared across fork) and claims every
// id; it reports the ids it won through a pipe, one per line.
void claim_all_in_child(const RedisOptions& options, std::string_view owner, int ids, int write_fd) {
  auto store = RedisDedupeStore::open(options);
  if (!store.ok()) ::_exit(2);
  std::string won;
  for (int i = 0; i < ids; ++i) {
    auto outcome = (*store)->claim(id_of("race-" + std::to_string(i)), owner, Epoch{1}, kClaimTtl);
    if (!outcome.ok()) ::_exit(3);
    if (outcome->status == ClaimStatus::kClaimed) won += std::to_string(i) + "\n";
  }
  const ssize_t written = ::write(write_fd, won.data(), won.size());
  ::_exit(written == static_cast<ssize_t>(won.size()) ? 0 : 4);
}

std::string read_all(int fd) {
  std::string text;
  char buffer[4096];
  for (int reads = 0; reads < 10'000; ++reads) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got <= 0) break;
    text.append(buffer, static_cast<std::size_t>(got));
  }
  return text;
}

TEST(RedisDedupeStore, TwoProcessesRacingForTheSameIdsGetEachIdExactlyOnce) {
  const RedisOptions options = RedisTestEnvironment::instance().options("race");
  constexpr int kIds = 500;
  std::vector<pid_t> children;
  std::vector<int> read_fds;
  for (const char* owner : {"worker-a", "worker-b"}) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(fds[0]);
      claim_all_in_child(options, owner, kIds, fds[1]);
    }
    ::close(fds[1]);
    children.push_back(child);
    read_fds.push_back(fds[0]);
  }
  std::multiset<int> won;
  for (std::size_t i = 0; i < children.size(); ++i) {
    const std::string text = read_all(read_fds[i]);
    ::close(read_fds[i]);
    int status = 0;
    ASSERT_EQ(::waitpid(children[i], &status, 0), children[i]);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child " << i << " status " << status;
    std::size_t start = 0;
    while (start < text.size()) {
      const std::size_t end = text.find('\n', start);
      won.insert(std::stoi(text.substr(start, end - start)));
      start = end + 1;
    }
  }
  EXPECT_EQ(won.size(), static_cast<std::size_t>(kIds));
  for (int i = 0; i < kIds; ++i) EXPECT_EQ(won.count(i), 1u) << "id race-" << i;
}

}  // namespace
}  // namespace hadr::redis
