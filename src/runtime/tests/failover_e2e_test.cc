// Proves the two-region failover with the real `hadr` binary: two `hadr node` processes (regions
// a and b of write_demo_configs, lease TTL 1 s) on the embedded stores in a temp dir.
//   - Demo/<scenario>: `hadr demo`'s drill (run_demo) passes for failover, switchover and
//     failback: 0 lost, 0 duplicate effects, failover within TTL + 1.5 s, and the switchover
//     with 0 duplicate deliveries;
//   - DemoPostgres/<scenario>: the same drill with --effects postgres (issue 16): every payment
//     once in PostgreSQL and the non-idempotent balance equal to the expected one;
//   - F11 PausedActiveRegionIsReplacedAndStepsDownWhenItWakes: SIGSTOP the active region past
//     its TTL; b takes the next epoch; after SIGCONT a's renewal is refused and it stands by;
//   - F13 RegionCutOffFromTheLeaseStoreIsReplaced: the fault switch cuts a off from the lease
//     store; a self-fences, b takes over; after healing a finds its lease lost;
//   - F15 WatchdogKilledBetweenAcquireAndAliasFlipIsResumed: b dies at
//     watchdog.after_acquire_before_alias during the failover; restarted, it takes the next epoch
//     and completes the takeover (alias flipped, a's WAL replayed).
//   - issue 12 hole 1, FailbackAfterTheDedupeTtlAppliesNothingTwice: a is cut off with a backlog
//     in its namespace, b takes over and applies everything, the done marks expire (record_ttl
//     8 s), then b dies and a takes the lease back and drains its old namespace: the leftovers
//     are settled by the floor b advanced, nothing is applied twice;
//   - issue 12 hole 1 with coord loss, FailbackAfterTheDedupeTtlWithTheCoordCheckpointLost: the
//     same failback, but the coord record checkpoint/a (where b's replay wrote what it settled)
//     is lost before a comes back: a's workers find the settled set in b's copy in the blob
//     store (wal-settled/a/b), nothing is applied twice;
//   - issue 12 hole 2, LostCoordCheckpointDoesNotHaltTheSurvivor: a's retention deleted backup
//     objects below its checkpoint, the coord record checkpoint/a is then lost, a dies: b's
//     replay starts at the backup's floor object and b keeps running, nothing lost;
//   - TwoRegionCrashPoint/<point> for the points only two regions reach: the sync backup's
//     (relay.after_backup_before_ack: a dies there, restarts and re-acquires) and the
//     replayer's (b dies there while replaying a's WAL, restarts and replays again).
// Each ends with verify: every sent message has exactly one effect. Waits poll with deadlines.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/region_config.h"
#include "core/clock.h"
#include "embedded/directory_blob_store.h"
#include "embedded/sqlite_coord.h"
#include "embedded/sqlite_lease_store.h"
#include "handlers/ledger_handler.h"
#include "roles/settled_floor.h"
#include "roles/watchdog.h"
#include "runtime/child_process.h"
#include "runtime/failover_drill.h"
#include "runtime/fault_switch.h"
#include "runtime/send_verify.h"

namespace hadr {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr Milliseconds kLeaseTtl{1'000};

// The binary the tests start: HADR_BINARY (this build), or HADR_E2E_BINARY from the environment
// to run the same scenarios against another build (e.g. to show a regression fails on old code).
std::string hadr_binary() {
  const char* other = std::getenv("HADR_E2E_BINARY");
  return other != nullptr && *other != '\0' ? std::string(other) : std::string(HADR_BINARY);
}

void print_progress(const std::string& line) { std::fprintf(stderr, "demo %s\n", line.c_str()); }

DemoOptions demo_options(std::string scenario) {
  DemoOptions options;
  options.scenario = std::move(scenario);
  options.messages = 1'500;
  options.rate = 400;
  options.lease_ttl = kLeaseTtl;
  options.hadr_binary = hadr_binary();
  options.timeout = std::chrono::seconds(240);
  return options;
}

class DemoScenario : public ::testing::TestWithParam<std::string> {};

TEST_P(DemoScenario, PassesWithNothingLostAndNothingAppliedTwice) {
  DemoOptions options = demo_options(GetParam());
  // The failover drill sends as fast as it can, so that the relay of a has logged more than its
  // workers applied when it dies: the backlog must come back through the replay, whatever the
  // machine's speed.
  if (GetParam() == "failover") options.rate = 0;
  auto report = run_demo(options, print_progress);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  std::fprintf(stderr, "%s", report->to_text().c_str());
  EXPECT_EQ(report->verify.lost, 0u);
  EXPECT_EQ(report->verify.duplicate_effects, 0u);
  EXPECT_EQ(report->verify.sent, 1'500u);
  EXPECT_TRUE(report->failover_within_bound()) << report->failover_ms << " ms";
  EXPECT_TRUE(report->passed());
  if (GetParam() == "switchover") {
    EXPECT_EQ(report->verify.duplicate_deliveries, 0u);
    EXPECT_EQ(report->epochs, (std::vector<std::uint64_t>{1, 2}));
  } else if (GetParam() == "failover") {
    EXPECT_GT(report->replayed, 0u);  // a's backlog came back from its blob backup
    EXPECT_EQ(report->epochs, (std::vector<std::uint64_t>{1, 2}));
  } else {
    EXPECT_EQ(report->epochs, (std::vector<std::uint64_t>{1, 2, 3}));
  }
}

INSTANTIATE_TEST_SUITE_P(Demo, DemoScenario, ::testing::Values("failover", "switchover", "failback"));

// `hadr demo --effects postgres` (issue 16): the sql handler's effects in a real PostgreSQL the
// drill starts, a non-idempotent balance, through a failover (region a's workers SIGKILLed
// mid-transaction) and a switchover: every payment once, the balance the expected one.
class DemoPostgres : public ::testing::TestWithParam<std::string> {};

TEST_P(DemoPostgres, EveryPaymentOnceAndTheBalanceAddsUp) {
  DemoOptions options = demo_options(GetParam());
  options.effects = "postgres";
  if (GetParam() == "failover") options.rate = 0;
  auto report = run_demo(options, print_progress);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  std::fprintf(stderr, "%s", report->to_text().c_str());
  ASSERT_TRUE(report->postgres.has_value());
  EXPECT_EQ(report->postgres->effect_rows, 1'500u);
  EXPECT_EQ(report->postgres->distinct_effect_ids, 1'500u);
  EXPECT_EQ(report->postgres->balance, 1'500 * 1'501 / 2);
  EXPECT_EQ(report->postgres->expected_balance, 1'500 * 1'501 / 2);
  EXPECT_EQ(report->verify.lost, 0u);
  EXPECT_TRUE(report->passed());
}

INSTANTIATE_TEST_SUITE_P(Demo, DemoPostgres, ::testing::Values("failover", "switchover"));

// Two `hadr node` processes and the probes the fault tests need.
class TwoRegions : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hadr-failover-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    ASSERT_TRUE(write_demo_configs(dir_, kLeaseTtl).ok());
    auto a = load_region_config(dir_ + "/a.toml");
    auto b = load_region_config(dir_ + "/b.toml");
    ASSERT_TRUE(a.ok() && b.ok());
    config_a_ = *a;
    config_b_ = *b;
    ASSERT_TRUE(posix_env().create_dirs(config_a_.embedded.dir).ok());
    auto lease = SqliteLeaseStore::open(config_a_.embedded.lease_path(), RealClock::instance());
    auto coord = SqliteCoord::open(config_a_.embedded.coord_path(), RealClock::instance());
    ASSERT_TRUE(lease.ok() && coord.ok());
    lease_ = std::move(*lease);
    coord_ = std::move(*coord);
  }
  void TearDown() override {
    for (auto* node : {&a_, &b_, &sender_}) {
      if (*node) node->reset();  // SIGKILL + reap
    }
    if (!HasFailure()) std::system(("rm -rf " + dir_).c_str());
    else std::fprintf(stderr, "kept %s for inspection\n", dir_.c_str());
  }

  // Rewrites both configs: `replace` pairs of exact text, then `append` at the end.
  void edit_configs(const std::vector<std::pair<std::string, std::string>>& replace, const std::string& append) {
    for (const std::string region : {"a", "b"}) {
      const std::string path = dir_ + "/" + region + ".toml";
      std::ifstream in(path);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      for (const auto& [from, to] : replace) {
        const std::size_t at = text.find(from);
        ASSERT_NE(at, std::string::npos) << from;
        text.replace(at, from.size(), to);
      }
      std::ofstream(path, std::ios::trunc) << text << append;
    }
    auto a = load_region_config(dir_ + "/a.toml");
    auto b = load_region_config(dir_ + "/b.toml");
    ASSERT_TRUE(a.ok()) << a.error().to_string();
    ASSERT_TRUE(b.ok()) << b.error().to_string();
    config_a_ = *a;
    config_b_ = *b;
  }
  std::optional<ChildProcess> start(const std::string& region, const std::vector<std::string>& environment = {}) {
    auto child = ChildProcess::start(hadr_binary(), {"node", "--config", dir_ + "/" + region + ".toml"},
                                     dir_ + "/" + region + ".log", environment);
    EXPECT_TRUE(child.ok()) << child.error().to_string();
    return std::move(child).value();
  }
  // Ids msg-<first>..msg-<first + count - 1>. Traffic sent after a failback takes fresh ids: an
  // id sent again after its done mark expired (dedupe.record_ttl) is new work by the dedupe
  // contract, and applying it again is no duplicate of the original message.
  void start_sender(std::uint64_t count, int rate, std::uint64_t first = 1) {
    auto child = ChildProcess::start(hadr_binary(),
                                     {"send", "--config", dir_ + "/a.toml", "--count", std::to_string(count), "--rate",
                                      std::to_string(rate), "--first", std::to_string(first)},
                                     dir_ + "/send.log");
    ASSERT_TRUE(child.ok());
    sender_.emplace(std::move(*child));
  }
  // Not held when the store is busy for a moment (SQLite recovering after a SIGKILL): callers poll.
  LeaseState lease() {
    auto state = lease_->read("active_dc");
    return state.ok() ? *state : LeaseState{};
  }
  bool held_by(std::string_view region) {
    const LeaseState state = lease();
    return state.held && state.holder == region;
  }
  std::uint64_t effects() {
    auto reader = LedgerReader::open(config_a_.embedded.dedupe_path());
    if (!reader.ok()) return 0;
    auto rows = (*reader)->effect_rows();
    return rows.ok() ? *rows : 0;
  }
  std::string alias() {
    auto record = coord_->get(kAliasCoordKey);
    return record.ok() && record->has_value() ? (*record)->value : "";
  }
  std::string alerts(const RegionConfig& config) {
    std::ifstream file(config.data_dir + "/alerts.jsonl");
    return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  }
  // Polls `condition` every 20 ms; false after `timeout`.
  static bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    while (SteadyClock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return condition();
  }
  void start_a_then_b() {
    a_ = start("a");
    ASSERT_TRUE(eventually([&] { return held_by("a"); }, std::chrono::seconds(20)));
    b_ = start("b");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // b's first heartbeats
  }
  // Waits for the sender and the drain, stops both nodes cleanly, and verifies.
  void finish_and_verify() {
    ASSERT_TRUE(sender_.has_value());
    auto sent = sender_->wait_for(std::chrono::seconds(120));
    ASSERT_TRUE(sent.has_value() && sent->exited && sent->code == 0);
    VerifyReport report;
    ASSERT_TRUE(eventually(
        [&] {
          auto verified = verify_region(config_a_);
          if (verified.ok()) report = *verified;
          return verified.ok() && verified->lost == 0;
        },
        std::chrono::seconds(120)))
        << report.to_text();
    for (auto* node : {&a_, &b_}) {
      if (!*node) continue;
      (*node)->send_signal(SIGTERM);
      auto exit = (*node)->wait_for(std::chrono::seconds(60));
      ASSERT_TRUE(exit.has_value());
      EXPECT_TRUE(exit->exited && exit->code == 0) << "code " << exit->code << " signal " << exit->signal;
      node->reset();
    }
    auto final_report = verify_region(config_a_);
    ASSERT_TRUE(final_report.ok());
    EXPECT_EQ(final_report->lost, 0u);
    EXPECT_EQ(final_report->duplicate_effects, 0u);
    EXPECT_EQ(final_report->sent, final_report->effects);
  }

  std::string dir_;
  RegionConfig config_a_, config_b_;
  std::unique_ptr<LeaseStore> lease_;
  std::unique_ptr<Coord> coord_;
  std::optional<ChildProcess> a_, b_, sender_;
};

TEST_F(TwoRegions, PausedActiveRegionIsReplacedAndStepsDownWhenItWakes) {
  start_a_then_b();
  start_sender(1'200, 300);
  ASSERT_TRUE(eventually([&] { return effects() >= 200; }, std::chrono::seconds(60)));
  a_->send_signal(SIGSTOP);
  ASSERT_TRUE(eventually([&] { return held_by("b"); }, std::chrono::seconds(10)));
  EXPECT_EQ(lease().epoch, Epoch{2});
  std::this_thread::sleep_for(kLeaseTtl);  // b works while a sleeps
  a_->send_signal(SIGCONT);
  EXPECT_TRUE(eventually([&] { return alerts(config_a_).find("\"lease_lost\"") != std::string::npos; },
                         std::chrono::seconds(10)));
  EXPECT_TRUE(held_by("b"));
  finish_and_verify();
}

TEST_F(TwoRegions, RegionCutOffFromTheLeaseStoreIsReplaced) {
  start_a_then_b();
  start_sender(1'200, 300);
  ASSERT_TRUE(eventually([&] { return effects() >= 200; }, std::chrono::seconds(60)));
  const std::string fault = lease_partition_switch_path(config_a_.data_dir);
  ASSERT_TRUE(posix_env().create_dirs(config_a_.data_dir + "/faults").ok());
  std::ofstream(fault) << "on\n";
  ASSERT_TRUE(eventually([&] { return held_by("b"); }, std::chrono::seconds(10)));
  EXPECT_EQ(lease().epoch, Epoch{2});
  std::this_thread::sleep_for(kLeaseTtl);
  std::remove(fault.c_str());  // heal: a's next renewal is refused
  // a learns it lost the lease (lease_lost); on a loaded machine its heartbeats may lapse first
  // and it steps down by itself (step_down) before the cut matters: either way it stood down.
  EXPECT_TRUE(eventually(
      [&] {
        const std::string text = alerts(config_a_);
        return text.find("\"lease_lost\"") != std::string::npos || text.find("\"step_down\"") != std::string::npos;
      },
      std::chrono::seconds(10)));
  EXPECT_TRUE(held_by("b"));
  finish_and_verify();
}

TEST_F(TwoRegions, WatchdogKilledBetweenAcquireAndAliasFlipIsResumed) {
  a_ = start("a");
  ASSERT_TRUE(eventually([&] { return held_by("a"); }, std::chrono::seconds(20)));
  b_ = start("b", {"HADR_CRASH_POINT=watchdog.after_acquire_before_alias"});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  start_sender(1'200, 300);
  ASSERT_TRUE(eventually([&] { return effects() >= 200; }, std::chrono::seconds(60)));
  ASSERT_TRUE(eventually([&] { return alias() == "primary"; }, std::chrono::seconds(5)));
  a_->send_signal(SIGKILL);
  a_.reset();
  auto died = b_->wait_for(std::chrono::seconds(10));  // b acquires epoch 2 and dies before the alias
  ASSERT_TRUE(died.has_value());
  EXPECT_EQ(died->signal, SIGKILL);
  b_.reset();
  EXPECT_EQ(alias(), "primary");
  b_ = start("b");
  ASSERT_TRUE(eventually([&] { return held_by("b") && alias() == "secondary"; }, std::chrono::seconds(10)));
  EXPECT_EQ(lease().epoch, Epoch{3});
  finish_and_verify();
}

TEST_F(TwoRegions, DyingAfterTheBackupBeforeTheAckLosesNothing) {
  a_ = start("a", {"HADR_CRASH_POINT=relay.after_backup_before_ack:3"});
  start_sender(800, 400);
  auto died = a_->wait_for(std::chrono::seconds(30));
  ASSERT_TRUE(died.has_value());
  EXPECT_EQ(died->signal, SIGKILL);
  a_ = start("a");  // the batch is in the WAL and the backup but was never acked: the source redelivers it
  // The dead process's grant (epoch 1) lives out its TTL; the new one takes the next epoch.
  ASSERT_TRUE(eventually([&] { return held_by("a") && lease().epoch == Epoch{2}; }, std::chrono::seconds(20)));
  finish_and_verify();
}

TEST_F(TwoRegions, DyingWhileReplayingLosesNothing) {
  a_ = start("a");
  ASSERT_TRUE(eventually([&] { return held_by("a"); }, std::chrono::seconds(20)));
  b_ = start("b", {"HADR_CRASH_POINT=replayer.after_publish_before_progress"});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  start_sender(1'200, 0);  // all at once: a leaves a backlog in its WAL for b to replay
  ASSERT_TRUE(eventually([&] { return effects() >= 100; }, std::chrono::seconds(60)));
  a_->send_signal(SIGKILL);
  a_.reset();
  auto died = b_->wait_for(std::chrono::seconds(15));  // b takes over and dies after its first replayed batch
  ASSERT_TRUE(died.has_value());
  EXPECT_EQ(died->signal, SIGKILL);
  b_ = start("b");
  ASSERT_TRUE(eventually([&] { return held_by("b") && alias() == "secondary"; }, std::chrono::seconds(10)));
  finish_and_verify();
}

TEST_F(TwoRegions, FailbackAfterTheDedupeTtlAppliesNothingTwice) {
  constexpr Milliseconds kRecordTtl{8'000};
  edit_configs({{"claim_ttl = \"10s\"", "claim_ttl = \"3s\""},
                {"count = 2\nlock_duration = \"5s\"", "count = 2\nlock_duration = \"2s\""},
                {"min_failover_interval = \"30s\"", "min_failover_interval = \"2s\""},
                // Only for builds before the settled floor, whose TTL rule summed these two.
                {"[replay]\n", "[replay]\nhorizon = \"1s\"\n"}},
               "[dedupe]\nrecord_ttl = \"8s\"\n[wal]\nretention = \"1s\"\n");
  start_a_then_b();
  start_sender(1'500, 0);  // all at once: a leaves a backlog in its namespace's staging and main
  ASSERT_TRUE(eventually([&] { return effects() >= 100; }, std::chrono::seconds(60)));
  // a is cut off from the lease store: it fences itself, its leftovers stay in its namespace.
  // (Not SIGSTOP: a stopped process can hold the shared SQLite files' write lock.)
  const std::string fault = lease_partition_switch_path(config_a_.data_dir);
  ASSERT_TRUE(posix_env().create_dirs(config_a_.data_dir + "/faults").ok());
  std::ofstream(fault) << "on\n";
  ASSERT_TRUE(eventually([&] { return held_by("b"); }, std::chrono::seconds(10)));
  auto sent = sender_->wait_for(std::chrono::seconds(120));
  ASSERT_TRUE(sent.has_value() && sent->exited && sent->code == 0);
  sender_.reset();
  // b replays a's backup and applies every message.
  ASSERT_TRUE(eventually([&] { return effects() >= 1'500; }, std::chrono::seconds(120))) << effects();
  // Every done mark expires while b is active (a DR outage longer than dedupe.record_ttl).
  std::this_thread::sleep_for(kRecordTtl + std::chrono::seconds(2));
  b_->send_signal(SIGKILL);
  b_.reset();
  std::remove(fault.c_str());  // a takes the lease back and drains its old namespace
  ASSERT_TRUE(eventually([&] { return held_by("a") && lease().epoch == Epoch{3}; }, std::chrono::seconds(20)));
  ASSERT_TRUE(eventually([&] { return alias() == "primary"; }, std::chrono::seconds(10)));
  start_sender(200, 0, 1'501);  // new ids: msg-1..200 were sent before and their marks expired
  finish_and_verify();
}

TEST_F(TwoRegions, FailbackAfterTheDedupeTtlWithTheCoordCheckpointLost) {
  constexpr Milliseconds kRecordTtl{8'000};
  edit_configs({{"claim_ttl = \"10s\"", "claim_ttl = \"3s\""},
                {"count = 2\nlock_duration = \"5s\"", "count = 2\nlock_duration = \"2s\""},
                {"min_failover_interval = \"30s\"", "min_failover_interval = \"2s\""}},
               "[dedupe]\nrecord_ttl = \"8s\"\n");
  start_a_then_b();
  start_sender(1'500, 0);  // all at once: a leaves a backlog in its namespace's staging and main
  ASSERT_TRUE(eventually([&] { return effects() >= 100; }, std::chrono::seconds(60)));
  const std::string fault = lease_partition_switch_path(config_a_.data_dir);
  ASSERT_TRUE(posix_env().create_dirs(config_a_.data_dir + "/faults").ok());
  std::ofstream(fault) << "on\n";
  ASSERT_TRUE(eventually([&] { return held_by("b"); }, std::chrono::seconds(10)));
  auto sent = sender_->wait_for(std::chrono::seconds(120));
  ASSERT_TRUE(sent.has_value() && sent->exited && sent->code == 0);
  sender_.reset();
  ASSERT_TRUE(eventually([&] { return effects() >= 1'500; }, std::chrono::seconds(120))) << effects();
  // Every done mark is retired and expires while b is active; b's replay wrote what it settled
  // of a's WAL into checkpoint/a (and its blob copy).
  std::this_thread::sleep_for(kRecordTtl + std::chrono::seconds(2));
  b_->send_signal(SIGKILL);
  b_.reset();
  // The coord record is lost (a Redis restart without AOF) before a comes back.
  ASSERT_TRUE(coord_->remove("checkpoint/a").ok());
  std::remove(fault.c_str());  // a takes the lease back and drains its old namespace
  ASSERT_TRUE(eventually([&] { return held_by("a"); }, std::chrono::seconds(20)));
  ASSERT_TRUE(eventually([&] { return alias() == "primary"; }, std::chrono::seconds(10)));
  start_sender(200, 0, 1'501);  // new ids: msg-1..200 were sent before and their marks expired
  finish_and_verify();
}

TEST_F(TwoRegions, LostCoordCheckpointDoesNotHaltTheSurvivor) {
  edit_configs({}, "[relay]\nretention_interval = \"200ms\"\n");
  start_a_then_b();
  start_sender(1'500, 300);
  // a's checkpoint moves and its relay deletes backup objects below it (raising the floor object).
  auto blobs = DirectoryBlobStore::open(posix_env(), config_a_.embedded.blobs_dir());
  ASSERT_TRUE(blobs.ok());
  const auto floor_raised = [&] {
    auto floor = read_backup_floor(**blobs, RegionId::parse("a").value());
    return floor.ok() && floor->value > 0;
  };
  ASSERT_TRUE(eventually([&] { return effects() >= 600 && floor_raised(); }, std::chrono::seconds(60)));
  // The coord record is lost (a Redis restart without AOF, an eviction, a store failover).
  ASSERT_TRUE(coord_->remove("checkpoint/a").ok());
  a_->send_signal(SIGKILL);
  a_.reset();
  ASSERT_TRUE(eventually([&] { return held_by("b") && alias() == "secondary"; }, std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ASSERT_FALSE(b_->wait_for(std::chrono::milliseconds(1)).has_value()) << "b halted";
  finish_and_verify();
}

}  // namespace
}  // namespace hadr
