// Proves MemorySource's syncpoint semantics and its fault sites: put order is receive order;
// a visibility timeout or a consumer restart redelivers; an ack batch with one lost handle
// acks nothing; a consumer cannot ack another's handle; kTimeoutAfterApply still stores, hands out or acks; kDuplicateDelivery hands
// out a message in flight to another consumer; kLockExpiresEarly fails the whole ack batch;
// a disconnected client changes nothing.
#include "memory/memory_source.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "memory/tests/memory_test_support.h"

namespace hadr {
namespace {

using std::chrono::milliseconds;
using memory_test::source_message;

constexpr Milliseconds kVisibility = milliseconds(500);

class MemorySourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    relay_a_ = open("relay-a", &faults_);
    relay_b_ = open("relay-b", nullptr);
  }
  std::unique_ptr<MemorySource> open(std::string_view consumer, FaultInjector* faults) {
    auto source = MemorySource::open(server_, consumer, kVisibility, faults);
    EXPECT_TRUE(source.ok()) << source.error().to_string();
    return source.ok() ? std::move(source).value() : nullptr;
  }
  void put(std::initializer_list<std::string_view> ids) {
    std::vector<SourceMessage> batch;
    for (const std::string_view id : ids) batch.push_back(source_message(id));
    ASSERT_TRUE(server_.put(batch).ok());
  }
  std::vector<SourceMessage> receive(MemorySource& source, std::size_t max) {
    auto received = source.receive(max);
    EXPECT_TRUE(received.ok()) << received.error().to_string();
    return received.ok() ? *received : std::vector<SourceMessage>{};
  }
  static std::vector<std::string> ids_of(const std::vector<SourceMessage>& messages) {
    std::vector<std::string> ids;
    for (const SourceMessage& message : messages) ids.push_back(message.id.str());
    return ids;
  }

  ManualClock clock_;
  MemorySourceServer server_{clock_, "orders"};
  ManualFaultInjector faults_;
  std::unique_ptr<MemorySource> relay_a_;
  std::unique_ptr<MemorySource> relay_b_;
};

TEST_F(MemorySourceTest, ReceiveFollowsPutOrderAndStampsWhereTheMessageSits) {
  put({"m-1", "m-2", "m-3"});
  const auto received = receive(*relay_a_, 2);
  EXPECT_EQ(ids_of(received), (std::vector<std::string>{"m-1", "m-2"}));
  EXPECT_EQ(received[0].source_ref, "orders@1");
  EXPECT_EQ(received[0].ack_handle, "orders:1");
  EXPECT_EQ(received[0].enqueued_at, clock_.now_wall());
  EXPECT_EQ(received[0].headers, source_message("m-1").headers);
  EXPECT_EQ(ids_of(receive(*relay_b_, 10)), (std::vector<std::string>{"m-3"}));
}

TEST_F(MemorySourceTest, VisibilityTimeoutRedelivers) {
  put({"m-1"});
  ASSERT_EQ(receive(*relay_a_, 1).size(), 1u);
  clock_.advance(kVisibility - milliseconds(1));
  EXPECT_TRUE(receive(*relay_b_, 1).empty());
  clock_.advance(milliseconds(1));
  EXPECT_EQ(ids_of(receive(*relay_b_, 1)), (std::vector<std::string>{"m-1"}));
}

TEST_F(MemorySourceTest, ReopeningAConsumerRedeliversItsMessagesAtOnce) {
  put({"m-1", "m-2"});
  ASSERT_EQ(receive(*relay_a_, 1).size(), 1u);
  ASSERT_EQ(receive(*relay_b_, 1).size(), 1u);
  relay_a_ = open("relay-a", nullptr);  // relay-a restarted
  EXPECT_EQ(ids_of(receive(*relay_a_, 10)), (std::vector<std::string>{"m-1"}));  // relay-b keeps m-2
}

TEST_F(MemorySourceTest, AckBatchWithALostHandleAcksNothing) {
  put({"m-1", "m-2"});
  const auto received = receive(*relay_a_, 2);
  const std::vector<std::string> handles{received[0].ack_handle, "orders:999", received[1].ack_handle};
  const Status acked = relay_a_->ack(handles);
  EXPECT_EQ(acked.code(), ErrorCode::kAborted);
  EXPECT_NE(acked.error().detail.find("orders:999"), std::string::npos) << acked.error().detail;
  EXPECT_EQ(server_.acked_count(), 0u);
  EXPECT_EQ(server_.depth(), 2u);
  EXPECT_TRUE(relay_a_->ack(std::vector<std::string>{received[0].ack_handle, received[1].ack_handle}).ok());
}

TEST_F(MemorySourceTest, ConsumerCannotAckAnotherConsumersHandle) {
  put({"m-1"});
  const auto received = receive(*relay_a_, 1);
  EXPECT_EQ(relay_b_->ack(std::vector<std::string>{received[0].ack_handle}).code(), ErrorCode::kAborted);
  EXPECT_TRUE(relay_a_->ack(std::vector<std::string>{received[0].ack_handle}).ok());
}

TEST_F(MemorySourceTest, DisconnectedClientChangesNothing) {
  relay_a_->set_connected(false);
  const std::vector<SourceMessage> batch{source_message("m-1")};
  EXPECT_EQ(relay_a_->put(batch).code(), ErrorCode::kUnavailable);
  EXPECT_EQ(server_.depth(), 0u);
  put({"m-2"});
  EXPECT_EQ(relay_a_->receive(10).code(), ErrorCode::kUnavailable);
  EXPECT_EQ(receive(*relay_b_, 10).size(), 1u);  // nothing was taken by the cut-off consumer
}

TEST_F(MemorySourceTest, TimeoutAfterApplyOnPutStillStores) {
  faults_.arm(FaultSite::kTimeoutAfterApply);
  const std::vector<SourceMessage> batch{source_message("m-1")};
  EXPECT_EQ(relay_a_->put(batch).code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(server_.depth(), 1u);
}

TEST_F(MemorySourceTest, TimeoutAfterApplyOnReceiveKeepsTheMessageInFlight) {
  put({"m-1"});
  faults_.arm(FaultSite::kTimeoutAfterApply);
  EXPECT_EQ(relay_a_->receive(1).code(), ErrorCode::kDeadlineExceeded);
  EXPECT_TRUE(receive(*relay_b_, 1).empty());
  clock_.advance(kVisibility);
  EXPECT_EQ(receive(*relay_b_, 1).size(), 1u);
}

TEST_F(MemorySourceTest, TimeoutAfterApplyOnAckStillAcks) {
  put({"m-1"});
  const auto received = receive(*relay_a_, 1);
  faults_.arm(FaultSite::kTimeoutAfterApply);
  EXPECT_EQ(relay_a_->ack(std::vector<std::string>{received[0].ack_handle}).code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(server_.depth(), 0u);
}

TEST_F(MemorySourceTest, DuplicateDeliveryHandsOutAMessageInFlightElsewhere) {
  put({"m-1", "m-2"});
  const auto first = receive(*relay_b_, 1);
  faults_.arm(FaultSite::kDuplicateDelivery);
  const auto batch = receive(*relay_a_, 2);
  EXPECT_EQ(ids_of(batch), (std::vector<std::string>{"m-1", "m-2"}));
  EXPECT_EQ(relay_b_->ack(std::vector<std::string>{first[0].ack_handle}).code(), ErrorCode::kAborted);
  EXPECT_TRUE(relay_a_->ack(std::vector<std::string>{batch[0].ack_handle}).ok());
}

TEST_F(MemorySourceTest, LockExpiresEarlyFailsTheWholeAckBatch) {
  put({"m-1", "m-2"});
  const auto received = receive(*relay_a_, 2);
  faults_.arm(FaultSite::kLockExpiresEarly);
  const std::vector<std::string> handles{received[0].ack_handle, received[1].ack_handle};
  EXPECT_EQ(relay_a_->ack(handles).code(), ErrorCode::kAborted);
  EXPECT_EQ(ids_of(server_.messages()), (std::vector<std::string>{"m-1", "m-2"}));
  EXPECT_EQ(ids_of(receive(*relay_b_, 10)), (std::vector<std::string>{"m-1"}));  // m-2 is still in flight
  EXPECT_TRUE(relay_a_->ack(std::vector<std::string>{received[1].ack_handle}).ok());
}

TEST_F(MemorySourceTest, BadInputIsInvalidArgumentAndChangesNothing) {
  EXPECT_EQ(MemorySource::open(server_, "", kVisibility).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(MemorySource::open(server_, "relay", milliseconds(0)).code(), ErrorCode::kInvalidArgument);
  std::vector<SourceMessage> batch{source_message("m-1"), SourceMessage{}};  // the second has no id
  EXPECT_EQ(relay_a_->put(batch).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(relay_a_->receive(0).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(relay_a_->receive(Source::kMaxBatch + 1).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(server_.depth(), 0u);
  put({"m-1"});
  const auto received = receive(*relay_a_, 1);
  EXPECT_EQ(relay_a_->ack(std::vector<std::string>{received[0].ack_handle, ""}).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(relay_a_->ack(std::vector<std::string>{received[0].ack_handle, received[0].ack_handle}).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(server_.depth(), 1u);
}

}  // namespace
}  // namespace hadr
