// BusConformance proves that an implementation keeps the Bus contract (contracts/bus.h), i.e.
// Service Bus peek-lock: sending to a missing queue is kNotFound; a received message is locked
// for lock_duration under a fresh token and delivery_count counts its deliveries; complete,
// abandon, dead_letter and renew_lock work only under a live lock (else kAborted "lock
// lost"); an expired lock redelivers; past max_delivery_count a message goes to the
// dead-letter queue with reason "MaxDeliveryCountExceeded"; every field travels unchanged;
// competing receivers never share a message; bad input is kInvalidArgument and sends nothing.
// Store time passes only through factory->advance().
#include <set>
#include <string>

#include "contracts/tests/conformance.h"

namespace hadr::testing {

void BusConformance::SetUp() {
  factory_ = GetParam().make();
  ASSERT_NE(factory_, nullptr);
  bus_ = factory_->make_bus();
  if (bus_ == nullptr) GTEST_SKIP() << GetParam().name << " does not implement Bus";
}

void BusConformance::create(std::string_view queue, std::uint32_t max_delivery_count) {
  ASSERT_TRUE(succeeded(bus_->create_queue(queue, QueueOptions{max_delivery_count})));
}

namespace {

BusMessage make_message(std::string_view id, std::string body) {
  BusMessage message;
  message.id = message_id(id);
  message.epoch = Epoch{3};
  message.source_region = RegionId::parse("region-a").value();
  message.lsn = Lsn{17};
  message.properties = {{"content-type", "application/json"}, {"empty", ""}};
  message.body = std::move(body);
  return message;
}

}  // namespace

void BusConformance::send_ids(std::string_view queue, const std::vector<std::string>& ids) {
  std::vector<BusMessage> batch;
  for (const std::string& id : ids) batch.push_back(make_message(id, "body of " + id));
  ASSERT_TRUE(succeeded(bus_->send(queue, batch)));
}

std::vector<ReceivedMessage> BusConformance::receive(std::string_view queue, std::size_t max,
                                                     Milliseconds lock_duration) {
  auto received = bus_->receive(queue, max, lock_duration);
  EXPECT_TRUE(succeeded(received));
  return received.ok() ? std::move(received).value() : std::vector<ReceivedMessage>{};
}

ReceivedMessage BusConformance::receive_one(std::string_view queue, Milliseconds lock_duration) {
  std::vector<ReceivedMessage> received = receive(queue, 1, lock_duration);
  EXPECT_EQ(received.size(), 1u) << "expected one message in " << queue;
  return received.empty() ? ReceivedMessage{} : std::move(received.front());
}

QueueDepth BusConformance::depth_of(std::string_view queue) {
  auto depth = bus_->depth(queue);
  EXPECT_TRUE(succeeded(depth));
  return depth.ok() ? *depth : QueueDepth{};
}

namespace {

const std::string kQueue = "main";
const std::string kDeadLetters = dead_letter_queue("main");

void expect_depth(const QueueDepth& depth, std::uint64_t available, std::uint64_t locked,
                  std::uint64_t dead_lettered) {
  EXPECT_EQ(depth.available, available);
  EXPECT_EQ(depth.locked, locked);
  EXPECT_EQ(depth.dead_lettered, dead_lettered);
}

TEST_P(BusConformance, SendToMissingQueueIsNotFound) {
  EXPECT_TRUE(failed_with(bus_->send(kQueue, std::vector<BusMessage>{make_message("m1", "x")}),
                          ErrorCode::kNotFound));
  create(kQueue);
  EXPECT_TRUE(succeeded(bus_->send(kQueue, std::vector<BusMessage>{make_message("m1", "x")})));
}

TEST_P(BusConformance, CreateQueueIsIdempotentAndKeepsMessages) {
  create(kQueue);
  send_ids(kQueue, {"m1"});
  create(kQueue);
  EXPECT_EQ(receive_one(kQueue, kLongTtl).message.id, message_id("m1"));
}

TEST_P(BusConformance, CreateQueueKeepsOptionsOfExistingQueue) {
  create(kQueue, 2);
  create(kQueue, 10);
  send_ids(kQueue, {"m1"});
  for (int delivery = 0; delivery < 2; ++delivery) {
    ASSERT_TRUE(succeeded(bus_->abandon(kQueue, receive_one(kQueue, kLongTtl).lock_token)));
  }
  EXPECT_TRUE(receive(kQueue, 1, kLongTtl).empty()) << "max_delivery_count 2 must have been kept";
  EXPECT_EQ(depth_of(kQueue).dead_lettered, 1u);
}

TEST_P(BusConformance, SendThenReceiveRoundTripsEveryField) {
  create(kQueue);
  BusMessage sent = make_message("order-17", std::string("binary\0body\xff", 12));
  sent.epoch = Epoch{42};
  sent.lsn = Lsn{123456789};
  sent.properties.emplace_back("x-trace", "abc def");
  ASSERT_TRUE(succeeded(bus_->send(kQueue, std::vector<BusMessage>{sent})));
  const ReceivedMessage received = receive_one(kQueue, kLongTtl);
  EXPECT_EQ(received.message.id, sent.id);
  EXPECT_EQ(received.message.epoch, sent.epoch);
  EXPECT_EQ(received.message.source_region, sent.source_region);
  EXPECT_EQ(received.message.lsn.value, sent.lsn.value);
  EXPECT_EQ(received.message.properties, sent.properties);
  EXPECT_EQ(received.message.body, sent.body);
  EXPECT_EQ(received.delivery_count, 1u);
  EXPECT_FALSE(received.lock_token.empty());
  EXPECT_EQ(received.dead_letter_reason, "");
}

TEST_P(BusConformance, EmptyBodyRoundTrips) {
  create(kQueue);
  ASSERT_TRUE(succeeded(bus_->send(kQueue, std::vector<BusMessage>{make_message("m1", "")})));
  EXPECT_EQ(receive_one(kQueue, kLongTtl).message.body, "");
}

TEST_P(BusConformance, BodyOfMaximumSizeRoundTrips) {
  create(kQueue);
  const std::string body(Bus::kMaxBodyBytes, 'b');
  ASSERT_TRUE(succeeded(bus_->send(kQueue, std::vector<BusMessage>{make_message("m1", body)})));
  EXPECT_EQ(receive_one(kQueue, kLongTtl).message.body, body);
}

TEST_P(BusConformance, ReceiveOnEmptyQueueReturnsNothing) {
  create(kQueue);
  EXPECT_TRUE(receive(kQueue, 10, kLongTtl).empty());
}

TEST_P(BusConformance, ReceiveHonoursMax) {
  create(kQueue);
  send_ids(kQueue, {"m1", "m2", "m3", "m4", "m5"});
  EXPECT_EQ(receive(kQueue, 2, kLongTtl).size(), 2u);
  EXPECT_EQ(receive(kQueue, 10, kLongTtl).size(), 3u);
}

TEST_P(BusConformance, QueuesAreIndependent) {
  create("first");
  create("second");
  send_ids("first", {"m1"});
  EXPECT_TRUE(receive("second", 10, kLongTtl).empty());
  EXPECT_EQ(receive_one("first", kLongTtl).message.id, message_id("m1"));
}

TEST_P(BusConformance, MessageSentByOneInstanceIsReceivedByAnother) {
  create(kQueue);
  send_ids(kQueue, {"m1"});
  auto other = factory_->make_bus();
  auto received = other->receive(kQueue, 10, kLongTtl);
  ASSERT_TRUE(succeeded(received));
  ASSERT_EQ(received->size(), 1u);
  EXPECT_TRUE(succeeded(other->complete(kQueue, received->front().lock_token)));
}

// ---- locks ----

TEST_P(BusConformance, ReceivedMessageIsLockedFromOtherReceivers) {
  create(kQueue);
  send_ids(kQueue, {"m1"});
  receive_one(kQueue, kLongTtl);
  EXPECT_TRUE(receive(kQueue, 10, kLongTtl).empty());
  expect_depth(depth_of(kQueue), 0, 1, 0);
}

TEST_P(BusConformance, CompleteRemovesMessageForGood) {
  create(kQueue);
  send_ids(kQueue, {"m1"});
  const ReceivedMessage received = receive_one(kQueue, kShortTtl);
  ASSERT_TRUE(succeeded(bus_->complete(kQueue, received.lock_token)));
  expect_depth(depth_of(kQueue), 0, 0, 0);
  factory_->advance(kPastShortTtl);
  EXPECT_TRUE(receive(kQueue, 10, kLongTtl).empty());
}

TEST_P(BusConformance, CompleteTwiceIsAborted) {
  create(kQueue);
  send_ids(kQueue, {"m1"});
  const ReceivedMessage received = receive_one(kQueue, kLongTtl);
  ASSERT_TRUE(succeeded(bus_->complete(kQueue, received.lock_token)));
  EXPECT_TRUE(failed_with(bus_->complete(kQueue, received.lock_token), ErrorCode::kAborted));
}

TEST_P(BusConformance, CompleteWithUnknownTokenIsAbortedAndKeepsLock) {
  create(kQueue);
  send_ids(kQueue, {"m1"});
  const ReceivedMessage received = receive_one(kQueue, kLongTtl);
  EXPECT_TRUE(failed_with(bus_->complete(kQueue, "no-such-token"), ErrorCode::kAborted));
  expect_depth(depth_of(kQueue), 0, 1, 0);
  EXPECT_TRUE(succeeded(bus_->complete(kQueue, received.lock_token)));
}

TEST_P(BusConformance, CompleteWithLostLockIsAborted) {
  create(kQueue);
  send_ids(kQueue, {"m1"});
  const ReceivedMessage received = receive_one(kQueue, kShortTtl);
  factory_->advance(kPastShortTtl);
  EXPECT_TRUE(failed_with(bus_->complete(kQueue, received.lock_token), ErrorCode::kAborted));
  expect_depth(depth_of(kQueue), 1, 0, 0);
}

TEST_P(BusConformance, CompleteWithTokenOfEarlierDeliveryIsAborted) {
  create(kQueue);
  send_ids(kQueue, {"m1"});
  const ReceivedMessage first = receive_one(kQueue, kShortTtl);
  factory_->advance(kPastShortTtl);
  const ReceivedMessage second = receive_one(kQueue, kLongTtl);
  EXPECT_NE(first.lock_token, second.lock_token);
  EXPECT_TRUE(failed_with(bus_->complete(kQueue, first.lock_token), ErrorCode::kAborted));
  EXPECT_TRUE(succeeded(bus_->complete(kQueue, second.lock_token)));
}

TEST_P(BusConformance, AbandonMakesMessageAvailableAtOnce) {
  create(kQueue);
  send_ids(kQueue, {"m1"});
  const ReceivedMessage first = receive_one(kQueue, kLongTtl);
  ASSERT_TRUE(succeeded(bus_->abandon(kQueue, first.lock_token)));
  const ReceivedMessage second = receive_one(kQueue, kLongTtl);
  EXPECT_EQ(second.message.id, message_id("m1"));
  EXPECT_EQ(second.delivery_count, 2u);
  EXPECT_NE(second.lock_token, first.lock_token);
}

TEST_P(BusConformance, AbandonWithLostLockIsAborted) {
  create(kQueue);
  send_ids(kQueue, {"m1"});
  const ReceivedMessage received = receive_one(kQueue, kShortTtl);
  factory_->advance(kPastShortTtl);
  EXPECT_TRUE(failed_with(bus_->abandon(kQueue, received.lock_token), ErrorCode::kAborted));
}

TEST_P(BusConformance, LockExpiryRedeliversWithHigherDeliveryCount) {
  create(kQueue);
  send_ids(kQueue, {"m1"});
  EXPECT_EQ(receive_one(kQueue, kShortTtl).delivery_count, 1u);
  factory_->advance(kPastShortTtl);
  const ReceivedMessage again = receive_one(kQueue, kShortTtl);
  EXPECT_EQ(again.message.id, message_id("m1"));
  EXPECT_EQ(again.delivery_count, 2u);
  factory_->advance(kPastShortTtl);
  EXPECT_EQ(receive_one(kQueue, kLongTtl).delivery_count, 3u);
}

TEST_P(BusConformance, RenewLockExtendsLock) {
  create(kQueue);
  send_ids(kQueue, {"m1"});
  const ReceivedMessage received = receive_one(kQueue, kShortTtl);
  auto locked_until = bus_->renew_lock(kQueue, received.lock_token, kLongTtl);
  ASSERT_TRUE(succeeded(locked_until));
  EXPECT_GT(*locked_until, received.locked_until);
  factory_->advance(kPastShortTtl);
  EXPECT_TRUE(receive(kQueue, 10, kLongTtl).empty()) << "the renewed lock must still hold";
  EXPECT_TRUE(succeeded(bus_->complete(kQueue, received.lock_token)));
}

TEST_P(BusConformance, RenewLockWithLostLockIsAborted) {
  create(kQueue);
  send_ids(kQueue, {"m1"});
  const ReceivedMessage received = receive_one(kQueue, kShortTtl);
  factory_->advance(kPastShortTtl);
  EXPECT_TRUE(failed_with(bus_->renew_lock(kQueue, received.lock_token, kLongTtl), ErrorCode::kAborted));
  EXPECT_EQ(receive_one(kQueue, kLongTtl).delivery_count, 2u);
}

TEST_P(BusConformance, RenewLockWithUnknownTokenIsAborted) {
  create(kQueue);
  send_ids(kQueue, {"m1"});
  receive_one(kQueue, kLongTtl);
  EXPECT_TRUE(failed_with(bus_->renew_lock(kQueue, "no-such-token", kLongTtl), ErrorCode::kAborted));
}

// ---- dead letters ----

TEST_P(BusConformance, DeadLetterMovesMessageWithReason) {
  create(kQueue);
  BusMessage sent = make_message("m1", "poison");
  ASSERT_TRUE(succeeded(bus_->send(kQueue, std::vector<BusMessage>{sent})));
  ASSERT_TRUE(succeeded(bus_->dead_letter(kQueue, receive_one(kQueue, kLongTtl).lock_token, "bad payload")));
  expect_depth(depth_of(kQueue), 0, 0, 1);
  EXPECT_TRUE(receive(kQueue, 10, kLongTtl).empty());
  const ReceivedMessage dead = receive_one(kDeadLetters, kLongTtl);
  EXPECT_EQ(dead.dead_letter_reason, "bad payload");
  EXPECT_EQ(dead.message.id, sent.id);
  EXPECT_EQ(dead.message.body, sent.body);
  EXPECT_EQ(dead.message.epoch, sent.epoch);
  EXPECT_EQ(dead.message.lsn.value, sent.lsn.value);
  EXPECT_EQ(dead.message.source_region, sent.source_region);
  EXPECT_EQ(dead.message.properties, sent.properties);
}

TEST_P(BusConformance, DeadLetterWithLostLockIsAborted) {
  create(kQueue);
  send_ids(kQueue, {"m1"});
  const ReceivedMessage received = receive_one(kQueue, kShortTtl);
  factory_->advance(kPastShortTtl);
  EXPECT_TRUE(failed_with(bus_->dead_letter(kQueue, received.lock_token, "late"), ErrorCode::kAborted));
  expect_depth(depth_of(kQueue), 1, 0, 0);
}

TEST_P(BusConformance, MaxDeliveryCountMovesToDeadLetterOnAbandon) {
  create(kQueue, 3);
  send_ids(kQueue, {"m1"});
  for (std::uint32_t delivery = 1; delivery <= 3; ++delivery) {
    const ReceivedMessage received = receive_one(kQueue, kLongTtl);
    EXPECT_EQ(received.delivery_count, delivery);
    ASSERT_TRUE(succeeded(bus_->abandon(kQueue, received.lock_token)));
  }
  EXPECT_TRUE(receive(kQueue, 10, kLongTtl).empty());
  expect_depth(depth_of(kQueue), 0, 0, 1);
  const ReceivedMessage dead = receive_one(kDeadLetters, kLongTtl);
  EXPECT_EQ(dead.message.id, message_id("m1"));
  EXPECT_EQ(dead.dead_letter_reason, "MaxDeliveryCountExceeded");
}

TEST_P(BusConformance, MaxDeliveryCountMovesToDeadLetterOnLockExpiry) {
  create(kQueue, 2);
  send_ids(kQueue, {"m1"});
  EXPECT_EQ(receive_one(kQueue, kShortTtl).delivery_count, 1u);
  factory_->advance(kPastShortTtl);
  EXPECT_EQ(receive_one(kQueue, kShortTtl).delivery_count, 2u);
  factory_->advance(kPastShortTtl);
  expect_depth(depth_of(kQueue), 0, 0, 1);
  EXPECT_TRUE(receive(kQueue, 10, kLongTtl).empty());
  EXPECT_EQ(receive_one(kDeadLetters, kLongTtl).dead_letter_reason, "MaxDeliveryCountExceeded");
}

TEST_P(BusConformance, DeadLetterQueueMessageCanBeCompleted) {
  create(kQueue);
  send_ids(kQueue, {"m1"});
  ASSERT_TRUE(succeeded(bus_->dead_letter(kQueue, receive_one(kQueue, kLongTtl).lock_token, "poison")));
  const ReceivedMessage dead = receive_one(kDeadLetters, kLongTtl);
  ASSERT_TRUE(succeeded(bus_->complete(kDeadLetters, dead.lock_token)));
  expect_depth(depth_of(kQueue), 0, 0, 0);
  EXPECT_TRUE(receive(kDeadLetters, 10, kLongTtl).empty());
}

TEST_P(BusConformance, DeadLetterQueueLockExpiryRedeliversThere) {
  create(kQueue);
  send_ids(kQueue, {"m1"});
  ASSERT_TRUE(succeeded(bus_->dead_letter(kQueue, receive_one(kQueue, kLongTtl).lock_token, "poison")));
  receive_one(kDeadLetters, kShortTtl);
  factory_->advance(kPastShortTtl);
  const ReceivedMessage again = receive_one(kDeadLetters, kLongTtl);
  EXPECT_EQ(again.message.id, message_id("m1"));
  EXPECT_EQ(again.dead_letter_reason, "poison");
}

TEST_P(BusConformance, DepthCountsAvailableLockedAndDeadLettered) {
  create(kQueue);
  send_ids(kQueue, {"m1", "m2", "m3", "m4"});
  receive_one(kQueue, kLongTtl);
  ASSERT_TRUE(succeeded(bus_->dead_letter(kQueue, receive_one(kQueue, kLongTtl).lock_token, "poison")));
  expect_depth(depth_of(kQueue), 2, 1, 1);
}

// ---- competing receivers ----

TEST_P(BusConformance, CompetingReceiversNeverShareAMessage) {
  create(kQueue);
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.push_back(numbered("m", i));
  send_ids(kQueue, ids);
  auto other = factory_->make_bus();
  auto drain = [](Bus& bus) -> RaceBody {
    return [&bus] {
      std::string seen;
      for (int round = 0; round < 200; ++round) {
        auto received = bus.receive(kQueue, 7, kLongTtl);
        if (!received.ok()) return std::string("error ") + received.error().to_string();
        if (received->empty()) break;
        for (const ReceivedMessage& message : *received) seen += message.message.id.str() + " ";
      }
      return seen;
    };
  };
  const auto results = race_threads({drain(*bus_), drain(*other)});
  std::multiset<std::string> all;
  for (const std::string& seen : results) {
    std::size_t start = 0;
    for (std::size_t space = seen.find(' '); space != std::string::npos; space = seen.find(' ', start)) {
      all.insert(seen.substr(start, space - start));
      start = space + 1;
    }
  }
  EXPECT_EQ(all.size(), ids.size()) << results[0] << " | " << results[1];
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), ids.size()) << "a message went to both receivers";
}

// ---- bad input: kInvalidArgument, and nothing changes ----

TEST_P(BusConformance, CreateQueueRejectsEmptyName) {
  EXPECT_TRUE(failed_with(bus_->create_queue("", QueueOptions{}), ErrorCode::kInvalidArgument));
}

TEST_P(BusConformance, CreateQueueRejectsZeroMaxDeliveryCount) {
  EXPECT_TRUE(failed_with(bus_->create_queue(kQueue, QueueOptions{0}), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(failed_with(bus_->send(kQueue, std::vector<BusMessage>{make_message("m1", "x")}), ErrorCode::kNotFound));
}

TEST_P(BusConformance, SendRejectsEmptyQueueName) {
  EXPECT_TRUE(failed_with(bus_->send("", std::vector<BusMessage>{make_message("m1", "x")}),
                          ErrorCode::kInvalidArgument));
}

TEST_P(BusConformance, SendRejectsBatchOverMaxAndSendsNothing) {
  create(kQueue);
  std::vector<BusMessage> batch;
  for (std::size_t i = 0; i <= Bus::kMaxSendBatch; ++i) batch.push_back(make_message(numbered("m", i), "x"));
  EXPECT_TRUE(failed_with(bus_->send(kQueue, batch), ErrorCode::kInvalidArgument));
  expect_depth(depth_of(kQueue), 0, 0, 0);
}

TEST_P(BusConformance, SendRejectsBodyOverMaxAndSendsNothing) {
  create(kQueue);
  const std::vector<BusMessage> batch{make_message("m1", "fine"),
                                      make_message("m2", std::string(Bus::kMaxBodyBytes + 1, 'b'))};
  EXPECT_TRUE(failed_with(bus_->send(kQueue, batch), ErrorCode::kInvalidArgument));
  expect_depth(depth_of(kQueue), 0, 0, 0);
}

TEST_P(BusConformance, SendRejectsEmptyMessageIdAndSendsNothing) {
  create(kQueue);
  std::vector<BusMessage> batch{make_message("m1", "fine"), make_message("m2", "x")};
  batch[1].id = MessageId();
  EXPECT_TRUE(failed_with(bus_->send(kQueue, batch), ErrorCode::kInvalidArgument));
  expect_depth(depth_of(kQueue), 0, 0, 0);
}

TEST_P(BusConformance, ReceiveRejectsZeroLockDurationAndLeavesMessage) {
  create(kQueue);
  send_ids(kQueue, {"m1"});
  EXPECT_TRUE(failed_with(bus_->receive(kQueue, 1, Milliseconds(0)), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(failed_with(bus_->receive(kQueue, 1, Milliseconds(-10)), ErrorCode::kInvalidArgument));
  expect_depth(depth_of(kQueue), 1, 0, 0);
  EXPECT_EQ(receive_one(kQueue, kLongTtl).delivery_count, 1u);
}

TEST_P(BusConformance, ReceiveRejectsZeroMax) {
  create(kQueue);
  EXPECT_TRUE(failed_with(bus_->receive(kQueue, 0, kLongTtl), ErrorCode::kInvalidArgument));
}

TEST_P(BusConformance, ReceiveRejectsMaxOverLimit) {
  create(kQueue);
  EXPECT_TRUE(failed_with(bus_->receive(kQueue, Bus::kMaxReceiveBatch + 1, kLongTtl), ErrorCode::kInvalidArgument));
}

TEST_P(BusConformance, CompleteRejectsEmptyTokenAndKeepsLock) {
  create(kQueue);
  send_ids(kQueue, {"m1"});
  receive_one(kQueue, kLongTtl);
  EXPECT_TRUE(failed_with(bus_->complete(kQueue, ""), ErrorCode::kInvalidArgument));
  expect_depth(depth_of(kQueue), 0, 1, 0);
}

TEST_P(BusConformance, RenewLockRejectsZeroDurationAndKeepsLock) {
  create(kQueue);
  send_ids(kQueue, {"m1"});
  const ReceivedMessage received = receive_one(kQueue, kLongTtl);
  EXPECT_TRUE(failed_with(bus_->renew_lock(kQueue, received.lock_token, Milliseconds(0)),
                          ErrorCode::kInvalidArgument));
  EXPECT_TRUE(succeeded(bus_->complete(kQueue, received.lock_token)));
}

}  // namespace
}  // namespace hadr::testing

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BusConformance);
