// Proves what the SQLite bus adds to the Bus contract: lock tokens are deterministic; a
// dead-letter queue takes messages only through dead-lettering; a stored message that cannot
// be decoded is reported as kDataLoss naming the row, not skipped; and messages whose last
// lock expired at the maximum count are moved to the dead-letter queue lazily but all of them.
#include "embedded/sqlite_bus.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "contracts/tests/conformance_support.h"
#include "embedded/tests/embedded_backend_factory.h"

namespace hadr::testing {
namespace {

class SqliteBusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = make_temporary_directory();
    path_ = directory_ + "/bus.db";
    auto bus = SqliteBus::open(path_, clock_);
    ASSERT_TRUE(succeeded(bus));
    bus_ = std::move(bus).value();
    ASSERT_TRUE(succeeded(bus_->create_queue("main", QueueOptions{1})));
  }
  void TearDown() override {
    bus_.reset();
    std::filesystem::remove_all(directory_);
  }

  void send(const std::vector<std::string>& ids) {
    std::vector<BusMessage> batch;
    for (const std::string& id : ids) {
      BusMessage message;
      message.id = message_id(id);
      message.body = id;
      batch.push_back(std::move(message));
    }
    ASSERT_TRUE(succeeded(bus_->send("main", batch)));
  }

  std::string directory_;
  std::string path_;
  ManualClock clock_;
  std::unique_ptr<SqliteBus> bus_;
};

TEST_F(SqliteBusTest, LockTokensAreDeterministic) {
  send({"m1", "m2"});
  auto received = bus_->receive("main", 10, kLongTtl);
  ASSERT_TRUE(succeeded(received));
  ASSERT_EQ(received->size(), 2u);
  EXPECT_EQ((*received)[0].lock_token, "1-1");
  EXPECT_EQ((*received)[1].lock_token, "2-1");
}

TEST_F(SqliteBusTest, SendToDeadLetterQueueIsRejected) {
  BusMessage message;
  message.id = message_id("m1");
  EXPECT_TRUE(failed_with(bus_->send(dead_letter_queue("main"), std::vector<BusMessage>{message}),
                          ErrorCode::kInvalidArgument));
  EXPECT_TRUE(failed_with(bus_->create_queue(dead_letter_queue("main"), QueueOptions{}), ErrorCode::kInvalidArgument));
}

TEST_F(SqliteBusTest, DeadLetteringFromDeadLetterQueueIsRejected) {
  send({"m1"});
  auto received = bus_->receive("main", 1, kLongTtl);
  ASSERT_TRUE(succeeded(received));
  ASSERT_TRUE(succeeded(bus_->dead_letter("main", received->front().lock_token, "poison")));
  auto dead = bus_->receive(dead_letter_queue("main"), 1, kLongTtl);
  ASSERT_TRUE(succeeded(dead));
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_TRUE(failed_with(bus_->dead_letter(dead_letter_queue("main"), dead->front().lock_token, "again"),
                          ErrorCode::kInvalidArgument));
  EXPECT_TRUE(succeeded(bus_->complete(dead_letter_queue("main"), dead->front().lock_token)));
}

TEST_F(SqliteBusTest, UndecodableStoredMessageIsDataLossNamingTheRow) {
  send({"m1"});
  auto raw = SqliteConnection::open(path_, SqliteOptions{});
  ASSERT_TRUE(succeeded(raw));
  ASSERT_TRUE(succeeded((*raw)->execute("UPDATE bus_messages SET properties = x'ffffff7f00' WHERE sequence = 1")));
  auto received = bus_->receive("main", 10, kLongTtl);
  ASSERT_TRUE(failed_with(received, ErrorCode::kDataLoss));
  EXPECT_NE(received.error().detail.find("message 1"), std::string::npos) << received.error().detail;
  auto depth = bus_->depth("main");
  ASSERT_TRUE(succeeded(depth));
  EXPECT_EQ(depth->available, 1u) << "the failed receive must not have locked the message";
}

TEST_F(SqliteBusTest, EveryMessageExpiredAtMaximumReachesTheDeadLetterQueue) {
  // More than one sweep's worth: each receive moves at most kSweepBatch of them.
  std::vector<std::string> ids;
  for (std::int64_t i = 0; i < SqliteBus::kSweepBatch + 5; ++i) ids.push_back(numbered("m", i));
  for (std::size_t start = 0; start < ids.size(); start += Bus::kMaxSendBatch) {
    send(std::vector<std::string>(ids.begin() + start, ids.begin() + std::min(ids.size(), start + Bus::kMaxSendBatch)));
  }
  for (std::size_t received = 0; received < ids.size();) {
    auto batch = bus_->receive("main", Bus::kMaxReceiveBatch, kShortTtl);
    ASSERT_TRUE(succeeded(batch));
    ASSERT_FALSE(batch->empty());
    received += batch->size();
  }
  clock_.advance(kPastShortTtl);  // max_delivery_count is 1: every expired lock dead-letters
  auto depth = bus_->depth("main");
  ASSERT_TRUE(succeeded(depth));
  EXPECT_EQ(depth->dead_lettered, ids.size());
  EXPECT_EQ(depth->available, 0u);
  std::size_t dead = 0;
  for (int round = 0; round < 10 && dead < ids.size(); ++round) {
    auto batch = bus_->receive(dead_letter_queue("main"), Bus::kMaxReceiveBatch, kLongTtl);
    ASSERT_TRUE(succeeded(batch));
    dead += batch->size();
  }
  EXPECT_EQ(dead, ids.size());
}

}  // namespace
}  // namespace hadr::testing
