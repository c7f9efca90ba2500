// CoordConformance proves that an implementation keeps the Coord contract
// (contracts/coord.h): every put bumps the version (a new or expired record starts at 1) and
// stores the writer's epoch; compare-and-set on version (0 = must not exist) and on epoch (a
// lower epoch never overwrites a higher one) refuse with kAborted and change nothing; TTL
// records expire and read as absent; list returns live records with a prefix in key order;
// concurrent compare-and-set has one winner; bad input is kInvalidArgument and changes
// nothing. Store time passes only through factory->advance().
#include <string>

#include "contracts/tests/conformance.h"

namespace hadr::testing {

void CoordConformance::SetUp() {
  factory_ = GetParam().make();
  ASSERT_NE(factory_, nullptr);
  coord_ = factory_->make_coord();
  if (coord_ == nullptr) GTEST_SKIP() << GetParam().name << " does not implement Coord";
}

CoordRecord CoordConformance::put(const CoordPut& write) {
  auto record = coord_->put(write);
  EXPECT_TRUE(succeeded(record)) << "key " << write.key;
  return record.ok() ? std::move(record).value() : CoordRecord{};
}

std::optional<CoordRecord> CoordConformance::get(std::string_view key) {
  auto record = coord_->get(key);
  EXPECT_TRUE(succeeded(record)) << "key " << key;
  return record.ok() ? std::move(record).value() : std::nullopt;
}

namespace {

const std::string kAlias = "bus/alias";

CoordPut write_of(std::string key, std::string value, Epoch epoch,
                  CoordCondition condition = CoordCondition::kNone, std::uint64_t expected_version = 0,
                  Milliseconds ttl = Milliseconds(0)) {
  return CoordPut{std::move(key), std::move(value), epoch, condition, expected_version, ttl};
}

std::vector<std::string> keys_of(const std::vector<CoordRecord>& records) {
  std::vector<std::string> keys;
  for (const CoordRecord& record : records) keys.push_back(record.key);
  return keys;
}

TEST_P(CoordConformance, PutCreatesRecordAtVersionOne) {
  const CoordRecord written = put(write_of(kAlias, "namespace-a", Epoch{4}));
  EXPECT_EQ(written.key, kAlias);
  EXPECT_EQ(written.value, "namespace-a");
  EXPECT_EQ(written.version, 1u);
  EXPECT_EQ(written.epoch, Epoch{4});
  EXPECT_EQ(written.remaining, Milliseconds(0));
  const auto read = get(kAlias);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->value, "namespace-a");
  EXPECT_EQ(read->version, 1u);
  EXPECT_EQ(read->epoch, Epoch{4});
}

TEST_P(CoordConformance, EachPutBumpsVersionByOne) {
  put(write_of(kAlias, "v1", Epoch{1}));
  put(write_of(kAlias, "v2", Epoch{1}));
  const CoordRecord third = put(write_of(kAlias, "v3", Epoch{2}));
  EXPECT_EQ(third.version, 3u);
  EXPECT_EQ(get(kAlias)->version, 3u);
  EXPECT_EQ(get(kAlias)->value, "v3");
  EXPECT_EQ(get(kAlias)->epoch, Epoch{2});
}

TEST_P(CoordConformance, GetOfMissingKeyIsEmpty) { EXPECT_FALSE(get("missing").has_value()); }

TEST_P(CoordConformance, BinaryValueRoundTrips) {
  const std::string value("bytes\0\x01\xff", 8);
  put(write_of(kAlias, value, Epoch{1}));
  EXPECT_EQ(get(kAlias)->value, value);
}

TEST_P(CoordConformance, ValueOfMaximumSizeRoundTrips) {
  const std::string value(Coord::kMaxValueBytes, 'v');
  put(write_of(kAlias, value, Epoch{1}));
  EXPECT_EQ(get(kAlias)->value, value);
}

TEST_P(CoordConformance, RecordIsSeenByAnotherInstance) {
  put(write_of(kAlias, "namespace-a", Epoch{1}));
  auto other = factory_->make_coord();
  auto record = other->get(kAlias);
  ASSERT_TRUE(succeeded(record));
  ASSERT_TRUE(record->has_value());
  EXPECT_EQ((*record)->value, "namespace-a");
}

// ---- compare-and-set on version ----

TEST_P(CoordConformance, VersionEqualsWritesWhenVersionMatches) {
  put(write_of(kAlias, "v1", Epoch{1}));
  const CoordRecord written = put(write_of(kAlias, "v2", Epoch{1}, CoordCondition::kVersionEquals, 1));
  EXPECT_EQ(written.version, 2u);
  EXPECT_EQ(get(kAlias)->value, "v2");
}

TEST_P(CoordConformance, VersionEqualsRefusesMismatchAndChangesNothing) {
  put(write_of(kAlias, "v1", Epoch{1}));
  put(write_of(kAlias, "v2", Epoch{1}));
  auto refused = coord_->put(write_of(kAlias, "stale", Epoch{1}, CoordCondition::kVersionEquals, 1));
  ASSERT_TRUE(failed_with(refused, ErrorCode::kAborted));
  EXPECT_NE(refused.error().detail.find('2'), std::string::npos) << "the detail names the current version: "
                                                                  << refused.error().detail;
  EXPECT_EQ(get(kAlias)->value, "v2");
  EXPECT_EQ(get(kAlias)->version, 2u);
}

TEST_P(CoordConformance, VersionEqualsZeroCreatesWhenAbsent) {
  const CoordRecord written = put(write_of(kAlias, "first", Epoch{1}, CoordCondition::kVersionEquals, 0));
  EXPECT_EQ(written.version, 1u);
}

TEST_P(CoordConformance, VersionEqualsZeroRefusesWhenPresent) {
  put(write_of(kAlias, "first", Epoch{1}));
  EXPECT_TRUE(failed_with(coord_->put(write_of(kAlias, "second", Epoch{1}, CoordCondition::kVersionEquals, 0)),
                          ErrorCode::kAborted));
  EXPECT_EQ(get(kAlias)->value, "first");
}

TEST_P(CoordConformance, VersionEqualsNonZeroRefusesWhenAbsent) {
  EXPECT_TRUE(failed_with(coord_->put(write_of(kAlias, "v", Epoch{1}, CoordCondition::kVersionEquals, 1)),
                          ErrorCode::kAborted));
  EXPECT_FALSE(get(kAlias).has_value());
}

TEST_P(CoordConformance, ConcurrentVersionCasHasOneWinner) {
  put(write_of(kAlias, "v1", Epoch{1}));
  auto other = factory_->make_coord();
  auto cas = [](Coord& coord, std::string value) -> RaceBody {
    return [&coord, value] {
      auto written = coord.put(write_of(kAlias, value, Epoch{1}, CoordCondition::kVersionEquals, 1));
      if (written.ok()) return std::string("won");
      return written.code() == ErrorCode::kAborted ? std::string("lost") : written.error().to_string();
    };
  };
  const auto results = race_threads({cas(*coord_, "from 1"), cas(*other, "from 2")});
  EXPECT_EQ((results[0] == "won") + (results[1] == "won"), 1) << results[0] << " / " << results[1];
  EXPECT_EQ((results[0] == "lost") + (results[1] == "lost"), 1) << results[0] << " / " << results[1];
  EXPECT_EQ(get(kAlias)->version, 2u);
  EXPECT_EQ(get(kAlias)->value, results[0] == "won" ? "from 1" : "from 2");
}

// ---- compare-and-set on epoch (fencing) ----

TEST_P(CoordConformance, EpochAtLeastWritesWhenAbsent) {
  const CoordRecord written = put(write_of(kAlias, "namespace-b", Epoch{5}, CoordCondition::kEpochAtLeast));
  EXPECT_EQ(written.version, 1u);
  EXPECT_EQ(written.epoch, Epoch{5});
}

TEST_P(CoordConformance, EpochAtLeastWritesWithEqualEpoch) {
  put(write_of(kAlias, "namespace-a", Epoch{5}));
  const CoordRecord written = put(write_of(kAlias, "namespace-b", Epoch{5}, CoordCondition::kEpochAtLeast));
  EXPECT_EQ(written.version, 2u);
}

TEST_P(CoordConformance, EpochAtLeastWritesWithHigherEpoch) {
  put(write_of(kAlias, "namespace-a", Epoch{5}));
  put(write_of(kAlias, "namespace-b", Epoch{6}, CoordCondition::kEpochAtLeast));
  EXPECT_EQ(get(kAlias)->value, "namespace-b");
  EXPECT_EQ(get(kAlias)->epoch, Epoch{6});
}

TEST_P(CoordConformance, LowerEpochNeverOverwritesHigher) {
  put(write_of(kAlias, "namespace-b", Epoch{6}));
  auto refused = coord_->put(write_of(kAlias, "namespace-a", Epoch{5}, CoordCondition::kEpochAtLeast));
  ASSERT_TRUE(failed_with(refused, ErrorCode::kAborted));
  EXPECT_NE(refused.error().detail.find('6'), std::string::npos) << "the detail names the current epoch: "
                                                                  << refused.error().detail;
  const auto read = get(kAlias);
  EXPECT_EQ(read->value, "namespace-b");
  EXPECT_EQ(read->epoch, Epoch{6});
  EXPECT_EQ(read->version, 1u);
}

// ---- TTL ----

TEST_P(CoordConformance, RecordWithTtlExpires) {
  put(write_of("heartbeat/a", "alive", Epoch{1}, CoordCondition::kNone, 0, kShortTtl));
  EXPECT_TRUE(get("heartbeat/a").has_value());
  factory_->advance(kPastShortTtl);
  EXPECT_FALSE(get("heartbeat/a").has_value());
}

TEST_P(CoordConformance, RemainingReportsTimeToLive) {
  const CoordRecord written = put(write_of("heartbeat/a", "alive", Epoch{1}, CoordCondition::kNone, 0, kLongTtl));
  EXPECT_GT(written.remaining, Milliseconds(0));
  EXPECT_LE(written.remaining, kLongTtl);
  const auto read = get("heartbeat/a");
  EXPECT_GT(read->remaining, Milliseconds(0));
  EXPECT_LE(read->remaining, kLongTtl);
}

TEST_P(CoordConformance, RecordWithoutTtlDoesNotExpire) {
  put(write_of(kAlias, "namespace-a", Epoch{1}));
  factory_->advance(kPastShortTtl);
  const auto read = get(kAlias);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->remaining, Milliseconds(0));
}

TEST_P(CoordConformance, PutWithoutTtlMakesRecordPermanent) {
  put(write_of("heartbeat/a", "alive", Epoch{1}, CoordCondition::kNone, 0, kShortTtl));
  put(write_of("heartbeat/a", "pinned", Epoch{1}));
  factory_->advance(kPastShortTtl);
  ASSERT_TRUE(get("heartbeat/a").has_value());
  EXPECT_EQ(get("heartbeat/a")->value, "pinned");
}

TEST_P(CoordConformance, PutAfterExpiryStartsAtVersionOne) {
  put(write_of("heartbeat/a", "one", Epoch{1}, CoordCondition::kNone, 0, kShortTtl));
  put(write_of("heartbeat/a", "two", Epoch{1}, CoordCondition::kNone, 0, kShortTtl));
  factory_->advance(kPastShortTtl);
  const CoordRecord written =
      put(write_of("heartbeat/a", "again", Epoch{1}, CoordCondition::kVersionEquals, 0, kLongTtl));
  EXPECT_EQ(written.version, 1u);
}

TEST_P(CoordConformance, ExpiredRecordDoesNotFenceLowerEpoch) {
  put(write_of("heartbeat/a", "new", Epoch{9}, CoordCondition::kNone, 0, kShortTtl));
  factory_->advance(kPastShortTtl);
  const CoordRecord written = put(write_of("heartbeat/a", "old", Epoch{3}, CoordCondition::kEpochAtLeast));
  EXPECT_EQ(written.epoch, Epoch{3});
  EXPECT_EQ(written.version, 1u);
}

// ---- list and remove ----

TEST_P(CoordConformance, ListReturnsLiveRecordsWithPrefixInKeyOrder) {
  for (const char* key : {"heartbeat/b", "heartbeat/a", "heartbeat-other", "checkpoint/a", "heartbeat/c"}) {
    put(write_of(key, "v", Epoch{1}));
  }
  put(write_of("heartbeat/expired", "v", Epoch{1}, CoordCondition::kNone, 0, kShortTtl));
  factory_->advance(kPastShortTtl);
  auto records = coord_->list("heartbeat/");
  ASSERT_TRUE(succeeded(records));
  EXPECT_EQ(keys_of(*records), (std::vector<std::string>{"heartbeat/a", "heartbeat/b", "heartbeat/c"}));
  EXPECT_EQ((*records)[0].value, "v");
  EXPECT_EQ((*records)[0].version, 1u);
}

TEST_P(CoordConformance, ListWithEmptyPrefixReturnsAll) {
  for (const char* key : {"b", "a", "c/d"}) put(write_of(key, "v", Epoch{1}));
  auto records = coord_->list("");
  ASSERT_TRUE(succeeded(records));
  EXPECT_EQ(keys_of(*records), (std::vector<std::string>{"a", "b", "c/d"}));
}

TEST_P(CoordConformance, ListOfUnmatchedPrefixIsEmpty) {
  put(write_of(kAlias, "v", Epoch{1}));
  auto records = coord_->list("nothing/");
  ASSERT_TRUE(succeeded(records));
  EXPECT_TRUE(records->empty());
}

TEST_P(CoordConformance, RemoveDeletesRecord) {
  put(write_of(kAlias, "v", Epoch{1}));
  ASSERT_TRUE(succeeded(coord_->remove(kAlias)));
  EXPECT_FALSE(get(kAlias).has_value());
}

TEST_P(CoordConformance, RemoveOfMissingKeyIsOk) { EXPECT_TRUE(succeeded(coord_->remove("missing"))); }

TEST_P(CoordConformance, PutAfterRemoveStartsAtVersionOne) {
  put(write_of(kAlias, "v1", Epoch{1}));
  put(write_of(kAlias, "v2", Epoch{1}));
  ASSERT_TRUE(succeeded(coord_->remove(kAlias)));
  EXPECT_EQ(put(write_of(kAlias, "v3", Epoch{1})).version, 1u);
}

// ---- bad input: kInvalidArgument, and nothing changes ----

TEST_P(CoordConformance, PutRejectsEmptyKey) {
  EXPECT_TRUE(failed_with(coord_->put(write_of("", "v", Epoch{1})), ErrorCode::kInvalidArgument));
  auto records = coord_->list("");
  ASSERT_TRUE(succeeded(records));
  EXPECT_TRUE(records->empty());
}

TEST_P(CoordConformance, PutRejectsKeyOver256Bytes) {
  EXPECT_TRUE(failed_with(coord_->put(write_of(std::string(257, 'k'), "v", Epoch{1})), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(failed_with(coord_->get(std::string(257, 'k')), ErrorCode::kInvalidArgument));
}

TEST_P(CoordConformance, PutAcceptsKeyOf256Bytes) {
  put(write_of(std::string(256, 'k'), "v", Epoch{1}));
  EXPECT_TRUE(get(std::string(256, 'k')).has_value());
}

TEST_P(CoordConformance, PutRejectsNonPrintableKey) {
  EXPECT_TRUE(failed_with(coord_->put(write_of("bus\nalias", "v", Epoch{1})), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(failed_with(coord_->put(write_of("bus\xff", "v", Epoch{1})), ErrorCode::kInvalidArgument));
}

TEST_P(CoordConformance, PutRejectsValueOverMaximumAndKeepsRecord) {
  put(write_of(kAlias, "v1", Epoch{1}));
  EXPECT_TRUE(failed_with(coord_->put(write_of(kAlias, std::string(Coord::kMaxValueBytes + 1, 'v'), Epoch{1})),
                          ErrorCode::kInvalidArgument));
  EXPECT_EQ(get(kAlias)->value, "v1");
  EXPECT_EQ(get(kAlias)->version, 1u);
}

TEST_P(CoordConformance, PutRejectsNegativeTtlAndKeepsRecord) {
  put(write_of(kAlias, "v1", Epoch{1}));
  EXPECT_TRUE(failed_with(coord_->put(write_of(kAlias, "v2", Epoch{1}, CoordCondition::kNone, 0, Milliseconds(-1))),
                          ErrorCode::kInvalidArgument));
  EXPECT_EQ(get(kAlias)->value, "v1");
}

TEST_P(CoordConformance, GetRejectsEmptyKey) { EXPECT_TRUE(failed_with(coord_->get(""), ErrorCode::kInvalidArgument)); }

TEST_P(CoordConformance, RemoveRejectsEmptyKey) {
  EXPECT_TRUE(failed_with(coord_->remove(""), ErrorCode::kInvalidArgument));
}

}  // namespace
}  // namespace hadr::testing

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(CoordConformance);
