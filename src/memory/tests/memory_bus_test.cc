// Proves what MemoryBus adds to the Bus contract for the simulator: each fault site has its
// documented effect (kTimeoutAfterApply: the send, receive or settlement happened;
// kDuplicateDelivery: a message locked by another receiver is handed out again and the first
// lock is lost; kLockExpiresEarly: the settlement is refused and the message is available or
// dead-lettered), a disconnected client changes nothing, lock tokens are deterministic and
// namespace-bound, and the inspection views count what happened.
#include "memory/memory_bus.h"

#include <gtest/gtest.h>

#include <vector>

#include "memory/tests/memory_test_support.h"

namespace hadr {
namespace {

using std::chrono::milliseconds;
using memory_test::bus_message;

constexpr std::string_view kQueue = "main";
constexpr Milliseconds kLock = milliseconds(100);

class MemoryBusTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.create_queue(kQueue, QueueOptions{.max_delivery_count = 3}).ok()); }

  void send(std::string_view id) {
    const std::vector<BusMessage> batch{bus_message(id)};
    ASSERT_TRUE(server_.send(kQueue, batch).ok());
  }
  ReceivedMessage receive_one(MemoryBus& bus, std::string_view queue = kQueue) {
    auto received = bus.receive(queue, 1, kLock);
    EXPECT_TRUE(received.ok()) << received.error().to_string();
    if (!received.ok() || received->size() != 1) {
      ADD_FAILURE() << "expected one message";
      return {};
    }
    return received->front();
  }
  QueueDepth depth(std::string_view queue = kQueue) {
    auto answer = server_.depth(queue);
    EXPECT_TRUE(answer.ok()) << answer.error().to_string();
    return answer.ok() ? *answer : QueueDepth{};
  }

  ManualClock clock_;
  MemoryBusServer server_{clock_, "namespace-a"};
  ManualFaultInjector faults_;
  MemoryBus worker_a_{server_, &faults_};
  MemoryBus worker_b_{server_};
};

TEST_F(MemoryBusTest, MessageFieldsTravelUnchanged) {
  const BusMessage sent = bus_message("m-1", "payload");
  ASSERT_TRUE(worker_b_.send(kQueue, std::vector<BusMessage>{sent}).ok());
  const ReceivedMessage received = receive_one(worker_b_);
  EXPECT_EQ(received.message.id, sent.id);
  EXPECT_EQ(received.message.epoch, sent.epoch);
  EXPECT_EQ(received.message.source_region, sent.source_region);
  EXPECT_EQ(received.message.lsn, sent.lsn);
  EXPECT_EQ(received.message.properties, sent.properties);
  EXPECT_EQ(received.message.body, "payload");
  EXPECT_EQ(received.delivery_count, 1u);
  EXPECT_EQ(received.locked_until, clock_.now_wall() + kLock);
}

TEST_F(MemoryBusTest, LockTokensAreDeterministicAndBoundToTheirNamespace) {
  send("m-1");
  EXPECT_EQ(receive_one(worker_b_).lock_token, "namespace-a:1");
  MemoryBusServer other_server(clock_, "namespace-b");
  ASSERT_TRUE(other_server.create_queue(kQueue, {}).ok());
  ASSERT_TRUE(other_server.send(kQueue, std::vector<BusMessage>{bus_message("m-1")}).ok());
  MemoryBus other(other_server);
  EXPECT_EQ(receive_one(other).lock_token, "namespace-b:1");
  EXPECT_EQ(other.complete(kQueue, "namespace-a:1").code(), ErrorCode::kAborted);
}

TEST_F(MemoryBusTest, ExpiredLocksRedeliverThenDeadLetterPastMaxDeliveries) {
  send("m-1");
  for (std::uint32_t delivery = 1; delivery <= 3; ++delivery) {
    EXPECT_EQ(receive_one(worker_b_).delivery_count, delivery);
    clock_.advance(kLock);
  }
  const QueueDepth after = depth();
  EXPECT_EQ(after.available + after.locked, 0u);
  EXPECT_EQ(after.dead_lettered, 1u);
  const auto log = server_.dead_letter_log();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].queue, kQueue);
  EXPECT_EQ(log[0].reason, "MaxDeliveryCountExceeded");
  EXPECT_EQ(log[0].delivery_count, 3u);
  EXPECT_EQ(log[0].at, clock_.now_wall());  // when the third lock expired, not when it was noticed
  const ReceivedMessage dead = receive_one(worker_b_, dead_letter_queue(kQueue));
  EXPECT_EQ(dead.dead_letter_reason, "MaxDeliveryCountExceeded");
  EXPECT_EQ(dead.delivery_count, 1u);
}

TEST_F(MemoryBusTest, DisconnectedClientChangesNothing) {
  worker_a_.set_connected(false);
  EXPECT_EQ(worker_a_.send(kQueue, std::vector<BusMessage>{bus_message("m-1")}).code(), ErrorCode::kUnavailable);
  EXPECT_EQ(worker_a_.create_queue("other", {}).code(), ErrorCode::kUnavailable);
  EXPECT_EQ(depth().available, 0u);
  EXPECT_EQ(worker_b_.depth("other").code(), ErrorCode::kNotFound);
  send("m-2");
  EXPECT_EQ(worker_a_.receive(kQueue, 10, kLock).code(), ErrorCode::kUnavailable);
  EXPECT_EQ(depth().available, 1u);
}

TEST_F(MemoryBusTest, UnavailableFaultOnReceiveLocksNothing) {
  send("m-1");
  faults_.arm(FaultSite::kUnavailable);
  EXPECT_EQ(worker_a_.receive(kQueue, 10, kLock).code(), ErrorCode::kUnavailable);
  EXPECT_EQ(depth().available, 1u);
  EXPECT_EQ(depth().locked, 0u);
}

TEST_F(MemoryBusTest, TimeoutAfterApplyOnSendStillEnqueues) {
  faults_.arm(FaultSite::kTimeoutAfterApply);
  const std::vector<BusMessage> batch{bus_message("m-1"), bus_message("m-2")};
  EXPECT_EQ(worker_a_.send(kQueue, batch).code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(depth().available, 2u);
  // The relay resends with the same ids (fault F7): the bus holds both copies; dedupe absorbs them.
  ASSERT_TRUE(worker_a_.send(kQueue, batch).ok());
  EXPECT_EQ(depth().available, 4u);
}

TEST_F(MemoryBusTest, TimeoutAfterApplyOnReceiveLeavesTheMessageLocked) {
  send("m-1");
  faults_.arm(FaultSite::kTimeoutAfterApply);
  EXPECT_EQ(worker_a_.receive(kQueue, 1, kLock).code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(depth().locked, 1u);
  EXPECT_TRUE(worker_b_.receive(kQueue, 1, kLock)->empty());
  clock_.advance(kLock);
  EXPECT_EQ(receive_one(worker_b_).delivery_count, 2u);  // the lost delivery counted
}

TEST_F(MemoryBusTest, TimeoutAfterApplyOnCompleteRemovesTheMessage) {
  send("m-1");
  const ReceivedMessage received = receive_one(worker_a_);
  faults_.arm(FaultSite::kTimeoutAfterApply);
  EXPECT_EQ(worker_a_.complete(kQueue, received.lock_token).code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(depth().available + depth().locked, 0u);
  EXPECT_EQ(worker_a_.complete(kQueue, received.lock_token).code(), ErrorCode::kAborted);  // retry: lock gone
}

TEST_F(MemoryBusTest, TimeoutAfterApplyOnDeadLetterMovesTheMessage) {
  send("m-1");
  const ReceivedMessage received = receive_one(worker_a_);
  faults_.arm(FaultSite::kTimeoutAfterApply);
  EXPECT_EQ(worker_a_.dead_letter(kQueue, received.lock_token, "poison").code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(depth().dead_lettered, 1u);
}

TEST_F(MemoryBusTest, TimeoutAfterApplyOnRenewExtendsTheLock) {
  send("m-1");
  const ReceivedMessage received = receive_one(worker_a_);
  clock_.advance(kLock / 2);
  faults_.arm(FaultSite::kTimeoutAfterApply);
  EXPECT_EQ(worker_a_.renew_lock(kQueue, received.lock_token, kLock).code(), ErrorCode::kDeadlineExceeded);
  clock_.advance(kLock / 2);
  EXPECT_EQ(depth().locked, 1u);  // the original lock would have expired by now
}

TEST_F(MemoryBusTest, DuplicateDeliveryHandsOutAMessageLockedByAnotherReceiver) {
  send("m-1");
  send("m-2");
  const ReceivedMessage first = receive_one(worker_b_);
  ASSERT_EQ(first.message.id.str(), "m-1");
  faults_.arm(FaultSite::kDuplicateDelivery);
  auto batch = worker_a_.receive(kQueue, 2, kLock);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->size(), 2u);
  EXPECT_EQ((*batch)[0].message.id.str(), "m-1");  // the stolen message comes first
  EXPECT_EQ((*batch)[0].delivery_count, 2u);
  EXPECT_EQ((*batch)[1].message.id.str(), "m-2");
  EXPECT_EQ(worker_b_.complete(kQueue, first.lock_token).code(), ErrorCode::kAborted);
  EXPECT_TRUE(worker_a_.complete(kQueue, (*batch)[0].lock_token).ok());
}

TEST_F(MemoryBusTest, DuplicateDeliveryWithNothingLockedIsAPlainReceive) {
  send("m-1");
  faults_.arm(FaultSite::kDuplicateDelivery);
  const ReceivedMessage received = receive_one(worker_a_);
  EXPECT_EQ(received.delivery_count, 1u);
  EXPECT_EQ(faults_.counters().fired(FaultSite::kDuplicateDelivery), 1u);
}

TEST_F(MemoryBusTest, DuplicateDeliveryAtMaxDeliveriesDeadLettersInstead) {
  ASSERT_TRUE(server_.create_queue("once", QueueOptions{.max_delivery_count = 1}).ok());
  ASSERT_TRUE(server_.send("once", std::vector<BusMessage>{bus_message("m-1")}).ok());
  const ReceivedMessage first = receive_one(worker_b_, "once");
  faults_.arm(FaultSite::kDuplicateDelivery);
  EXPECT_TRUE(worker_a_.receive("once", 1, kLock)->empty());
  EXPECT_EQ(depth("once").dead_lettered, 1u);
  EXPECT_EQ(worker_b_.complete("once", first.lock_token).code(), ErrorCode::kAborted);
}

TEST_F(MemoryBusTest, LockExpiresEarlyRefusesCompleteAndRedelivers) {
  send("m-1");
  const ReceivedMessage received = receive_one(worker_a_);
  faults_.arm(FaultSite::kLockExpiresEarly);
  EXPECT_EQ(worker_a_.complete(kQueue, received.lock_token).code(), ErrorCode::kAborted);
  EXPECT_EQ(depth().available, 1u);
  EXPECT_EQ(receive_one(worker_b_).delivery_count, 2u);
}

TEST_F(MemoryBusTest, LockExpiresEarlyRefusesRenew) {
  send("m-1");
  const ReceivedMessage received = receive_one(worker_a_);
  faults_.arm(FaultSite::kLockExpiresEarly);
  EXPECT_EQ(worker_a_.renew_lock(kQueue, received.lock_token, kLock).code(), ErrorCode::kAborted);
  EXPECT_EQ(depth().available, 1u);
}

TEST_F(MemoryBusTest, LockExpiresEarlyAtMaxDeliveriesDeadLetters) {
  ASSERT_TRUE(server_.create_queue("once", QueueOptions{.max_delivery_count = 1}).ok());
  ASSERT_TRUE(server_.send("once", std::vector<BusMessage>{bus_message("m-1")}).ok());
  const ReceivedMessage received = receive_one(worker_a_, "once");
  faults_.arm(FaultSite::kLockExpiresEarly);
  EXPECT_EQ(worker_a_.abandon("once", received.lock_token).code(), ErrorCode::kAborted);
  EXPECT_EQ(depth("once").dead_lettered, 1u);
  ASSERT_EQ(server_.dead_letter_log().size(), 1u);
  EXPECT_EQ(server_.dead_letter_log()[0].reason, "MaxDeliveryCountExceeded");
}

TEST_F(MemoryBusTest, DeadLetterReasonIsLoggedAndCarried) {
  send("m-1");
  const ReceivedMessage received = receive_one(worker_a_);
  ASSERT_TRUE(worker_a_.dead_letter(kQueue, received.lock_token, "handler refused").ok());
  const auto log = server_.dead_letter_log();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].reason, "handler refused");
  EXPECT_EQ(log[0].message.id.str(), "m-1");
  EXPECT_EQ(log[0].delivery_count, 1u);
  const auto held = server_.messages(dead_letter_queue(kQueue));
  ASSERT_TRUE(held.ok());
  ASSERT_EQ(held->size(), 1u);
  EXPECT_EQ((*held)[0].dead_letter_reason, "handler refused");
  EXPECT_EQ(worker_a_.dead_letter(dead_letter_queue(kQueue), "namespace-a:1", "again").code(),
            ErrorCode::kInvalidArgument);
}

TEST_F(MemoryBusTest, QueueCountsCountWhatHappened) {
  send("m-1");
  send("m-2");
  const ReceivedMessage first = receive_one(worker_a_);
  ASSERT_TRUE(worker_a_.complete(kQueue, first.lock_token).ok());
  const ReceivedMessage second = receive_one(worker_a_);
  ASSERT_TRUE(worker_a_.dead_letter(kQueue, second.lock_token, "poison").ok());
  const auto counts = server_.queue_counts();
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0].queue, kQueue);
  EXPECT_EQ(counts[0].sent, 2u);
  EXPECT_EQ(counts[0].delivered, 2u);
  EXPECT_EQ(counts[0].completed, 1u);
  EXPECT_EQ(counts[0].depth.dead_lettered, 1u);
  EXPECT_EQ(counts[1].queue, dead_letter_queue(kQueue));
  EXPECT_EQ(counts[1].sent, 1u);
  EXPECT_EQ(counts[1].depth.available, 1u);
}

// The simulator's bus_loss fault: one message vanishes (locked or not, its token dies with
// it); a namespace restarted empty keeps its queues and loses every message.
TEST_F(MemoryBusTest, LostMessagesAndAnEmptyRestartLeaveNoTrace) {
  send("m-1");
  send("m-2");
  send("m-3");
  const ReceivedMessage locked = receive_one(worker_b_);  // m-1
  EXPECT_TRUE(server_.lose_message(kQueue, 0));           // m-1, locked
  EXPECT_EQ(worker_b_.complete(kQueue, locked.lock_token).code(), ErrorCode::kAborted);
  EXPECT_EQ(depth().available, 2u);
  EXPECT_EQ(depth().locked, 0u);
  EXPECT_TRUE(server_.lose_message(kQueue, 3));  // 3 mod 2 = 1: m-3
  EXPECT_EQ(receive_one(worker_b_).message.id.str(), "m-2");
  server_.restart_empty();
  EXPECT_EQ(depth().available + depth().locked, 0u);
  EXPECT_FALSE(server_.lose_message(kQueue, 0));
  send("m-4");  // the queue is still there
  EXPECT_EQ(receive_one(worker_b_).message.id.str(), "m-4");
}

TEST_F(MemoryBusTest, BadInputIsInvalidArgumentAndChangesNothing) {
  EXPECT_EQ(worker_a_.create_queue("", {}).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(worker_a_.create_queue("q", QueueOptions{.max_delivery_count = 0}).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(worker_a_.send(dead_letter_queue(kQueue), std::vector<BusMessage>{bus_message("m-1")}).code(),
            ErrorCode::kInvalidArgument);
  std::vector<BusMessage> batch(Bus::kMaxSendBatch + 1, bus_message("m-1"));
  EXPECT_EQ(worker_a_.send(kQueue, batch).code(), ErrorCode::kInvalidArgument);
  BusMessage oversized = bus_message("m-2");
  oversized.body.assign(Bus::kMaxBodyBytes + 1, 'x');
  const std::vector<BusMessage> mixed{bus_message("m-1"), oversized};
  EXPECT_EQ(worker_a_.send(kQueue, mixed).code(), ErrorCode::kInvalidArgument);  // all or nothing
  EXPECT_EQ(worker_a_.receive(kQueue, 0, kLock).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(worker_a_.receive(kQueue, 1, milliseconds(0)).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(depth().available, 0u);
  EXPECT_EQ(worker_a_.send("missing", std::vector<BusMessage>{bus_message("m-1")}).code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace hadr
