// Proves exactly-once effects end to end with real parts: a Worker (src/roles) over a
// MemoryBus and a SqliteDedupeStore with the LedgerHandler. The same message id delivered
// three times, and again across the expiry of a crashed worker's claim (whose late effect is
// then refused), leaves exactly one ledger row.
#include <gtest/gtest.h>

#include "embedded/sqlite_dedupe_store.h"
#include "handlers/handler_factory.h"
#include "handlers/ledger_handler.h"
#include "handlers/tests/handler_test_support.h"
#include "memory/memory_bus.h"
#include "memory/memory_coord.h"
#include "roles/worker.h"

namespace hadr::handlers_test {
namespace {

constexpr std::string_view kMain = "main";

class LedgerWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = directory_.path() + "/dedupe.db";
    store_ = SqliteDedupeStore::open(path_, clock_).value();
    ASSERT_TRUE(bus_server_.create_queue(kMain, QueueOptions{.max_delivery_count = 10}).ok());
    handler_ = make_handler(HandlerConfig{.kind = "ledger"},
                            HandlerContext{.region = test_region("b"), .ledger_store = store_.get(), .clock = &clock_})
                   .value();
    worker_ = Worker::create(WorkerDependencies{.bus = bus_,
                                                .dedupe = *store_,
                                                .coord = coord_,
                                                .handler = *handler_,
                                                .fence = fence_,
                                                .clock = clock_,
                                                .crash_points = crash_points_},
                             WorkerOptions{.owner = "b/worker-1",
                                           .lock_duration = Milliseconds(5'000),
                                           .claim_ttl = Milliseconds(10'000)})
                  .value();
  }

  void send(std::string_view id, std::size_t copies = 1) {
    std::vector<BusMessage> batch(copies, test_message(id));
    ASSERT_TRUE(bus_server_.send(kMain, batch).ok());
  }

  // Steps until the worker is idle (bounded).
  void run_worker() {
    for (int step = 0; step < 100; ++step) {
      Result<StepOutcome> outcome = worker_->step();
      ASSERT_TRUE(outcome.ok()) << outcome.error().to_string();
      if (*outcome == StepOutcome::kIdle) return;
    }
    FAIL() << "the worker never went idle";
  }

  std::uint64_t rows_of(std::string_view id) { return LedgerReader::open(path_).value()->effect_count(id).value(); }

  TemporaryDirectory directory_;
  std::string path_;
  ManualClock clock_;
  std::unique_ptr<SqliteDedupeStore> store_;
  MemoryBusServer bus_server_{clock_, "ns-b"};
  MemoryBus bus_{bus_server_};
  MemoryCoordServer coord_server_{clock_};
  MemoryCoord coord_{coord_server_};
  StaticFence fence_{Epoch{7}};
  NoCrashPoints crash_points_;
  std::unique_ptr<Handler> handler_;
  std::unique_ptr<Worker> worker_;
};

TEST_F(LedgerWorkerTest, SameIdDeliveredThreeTimesMakesOneRow) {
  send("dup", 3);
  run_worker();
  send("dup");  // a later redelivery (a replay after failover)
  run_worker();
  EXPECT_EQ(rows_of("dup"), 1u);
  const WorkerStats stats = worker_->stats();
  EXPECT_EQ(stats.effects, 1u);
  EXPECT_EQ(stats.suppressed_duplicates, 3u);
  EXPECT_EQ(stats.completed, 4u);
  EXPECT_EQ(bus_server_.depth(kMain)->available + bus_server_.depth(kMain)->locked, 0u);
}

TEST_F(LedgerWorkerTest, ClaimExpiryOfACrashedWorkerStillMakesOneRow) {
  // A worker claimed the id and crashed before its transaction committed.
  auto crashed = store_->claim(test_id("x"), "b/worker-crashed", Epoch{7}, Milliseconds(10'000));
  ASSERT_TRUE(crashed.ok());
  ASSERT_EQ(crashed->status, ClaimStatus::kClaimed);
  send("x");
  run_worker();
  EXPECT_EQ(rows_of("x"), 0u);  // busy: left locked
  EXPECT_EQ(worker_->stats().busy_deferred, 1u);

  clock_.advance(Milliseconds(11'000));  // the crashed claim and the bus lock both expire
  run_worker();
  EXPECT_EQ(rows_of("x"), 1u);

  // The crashed worker wakes up and tries to apply its effect under its expired claim.
  const BusMessage message = test_message("x");
  const HandlerResult late = handler_->handle(test_input(message, crashed->claim_token));
  EXPECT_EQ(late.verdict, HandlerVerdict::kRetryLater);
  EXPECT_FALSE(late.marked_done);

  send("x", 2);  // and the bus redelivers twice more
  run_worker();
  EXPECT_EQ(rows_of("x"), 1u);
  EXPECT_EQ(worker_->stats().effects, 1u);
  const LedgerSummary summary = LedgerReader::open(path_).value()->summarize().value();
  EXPECT_EQ(summary.effects, 1u);
  EXPECT_EQ(summary.duplicated_ids, 0u);
}

}  // namespace
}  // namespace hadr::handlers_test
