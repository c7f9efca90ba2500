// Proves an EffectLedger and its reader, for every store (SQLite and Redis instantiate it):
// the effect exists iff the mark does — committed together; a lost, expired, released or
// foreign claim token leaves no effect (kAborted "claim lost"); a repeat after commit adds no
// second effect; a dead-lettered record refuses; the reader counts effects, streams ids once
// each in id order within a limit, shows a duplicate (count 2) instead of hiding it, and finds
// the first effect of a region at or after a time. (LedgerHandler's verdicts over a ledger are
// the handler's own tests, src/handlers/tests/ledger_handler_test.cc.)
#include "contracts/tests/effect_ledger_conformance.h"

#include <vector>

namespace hadr::ledger_conformance {

namespace {

constexpr std::string_view kOwner = "b/worker-1";
constexpr Epoch kEpoch{7};
constexpr Milliseconds kRecordTtl{3'600'000};
// Short enough to expire within a test on a real server, long enough to be live when used.
constexpr Milliseconds kShortClaimTtl{300};

MessageId id_of(std::string_view text) { return MessageId::parse(text).value(); }
RegionId region_of(std::string_view text) { return RegionId::parse(text).value(); }

std::vector<std::pair<std::string, std::uint64_t>> all_counts(EffectLedgerReader& reader, std::uint64_t ids_max) {
  std::vector<std::pair<std::string, std::uint64_t>> seen;
  const Status status = reader.for_each_effect_count(ids_max, [&](const std::string& id, std::uint64_t count) {
    seen.emplace_back(id, count);
    return ok_status();
  });
  EXPECT_TRUE(status.ok()) << status.error().to_string();
  return seen;
}

}  // namespace

std::string EffectLedgerConformance::claim(std::string_view id, Milliseconds ttl) {
  auto outcome = factory_->dedupe().claim(id_of(id), kOwner, kEpoch, ttl);
  EXPECT_TRUE(outcome.ok()) << outcome.error().to_string();
  EXPECT_EQ(outcome->status, ClaimStatus::kClaimed);
  return outcome->claim_token;
}

LedgerEntry EffectLedgerConformance::entry_of(std::string_view id, std::string_view region,
                                              std::int64_t applied_at_ms) {
  return LedgerEntry{.message_id = id_of(id),
                     .region = region_of(region),
                     .epoch = kEpoch,
                     .source_region = region_of("a"),
                     .lsn = Lsn{42},
                     .body_bytes = 5,
                     .body_xxh3_64 = 0xfedcba9876543210ULL,  // above 2^63: stored bit for bit
                     .applied_at_ms = applied_at_ms};
}

void EffectLedgerConformance::apply(std::string_view id, std::string_view region, std::int64_t applied_at_ms) {
  const std::string token = claim(id);
  const Status status =
      factory_->ledger().mark_done_with_effect(id_of(id), token, kRecordTtl, entry_of(id, region, applied_at_ms));
  ASSERT_TRUE(status.ok()) << status.error().to_string();
}

std::unique_ptr<EffectLedgerReader> EffectLedgerConformance::reader() { return factory_->open_reader(); }

std::uint64_t EffectLedgerConformance::effects_of(std::string_view id) {
  auto count = reader()->effect_count(id);
  EXPECT_TRUE(count.ok()) << count.error().to_string();
  return count.ok() ? *count : 0;
}

RecordState EffectLedgerConformance::state_of(std::string_view id) {
  const MessageId message_id = id_of(id);
  return factory_->dedupe().lookup(std::span(&message_id, 1)).value().at(0);
}

TEST_P(EffectLedgerConformance, EffectAndMarkCommitTogether) {
  const std::string token = claim("m-1");
  ASSERT_TRUE(factory_->ledger().mark_done_with_effect(id_of("m-1"), token, kRecordTtl, entry_of("m-1")).ok());
  EXPECT_EQ(state_of("m-1"), RecordState::kDone);
  EXPECT_EQ(effects_of("m-1"), 1u);
  EXPECT_EQ(reader()->effect_rows().value(), 1u);
}

TEST_P(EffectLedgerConformance, LostClaimLeavesNoEffect) {
  const std::string stale_token = claim("m-1", kShortClaimTtl);
  factory_->advance(kShortClaimTtl * 2);
  const std::string live_token = claim("m-1");
  ASSERT_NE(stale_token, live_token);
  const Status status = factory_->ledger().mark_done_with_effect(id_of("m-1"), stale_token, kRecordTtl, entry_of("m-1"));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), ErrorCode::kAborted);
  EXPECT_NE(status.error().detail.find("claim lost"), std::string::npos) << status.error().detail;
  EXPECT_EQ(effects_of("m-1"), 0u);
  EXPECT_EQ(reader()->effect_rows().value(), 0u);
  EXPECT_EQ(state_of("m-1"), RecordState::kClaimed);  // the live claim is untouched
}

TEST_P(EffectLedgerConformance, ExpiredClaimWithoutSuccessorLeavesNoEffect) {
  const std::string token = claim("m-1", kShortClaimTtl);
  factory_->advance(kShortClaimTtl * 2);
  const Status status = factory_->ledger().mark_done_with_effect(id_of("m-1"), token, kRecordTtl, entry_of("m-1"));
  EXPECT_EQ(status.code(), ErrorCode::kAborted);
  EXPECT_EQ(effects_of("m-1"), 0u);
  EXPECT_EQ(state_of("m-1"), RecordState::kUnknown);
}

TEST_P(EffectLedgerConformance, ReleasedClaimLeavesNoEffect) {
  const std::string token = claim("m-1");
  ASSERT_TRUE(factory_->dedupe().release(id_of("m-1"), token).ok());
  const Status status = factory_->ledger().mark_done_with_effect(id_of("m-1"), token, kRecordTtl, entry_of("m-1"));
  EXPECT_EQ(status.code(), ErrorCode::kAborted);
  EXPECT_EQ(effects_of("m-1"), 0u);
}

TEST_P(EffectLedgerConformance, RepeatAfterCommitAddsNoEffect) {
  const std::string token = claim("m-1");
  ASSERT_TRUE(factory_->ledger().mark_done_with_effect(id_of("m-1"), token, kRecordTtl, entry_of("m-1")).ok());
  const Status again = factory_->ledger().mark_done_with_effect(id_of("m-1"), token, kRecordTtl, entry_of("m-1", "b", 2'000));
  EXPECT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(effects_of("m-1"), 1u);
  EXPECT_EQ(reader()->effect_rows().value(), 1u);
  EXPECT_EQ(reader()->first_effect_at_ms(region_of("b"), 1'500).value(), std::nullopt);  // no second entry
}

TEST_P(EffectLedgerConformance, TokenOfAnotherClaimIsAborted) {
  const std::string token_1 = claim("m-1");
  const std::string token_2 = claim("m-2");
  ASSERT_NE(token_1, token_2);
  const Status status = factory_->ledger().mark_done_with_effect(id_of("m-1"), token_2, kRecordTtl, entry_of("m-1"));
  EXPECT_EQ(status.code(), ErrorCode::kAborted);
  EXPECT_EQ(effects_of("m-1"), 0u);
  EXPECT_EQ(state_of("m-1"), RecordState::kClaimed);
  // The rightful claim still works: the refused call changed nothing.
  EXPECT_TRUE(factory_->ledger().mark_done_with_effect(id_of("m-1"), token_1, kRecordTtl, entry_of("m-1")).ok());
  EXPECT_EQ(effects_of("m-1"), 1u);
}

TEST_P(EffectLedgerConformance, DeadLetteredUnderThisTokenIsRefused) {
  const std::string token = claim("m-1");
  ASSERT_TRUE(factory_->dedupe().mark_dead_lettered(id_of("m-1"), token, "poison", kRecordTtl).ok());
  const Status status = factory_->ledger().mark_done_with_effect(id_of("m-1"), token, kRecordTtl, entry_of("m-1"));
  EXPECT_EQ(status.code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(effects_of("m-1"), 0u);
  EXPECT_EQ(state_of("m-1"), RecordState::kDeadLettered);
}

TEST_P(EffectLedgerConformance, EmptyLedgerReadsAsZero) {
  auto empty = reader();
  const LedgerSummary summary = empty->summarize().value();
  EXPECT_EQ(summary.effects, 0u);
  EXPECT_EQ(summary.distinct_ids, 0u);
  EXPECT_EQ(summary.duplicated_ids, 0u);
  EXPECT_EQ(empty->effect_rows().value(), 0u);
  EXPECT_EQ(empty->effect_count("m-1").value(), 0u);
  EXPECT_EQ(empty->first_effect_at_ms(region_of("b"), 0).value(), std::nullopt);
  EXPECT_TRUE(all_counts(*empty, 10).empty());
}

TEST_P(EffectLedgerConformance, DuplicateEffectIsVisible) {
  for (const char* id : {"m-1", "m-2", "m-3"}) apply(id);
  factory_->append_duplicate(entry_of("m-2"));
  auto duplicated = reader();
  const LedgerSummary summary = duplicated->summarize().value();
  EXPECT_EQ(summary.effects, 4u);
  EXPECT_EQ(summary.distinct_ids, 3u);
  EXPECT_EQ(summary.duplicated_ids, 1u);
  ASSERT_EQ(summary.duplicates.size(), 1u);
  EXPECT_EQ(summary.duplicates[0], std::make_pair(std::string("m-2"), std::uint64_t{2}));
  EXPECT_EQ(duplicated->effect_count("m-2").value(), 2u);
  const std::vector<std::pair<std::string, std::uint64_t>> expected = {{"m-1", 1}, {"m-2", 2}, {"m-3", 1}};
  EXPECT_EQ(all_counts(*duplicated, 10), expected);
}

TEST_P(EffectLedgerConformance, EffectCountsStreamInIdOrder) {
  for (const char* id : {"m-3", "m-1", "m-2"}) apply(id);
  const std::vector<std::pair<std::string, std::uint64_t>> expected = {{"m-1", 1}, {"m-2", 1}, {"m-3", 1}};
  EXPECT_EQ(all_counts(*reader(), 10), expected);
}

TEST_P(EffectLedgerConformance, StreamingPastTheIdLimitIsRefused) {
  for (const char* id : {"m-1", "m-2", "m-3"}) apply(id);
  const Status status = reader()->for_each_effect_count(2, [](const std::string&, std::uint64_t) {
    return ok_status();
  });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(status.error().detail.find("more than 2"), std::string::npos) << status.error().detail;
}

TEST_P(EffectLedgerConformance, StreamingStopsWithTheCallbacksError) {
  for (const char* id : {"m-1", "m-2"}) apply(id);
  int visits = 0;
  const Status status = reader()->for_each_effect_count(10, [&](const std::string&, std::uint64_t) -> Status {
    ++visits;
    return aborted("stop here");
  });
  EXPECT_EQ(status.code(), ErrorCode::kAborted);
  EXPECT_EQ(visits, 1);
}

// More ids than one page of any paged scan: every id is visited exactly once.
TEST_P(EffectLedgerConformance, ManyIdsAreEachCountedOnce) {
  constexpr int kIds = 2'500;
  for (int i = 0; i < kIds; ++i) apply("bulk-" + std::to_string(i));
  auto many = reader();
  const auto counts = all_counts(*many, kIds);
  ASSERT_EQ(counts.size(), static_cast<std::size_t>(kIds));
  for (std::size_t i = 0; i < counts.size(); ++i) {
    EXPECT_EQ(counts[i].second, 1u) << counts[i].first;
    if (i > 0) {
      EXPECT_LT(counts[i - 1].first, counts[i].first);
    }
  }
  const LedgerSummary summary = many->summarize().value();
  EXPECT_EQ(summary.effects, static_cast<std::uint64_t>(kIds));
  EXPECT_EQ(summary.distinct_ids, static_cast<std::uint64_t>(kIds));
  EXPECT_EQ(summary.duplicated_ids, 0u);
}

TEST_P(EffectLedgerConformance, FirstEffectAtMsFiltersByRegionAndTime) {
  apply("m-1", "b", 1'000);
  apply("m-2", "a", 2'000);
  apply("m-3", "b", 3'000);
  auto times = reader();
  EXPECT_EQ(times->first_effect_at_ms(region_of("b"), 0).value(), 1'000);
  EXPECT_EQ(times->first_effect_at_ms(region_of("b"), 1'001).value(), 3'000);
  EXPECT_EQ(times->first_effect_at_ms(region_of("b"), 3'000).value(), 3'000);  // at or after
  EXPECT_EQ(times->first_effect_at_ms(region_of("b"), 3'001).value(), std::nullopt);
  EXPECT_EQ(times->first_effect_at_ms(region_of("a"), 0).value(), 2'000);
  EXPECT_EQ(times->first_effect_at_ms(region_of("c"), 0).value(), std::nullopt);
}

}  // namespace hadr::ledger_conformance
