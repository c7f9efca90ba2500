// Proves what the embedded backends promise as files on one machine:
//   - two processes sharing one file stay correct: competing bus receivers never get the same
//     message, and compare-and-set increments on a Coord record from both processes lose none;
//   - closing and reopening a store keeps its data and its epochs (lease epoch, dedupe highest
//     epoch and marks, coord records, bus messages with their delivery counts, source messages);
//   - a corrupt database file gives a clear kDataLoss naming the file, at open or at first use.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "contracts/tests/conformance_support.h"
#include "embedded/sqlite_bus.h"
#include "embedded/sqlite_coord.h"
#include "embedded/sqlite_dedupe_store.h"
#include "embedded/sqlite_lease_store.h"
#include "embedded/sqlite_source.h"
#include "embedded/tests/embedded_backend_factory.h"

namespace hadr::testing {
namespace {

class EmbeddedFilesTest : public ::testing::Test {
 protected:
  void SetUp() override { directory_ = make_temporary_directory(); }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  std::string path(std::string_view name) const { return directory_ + "/" + std::string(name); }

  template <typename Store>
  static std::unique_ptr<Store> opened(Result<std::unique_ptr<Store>> store) {
    EXPECT_TRUE(succeeded(store));
    return store.ok() ? std::move(store).value() : nullptr;
  }

  std::string directory_;
  ManualClock clock_;
};

// ---- two processes, one file ----

TEST_F(EmbeddedFilesTest, CompetingBusReceiversInTwoProcessesNeverShareAMessage) {
  constexpr int kMessages = 300;
  {
    auto bus = opened(SqliteBus::open(path("bus.db"), clock_));
    ASSERT_TRUE(succeeded(bus->create_queue("main", QueueOptions{})));
    std::vector<BusMessage> batch;
    for (int i = 0; i < kMessages; ++i) batch.push_back(BusMessage{message_id(numbered("m", i)), {}, {}, {}, {}, ""});
    ASSERT_TRUE(succeeded(bus->send("main", batch)));
  }  // closed before the fork: no connection crosses it
  std::unique_ptr<SqliteBus> bus;
  auto results = race_with_forked_child([&]() -> RaceBody {
    bus = opened(SqliteBus::open(path("bus.db"), clock_));
    return [&] {
      std::string seen;
      for (int round = 0; round < kMessages; ++round) {
        auto received = bus->receive("main", 5, kLongTtl);
        if (!received.ok() || received->empty()) break;
        for (const ReceivedMessage& message : *received) {
          if (!bus->complete("main", message.lock_token).ok()) return std::string("complete failed");
          seen += message.message.id.str() + " ";
        }
      }
      return seen;
    };
  });
  ASSERT_TRUE(succeeded(results));
  std::multiset<std::string> all;
  for (const std::string* seen : {&results->parent, &results->child}) {
    std::size_t start = 0;
    for (std::size_t space = seen->find(' '); space != std::string::npos; space = seen->find(' ', start)) {
      all.insert(seen->substr(start, space - start));
      start = space + 1;
    }
  }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kMessages)) << results->parent << " | " << results->child;
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), all.size()) << "a message went to both processes";
  auto depth = bus->depth("main");
  ASSERT_TRUE(succeeded(depth));
  EXPECT_EQ(depth->available + depth->locked + depth->dead_lettered, 0u);
}

// Increments the number in `key` by compare-and-set on its version, retrying a lost race.
RaceBody increment_repeatedly(Coord& coord, const std::string& key, int increments) {
  return [&coord, key, increments] {
    constexpr int kAttemptsPerIncrement = 1000;
    for (int done = 0; done < increments; ++done) {
      bool applied = false;
      for (int attempt = 0; attempt < kAttemptsPerIncrement && !applied; ++attempt) {
        auto current = coord.get(key);
        if (!current.ok() || !current->has_value()) return std::string("read failed");
        const CoordPut write{key, std::to_string(std::stoi((*current)->value) + 1), Epoch{1},
                             CoordCondition::kVersionEquals, (*current)->version, Milliseconds(0)};
        auto written = coord.put(write);
        if (!written.ok() && written.code() != ErrorCode::kAborted) return written.error().to_string();
        applied = written.ok();
      }
      if (!applied) return std::string("gave up");
    }
    return std::string("ok");
  };
}

TEST_F(EmbeddedFilesTest, CompareAndSetIncrementsFromTwoProcessesLoseNothing) {
  constexpr int kIncrementsEach = 50;
  const std::string key = "counter";
  {
    auto coord = opened(SqliteCoord::open(path("coord.db"), clock_));
    ASSERT_TRUE(succeeded(coord->put(CoordPut{key, "0", Epoch{1}})));
  }
  std::unique_ptr<SqliteCoord> coord;
  auto results = race_with_forked_child([&]() -> RaceBody {
    coord = opened(SqliteCoord::open(path("coord.db"), clock_));
    return increment_repeatedly(*coord, key, kIncrementsEach);
  });
  ASSERT_TRUE(succeeded(results));
  EXPECT_EQ(results->parent, "ok");
  EXPECT_EQ(results->child, "ok");
  auto record = coord->get(key);
  ASSERT_TRUE(succeeded(record));
  ASSERT_TRUE(record->has_value());
  EXPECT_EQ((*record)->value, std::to_string(2 * kIncrementsEach));
  EXPECT_EQ((*record)->version, static_cast<std::uint64_t>(2 * kIncrementsEach + 1));
}

// ---- reopening keeps data and epochs ----

TEST_F(EmbeddedFilesTest, ReopenedLeaseStoreKeepsHolderAndEpoch) {
  Epoch epoch;
  {
    auto leases = opened(SqliteLeaseStore::open(path("lease.db"), clock_));
    auto first = leases->acquire("active_dc", "region-a", kLongTtl);
    ASSERT_TRUE(succeeded(first));
    ASSERT_TRUE(succeeded(leases->release("active_dc", "region-a", first->epoch)));
    auto second = leases->acquire("active_dc", "region-b", kLongTtl);
    ASSERT_TRUE(succeeded(second));
    epoch = second->epoch;
  }
  auto leases = opened(SqliteLeaseStore::open(path("lease.db"), clock_));
  auto state = leases->read("active_dc");
  ASSERT_TRUE(succeeded(state));
  EXPECT_TRUE(state->held);
  EXPECT_EQ(state->holder, "region-b");
  EXPECT_EQ(state->epoch.value, epoch.value);
  ASSERT_TRUE(succeeded(leases->release("active_dc", "region-b", epoch)));
  auto next = leases->acquire("active_dc", "region-a", kLongTtl);
  ASSERT_TRUE(succeeded(next));
  EXPECT_GT(next->epoch.value, epoch.value);
}

TEST_F(EmbeddedFilesTest, ReopenedDedupeStoreKeepsMarksClaimsAndHighestEpoch) {
  std::string live_token;
  {
    auto dedupe = opened(SqliteDedupeStore::open(path("dedupe.db"), clock_));
    auto done = dedupe->claim(message_id("done"), "worker-a", Epoch{7}, kLongTtl);
    ASSERT_TRUE(succeeded(done));
    ASSERT_TRUE(succeeded(dedupe->mark_done(message_id("done"), done->claim_token, kLongTtl)));
    auto live = dedupe->claim(message_id("live"), "worker-a", Epoch{7}, kLongTtl);
    ASSERT_TRUE(succeeded(live));
    live_token = live->claim_token;
  }
  auto dedupe = opened(SqliteDedupeStore::open(path("dedupe.db"), clock_));
  auto highest = dedupe->highest_epoch();
  ASSERT_TRUE(succeeded(highest));
  EXPECT_EQ(highest->value, 7u);
  auto again = dedupe->claim(message_id("done"), "worker-b", Epoch{7}, kLongTtl);
  ASSERT_TRUE(succeeded(again));
  EXPECT_EQ(again->status, ClaimStatus::kAlreadyDone);
  EXPECT_TRUE(succeeded(dedupe->mark_done(message_id("live"), live_token, kLongTtl)))
      << "a claim survives a restart of the store's client";
  auto fresh = dedupe->claim(message_id("new"), "worker-b", Epoch{7}, kLongTtl);
  ASSERT_TRUE(succeeded(fresh));
  EXPECT_NE(fresh->claim_token, live_token) << "the token sequence continues after reopening";
}

TEST_F(EmbeddedFilesTest, ReopenedCoordKeepsRecordsVersionsAndEpochs) {
  {
    auto coord = opened(SqliteCoord::open(path("coord.db"), clock_));
    ASSERT_TRUE(succeeded(coord->put(CoordPut{"bus/alias", "namespace-a", Epoch{4}})));
    ASSERT_TRUE(succeeded(coord->put(CoordPut{"bus/alias", "namespace-b", Epoch{5}})));
  }
  auto coord = opened(SqliteCoord::open(path("coord.db"), clock_));
  auto record = coord->get("bus/alias");
  ASSERT_TRUE(succeeded(record));
  ASSERT_TRUE(record->has_value());
  EXPECT_EQ((*record)->value, "namespace-b");
  EXPECT_EQ((*record)->version, 2u);
  EXPECT_EQ((*record)->epoch.value, 5u);
  EXPECT_TRUE(failed_with(coord->put(CoordPut{"bus/alias", "namespace-a", Epoch{4}, CoordCondition::kEpochAtLeast}),
                          ErrorCode::kAborted));
}

TEST_F(EmbeddedFilesTest, ReopenedBusKeepsQueuesMessagesAndDeliveryCounts) {
  {
    auto bus = opened(SqliteBus::open(path("bus.db"), clock_));
    ASSERT_TRUE(succeeded(bus->create_queue("main", QueueOptions{3})));
    const std::vector<BusMessage> batch{{message_id("m1"), Epoch{2}, {}, Lsn{9}, {}, "b"}};
    ASSERT_TRUE(succeeded(bus->send("main", batch)));
    auto received = bus->receive("main", 1, kLongTtl);
    ASSERT_TRUE(succeeded(received));
    ASSERT_TRUE(succeeded(bus->abandon("main", received->front().lock_token)));
  }
  auto bus = opened(SqliteBus::open(path("bus.db"), clock_));
  auto received = bus->receive("main", 1, kLongTtl);
  ASSERT_TRUE(succeeded(received));
  ASSERT_EQ(received->size(), 1u);
  EXPECT_EQ(received->front().delivery_count, 2u);
  EXPECT_EQ(received->front().message.lsn.value, 9u);
}

TEST_F(EmbeddedFilesTest, ReopenedSourceKeepsUnackedMessages) {
  {
    auto source = opened(SqliteSource::open(path("source.db"), "relay", kLongTtl, clock_));
    ASSERT_TRUE(succeeded(source->put(std::vector<SourceMessage>{{message_id("m1"), "", {}, {}, "body", ""}})));
    auto received = source->receive(1);
    ASSERT_TRUE(succeeded(received));
    ASSERT_EQ(received->size(), 1u);
  }  // the relay dies holding m1
  auto source = opened(SqliteSource::open(path("source.db"), "relay", kLongTtl, clock_));
  auto received = source->receive(10);
  ASSERT_TRUE(succeeded(received));
  ASSERT_EQ(received->size(), 1u);
  EXPECT_EQ(received->front().id, message_id("m1"));
  EXPECT_EQ(received->front().source_ref, "source.db@1");
}

// ---- corrupt files ----

TEST_F(EmbeddedFilesTest, GarbageFileIsDataLossAtOpenForEveryStore) {
  const std::string garbage = path("garbage.db");
  std::ofstream(garbage) << std::string(4096, '\x5a');
  const auto expect_clear = [&](const auto& opened_store) {
    ASSERT_TRUE(failed_with(opened_store, ErrorCode::kDataLoss));
    EXPECT_NE(opened_store.error().detail.find(garbage), std::string::npos) << opened_store.error().detail;
  };
  expect_clear(SqliteLeaseStore::open(garbage, clock_));
  expect_clear(SqliteDedupeStore::open(garbage, clock_));
  expect_clear(SqliteBus::open(garbage, clock_));
  expect_clear(SqliteSource::open(garbage, "relay", kLongTtl, clock_));
  expect_clear(SqliteCoord::open(garbage, clock_));
}

TEST_F(EmbeddedFilesTest, CorruptPagesAreDataLossAtFirstUse) {
  {
    auto dedupe = opened(SqliteDedupeStore::open(path("dedupe.db"), clock_));
    for (const MessageId& id : message_ids("m", 200)) {
      ASSERT_TRUE(succeeded(dedupe->claim(id, "w", Epoch{1}, kLongTtl)));
    }
  }  // the last connection checkpoints the WAL into the main file
  const auto size = std::filesystem::file_size(path("dedupe.db"));
  ASSERT_GT(size, 8192u);
  {
    // Keep page 1 (header and schema), overwrite every later page.
    std::fstream file(path("dedupe.db"), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(4096);
    const std::string junk(size - 4096, '\xa5');
    file.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  // The header is intact, so open may succeed; the first read of a damaged page must fail.
  Status status = ok_status();
  auto dedupe = SqliteDedupeStore::open(path("dedupe.db"), clock_);
  if (!dedupe.ok()) {
    status = dedupe.error();
  } else {
    auto states = (*dedupe)->lookup(message_ids("m", 1));
    if (!states.ok()) status = states.error();
  }
  ASSERT_TRUE(failed_with(status, ErrorCode::kDataLoss));
  EXPECT_NE(status.error().detail.find(path("dedupe.db")), std::string::npos) << status.error().detail;
}

TEST_F(EmbeddedFilesTest, OpenInMissingDirectoryIsFailedPrecondition) {
  EXPECT_TRUE(failed_with(SqliteLeaseStore::open(path("missing/lease.db"), clock_), ErrorCode::kFailedPrecondition));
}

TEST_F(EmbeddedFilesTest, SourceRejectsZeroVisibilityTimeout) {
  EXPECT_TRUE(failed_with(SqliteSource::open(path("source.db"), "relay", Milliseconds(0), clock_),
                          ErrorCode::kInvalidArgument));
  EXPECT_TRUE(failed_with(SqliteSource::open(path("source.db"), "", kLongTtl, clock_), ErrorCode::kInvalidArgument));
  EXPECT_FALSE(std::filesystem::exists(path("source.db"))) << "bad input must not create the database";
}

}  // namespace
}  // namespace hadr::testing
