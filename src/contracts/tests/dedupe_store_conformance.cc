// DedupeStoreConformance proves that an implementation keeps the DedupeStore contract
// (contracts/dedupe_store.h): claim answers claimed / busy / already done / stale epoch as
// specified; a claim is a short lease that expires; only the live claim's token may mark,
// dead-letter or release it — whatever the region epoch has become meanwhile; marks are
// idempotent and expire after the record TTL; racing claims (threads and processes) have
// exactly one winner; lookup answers 10,000 ids in order; bad input is kInvalidArgument and
// changes nothing. Store time passes only through factory->advance().
#include <unistd.h>

#include <string>

#include "contracts/tests/conformance.h"

namespace hadr {

inline void PrintTo(ClaimStatus status, std::ostream* out) {
  constexpr const char* kNames[] = {"kClaimed", "kAlreadyDone", "kBusy", "kStaleEpoch"};
  *out << kNames[static_cast<int>(status)];
}

inline void PrintTo(RecordState state, std::ostream* out) {
  constexpr const char* kNames[] = {"kUnknown", "kClaimed", "kDone", "kDeadLettered"};
  *out << kNames[static_cast<int>(state)];
}

}  // namespace hadr

namespace hadr::testing {

void DedupeStoreConformance::SetUp() {
  factory_ = GetParam().make();
  ASSERT_NE(factory_, nullptr);
  store_ = factory_->make_dedupe_store();
  if (store_ == nullptr) GTEST_SKIP() << GetParam().name << " does not implement DedupeStore";
}

std::string DedupeStoreConformance::claim_granted(const MessageId& id, std::string_view owner, Epoch epoch,
                                                  Milliseconds ttl) {
  auto outcome = store_->claim(id, owner, epoch, ttl);
  EXPECT_TRUE(succeeded(outcome));
  if (!outcome.ok()) return {};
  EXPECT_EQ(outcome->status, ClaimStatus::kClaimed);
  EXPECT_FALSE(outcome->claim_token.empty());
  return outcome->claim_token;
}

RecordState DedupeStoreConformance::state_of(const MessageId& id) {
  const std::vector<MessageId> ids{id};
  auto states = store_->lookup(ids);
  EXPECT_TRUE(succeeded(states));
  if (!states.ok() || states->size() != 1) return RecordState::kUnknown;
  return states->front();
}

namespace {

const Epoch kEpoch{3};

ClaimStatus claim_status(DedupeStore& store, const MessageId& id, std::string_view owner, Epoch epoch,
                         Milliseconds ttl) {
  auto outcome = store.claim(id, owner, epoch, ttl);
  EXPECT_TRUE(succeeded(outcome));
  return outcome.ok() ? outcome->status : ClaimStatus::kBusy;
}

TEST_P(DedupeStoreConformance, ClaimOfNewIdIsGranted) {
  auto outcome = store_->claim(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(outcome));
  EXPECT_EQ(outcome->status, ClaimStatus::kClaimed);
  EXPECT_FALSE(outcome->claim_token.empty());
  EXPECT_EQ(outcome->highest_epoch, kEpoch);
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kClaimed);
}

TEST_P(DedupeStoreConformance, ClaimOfLiveClaimByAnotherOwnerIsBusy) {
  claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  auto outcome = store_->claim(message_id("m1"), "worker-b", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(outcome));
  EXPECT_EQ(outcome->status, ClaimStatus::kBusy);
  EXPECT_EQ(outcome->busy_owner, "worker-a");
  EXPECT_GT(outcome->busy_remaining, Milliseconds(0));
  EXPECT_LE(outcome->busy_remaining, kLongTtl);
  EXPECT_TRUE(outcome->claim_token.empty());
}

TEST_P(DedupeStoreConformance, ClaimBySameOwnerIsGrantedAgainWithNewToken) {
  const std::string first = claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  const std::string second = claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  EXPECT_NE(first, second);
}

TEST_P(DedupeStoreConformance, OldTokenStopsWorkingAfterSameOwnerReclaim) {
  const std::string first = claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  const std::string second = claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  EXPECT_TRUE(failed_with(store_->mark_done(message_id("m1"), first, kLongTtl), ErrorCode::kAborted));
  EXPECT_TRUE(succeeded(store_->mark_done(message_id("m1"), second, kLongTtl)));
}

// Hole 7 (issue 12): owners are unique per process incarnation ("<region>/<process>-<n>#<incarnation>",
// contracts/dedupe_store.h), so a restarted worker, or a second process started with the same
// process name, is another owner: its claim of a message whose claim is still live is kBusy
// and never replaces the first claim, whose token keeps working.
TEST_P(DedupeStoreConformance, ClaimByAnotherIncarnationOfTheSameWorkerIsBusy) {
  const std::string first = claim_granted(message_id("m1"), "a/node-1#4f2a9c01", kEpoch, kLongTtl);
  auto again = store_->claim(message_id("m1"), "a/node-1#77e0b3d5", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(again));
  EXPECT_EQ(again->status, ClaimStatus::kBusy);
  EXPECT_EQ(again->busy_owner, "a/node-1#4f2a9c01");
  EXPECT_TRUE(again->claim_token.empty());
  EXPECT_TRUE(succeeded(store_->mark_done(message_id("m1"), first, kLongTtl)));
}

// Hole 6 (issue 12): a step of the store host's wall clock is no time passing. Measured on
// the wall clock, it expired every claim and done mark at once: a second worker claimed a
// message whose handler still ran, and done messages could be claimed again.
TEST_P(DedupeStoreConformance, WallClockStepOnTheStoreHostLeavesClaimsAndMarksAlive) {
  const std::string claimed = claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  const std::string done = claim_granted(message_id("m2"), "worker-a", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(store_->mark_done(message_id("m2"), done, kLongTtl)));
  if (!factory_->step_wall_clock(kLongTtl * 2)) GTEST_SKIP() << GetParam().name << " cannot step its wall clock";
  EXPECT_EQ(claim_status(*store_, message_id("m1"), "worker-b", kEpoch, kLongTtl), ClaimStatus::kBusy)
      << "a wall-clock step expired a live claim";
  EXPECT_EQ(claim_status(*store_, message_id("m2"), "worker-b", kEpoch, kLongTtl), ClaimStatus::kAlreadyDone)
      << "a wall-clock step expired a done mark";
  EXPECT_TRUE(succeeded(store_->mark_done(message_id("m1"), claimed, kLongTtl)));
}

TEST_P(DedupeStoreConformance, ClaimAfterClaimExpiryIsGranted) {
  claim_granted(message_id("m1"), "worker-a", kEpoch, kShortTtl);
  factory_->advance(kPastShortTtl);
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kUnknown);
  claim_granted(message_id("m1"), "worker-b", kEpoch, kLongTtl);
}

TEST_P(DedupeStoreConformance, MarkDoneAfterClaimExpiredIsAborted) {
  const std::string token = claim_granted(message_id("m1"), "worker-a", kEpoch, kShortTtl);
  factory_->advance(kPastShortTtl);
  EXPECT_TRUE(failed_with(store_->mark_done(message_id("m1"), token, kLongTtl), ErrorCode::kAborted));
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kUnknown);
}

TEST_P(DedupeStoreConformance, MarkDoneAfterAnotherOwnerClaimedIsAborted) {
  const std::string token_a = claim_granted(message_id("m1"), "worker-a", kEpoch, kShortTtl);
  factory_->advance(kPastShortTtl);
  const std::string token_b = claim_granted(message_id("m1"), "worker-b", kEpoch, kLongTtl);
  EXPECT_TRUE(failed_with(store_->mark_done(message_id("m1"), token_a, kLongTtl), ErrorCode::kAborted));
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kClaimed);
  EXPECT_TRUE(succeeded(store_->mark_done(message_id("m1"), token_b, kLongTtl)));
}

TEST_P(DedupeStoreConformance, ClaimAfterMarkDoneIsAlreadyDone) {
  const std::string token = claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(store_->mark_done(message_id("m1"), token, kLongTtl)));
  EXPECT_EQ(claim_status(*store_, message_id("m1"), "worker-b", kEpoch, kLongTtl), ClaimStatus::kAlreadyDone);
  EXPECT_EQ(claim_status(*store_, message_id("m1"), "worker-a", kEpoch, kLongTtl), ClaimStatus::kAlreadyDone);
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kDone);
}

TEST_P(DedupeStoreConformance, DoneRecordOutlivesClaimTtl) {
  const std::string token = claim_granted(message_id("m1"), "worker-a", kEpoch, kShortTtl);
  ASSERT_TRUE(succeeded(store_->mark_done(message_id("m1"), token, kLongTtl)));
  factory_->advance(kPastShortTtl);
  EXPECT_EQ(claim_status(*store_, message_id("m1"), "worker-b", kEpoch, kLongTtl), ClaimStatus::kAlreadyDone);
}

TEST_P(DedupeStoreConformance, MarkDoneTwiceWithSameTokenIsOk) {
  const std::string token = claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(store_->mark_done(message_id("m1"), token, kLongTtl)));
  EXPECT_TRUE(succeeded(store_->mark_done(message_id("m1"), token, kLongTtl)));
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kDone);
}

TEST_P(DedupeStoreConformance, MarkDoneWithUnknownTokenIsAborted) {
  claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  EXPECT_TRUE(failed_with(store_->mark_done(message_id("m1"), "no-such-token", kLongTtl), ErrorCode::kAborted));
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kClaimed);
}

TEST_P(DedupeStoreConformance, MarkDoneOfNeverClaimedIdIsAborted) {
  EXPECT_TRUE(failed_with(store_->mark_done(message_id("m1"), "no-such-token", kLongTtl), ErrorCode::kAborted));
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kUnknown);
}

TEST_P(DedupeStoreConformance, TokenOfOneIdDoesNotMarkAnother) {
  const std::string token = claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  claim_granted(message_id("m2"), "worker-a", kEpoch, kLongTtl);
  EXPECT_TRUE(failed_with(store_->mark_done(message_id("m2"), token, kLongTtl), ErrorCode::kAborted));
  EXPECT_EQ(state_of(message_id("m2")), RecordState::kClaimed);
}

TEST_P(DedupeStoreConformance, DoneRecordExpiresAfterRecordTtl) {
  const std::string token = claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(store_->mark_done(message_id("m1"), token, kShortTtl)));
  factory_->advance(kPastShortTtl);
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kUnknown);
  claim_granted(message_id("m1"), "worker-b", kEpoch, kLongTtl);
}

// retire(): done and dead-lettered records take the new TTL (a long-lived mark that a settled
// set now covers, issue 12 hole 1); a live claim and an unknown id are left as they are.
TEST_P(DedupeStoreConformance, RetireShortensFinalRecordsOnly) {
  const std::string done = claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(store_->mark_done(message_id("m1"), done, kUnsettledRecordTtl)));
  const std::string dead = claim_granted(message_id("m2"), "worker-a", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(store_->mark_dead_lettered(message_id("m2"), dead, "poison", kUnsettledRecordTtl)));
  claim_granted(message_id("m3"), "worker-a", kEpoch, kLongTtl);
  // Records without pins (written before pins existed) are shortened by any tag's retire.
  const std::vector<CopyPin> ids{{message_id("m1"), "a:1"}, {message_id("m2"), "a:2"}, {message_id("m3"), "a:3"},
                                 {message_id("m4"), "a:4"}};
  ASSERT_TRUE(succeeded(store_->retire(ids, kShortTtl)));
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kDone);  // not before the new TTL
  factory_->advance(kPastShortTtl);
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kUnknown);
  EXPECT_EQ(state_of(message_id("m2")), RecordState::kUnknown);
  EXPECT_EQ(state_of(message_id("m3")), RecordState::kClaimed);  // a claim keeps its own TTL
  EXPECT_EQ(state_of(message_id("m4")), RecordState::kUnknown);
  ASSERT_TRUE(succeeded(store_->retire(std::span<const CopyPin>(), kShortTtl)));
  std::vector<CopyPin> too_many(DedupeStore::kMaxLookupBatch + 1, CopyPin{message_id("m5"), "a:5"});
  EXPECT_TRUE(failed_with(store_->retire(too_many, kShortTtl), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(failed_with(store_->retire(ids, Milliseconds(0)), ErrorCode::kInvalidArgument));
}

// Copy pins (issue 12 hole 1, "One id in two WAL records"): a pinned mark is shortened only
// by the retire of its last tag.
namespace {

std::vector<CopyPin> pins_of(const MessageId& id, std::initializer_list<std::string_view> tags) {
  std::vector<CopyPin> pins;
  for (std::string_view tag : tags) pins.push_back(CopyPin{id, std::string(tag)});
  return pins;
}

}  // namespace

TEST_P(DedupeStoreConformance, PinThenMarkThenRetireWithTheTagShortens) {
  const MessageId id = message_id("m1");
  ASSERT_TRUE(succeeded(store_->pin(pins_of(id, {"a:18"}))));
  const std::string token = claim_granted(id, "worker-a", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(store_->mark_done(id, token, kUnsettledRecordTtl)));
  ASSERT_TRUE(succeeded(store_->retire(pins_of(id, {"a:18"}), kShortTtl)));
  EXPECT_EQ(state_of(id), RecordState::kDone);
  factory_->advance(kPastShortTtl);
  EXPECT_EQ(state_of(id), RecordState::kUnknown);
}

TEST_P(DedupeStoreConformance, TwoTagsNeedTwoRetires) {
  const MessageId id = message_id("m1");
  ASSERT_TRUE(succeeded(store_->pin(pins_of(id, {"a:18"}))));
  ASSERT_TRUE(succeeded(store_->pin(pins_of(id, {"b:1"}))));
  const std::string token = claim_granted(id, "worker-a", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(store_->mark_done(id, token, kUnsettledRecordTtl)));
  ASSERT_TRUE(succeeded(store_->retire(pins_of(id, {"a:18"}), kShortTtl)));
  factory_->advance(kPastShortTtl);
  EXPECT_EQ(state_of(id), RecordState::kDone);  // b:1 is not settled: the mark stays
  EXPECT_EQ(claim_status(*store_, id, "worker-b", kEpoch, kLongTtl), ClaimStatus::kAlreadyDone);
  ASSERT_TRUE(succeeded(store_->retire(pins_of(id, {"b:1"}), kShortTtl)));
  EXPECT_EQ(state_of(id), RecordState::kDone);
  factory_->advance(kPastShortTtl);
  EXPECT_EQ(state_of(id), RecordState::kUnknown);
}

TEST_P(DedupeStoreConformance, RetireOfAnAbsentTagIsANoOp) {
  const MessageId id = message_id("m1");
  ASSERT_TRUE(succeeded(store_->pin(pins_of(id, {"a:18", "b:1"}))));
  const std::string token = claim_granted(id, "worker-a", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(store_->mark_done(id, token, kUnsettledRecordTtl)));
  // The replayer and the checkpointer both settle a:18; c:7 was never pinned.
  ASSERT_TRUE(succeeded(store_->retire(pins_of(id, {"a:18", "a:18", "c:7"}), kShortTtl)));
  ASSERT_TRUE(succeeded(store_->retire(pins_of(id, {"a:18"}), kShortTtl)));
  factory_->advance(kPastShortTtl);
  EXPECT_EQ(state_of(id), RecordState::kDone);
}

TEST_P(DedupeStoreConformance, PinAfterRetireExtendsAgain) {
  const MessageId id = message_id("m1");
  ASSERT_TRUE(succeeded(store_->pin(pins_of(id, {"a:18"}))));
  const std::string token = claim_granted(id, "worker-a", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(store_->mark_done(id, token, kUnsettledRecordTtl)));
  ASSERT_TRUE(succeeded(store_->retire(pins_of(id, {"a:18"}), kShortTtl)));
  // A second copy is logged before the shortened mark expired.
  ASSERT_TRUE(succeeded(store_->pin(pins_of(id, {"b:1"}))));
  factory_->advance(kPastShortTtl);
  EXPECT_EQ(state_of(id), RecordState::kDone);
  EXPECT_EQ(claim_status(*store_, id, "worker-b", kEpoch, kLongTtl), ClaimStatus::kAlreadyDone);
}

TEST_P(DedupeStoreConformance, PinOnlyRecordIsClaimableAndReadsUnknown) {
  const MessageId id = message_id("m1");
  ASSERT_TRUE(succeeded(store_->pin(pins_of(id, {"a:18"}))));
  EXPECT_EQ(state_of(id), RecordState::kUnknown);
  // A claim that expires, or is released, leaves the pins.
  claim_granted(id, "worker-a", kEpoch, kShortTtl);
  factory_->advance(kPastShortTtl);
  EXPECT_EQ(state_of(id), RecordState::kUnknown);
  const std::string released = claim_granted(id, "worker-b", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(store_->release(id, released)));
  EXPECT_EQ(state_of(id), RecordState::kUnknown);
  const std::string token = claim_granted(id, "worker-c", kEpoch, kLongTtl);
  EXPECT_EQ(state_of(id), RecordState::kClaimed);
  ASSERT_TRUE(succeeded(store_->mark_done(id, token, kUnsettledRecordTtl)));
  // The pin survived the claims: the retire of another tag does not shorten the mark.
  ASSERT_TRUE(succeeded(store_->retire(pins_of(id, {"b:1"}), kShortTtl)));
  factory_->advance(kPastShortTtl);
  EXPECT_EQ(state_of(id), RecordState::kDone);
}

TEST_P(DedupeStoreConformance, FullPinSetNeverShortens) {
  const MessageId id = message_id("m1");
  std::vector<CopyPin> pins;
  for (std::size_t i = 0; i <= kPinsMax; ++i) pins.push_back(CopyPin{id, "a:" + std::to_string(i + 1)});
  ASSERT_TRUE(succeeded(store_->pin(pins)));
  const std::string token = claim_granted(id, "worker-a", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(store_->mark_done(id, token, kUnsettledRecordTtl)));
  ASSERT_TRUE(succeeded(store_->retire(pins, kShortTtl)));  // every tag, the overflowing one too
  factory_->advance(kPastShortTtl);
  EXPECT_EQ(state_of(id), RecordState::kDone);
}

TEST_P(DedupeStoreConformance, BadPinTagIsRefused) {
  const MessageId id = message_id("m1");
  for (const std::string& tag : {std::string(), std::string("a 1"), std::string("a:\x01"),
                                 std::string(kMaxPinTagBytes + 1, 'a')}) {
    EXPECT_TRUE(failed_with(store_->pin(pins_of(id, {tag})), ErrorCode::kInvalidArgument)) << tag;
    EXPECT_TRUE(failed_with(store_->retire(pins_of(id, {tag}), kShortTtl), ErrorCode::kInvalidArgument)) << tag;
  }
  std::vector<CopyPin> too_many(DedupeStore::kMaxLookupBatch + 1, CopyPin{id, "a:1"});
  EXPECT_TRUE(failed_with(store_->pin(too_many), ErrorCode::kInvalidArgument));
  ASSERT_TRUE(succeeded(store_->pin(pins_of(id, {std::string(kMaxPinTagBytes, 'a')}))));
  ASSERT_TRUE(succeeded(store_->pin(std::span<const CopyPin>())));
  // The refused pins changed nothing: a mark is shortened by the retire of the one good tag.
  const std::string token = claim_granted(id, "worker-a", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(store_->mark_done(id, token, kUnsettledRecordTtl)));
  ASSERT_TRUE(succeeded(store_->retire(pins_of(id, {std::string(kMaxPinTagBytes, 'a')}), kShortTtl)));
  factory_->advance(kPastShortTtl);
  EXPECT_EQ(state_of(id), RecordState::kUnknown);
}

TEST_P(DedupeStoreConformance, MarkDeadLetteredMakesClaimAnswerAlreadyDone) {
  const std::string token = claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(store_->mark_dead_lettered(message_id("m1"), token, "MaxDeliveryCountExceeded", kLongTtl)));
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kDeadLettered);
  EXPECT_EQ(claim_status(*store_, message_id("m1"), "worker-b", kEpoch, kLongTtl), ClaimStatus::kAlreadyDone);
}

TEST_P(DedupeStoreConformance, MarkDeadLetteredTwiceWithSameTokenIsOk) {
  const std::string token = claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(store_->mark_dead_lettered(message_id("m1"), token, "handler failed", kLongTtl)));
  EXPECT_TRUE(succeeded(store_->mark_dead_lettered(message_id("m1"), token, "handler failed", kLongTtl)));
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kDeadLettered);
}

TEST_P(DedupeStoreConformance, MarkDeadLetteredAfterClaimExpiredIsAborted) {
  const std::string token = claim_granted(message_id("m1"), "worker-a", kEpoch, kShortTtl);
  factory_->advance(kPastShortTtl);
  EXPECT_TRUE(failed_with(store_->mark_dead_lettered(message_id("m1"), token, "late", kLongTtl), ErrorCode::kAborted));
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kUnknown);
}

TEST_P(DedupeStoreConformance, DeadLetteredRecordExpiresAfterRecordTtl) {
  const std::string token = claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(store_->mark_dead_lettered(message_id("m1"), token, "poison", kShortTtl)));
  factory_->advance(kPastShortTtl);
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kUnknown);
}

TEST_P(DedupeStoreConformance, ReleaseLetsAnotherOwnerClaimAtOnce) {
  const std::string token = claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(store_->release(message_id("m1"), token)));
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kUnknown);
  claim_granted(message_id("m1"), "worker-b", kEpoch, kLongTtl);
}

TEST_P(DedupeStoreConformance, ReleasedTokenCannotMark) {
  const std::string token = claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(store_->release(message_id("m1"), token)));
  EXPECT_TRUE(failed_with(store_->mark_done(message_id("m1"), token, kLongTtl), ErrorCode::kAborted));
}

TEST_P(DedupeStoreConformance, ReleaseWithWrongTokenIsAbortedAndKeepsClaim) {
  claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  EXPECT_TRUE(failed_with(store_->release(message_id("m1"), "no-such-token"), ErrorCode::kAborted));
  EXPECT_EQ(claim_status(*store_, message_id("m1"), "worker-b", kEpoch, kLongTtl), ClaimStatus::kBusy);
}

TEST_P(DedupeStoreConformance, ReleaseAfterClaimExpiredIsAborted) {
  const std::string token = claim_granted(message_id("m1"), "worker-a", kEpoch, kShortTtl);
  factory_->advance(kPastShortTtl);
  EXPECT_TRUE(failed_with(store_->release(message_id("m1"), token), ErrorCode::kAborted));
}

TEST_P(DedupeStoreConformance, ReleaseOfDoneRecordIsAbortedAndKeepsIt) {
  const std::string token = claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(store_->mark_done(message_id("m1"), token, kLongTtl)));
  EXPECT_TRUE(failed_with(store_->release(message_id("m1"), token), ErrorCode::kAborted));
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kDone);
}

// ---- fencing by epoch ----

TEST_P(DedupeStoreConformance, HighestEpochStartsAtZero) {
  auto highest = store_->highest_epoch();
  ASSERT_TRUE(succeeded(highest));
  EXPECT_EQ(*highest, Epoch{0});
}

TEST_P(DedupeStoreConformance, ClaimWithHigherEpochRaisesHighestEpoch) {
  claim_granted(message_id("m1"), "worker-a", Epoch{5}, kLongTtl);
  auto outcome = store_->claim(message_id("m2"), "worker-a", Epoch{7}, kLongTtl);
  ASSERT_TRUE(succeeded(outcome));
  EXPECT_EQ(outcome->status, ClaimStatus::kClaimed);
  EXPECT_EQ(outcome->highest_epoch, Epoch{7});
  auto highest = store_->highest_epoch();
  ASSERT_TRUE(succeeded(highest));
  EXPECT_EQ(*highest, Epoch{7});
}

TEST_P(DedupeStoreConformance, ClaimWithStaleEpochIsRefused) {
  claim_granted(message_id("m1"), "worker-b", Epoch{5}, kLongTtl);
  auto outcome = store_->claim(message_id("m2"), "worker-a", Epoch{4}, kLongTtl);
  ASSERT_TRUE(succeeded(outcome));
  EXPECT_EQ(outcome->status, ClaimStatus::kStaleEpoch);
  EXPECT_EQ(outcome->highest_epoch, Epoch{5});
  EXPECT_TRUE(outcome->claim_token.empty());
  EXPECT_EQ(state_of(message_id("m2")), RecordState::kUnknown);
}

TEST_P(DedupeStoreConformance, ClaimWithEqualEpochIsGranted) {
  claim_granted(message_id("m1"), "worker-b", Epoch{5}, kLongTtl);
  claim_granted(message_id("m2"), "worker-a", Epoch{5}, kLongTtl);
}

TEST_P(DedupeStoreConformance, StaleEpochOwnerCannotReclaimItsOwnClaim) {
  claim_granted(message_id("m1"), "worker-a", Epoch{4}, kLongTtl);
  claim_granted(message_id("m2"), "worker-b", Epoch{5}, kLongTtl);
  EXPECT_EQ(claim_status(*store_, message_id("m1"), "worker-a", Epoch{4}, kLongTtl), ClaimStatus::kStaleEpoch);
}

TEST_P(DedupeStoreConformance, LiveClaimMayBeMarkedDoneAfterEpochRose) {
  const std::string token = claim_granted(message_id("m1"), "worker-a", Epoch{4}, kLongTtl);
  claim_granted(message_id("m2"), "worker-b", Epoch{5}, kLongTtl);
  // The effect of m1 may already be applied: refusing the mark would force a re-run.
  EXPECT_TRUE(succeeded(store_->mark_done(message_id("m1"), token, kLongTtl)));
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kDone);
}

TEST_P(DedupeStoreConformance, LiveClaimMayBeReleasedAfterEpochRose) {
  const std::string token = claim_granted(message_id("m1"), "worker-a", Epoch{4}, kLongTtl);
  claim_granted(message_id("m2"), "worker-b", Epoch{5}, kLongTtl);
  EXPECT_TRUE(succeeded(store_->release(message_id("m1"), token)));
  claim_granted(message_id("m1"), "worker-b", Epoch{5}, kLongTtl);
}

TEST_P(DedupeStoreConformance, HighestEpochSurvivesNewClientInstance) {
  claim_granted(message_id("m1"), "worker-a", Epoch{9}, kLongTtl);
  store_.reset();
  store_ = factory_->make_dedupe_store();
  auto highest = store_->highest_epoch();
  ASSERT_TRUE(succeeded(highest));
  EXPECT_EQ(*highest, Epoch{9});
  EXPECT_EQ(claim_status(*store_, message_id("m2"), "worker-a", Epoch{8}, kLongTtl), ClaimStatus::kStaleEpoch);
}

TEST_P(DedupeStoreConformance, ClaimIsSeenByAnotherClientInstance) {
  claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  auto other = factory_->make_dedupe_store();
  EXPECT_EQ(claim_status(*other, message_id("m1"), "worker-b", kEpoch, kLongTtl), ClaimStatus::kBusy);
}

// ---- races: exactly one claim wins ----

constexpr std::size_t kRaceIds = 20;

RaceBody claim_all(DedupeStore& store, std::string owner) {
  return [&store, owner] {
    std::string wins;
    for (const MessageId& id : message_ids("race", kRaceIds)) {
      auto outcome = store.claim(id, owner, kEpoch, kLongTtl);
      wins += !outcome.ok() ? 'E' : (outcome->status == ClaimStatus::kClaimed ? '1' : '0');
    }
    return wins;
  };
}

void expect_one_winner_per_id(const std::string& first, const std::string& second) {
  ASSERT_EQ(first.size(), kRaceIds);
  ASSERT_EQ(second.size(), kRaceIds);
  for (std::size_t i = 0; i < kRaceIds; ++i) {
    EXPECT_NE(first[i], 'E') << "claim failed for id " << i;
    EXPECT_NE(second[i], 'E') << "claim failed for id " << i;
    EXPECT_EQ((first[i] == '1') + (second[i] == '1'), 1) << "id " << i << ": " << first[i] << second[i];
  }
}

TEST_P(DedupeStoreConformance, ClaimRaceBetweenThreadsHasOneWinner) {
  auto other = factory_->make_dedupe_store();
  const auto results = race_threads({claim_all(*store_, "worker-a"), claim_all(*other, "worker-b")});
  expect_one_winner_per_id(results[0], results[1]);
}

TEST_P(DedupeStoreConformance, ClaimRaceBetweenProcessesHasOneWinner) {
  if (!factory_->supports_fork()) GTEST_SKIP() << GetParam().name << " cannot be used after fork()";
  store_.reset();  // no connection may cross the fork
  std::unique_ptr<DedupeStore> racer;
  auto results = race_with_forked_child([&]() -> RaceBody {
    racer = factory_->make_dedupe_store();
    return claim_all(*racer, "worker-" + std::to_string(::getpid()));
  });
  ASSERT_TRUE(succeeded(results));
  expect_one_winner_per_id(results->parent, results->child);
}

// ---- lookup ----

TEST_P(DedupeStoreConformance, LookupReportsEachStateInOrder) {
  const std::string claimed = claim_granted(message_id("claimed"), "worker-a", kEpoch, kLongTtl);
  const std::string done = claim_granted(message_id("done"), "worker-a", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(store_->mark_done(message_id("done"), done, kLongTtl)));
  const std::string dead = claim_granted(message_id("dead"), "worker-a", kEpoch, kLongTtl);
  ASSERT_TRUE(succeeded(store_->mark_dead_lettered(message_id("dead"), dead, "poison", kLongTtl)));
  const std::vector<MessageId> ids{message_id("dead"), message_id("unknown"), message_id("claimed"),
                                   message_id("done"), message_id("dead")};
  auto states = store_->lookup(ids);
  ASSERT_TRUE(succeeded(states));
  EXPECT_EQ(*states, (std::vector<RecordState>{RecordState::kDeadLettered, RecordState::kUnknown,
                                               RecordState::kClaimed, RecordState::kDone,
                                               RecordState::kDeadLettered}));
}

TEST_P(DedupeStoreConformance, LookupOfEmptyBatchIsEmpty) {
  auto states = store_->lookup({});
  ASSERT_TRUE(succeeded(states));
  EXPECT_TRUE(states->empty());
}

TEST_P(DedupeStoreConformance, LookupOfExpiredClaimIsUnknown) {
  claim_granted(message_id("m1"), "worker-a", kEpoch, kShortTtl);
  factory_->advance(kPastShortTtl);
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kUnknown);
}

TEST_P(DedupeStoreConformance, LookupOfTenThousandIdsAnswersEachInOrder) {
  const std::vector<MessageId> ids = message_ids("batch", DedupeStore::kMaxLookupBatch);
  // Every 1000th id gets a state, cycling through claimed, done and dead-lettered.
  std::vector<RecordState> expected(ids.size(), RecordState::kUnknown);
  for (std::size_t i = 7; i < ids.size(); i += 1000) {
    const std::string token = claim_granted(ids[i], "worker-a", kEpoch, kLongTtl);
    expected[i] = RecordState::kClaimed;
    if ((i / 1000) % 3 == 1) {
      ASSERT_TRUE(succeeded(store_->mark_done(ids[i], token, kLongTtl)));
      expected[i] = RecordState::kDone;
    } else if ((i / 1000) % 3 == 2) {
      ASSERT_TRUE(succeeded(store_->mark_dead_lettered(ids[i], token, "poison", kLongTtl)));
      expected[i] = RecordState::kDeadLettered;
    }
  }
  auto states = store_->lookup(ids);
  ASSERT_TRUE(succeeded(states));
  ASSERT_EQ(states->size(), ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) ASSERT_EQ((*states)[i], expected[i]) << "id " << ids[i].str();
}

TEST_P(DedupeStoreConformance, LookupOfMoreThanMaxBatchIsInvalid) {
  const std::vector<MessageId> ids = message_ids("batch", DedupeStore::kMaxLookupBatch + 1);
  EXPECT_TRUE(failed_with(store_->lookup(ids), ErrorCode::kInvalidArgument));
}

// ---- bad input: kInvalidArgument, and nothing changes ----

TEST_P(DedupeStoreConformance, ClaimRejectsEmptyId) {
  EXPECT_TRUE(failed_with(store_->claim(MessageId(), "worker-a", kEpoch, kLongTtl), ErrorCode::kInvalidArgument));
}

TEST_P(DedupeStoreConformance, ClaimRejectsEmptyOwner) {
  EXPECT_TRUE(failed_with(store_->claim(message_id("m1"), "", kEpoch, kLongTtl), ErrorCode::kInvalidArgument));
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kUnknown);
}

TEST_P(DedupeStoreConformance, ClaimRejectsOwnerOver128Bytes) {
  EXPECT_TRUE(failed_with(store_->claim(message_id("m1"), std::string(129, 'w'), kEpoch, kLongTtl),
                          ErrorCode::kInvalidArgument));
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kUnknown);
}

TEST_P(DedupeStoreConformance, ClaimAcceptsOwnerOf128Bytes) {
  claim_granted(message_id("m1"), std::string(128, 'w'), kEpoch, kLongTtl);
}

TEST_P(DedupeStoreConformance, ClaimRejectsNonPrintableOwner) {
  EXPECT_TRUE(failed_with(store_->claim(message_id("m1"), "worker\x01", kEpoch, kLongTtl),
                          ErrorCode::kInvalidArgument));
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kUnknown);
}

TEST_P(DedupeStoreConformance, ClaimRejectsZeroTtl) {
  EXPECT_TRUE(failed_with(store_->claim(message_id("m1"), "worker-a", kEpoch, Milliseconds(0)),
                          ErrorCode::kInvalidArgument));
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kUnknown);
}

TEST_P(DedupeStoreConformance, ClaimRejectsNegativeTtl) {
  EXPECT_TRUE(failed_with(store_->claim(message_id("m1"), "worker-a", kEpoch, Milliseconds(-100)),
                          ErrorCode::kInvalidArgument));
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kUnknown);
}

TEST_P(DedupeStoreConformance, ClaimRejectsTtlOver365Days) {
  const Milliseconds too_long = std::chrono::hours(24 * 365) + Milliseconds(1);
  EXPECT_TRUE(failed_with(store_->claim(message_id("m1"), "worker-a", kEpoch, too_long), ErrorCode::kInvalidArgument));
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kUnknown);
}

TEST_P(DedupeStoreConformance, RejectedClaimDoesNotRaiseHighestEpoch) {
  EXPECT_TRUE(failed_with(store_->claim(message_id("m1"), "", Epoch{50}, kLongTtl), ErrorCode::kInvalidArgument));
  auto highest = store_->highest_epoch();
  ASSERT_TRUE(succeeded(highest));
  EXPECT_EQ(*highest, Epoch{0});
}

TEST_P(DedupeStoreConformance, MarkDoneRejectsZeroRecordTtlAndKeepsClaim) {
  const std::string token = claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  EXPECT_TRUE(failed_with(store_->mark_done(message_id("m1"), token, Milliseconds(0)), ErrorCode::kInvalidArgument));
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kClaimed);
  EXPECT_TRUE(succeeded(store_->mark_done(message_id("m1"), token, kLongTtl)));
}

TEST_P(DedupeStoreConformance, MarkDoneRejectsEmptyToken) {
  claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  EXPECT_TRUE(failed_with(store_->mark_done(message_id("m1"), "", kLongTtl), ErrorCode::kInvalidArgument));
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kClaimed);
}

TEST_P(DedupeStoreConformance, MarkDoneRejectsEmptyId) {
  EXPECT_TRUE(failed_with(store_->mark_done(MessageId(), "token", kLongTtl), ErrorCode::kInvalidArgument));
}

TEST_P(DedupeStoreConformance, MarkDeadLetteredRejectsNegativeRecordTtl) {
  const std::string token = claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  EXPECT_TRUE(failed_with(store_->mark_dead_lettered(message_id("m1"), token, "poison", Milliseconds(-1)),
                          ErrorCode::kInvalidArgument));
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kClaimed);
}

TEST_P(DedupeStoreConformance, ReleaseRejectsEmptyTokenAndKeepsClaim) {
  claim_granted(message_id("m1"), "worker-a", kEpoch, kLongTtl);
  EXPECT_TRUE(failed_with(store_->release(message_id("m1"), ""), ErrorCode::kInvalidArgument));
  EXPECT_EQ(state_of(message_id("m1")), RecordState::kClaimed);
}

TEST_P(DedupeStoreConformance, LookupRejectsEmptyId) {
  const std::vector<MessageId> ids{message_id("m1"), MessageId()};
  EXPECT_TRUE(failed_with(store_->lookup(ids), ErrorCode::kInvalidArgument));
}

}  // namespace
}  // namespace hadr::testing

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(DedupeStoreConformance);
