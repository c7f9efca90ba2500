// SourceConformance proves that an implementation keeps the Source contract
// (contracts/source.h), i.e. MQ get under syncpoint: put is durable and never dedupes;
// receive hands out messages in put order and hides them from other consumers; ack removes
// them for good, and an unknown or expired handle is kAborted; an unacked message comes back
// after the visibility timeout, or at once when its consumer restarts; bad input is
// kInvalidArgument and puts nothing. Store time passes only through factory->advance().
#include <string>

#include "contracts/tests/conformance.h"

namespace hadr::testing {

void SourceConformance::SetUp() {
  factory_ = GetParam().make();
  ASSERT_NE(factory_, nullptr);
  source_ = factory_->make_source("relay", kLongTtl);
  if (source_ == nullptr) GTEST_SKIP() << GetParam().name << " does not implement Source";
}

namespace {

SourceMessage make_message(std::string_view id) {
  SourceMessage message;
  message.id = message_id(id);
  message.headers = {{"JMSCorrelationID", "c-" + std::string(id)}, {"empty", ""}};
  message.body = "body of " + std::string(id);
  return message;
}

}  // namespace

void SourceConformance::put_ids(const std::vector<std::string>& ids) {
  std::vector<SourceMessage> batch;
  for (const std::string& id : ids) batch.push_back(make_message(id));
  ASSERT_TRUE(succeeded(source_->put(batch)));
}

std::vector<SourceMessage> SourceConformance::receive(Source& source, std::size_t max) {
  auto received = source.receive(max);
  EXPECT_TRUE(succeeded(received));
  return received.ok() ? std::move(received).value() : std::vector<SourceMessage>{};
}

std::uint64_t SourceConformance::depth_of(Source& source) {
  auto depth = source.depth();
  EXPECT_TRUE(succeeded(depth));
  return depth.ok() ? *depth : 0;
}

namespace {

std::vector<std::string> ids_of(const std::vector<SourceMessage>& messages) {
  std::vector<std::string> ids;
  for (const SourceMessage& message : messages) ids.push_back(message.id.str());
  return ids;
}

std::vector<std::string> handles_of(const std::vector<SourceMessage>& messages) {
  std::vector<std::string> handles;
  for (const SourceMessage& message : messages) handles.push_back(message.ack_handle);
  return handles;
}

TEST_P(SourceConformance, PutThenReceiveRoundTrips) {
  SourceMessage sent = make_message("order-17");
  sent.body = std::string("binary\0body\xff", 12);
  ASSERT_TRUE(succeeded(source_->put(std::vector<SourceMessage>{sent})));
  const std::vector<SourceMessage> received = receive(*source_, 10);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].id, sent.id);
  EXPECT_EQ(received[0].headers, sent.headers);
  EXPECT_EQ(received[0].body, sent.body);
  EXPECT_FALSE(received[0].ack_handle.empty());
  EXPECT_FALSE(received[0].source_ref.empty());
  EXPECT_NE(received[0].enqueued_at, WallTime());
}

TEST_P(SourceConformance, ReceiveOnEmptySourceReturnsNothing) { EXPECT_TRUE(receive(*source_, 10).empty()); }

TEST_P(SourceConformance, ReceiveReturnsPutOrder) {
  put_ids({"m1", "m2", "m3"});
  put_ids({"m4", "m5"});
  EXPECT_EQ(ids_of(receive(*source_, 2)), (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(ids_of(receive(*source_, 10)), (std::vector<std::string>{"m3", "m4", "m5"}));
}

TEST_P(SourceConformance, SameIdPutTwiceIsTwoMessages) {
  put_ids({"m1"});
  put_ids({"m1"});
  EXPECT_EQ(depth_of(*source_), 2u);
  EXPECT_EQ(ids_of(receive(*source_, 10)), (std::vector<std::string>{"m1", "m1"}));
}

TEST_P(SourceConformance, ReceivedMessageIsInvisibleToOtherConsumers) {
  put_ids({"m1", "m2"});
  auto other = factory_->make_source("other-relay", kLongTtl);
  EXPECT_EQ(ids_of(receive(*source_, 1)), (std::vector<std::string>{"m1"}));
  EXPECT_EQ(ids_of(receive(*other, 10)), (std::vector<std::string>{"m2"}));
  EXPECT_TRUE(receive(*source_, 10).empty());
}

TEST_P(SourceConformance, AckRemovesMessagesForGood) {
  auto consumer = factory_->make_source("short-relay", kShortTtl);
  put_ids({"m1", "m2"});
  const std::vector<SourceMessage> received = receive(*consumer, 10);
  ASSERT_EQ(received.size(), 2u);
  ASSERT_TRUE(succeeded(consumer->ack(handles_of(received))));
  EXPECT_EQ(depth_of(*consumer), 0u);
  factory_->advance(kPastShortTtl);
  EXPECT_TRUE(receive(*consumer, 10).empty());
}

TEST_P(SourceConformance, AckOfEmptyBatchIsOk) { EXPECT_TRUE(succeeded(source_->ack({}))); }

TEST_P(SourceConformance, AckOfUnknownHandleIsAborted) {
  put_ids({"m1"});
  ASSERT_EQ(receive(*source_, 10).size(), 1u);
  EXPECT_TRUE(failed_with(source_->ack(std::vector<std::string>{"no-such-handle"}), ErrorCode::kAborted));
  EXPECT_EQ(depth_of(*source_), 1u);
}

TEST_P(SourceConformance, AckTwiceIsAborted) {
  put_ids({"m1"});
  const std::vector<std::string> handles = handles_of(receive(*source_, 10));
  ASSERT_TRUE(succeeded(source_->ack(handles)));
  EXPECT_TRUE(failed_with(source_->ack(handles), ErrorCode::kAborted));
}

TEST_P(SourceConformance, UnackedMessageReappearsAfterVisibilityTimeout) {
  auto consumer = factory_->make_source("short-relay", kShortTtl);
  put_ids({"m1"});
  ASSERT_EQ(receive(*consumer, 10).size(), 1u);
  EXPECT_TRUE(receive(*consumer, 10).empty());
  factory_->advance(kPastShortTtl);
  const std::vector<SourceMessage> again = receive(*consumer, 10);
  ASSERT_EQ(ids_of(again), (std::vector<std::string>{"m1"}));
}

TEST_P(SourceConformance, RedeliveryAfterTimeoutKeepsPutOrder) {
  auto consumer = factory_->make_source("short-relay", kShortTtl);
  put_ids({"m1", "m2", "m3"});
  ASSERT_EQ(receive(*consumer, 10).size(), 3u);
  factory_->advance(kPastShortTtl);
  EXPECT_EQ(ids_of(receive(*consumer, 10)), (std::vector<std::string>{"m1", "m2", "m3"}));
}

TEST_P(SourceConformance, AckAfterVisibilityTimeoutIsAborted) {
  auto consumer = factory_->make_source("short-relay", kShortTtl);
  put_ids({"m1"});
  const std::vector<std::string> handles = handles_of(receive(*consumer, 10));
  factory_->advance(kPastShortTtl);
  EXPECT_TRUE(failed_with(consumer->ack(handles), ErrorCode::kAborted));
  EXPECT_EQ(depth_of(*consumer), 1u);
}

TEST_P(SourceConformance, AckOfEarlierDeliveryAfterRedeliveryIsAborted) {
  auto consumer = factory_->make_source("short-relay", kShortTtl);
  put_ids({"m1"});
  const std::vector<std::string> first = handles_of(receive(*consumer, 10));
  factory_->advance(kPastShortTtl);
  const std::vector<std::string> second = handles_of(receive(*consumer, 10));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(first, second);
  EXPECT_TRUE(failed_with(consumer->ack(first), ErrorCode::kAborted));
  EXPECT_TRUE(succeeded(consumer->ack(second)));
}

TEST_P(SourceConformance, RestartedConsumerGetsUnackedMessagesAtOnce) {
  put_ids({"m1", "m2"});
  ASSERT_EQ(receive(*source_, 10).size(), 2u);
  source_.reset();
  source_ = factory_->make_source("relay", kLongTtl);  // the relay restarted
  EXPECT_EQ(ids_of(receive(*source_, 10)), (std::vector<std::string>{"m1", "m2"}));
}

TEST_P(SourceConformance, AckOfHandleFromBeforeRestartIsAborted) {
  put_ids({"m1"});
  const std::vector<std::string> handles = handles_of(receive(*source_, 10));
  source_.reset();
  source_ = factory_->make_source("relay", kLongTtl);
  EXPECT_TRUE(failed_with(source_->ack(handles), ErrorCode::kAborted));
  EXPECT_EQ(depth_of(*source_), 1u);
}

TEST_P(SourceConformance, RestartOfOneConsumerLeavesOthersInFlight) {
  put_ids({"m1", "m2"});
  auto other = factory_->make_source("other-relay", kLongTtl);
  ASSERT_EQ(receive(*source_, 1).size(), 1u);
  const std::vector<SourceMessage> held_by_other = receive(*other, 1);
  ASSERT_EQ(held_by_other.size(), 1u);
  source_.reset();
  source_ = factory_->make_source("relay", kLongTtl);
  EXPECT_EQ(ids_of(receive(*source_, 10)), (std::vector<std::string>{"m1"}));
  EXPECT_TRUE(succeeded(other->ack(handles_of(held_by_other))));
}

TEST_P(SourceConformance, DepthCountsAvailableAndInFlight) {
  put_ids({"m1", "m2", "m3"});
  EXPECT_EQ(depth_of(*source_), 3u);
  const std::vector<SourceMessage> received = receive(*source_, 2);
  EXPECT_EQ(depth_of(*source_), 3u);
  ASSERT_TRUE(succeeded(source_->ack(std::vector<std::string>{received[0].ack_handle})));
  EXPECT_EQ(depth_of(*source_), 2u);
}

// ---- bad input: kInvalidArgument, and nothing changes ----

TEST_P(SourceConformance, PutRejectsEmptyIdAndPutsNothing) {
  std::vector<SourceMessage> batch{make_message("m1"), make_message("m2")};
  batch[1].id = MessageId();
  EXPECT_TRUE(failed_with(source_->put(batch), ErrorCode::kInvalidArgument));
  EXPECT_EQ(depth_of(*source_), 0u);
}

TEST_P(SourceConformance, PutRejectsBatchOverMaxAndPutsNothing) {
  std::vector<SourceMessage> batch;
  for (std::size_t i = 0; i <= Source::kMaxBatch; ++i) batch.push_back(make_message(numbered("m", i)));
  EXPECT_TRUE(failed_with(source_->put(batch), ErrorCode::kInvalidArgument));
  EXPECT_EQ(depth_of(*source_), 0u);
}

TEST_P(SourceConformance, PutRejectsBodyOverBusMaximumAndPutsNothing) {
  std::vector<SourceMessage> batch{make_message("m1"), make_message("m2")};
  batch[1].body.assign(Bus::kMaxBodyBytes + 1, 'b');
  EXPECT_TRUE(failed_with(source_->put(batch), ErrorCode::kInvalidArgument));
  EXPECT_EQ(depth_of(*source_), 0u);
}

TEST_P(SourceConformance, ReceiveRejectsZeroMax) {
  put_ids({"m1"});
  EXPECT_TRUE(failed_with(source_->receive(0), ErrorCode::kInvalidArgument));
  EXPECT_EQ(receive(*source_, 10).size(), 1u);
}

TEST_P(SourceConformance, ReceiveRejectsMaxOverLimit) {
  EXPECT_TRUE(failed_with(source_->receive(Source::kMaxBatch + 1), ErrorCode::kInvalidArgument));
}

TEST_P(SourceConformance, AckRejectsEmptyHandleAndAcksNothing) {
  put_ids({"m1"});
  const std::vector<SourceMessage> received = receive(*source_, 10);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_TRUE(failed_with(source_->ack(std::vector<std::string>{received[0].ack_handle, ""}),
                          ErrorCode::kInvalidArgument));
  EXPECT_EQ(depth_of(*source_), 1u);
  EXPECT_TRUE(succeeded(source_->ack(std::vector<std::string>{received[0].ack_handle})));
}

}  // namespace
}  // namespace hadr::testing

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SourceConformance);
