// Proves AzureBlobStore against a real Azurite (started by the test environment), beyond the
// shared conformance suite: an account SAS made by generate_account_sas works for every
// operation; a wrong account key and a forged SAS are refused with a clear "check the account
// key / SAS" error that holds neither secret; listing walks many List Blobs pages (a page size
// of 2) with start_after and `more` correct at page edges; keys with every punctuation the
// key alphabet allows, in awkward places, round-trip and list; opening the same container
// twice is fine (ensure_container is idempotent).
#include <gtest/gtest.h>

#include <string>

#include "azure/azure_auth.h"
#include "azure/azure_blob_store.h"
#include "azure/testing/azurite_test_environment.h"

namespace hadr::azure {
namespace {

using testing::AzuriteTestEnvironment;
using Keys = std::vector<std::string>;

std::unique_ptr<AzureBlobStore> opened(const AzureBlobOptions& options) {
  auto store = AzureBlobStore::open(options);
  EXPECT_TRUE(store.ok()) << store.error().to_string();
  return store.ok() ? std::move(store).value() : nullptr;
}

// A valid base64 key that is not Azurite's.
const std::string kWrongKey = base64_encode(std::string(64, '\x5a'));

// Each test gets Shared Key options for a fresh container named after it; without Azurite the
// test fails here, saying how to install it.
class AzuriteBlobStore : public ::testing::Test {
 protected:
  void SetUp() override {
    AzuriteTestEnvironment& environment = AzuriteTestEnvironment::instance();
    auto options = environment.options(::testing::UnitTest::GetInstance()->current_test_info()->name());
    if (environment.skipping()) GTEST_SKIP() << options.error().detail;
    ASSERT_TRUE(options.ok()) << options.error().detail;
    options_ = std::move(options).value();
  }

  AzureBlobOptions options_;
};

TEST_F(AzuriteBlobStore, AccountSasWorksForEveryOperation) {
  AzureBlobOptions options = options_;
  // Azurite checks the expiry against its own (real) clock.
  auto sas = generate_account_sas(
      AccountSasOptions{.account = std::string(kAzuriteAccount),
                        .expiry = RealClock::instance().now_wall() + std::chrono::hours(1)},
      kAzuriteAccountKey);
  ASSERT_TRUE(sas.ok()) << sas.error().to_string();
  options.key = Secret();
  options.sas = Secret(*sas);
  auto store = opened(options);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->put("wal/a/1", "one").ok());
  auto written = store->put_if_absent("wal/a/1", "other");
  ASSERT_TRUE(written.ok()) << written.error().to_string();
  EXPECT_FALSE(*written);
  auto data = store->get("wal/a/1");
  ASSERT_TRUE(data.ok()) << data.error().to_string();
  EXPECT_EQ(*data, "one");
  auto page = store->list("wal/", "", 10);
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  EXPECT_EQ(page->keys, (Keys{"wal/a/1"}));
  EXPECT_TRUE(store->remove("wal/a/1").ok());
  EXPECT_EQ(store->get("wal/a/1").code(), ErrorCode::kNotFound);
}

TEST_F(AzuriteBlobStore, WrongKeyIsRefusedClearlyWithoutTheKey) {
  AzureBlobOptions options = options_;
  options.key = Secret(kWrongKey);
  auto store = AzureBlobStore::open(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.code(), ErrorCode::kFailedPrecondition);
  const std::string detail = store.error().detail;
  EXPECT_NE(detail.find("HTTP 403"), std::string::npos) << detail;
  EXPECT_NE(detail.find("check the account key / SAS"), std::string::npos) << detail;
  EXPECT_EQ(detail.find(kWrongKey), std::string::npos) << detail;
  EXPECT_EQ(detail.find(kAzuriteAccountKey), std::string::npos) << detail;
}

TEST_F(AzuriteBlobStore, ForgedSasIsRefusedClearlyWithoutTheSas) {
  AzureBlobOptions options = options_;
  auto forged = generate_account_sas(
      AccountSasOptions{.account = std::string(kAzuriteAccount),
                        .expiry = RealClock::instance().now_wall() + std::chrono::hours(1)},
      kWrongKey);
  ASSERT_TRUE(forged.ok());
  options.key = Secret();
  options.sas = Secret(*forged);
  auto store = AzureBlobStore::open(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(store.error().detail.find("check the account key / SAS"), std::string::npos) << store.error().detail;
  const std::string signature = forged->substr(forged->find("sig=") + 4);
  EXPECT_EQ(store.error().detail.find(signature), std::string::npos) << store.error().detail;
}

TEST_F(AzuriteBlobStore, ListWalksManyPagesWithStartAfterAndMore) {
  AzureBlobOptions options = options_;
  options.list_page_size = 2;  // 9 keys = 5 List Blobs pages
  auto store = opened(options);
  ASSERT_NE(store, nullptr);
  Keys keys;
  for (int i = 1; i <= 9; ++i) keys.push_back("seg/0000000" + std::to_string(i));
  for (const std::string& key : keys) ASSERT_TRUE(store->put(key, key).ok());
  auto all = store->list("seg/", "", 100);
  ASSERT_TRUE(all.ok()) << all.error().to_string();
  EXPECT_EQ(all->keys, keys);
  EXPECT_FALSE(all->more);
  // A page that ends exactly at a List Blobs page edge, one that crosses it, and the tail.
  auto first = store->list("seg/", "", 4);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->keys, (Keys(keys.begin(), keys.begin() + 4)));
  EXPECT_TRUE(first->more);
  auto middle = store->list("seg/", keys[2], 3);
  ASSERT_TRUE(middle.ok());
  EXPECT_EQ(middle->keys, (Keys(keys.begin() + 3, keys.begin() + 6)));
  EXPECT_TRUE(middle->more);
  auto tail = store->list("seg/", keys[6], 5);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->keys, (Keys(keys.begin() + 7, keys.end())));
  EXPECT_FALSE(tail->more);
}

TEST_F(AzuriteBlobStore, KeysWithPunctuationRoundTripAndList) {
  auto store = opened(options_);
  ASSERT_NE(store, nullptr);
  // Every non-alphanumeric byte the key alphabet allows, first, last and doubled; ".." and
  // "." inside a segment (only whole "." / ".." segments are refused).
  const Keys keys{"-lead", ".hidden", "_under", "a--b__c..d", "dir.v1/file-name_2.log", "x/..y/z.", "x/.y/_"};
  for (const std::string& key : keys) ASSERT_TRUE(store->put(key, "data " + key).ok()) << key;
  for (const std::string& key : keys) {
    auto data = store->get(key);
    ASSERT_TRUE(data.ok()) << key << ": " << data.error().to_string();
    EXPECT_EQ(*data, "data " + key);
  }
  auto page = store->list("", "", 100);
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  EXPECT_EQ(page->keys, keys);
  auto under_x = store->list("x/.", "", 100);
  ASSERT_TRUE(under_x.ok());
  EXPECT_EQ(under_x->keys, (Keys{"x/..y/z.", "x/.y/_"}));
}

TEST_F(AzuriteBlobStore, OpeningAnExistingContainerAgainIsFine) {
  AzureBlobOptions options = options_;
  auto first = opened(options);
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(first->put("k", "v").ok());
  auto second = opened(options);
  ASSERT_NE(second, nullptr);
  auto data = second->get("k");
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data, "v");
  EXPECT_TRUE(second->ensure_container().ok());
}

TEST_F(AzuriteBlobStore, DescribeNamesContainerAndEndpointButNotTheKey) {
  auto store = opened(options_);
  ASSERT_NE(store, nullptr);
  const std::string description = store->describe();
  EXPECT_NE(description.find(options_.endpoint), std::string::npos) << description;
  EXPECT_NE(description.find("'" + options_.container + "'"), std::string::npos) << description;
  EXPECT_NE(description.find("shared key ***"), std::string::npos) << description;
  EXPECT_EQ(description.find(kAzuriteAccountKey), std::string::npos) << description;
}

}  // namespace
}  // namespace hadr::azure
