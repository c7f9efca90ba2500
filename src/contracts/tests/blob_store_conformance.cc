// BlobStoreConformance proves that an implementation keeps the BlobStore contract
// (contracts/blob_store.h): whole objects round trip byte for byte; put replaces;
// put_if_absent writes only when absent and exactly one of racing writers (threads and
// processes) wins; get of a missing key is kNotFound and remove of one is ok; list returns
// keys in byte order, filtered by prefix, paged strictly after start_after with a correct
// `more`; bad keys are kInvalidArgument and change nothing.
#include <unistd.h>

#include <string>

#include "contracts/tests/conformance.h"

namespace hadr::testing {

void BlobStoreConformance::SetUp() {
  factory_ = GetParam().make();
  ASSERT_NE(factory_, nullptr);
  blobs_ = factory_->make_blob_store();
  if (blobs_ == nullptr) GTEST_SKIP() << GetParam().name << " does not implement BlobStore";
}

void BlobStoreConformance::put(std::string_view key, std::string_view data) {
  ASSERT_TRUE(succeeded(blobs_->put(key, data))) << "key " << key;
}

std::string BlobStoreConformance::get(std::string_view key) {
  auto data = blobs_->get(key);
  EXPECT_TRUE(succeeded(data)) << "key " << key;
  return data.ok() ? std::move(data).value() : std::string();
}

BlobPage BlobStoreConformance::list(std::string_view prefix, std::string_view start_after, std::size_t max) {
  auto page = blobs_->list(prefix, start_after, max);
  EXPECT_TRUE(succeeded(page));
  return page.ok() ? std::move(page).value() : BlobPage{};
}

namespace {

using Keys = std::vector<std::string>;

TEST_P(BlobStoreConformance, PutThenGetRoundTrips) {
  const std::string data("wal segment\0\x01\xff bytes", 20);
  put("wal/a/00000001.log", data);
  EXPECT_EQ(get("wal/a/00000001.log"), data);
}

TEST_P(BlobStoreConformance, EmptyObjectRoundTrips) {
  put("empty", "");
  EXPECT_EQ(get("empty"), "");
}

TEST_P(BlobStoreConformance, LargeObjectRoundTrips) {
  std::string data(3 << 20, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 + 7);
  put("large", data);
  EXPECT_EQ(get("large"), data);
}

TEST_P(BlobStoreConformance, GetOfMissingKeyIsNotFound) {
  EXPECT_TRUE(failed_with(blobs_->get("missing"), ErrorCode::kNotFound));
}

TEST_P(BlobStoreConformance, PutReplacesExistingObject) {
  put("checkpoint/a", "lsn 10");
  put("checkpoint/a", "lsn 20");
  EXPECT_EQ(get("checkpoint/a"), "lsn 20");
}

TEST_P(BlobStoreConformance, PutIfAbsentWritesWhenAbsent) {
  auto written = blobs_->put_if_absent("wal/a/1", "first");
  ASSERT_TRUE(succeeded(written));
  EXPECT_TRUE(*written);
  EXPECT_EQ(get("wal/a/1"), "first");
}

TEST_P(BlobStoreConformance, PutIfAbsentLeavesExistingObjectUnchanged) {
  put("wal/a/1", "first");
  auto written = blobs_->put_if_absent("wal/a/1", "second");
  ASSERT_TRUE(succeeded(written));
  EXPECT_FALSE(*written);
  EXPECT_EQ(get("wal/a/1"), "first");
}

TEST_P(BlobStoreConformance, PutIfAbsentAfterRemoveWritesAgain) {
  put("wal/a/1", "first");
  ASSERT_TRUE(succeeded(blobs_->remove("wal/a/1")));
  auto written = blobs_->put_if_absent("wal/a/1", "second");
  ASSERT_TRUE(succeeded(written));
  EXPECT_TRUE(*written);
  EXPECT_EQ(get("wal/a/1"), "second");
}

TEST_P(BlobStoreConformance, ObjectIsSeenByAnotherInstance) {
  put("shared", "data");
  auto other = factory_->make_blob_store();
  auto data = other->get("shared");
  ASSERT_TRUE(succeeded(data));
  EXPECT_EQ(*data, "data");
}

// Each racer writes its own payload to the same keys; per key exactly one may win, and the
// object holds the winner's payload.
constexpr int kRaceKeys = 20;

RaceBody put_all_if_absent(BlobStore& store, std::string payload) {
  return [&store, payload] {
    std::string wins;
    for (int i = 0; i < kRaceKeys; ++i) {
      auto written = store.put_if_absent("race/" + std::to_string(i), payload);
      wins += !written.ok() ? 'E' : (*written ? '1' : '0');
    }
    return wins;
  };
}

void expect_one_writer_per_key(BlobStore& store, const std::string& first, const std::string& first_payload,
                               const std::string& second, const std::string& second_payload) {
  ASSERT_EQ(first.size(), static_cast<std::size_t>(kRaceKeys));
  ASSERT_EQ(second.size(), static_cast<std::size_t>(kRaceKeys));
  for (int i = 0; i < kRaceKeys; ++i) {
    ASSERT_NE(first[i], 'E') << "put_if_absent failed for key " << i;
    ASSERT_NE(second[i], 'E') << "put_if_absent failed for key " << i;
    ASSERT_EQ((first[i] == '1') + (second[i] == '1'), 1) << "key " << i << ": " << first[i] << second[i];
    auto data = store.get("race/" + std::to_string(i));
    ASSERT_TRUE(succeeded(data));
    EXPECT_EQ(*data, first[i] == '1' ? first_payload : second_payload) << "key " << i;
  }
}

TEST_P(BlobStoreConformance, PutIfAbsentRaceBetweenThreadsWritesOnce) {
  auto other = factory_->make_blob_store();
  const auto results =
      race_threads({put_all_if_absent(*blobs_, "from thread 1"), put_all_if_absent(*other, "from thread 2")});
  expect_one_writer_per_key(*blobs_, results[0], "from thread 1", results[1], "from thread 2");
}

TEST_P(BlobStoreConformance, PutIfAbsentRaceBetweenProcessesWritesOnce) {
  if (!factory_->supports_fork()) GTEST_SKIP() << GetParam().name << " cannot be used after fork()";
  blobs_.reset();  // no connection may cross the fork
  const std::string parent_payload = "from process " + std::to_string(::getpid());
  std::unique_ptr<BlobStore> racer;
  std::string my_payload;
  auto results = race_with_forked_child([&]() -> RaceBody {
    racer = factory_->make_blob_store();
    my_payload = "from process " + std::to_string(::getpid());
    return put_all_if_absent(*racer, my_payload);
  });
  ASSERT_TRUE(succeeded(results));
  ASSERT_EQ(my_payload, parent_payload);
  blobs_ = factory_->make_blob_store();
  // The child's payload names its pid, which the parent does not know; any other payload is it.
  for (int i = 0; i < kRaceKeys; ++i) {
    ASSERT_EQ((results->parent[i] == '1') + (results->child[i] == '1'), 1) << "key " << i;
    const std::string data = get("race/" + std::to_string(i));
    if (results->parent[i] == '1') {
      EXPECT_EQ(data, parent_payload);
    } else {
      EXPECT_NE(data, parent_payload);
    }
  }
}

TEST_P(BlobStoreConformance, RemoveDeletesObject) {
  put("old", "data");
  ASSERT_TRUE(succeeded(blobs_->remove("old")));
  EXPECT_TRUE(failed_with(blobs_->get("old"), ErrorCode::kNotFound));
  EXPECT_TRUE(list("", "", 10).keys.empty());
}

// Issue 12, hole 13: the container (the directory, the Azure container) is deleted under a
// running store, as a blob server restarted without its volume does. Readers see an empty
// store (not an error they would retry forever), and the next write creates the container
// again, so a writer never holds its data until a process restart.
TEST_P(BlobStoreConformance, ContainerDeletedUnderARunningStoreReadsEmptyAndIsRecreatedByAPut) {
  put("wal/a/1", "one");
  put("wal/a/2", "two");
  if (!factory_->wipe_blob_container()) GTEST_SKIP() << GetParam().name << " cannot wipe its container here";
  auto lost = blobs_->get("wal/a/1");
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.code(), ErrorCode::kNotFound);
  const BlobPage empty = list("wal/", "", 10);
  EXPECT_TRUE(empty.keys.empty());
  EXPECT_FALSE(empty.more);
  EXPECT_TRUE(succeeded(blobs_->remove("wal/a/2")));
  auto written = blobs_->put_if_absent("wal/a/1", "one again");
  ASSERT_TRUE(succeeded(written));
  EXPECT_TRUE(*written);
  put("wal/a/3", "three");
  EXPECT_EQ(get("wal/a/1"), "one again");
  EXPECT_EQ(list("wal/", "", 10).keys, (std::vector<std::string>{"wal/a/1", "wal/a/3"}));
  // Another instance sees the recreated container.
  auto other = factory_->make_blob_store();
  ASSERT_NE(other, nullptr);
  auto seen = other->get("wal/a/3");
  ASSERT_TRUE(succeeded(seen));
  EXPECT_EQ(*seen, "three");
}

TEST_P(BlobStoreConformance, RemoveOfMissingKeyIsOk) { EXPECT_TRUE(succeeded(blobs_->remove("never-written"))); }

TEST_P(BlobStoreConformance, KeyAndKeyBelowItCoexist) {
  put("a", "file a");
  put("a/b", "file a/b");
  EXPECT_EQ(get("a"), "file a");
  EXPECT_EQ(get("a/b"), "file a/b");
  EXPECT_EQ(list("", "", 10).keys, (Keys{"a", "a/b"}));
  ASSERT_TRUE(succeeded(blobs_->remove("a")));
  EXPECT_EQ(get("a/b"), "file a/b");
}

TEST_P(BlobStoreConformance, KeyOfMaximumLengthRoundTrips) {
  const std::string flat(1024, 'k');
  std::string nested;
  while (nested.size() < 1024) nested += nested.size() % 300 == 299 ? '/' : 'n';
  put(flat, "flat");
  put(nested, "nested");
  EXPECT_EQ(get(flat), "flat");
  EXPECT_EQ(get(nested), "nested");
  EXPECT_EQ(list("", "", 10).keys, (Keys{flat, nested}));
}

// ---- list ----

TEST_P(BlobStoreConformance, ListReturnsKeysInByteOrder) {
  // '-' < '.' < '/' < digits < upper case < '_' < lower case, in bytes.
  const Keys keys{"a-b", "a.b", "a/b", "a0", "aB", "a_b", "ab", "b"};
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) put(*it, "x");
  const BlobPage page = list("", "", 100);
  EXPECT_EQ(page.keys, keys);
  EXPECT_FALSE(page.more);
}

TEST_P(BlobStoreConformance, ListFiltersByPrefix) {
  for (const char* key : {"wal/a/1", "wal/a/2", "wal/b/1", "wal-other", "checkpoint/a"}) put(key, "x");
  EXPECT_EQ(list("wal/a/", "", 100).keys, (Keys{"wal/a/1", "wal/a/2"}));
  EXPECT_EQ(list("wal", "", 100).keys, (Keys{"wal-other", "wal/a/1", "wal/a/2", "wal/b/1"}));
  EXPECT_EQ(list("wal/a/1", "", 100).keys, (Keys{"wal/a/1"}));
  EXPECT_TRUE(list("nothing", "", 100).keys.empty());
}

TEST_P(BlobStoreConformance, ListPagesWithStartAfter) {
  for (const char* key : {"k1", "k2", "k3", "k4", "k5"}) put(key, "x");
  BlobPage page = list("", "", 2);
  EXPECT_EQ(page.keys, (Keys{"k1", "k2"}));
  EXPECT_TRUE(page.more);
  page = list("", "k2", 2);
  EXPECT_EQ(page.keys, (Keys{"k3", "k4"}));
  EXPECT_TRUE(page.more);
  page = list("", "k4", 2);
  EXPECT_EQ(page.keys, (Keys{"k5"}));
  EXPECT_FALSE(page.more);
}

TEST_P(BlobStoreConformance, ListMoreIsFalseWhenPageIsExactlyFull) {
  for (const char* key : {"k1", "k2"}) put(key, "x");
  const BlobPage page = list("", "", 2);
  EXPECT_EQ(page.keys, (Keys{"k1", "k2"}));
  EXPECT_FALSE(page.more);
}

TEST_P(BlobStoreConformance, ListStartAfterNeedNotExist) {
  for (const char* key : {"k1", "k3", "k5"}) put(key, "x");
  EXPECT_EQ(list("", "k2", 10).keys, (Keys{"k3", "k5"}));
  EXPECT_EQ(list("", "k", 10).keys, (Keys{"k1", "k3", "k5"}));
  EXPECT_TRUE(list("", "k5", 10).keys.empty());
}

TEST_P(BlobStoreConformance, ListPagesAcrossNestedKeysInByteOrder) {
  const Keys keys{"wal/a/00000001", "wal/a/00000002", "wal/a/x/1", "wal/a0", "wal/b/00000001"};
  for (const std::string& key : keys) put(key, "x");
  Keys seen;
  std::string after;
  for (int page_number = 0; page_number < 10; ++page_number) {
    const BlobPage page = list("wal/", after, 2);
    seen.insert(seen.end(), page.keys.begin(), page.keys.end());
    if (!page.more) break;
    after = page.keys.back();
  }
  EXPECT_EQ(seen, keys);
}

TEST_P(BlobStoreConformance, ListOfEmptyStoreIsEmpty) {
  const BlobPage page = list("", "", 10);
  EXPECT_TRUE(page.keys.empty());
  EXPECT_FALSE(page.more);
}

TEST_P(BlobStoreConformance, ListRejectsZeroMax) {
  EXPECT_TRUE(failed_with(blobs_->list("", "", 0), ErrorCode::kInvalidArgument));
}

TEST_P(BlobStoreConformance, ListRejectsMaxOverPageLimit) {
  EXPECT_TRUE(failed_with(blobs_->list("", "", BlobStore::kMaxListPage + 1), ErrorCode::kInvalidArgument));
}

// ---- bad keys: kInvalidArgument for every call, and nothing is written ----

void expect_key_rejected(BlobStore& store, const std::string& key) {
  EXPECT_TRUE(failed_with(store.put(key, "x"), ErrorCode::kInvalidArgument)) << "key '" << key << "'";
  EXPECT_TRUE(failed_with(store.put_if_absent(key, "x"), ErrorCode::kInvalidArgument)) << "key '" << key << "'";
  EXPECT_TRUE(failed_with(store.get(key), ErrorCode::kInvalidArgument)) << "key '" << key << "'";
  EXPECT_TRUE(failed_with(store.remove(key), ErrorCode::kInvalidArgument)) << "key '" << key << "'";
  auto page = store.list("", "", 10);
  ASSERT_TRUE(succeeded(page));
  EXPECT_TRUE(page->keys.empty()) << "a rejected key wrote " << page->keys.front();
}

TEST_P(BlobStoreConformance, RejectsEmptyKey) { expect_key_rejected(*blobs_, ""); }
TEST_P(BlobStoreConformance, RejectsKeyOver1024Bytes) { expect_key_rejected(*blobs_, std::string(1025, 'k')); }
TEST_P(BlobStoreConformance, RejectsKeyWithLeadingSlash) { expect_key_rejected(*blobs_, "/wal/a"); }
TEST_P(BlobStoreConformance, RejectsKeyWithDoubleSlash) { expect_key_rejected(*blobs_, "wal//a"); }
TEST_P(BlobStoreConformance, RejectsKeyWithDotSegment) { expect_key_rejected(*blobs_, "wal/./a"); }
TEST_P(BlobStoreConformance, RejectsKeyWithDotDotSegment) { expect_key_rejected(*blobs_, "wal/../a"); }
TEST_P(BlobStoreConformance, RejectsKeyThatIsDotDot) { expect_key_rejected(*blobs_, ".."); }
TEST_P(BlobStoreConformance, RejectsKeyWithSpace) { expect_key_rejected(*blobs_, "wal a"); }
TEST_P(BlobStoreConformance, RejectsKeyWithNulByte) { expect_key_rejected(*blobs_, std::string("wal\0a", 5)); }
TEST_P(BlobStoreConformance, RejectsKeyWithNonAsciiByte) { expect_key_rejected(*blobs_, "wal\xc3\xa9"); }
TEST_P(BlobStoreConformance, RejectsKeyWithBackslash) { expect_key_rejected(*blobs_, "wal\\a"); }

TEST_P(BlobStoreConformance, ListRejectsPrefixWithDisallowedByte) {
  EXPECT_TRUE(failed_with(blobs_->list("wal a", "", 10), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(failed_with(blobs_->list("", "wal\n", 10), ErrorCode::kInvalidArgument));
}

}  // namespace
}  // namespace hadr::testing

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BlobStoreConformance);
