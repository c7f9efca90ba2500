// Proves that a run over the in-memory backends replays exactly from its seed: a random
// workload drives all six stores through SeededFaultInjector clients on a ManualClock, and
// the full history (every answer, token, epoch and the servers' final inspection views) is
// identical for the same seed and differs between seeds. Also proves every fault site fires
// in some of those runs, so the determinism covers the fault paths too.
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "memory/fault_injector.h"
#include "memory/tests/memory_test_support.h"

namespace hadr {
namespace {

using std::chrono::milliseconds;
using memory_test::bus_message;
using memory_test::message_id;
using memory_test::source_message;

constexpr int kSteps = 400;
constexpr std::string_view kStaging = "staging";

struct RunResult {
  std::string history;
  std::array<std::uint64_t, kFaultSiteCount> fired{};
};

// One region's clients of the shared servers, all asking the same injector.
class Workload {
 public:
  explicit Workload(std::uint64_t seed)
      : random_(seed), fault_random_(random_.fork()), faults_(fault_random_),
        lease_(world_.lease_server, &faults_), dedupe_(world_.dedupe_server, &faults_),
        bus_(world_.bus_server, &faults_), blob_(world_.blob_server, &faults_),
        coord_(world_.coord_server, &faults_),
        source_(std::move(MemorySource::open(world_.source_server, "relay", milliseconds(50), &faults_)).value()) {
    HADR_ASSERT(world_.bus_server.create_queue(kStaging, QueueOptions{.max_delivery_count = 3}).ok());
  }

  RunResult run() {
    for (int step = 0; step < kSteps; ++step) {
      history_ << step << ' ';
      run_step(random_.uniform(6), step);
      history_ << '\n';
      world_.advance(milliseconds(random_.between(0, 30)));
    }
    record_final_views();
    RunResult result{.history = history_.str()};
    for (std::size_t site = 0; site < kFaultSiteCount; ++site) {
      result.fired[site] = faults_.counters().fired(static_cast<FaultSite>(site));
    }
    return result;
  }

 private:
  template <typename T>
  void note(const Result<T>& result) {
    history_ << (result.ok() ? "ok" : std::string(error_code_name(result.code()))) << ' ';
  }

  void run_step(std::uint64_t action, int step) {
    const std::string id = "m-" + std::to_string(step);
    switch (action) {
      case 0:
        note(source_->put(std::vector<SourceMessage>{source_message(id)}));
        break;
      case 1:
        relay_step();
        break;
      case 2:
        worker_step();
        break;
      case 3: {
        auto acquired = lease_.acquire("active_dc", "region-a", milliseconds(100));
        note(acquired);
        if (acquired.ok()) history_ << acquired->granted << ' ' << acquired->epoch.value;
        break;
      }
      case 4:
        note(coord_.put(CoordPut{.key = "alias", .value = id, .epoch = Epoch{random_.between(1, 3)},
                                 .condition = CoordCondition::kEpochAtLeast}));
        break;
      default:
        note(blob_.put_if_absent("wal/a/" + std::to_string(random_.uniform(20)), id));
        break;
    }
  }

  void relay_step() {
    auto received = source_->receive(3);
    note(received);
    if (!received.ok()) return;
    std::vector<BusMessage> batch;
    std::vector<std::string> handles;
    for (const SourceMessage& message : *received) {
      history_ << message.id.str() << '@' << message.ack_handle << ' ';
      batch.push_back(bus_message(message.id.str()));
      handles.push_back(message.ack_handle);
    }
    if (batch.empty()) return;
    note(bus_.send(kStaging, batch));
    note(source_->ack(handles));
  }

  void worker_step() {
    auto received = bus_.receive(kStaging, 2, milliseconds(40));
    note(received);
    if (!received.ok()) return;
    for (const ReceivedMessage& message : *received) {
      history_ << message.message.id.str() << '#' << message.delivery_count << ' ';
      auto claimed = dedupe_.claim(message.message.id, "worker", Epoch{1}, milliseconds(60));
      note(claimed);
      if (claimed.ok() && claimed->status == ClaimStatus::kClaimed) {
        history_ << claimed->claim_token << ' ';
        note(dedupe_.mark_done(message.message.id, claimed->claim_token, milliseconds(10'000)));
      }
      note(bus_.complete(kStaging, message.lock_token));
    }
  }

  void record_final_views() {
    for (const BusQueueCounts& counts : world_.bus_server.queue_counts()) {
      history_ << counts.queue << ' ' << counts.sent << ' ' << counts.delivered << ' ' << counts.completed << ' '
               << counts.depth.available << ' ' << counts.depth.locked << ' ' << counts.depth.dead_lettered << '\n';
    }
    for (const LeaseGrant& grant : world_.lease_server.grant_history()) {
      history_ << grant.epoch.value << ' ' << unix_millis(grant.granted_at) << '\n';
    }
    history_ << world_.dedupe_server.records().size() << ' ' << world_.source_server.depth() << ' '
             << world_.blob_server.object_count() << '\n';
  }

  memory_test::MemoryBackendFactory world_;
  Random random_;
  Random fault_random_;
  SeededFaultInjector faults_;
  MemoryLeaseStore lease_;
  MemoryDedupeStore dedupe_;
  MemoryBus bus_;
  MemoryBlobStore blob_;
  MemoryCoord coord_;
  std::unique_ptr<MemorySource> source_;
  std::ostringstream history_;
};

RunResult run_seed(std::uint64_t seed) { return Workload(seed).run(); }

TEST(MemoryDeterminismTest, SameSeedReplaysTheSameHistory) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const RunResult first = run_seed(seed);
    const RunResult second = run_seed(seed);
    ASSERT_EQ(first.history, second.history) << "seed " << seed;
    ASSERT_EQ(first.fired, second.fired) << "seed " << seed;
  }
}

TEST(MemoryDeterminismTest, DifferentSeedsGiveDifferentHistories) {
  std::set<std::string> histories;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) histories.insert(run_seed(seed).history);
  EXPECT_EQ(histories.size(), 20u);
}

TEST(MemoryDeterminismTest, EveryFaultSiteFiresInSomeRun) {
  std::array<std::uint64_t, kFaultSiteCount> fired{};
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    const RunResult result = run_seed(seed);
    for (std::size_t site = 0; site < kFaultSiteCount; ++site) fired[site] += result.fired[site];
  }
  for (std::size_t site = 0; site < kFaultSiteCount; ++site) {
    EXPECT_GT(fired[site], 0u) << fault_site_name(static_cast<FaultSite>(site));
  }
}

}  // namespace
}  // namespace hadr
