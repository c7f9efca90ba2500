// Hole 6 (issue 12), the embedded stores beyond the lease and dedupe conformance cases: a step
// of the host's wall clock (NTP, `date -s`) is no time passing, so it must not expire a coord
// record's TTL, a bus lock or a source message's invisibility. Measured on the wall clock (as
// they were), a forward step of the TTL handed a locked message to a second worker and a
// received source message to a second relay at once.
#include <gtest/gtest.h>

#include <filesystem>

#include "contracts/tests/conformance_support.h"
#include "embedded/sqlite_lease_store.h"
#include "embedded/tests/embedded_backend_factory.h"

namespace hadr::testing {
namespace {

constexpr Milliseconds kTtl = std::chrono::seconds(30);

class StoreClockTest : public ::testing::Test {
 protected:
  EmbeddedBackendFactory factory_;
};

TEST_F(StoreClockTest, WallClockStepLeavesCoordRecordAlive) {
  auto coord = factory_.make_coord();
  ASSERT_TRUE(succeeded(coord->put(CoordPut{.key = "member/a", .value = "n1", .epoch = Epoch{1}, .ttl = kTtl})));
  factory_.step_wall_clock(kTtl * 2);
  auto record = coord->get("member/a");
  ASSERT_TRUE(succeeded(record));
  ASSERT_TRUE(record->has_value()) << "a wall-clock step expired a coord record";
  EXPECT_GT((*record)->remaining, kTtl / 2);
  factory_.advance(kTtl);
  record = coord->get("member/a");
  ASSERT_TRUE(succeeded(record));
  EXPECT_FALSE(record->has_value()) << "time passing must still expire it";
}

TEST_F(StoreClockTest, WallClockStepLeavesBusLockAlive) {
  auto bus = factory_.make_bus();
  ASSERT_TRUE(succeeded(bus->create_queue("main", QueueOptions{10})));
  BusMessage message;
  message.id = message_id("m1");
  message.body = "m1";
  ASSERT_TRUE(succeeded(bus->send("main", std::span(&message, 1))));
  auto first = bus->receive("main", 1, kTtl);
  ASSERT_TRUE(succeeded(first));
  ASSERT_EQ(first->size(), 1u);
  factory_.step_wall_clock(kTtl * 2);
  auto second = bus->receive("main", 1, kTtl);
  ASSERT_TRUE(succeeded(second));
  EXPECT_TRUE(second->empty()) << "a wall-clock step expired a bus lock: the message went to a second receiver";
  auto renewed = bus->renew_lock("main", first->front().lock_token, kTtl);
  EXPECT_TRUE(succeeded(renewed));
  EXPECT_TRUE(succeeded(bus->complete("main", first->front().lock_token)));
}

TEST_F(StoreClockTest, WallClockStepLeavesSourceMessageInvisible) {
  auto relay = factory_.make_source("relay", kTtl);
  SourceMessage message;
  message.id = message_id("m1");
  message.body = "m1";
  ASSERT_TRUE(succeeded(relay->put(std::span(&message, 1))));
  auto first = relay->receive(1);
  ASSERT_TRUE(succeeded(first));
  ASSERT_EQ(first->size(), 1u);
  factory_.step_wall_clock(kTtl * 2);
  auto other = factory_.make_source("relay-2", kTtl);
  auto second = other->receive(1);
  ASSERT_TRUE(succeeded(second));
  EXPECT_TRUE(second->empty()) << "a wall-clock step made a received source message visible again";
  const std::string handle = first->front().ack_handle;
  EXPECT_TRUE(succeeded(relay->ack(std::span(&handle, 1))));
}

// Monotonic time restarts at a reboot: store time must continue from where it was (TTLs pause
// while the host is down) — never jump back (a lease held for the old uptime) nor forward.
TEST_F(StoreClockTest, RebootContinuesStoreTimeFromTheLastHighWater) {
  const std::string path = factory_.directory() + "/reboot-lease.db";
  constexpr Milliseconds kLeaseTtl = std::chrono::seconds(10);
  {
    ManualClock before;
    before.advance(std::chrono::hours(240));  // ten days of uptime
    auto store = SqliteLeaseStore::open(path, before, SqliteOptions{.boot_id = "boot-1"});
    ASSERT_TRUE(succeeded(store));
    ASSERT_TRUE(succeeded((*store)->acquire("active_dc", "a", kLeaseTtl)));
    before.advance(std::chrono::seconds(3));
    ASSERT_TRUE(succeeded((*store)->read("active_dc")));  // records the high water
  }
  ManualClock after;  // the new boot: monotonic time starts again near zero
  auto store = SqliteLeaseStore::open(path, after, SqliteOptions{.boot_id = "boot-2"});
  ASSERT_TRUE(succeeded(store));
  auto state = (*store)->read("active_dc");
  ASSERT_TRUE(succeeded(state));
  EXPECT_TRUE(state->held);
  EXPECT_LE(state->remaining, Milliseconds(7'000)) << "store time went back at the reboot";
  EXPECT_GE(state->remaining, Milliseconds(6'000));
  after.advance(Milliseconds(7'001));
  state = (*store)->read("active_dc");
  ASSERT_TRUE(succeeded(state));
  EXPECT_FALSE(state->held);
}

}  // namespace
}  // namespace hadr::testing
