// Proves the watchdog's failover protocol (docs/failover.md) for two regions on the in-memory
// lease store and coord with one manual clock, stepping both regions' lease managers,
// heartbeat writers and watchdogs in turn every 10 ms:
//   - exactly one region becomes active; the alias, the failover record and intake follow it;
//   - a dead active region is replaced within ttl + a check interval, and the new one replays
//     the dead one's WAL (F1/F2 of RELIABILITY.md at the protocol level);
//   - a region cut off from the lease store fences itself before the peer takes over: at no
//     tick are both regions writable (F13);
//   - a region whose workers fail steps down; one without workers never takes over;
//   - anti-flap holds back a second unplanned failover; a planned switchover drains, seals and
//     hands over, or is abandoned after the drain timeout;
//   - an epoch that goes backwards halts the watchdog with a critical alert (F14);
//   - dying between acquire and alias flip leaves the alias to the next holder (F15);
//   - the external hook runs on takeover, and its failure alerts without stopping the takeover.
#include "roles/watchdog.h"

#include <gtest/gtest.h>

#include "memory/memory_blob_store.h"
#include "memory/memory_coord.h"
#include "memory/memory_lease_store.h"

namespace hadr {
namespace {

constexpr Milliseconds kTtl{1'000};
constexpr Milliseconds kTick{10};

class FakeControl final : public RegionControl {
 public:
  void set_intake_open(bool open) override { intake_open = open; }
  void begin_replay(const RegionId& from) override { replays.push_back(from.str()); }
  Result<bool> drained() override { return is_drained; }
  Result<bool> seal_wal(Epoch epoch) override {
    sealed_epoch = epoch;
    return true;
  }
  bool intake_open = false;
  bool is_drained = true;
  std::vector<std::string> replays;
  Epoch sealed_epoch;
};

class RecordingAlerts final : public AlertSink {
 public:
  void raise(const Alert& alert) override { events.push_back(alert.event); }
  bool saw(std::string_view event) const { return std::find(events.begin(), events.end(), event) != events.end(); }
  std::vector<std::string> events;
};

class FakeHook final : public ExternalHook {
 public:
  bool configured() const override { return enabled; }
  Status start(const RegionId& region, Epoch) override {
    started.push_back(region.str());
    polls_left = 3;
    return Status();
  }
  std::optional<Status> poll() override {
    if (polls_left-- > 0) return std::nullopt;
    if (fail) return Status(unavailable("hook exited with status 1"));
    return Status();
  }
  bool enabled = false;
  bool fail = false;
  int polls_left = 0;
  std::vector<std::string> started;
};

class RecordingCrashPoints final : public CrashPoints {
 public:
  void hit(std::string_view point) override {
    if (point == armed) crashed = true;
  }
  std::string armed;
  bool crashed = false;
};

// One region: its clients, lease manager, heartbeat writer and watchdog.
struct Region {
  Region(std::string name, std::string peer_name, std::string bus_namespace, ManualClock& clock,
         MemoryLeaseServer& lease_server, MemoryCoordServer& coord_server, MemoryBlobServer& blob_server,
         WatchdogOptions extra)
      : lease_store(lease_server), coord(coord_server), witness(blob_server) {
    id = *RegionId::parse(name);
    lease = std::move(LeaseManager::create(lease_store, clock, LeaseOptions{.holder = name, .ttl = kTtl})).value();
    heartbeat = std::move(HeartbeatWriter::create(
                              coord, clock, [this] { return roles; },
                              HeartbeatOptions{.region = id, .process = "node", .interval = Milliseconds(100)}))
                    .value();
    extra.region = id;
    extra.peer = *RegionId::parse(peer_name);
    extra.bus_namespace = std::move(bus_namespace);
    watchdog = std::move(Watchdog::create(WatchdogDependencies{.lease = *lease,
                                                               .lease_store = lease_store,
                                                               .coord = coord,
                                                               .control = control,
                                                               .alerts = alerts,
                                                               .hook = hook,
                                                               .clock = clock,
                                                               .crash_points = crash_points,
                                                               .witness = &witness},
                                          extra))
                   .value();
  }
  void step() {
    if (!alive) return;
    ASSERT_TRUE(lease->step().ok());
    ASSERT_TRUE(heartbeat->step().ok());
    ASSERT_TRUE(watchdog->step().ok());
    if (crash_points.crashed) alive = false;  // the process died right there
  }
  bool writable() const { return alive && lease->writable_epoch().has_value(); }
  WatchdogPhase phase() const { return watchdog->status().phase; }

  RegionId id;
  MemoryLeaseStore lease_store;
  MemoryCoord coord;
  MemoryBlobStore witness;  // the blob store: out of reach of a lease/coord rollback
  FakeControl control;
  RecordingAlerts alerts;
  FakeHook hook;
  RecordingCrashPoints crash_points;
  std::vector<NamedHealth> roles{{"worker-1", RoleHealth{}}};
  std::unique_ptr<LeaseManager> lease;
  std::unique_ptr<HeartbeatWriter> heartbeat;
  std::unique_ptr<Watchdog> watchdog;
  bool alive = true;
};

WatchdogOptions default_options() {
  return WatchdogOptions{.check_interval = Milliseconds(50),
                         .min_failover_interval = Milliseconds(5'000),
                         .unhealthy_grace = Milliseconds(500),
                         .drain_timeout = Milliseconds(2'000),
                         .handoff_timeout = Milliseconds(3'000)};
}

struct WatchdogFixture : ::testing::Test {
  ManualClock clock;
  MemoryLeaseServer lease_server{clock};
  MemoryCoordServer coord_server{clock};
  MemoryBlobServer blob_server;
  std::unique_ptr<Region> a = make("a", "b", "primary");
  std::unique_ptr<Region> b = make("b", "a", "secondary");

  std::unique_ptr<Region> make(std::string name, std::string peer, std::string bus_namespace,
                               WatchdogOptions options = default_options()) {
    return std::make_unique<Region>(std::move(name), std::move(peer), std::move(bus_namespace), clock, lease_server,
                                    coord_server, blob_server, options);
  }
  // Steps both regions every tick; asserts the one-writer rule at every tick.
  void run(Milliseconds duration) {
    for (Milliseconds elapsed{0}; elapsed < duration; elapsed += kTick) {
      a->step();
      b->step();
      ASSERT_FALSE(a->writable() && b->writable()) << "both regions writable at once";
      clock.advance(kTick);
    }
  }
  // Runs until `done` or `limit`; returns the time it took.
  Milliseconds run_until(const std::function<bool()>& done, Milliseconds limit) {
    Milliseconds elapsed{0};
    while (!done() && elapsed < limit) {
      run(kTick);
      elapsed += kTick;
    }
    return elapsed;
  }
  std::string alias() {
    auto record = coord_server.get(kAliasCoordKey);
    EXPECT_TRUE(record.ok());
    return record.ok() && record->has_value() ? (*record)->value : "";
  }
  FailoverRecord last_failover() {
    auto record = coord_server.get(kFailoverCoordKey);
    EXPECT_TRUE(record.ok() && record->has_value());
    return *decode_failover_record((*record)->value);
  }
  // a becomes active first (b starts later).
  void start_with_a_active() {
    b->alive = false;
    run_until([&] { return a->phase() == WatchdogPhase::kActive; }, Milliseconds(2'000));
    ASSERT_EQ(a->phase(), WatchdogPhase::kActive);
    b->alive = true;
    run(Milliseconds(300));
  }
};

TEST_F(WatchdogFixture, ExactlyOneRegionBecomesActiveAndTheAliasFollowsIt) {
  run(Milliseconds(2'000));
  const bool a_active = a->phase() == WatchdogPhase::kActive;
  const bool b_active = b->phase() == WatchdogPhase::kActive;
  ASSERT_NE(a_active, b_active);
  Region& active = a_active ? *a : *b;
  Region& standby = a_active ? *b : *a;
  EXPECT_EQ(alias(), a_active ? "primary" : "secondary");
  EXPECT_TRUE(active.control.intake_open);
  EXPECT_FALSE(standby.control.intake_open);
  // The peer's WAL is always replayed on takeover (here its backup is empty: a no-op).
  EXPECT_EQ(active.control.replays, std::vector<std::string>{standby.id.str()});
  EXPECT_EQ(last_failover().kind, "initial");
  EXPECT_EQ(standby.phase(), WatchdogPhase::kStandby);
}

TEST_F(WatchdogFixture, DeadActiveRegionIsReplacedWithinTheTtlAndReplayed) {
  start_with_a_active();
  a->alive = false;  // SIGKILL: no renew, no heartbeat
  const Milliseconds took = run_until([&] { return b->phase() == WatchdogPhase::kActive; }, Milliseconds(5'000));
  EXPECT_EQ(b->phase(), WatchdogPhase::kActive);
  EXPECT_LE(took, kTtl + Milliseconds(200));
  EXPECT_EQ(alias(), "secondary");
  EXPECT_EQ(b->control.replays, std::vector<std::string>{"a"});
  EXPECT_TRUE(b->control.intake_open);
  const FailoverRecord record = last_failover();
  EXPECT_EQ(record.kind, "failover");
  EXPECT_EQ(record.from.str(), "a");
  EXPECT_EQ(record.epoch, Epoch{2});
  EXPECT_EQ(record.phase, "completed");
  EXPECT_TRUE(b->alerts.saw("failover_completed"));
}

TEST_F(WatchdogFixture, CutOffRegionFencesItselfBeforeThePeerTakesOver) {
  start_with_a_active();
  a->lease_store.set_connected(false);  // partition between a and the lease store only
  run_until([&] { return b->phase() == WatchdogPhase::kActive; }, Milliseconds(5'000));  // run() checks one writer
  ASSERT_EQ(b->phase(), WatchdogPhase::kActive);
  EXPECT_FALSE(a->writable());
  a->lease_store.set_connected(true);
  run(Milliseconds(1'000));
  EXPECT_EQ(a->phase(), WatchdogPhase::kStandby);
  EXPECT_TRUE(a->alerts.saw("lease_lost"));
  EXPECT_FALSE(a->control.intake_open);
  EXPECT_EQ(b->phase(), WatchdogPhase::kActive);
}

TEST_F(WatchdogFixture, RegionWhoseWorkersFailStepsDownAndThePeerTakesOver) {
  start_with_a_active();
  for (int i = 0; i < 20 && a->phase() == WatchdogPhase::kActive; ++i) {
    a->roles[0].health.errors_total += 5;  // errors grow, progress does not
    run(Milliseconds(100));
  }
  EXPECT_TRUE(a->alerts.saw("step_down"));
  run_until([&] { return b->phase() == WatchdogPhase::kActive; }, Milliseconds(3'000));
  EXPECT_EQ(b->phase(), WatchdogPhase::kActive);
  EXPECT_EQ(a->phase(), WatchdogPhase::kStandby);
}

TEST_F(WatchdogFixture, RegionWithoutWorkersNeverTakesOver) {
  a->roles.clear();
  b->alive = false;
  run(Milliseconds(3'000));
  EXPECT_EQ(a->phase(), WatchdogPhase::kStandby);
  EXPECT_FALSE(a->lease->holding());
  EXPECT_NE(a->watchdog->status().health_reason.find("no live worker"), std::string::npos);
}

TEST_F(WatchdogFixture, AntiFlapHoldsBackASecondUnplannedFailover) {
  start_with_a_active();
  a->alive = false;
  run_until([&] { return b->phase() == WatchdogPhase::kActive; }, Milliseconds(5'000));
  ASSERT_EQ(b->phase(), WatchdogPhase::kActive);
  a = make("a", "b", "primary");  // a restarts, then b dies at once
  run(Milliseconds(300));
  b->alive = false;
  run(Milliseconds(3'000));
  EXPECT_FALSE(a->lease->holding());  // lease free, but within min_failover_interval
  run_until([&] { return a->phase() == WatchdogPhase::kActive; }, Milliseconds(5'000));
  EXPECT_EQ(a->phase(), WatchdogPhase::kActive);
}

TEST_F(WatchdogFixture, SwitchoverDrainsSealsAndHandsOver) {
  start_with_a_active();
  a->control.is_drained = false;
  ASSERT_TRUE(coord_server
                  .put(CoordPut{.key = std::string(kSwitchoverRequestCoordKey),
                                .value = encode_switchover_request(SwitchoverRequest{.to = b->id})})
                  .ok());
  run(Milliseconds(300));
  EXPECT_EQ(a->phase(), WatchdogPhase::kHandingOver);
  EXPECT_FALSE(a->control.intake_open);
  EXPECT_TRUE(a->lease->holding());  // waits for the drain
  a->control.is_drained = true;
  run_until([&] { return b->phase() == WatchdogPhase::kActive; }, Milliseconds(2'000));
  EXPECT_EQ(b->phase(), WatchdogPhase::kActive);
  EXPECT_EQ(a->control.sealed_epoch, Epoch{1});
  EXPECT_EQ(last_failover().kind, "switchover");
  EXPECT_EQ(b->control.replays, std::vector<std::string>{"a"});
  EXPECT_EQ(alias(), "secondary");
  auto request = coord_server.get(kSwitchoverRequestCoordKey);
  ASSERT_TRUE(request.ok());
  EXPECT_FALSE(request->has_value());
  run(Milliseconds(2'000));
  EXPECT_EQ(a->phase(), WatchdogPhase::kStandby);
}

TEST_F(WatchdogFixture, SwitchoverThatCannotDrainIsAbandoned) {
  start_with_a_active();
  a->control.is_drained = false;
  ASSERT_TRUE(coord_server
                  .put(CoordPut{.key = std::string(kSwitchoverRequestCoordKey),
                                .value = encode_switchover_request(SwitchoverRequest{.to = b->id})})
                  .ok());
  run(Milliseconds(3'000));
  EXPECT_TRUE(a->alerts.saw("switchover_abandoned"));
  EXPECT_EQ(a->phase(), WatchdogPhase::kActive);
  EXPECT_TRUE(a->control.intake_open);
  EXPECT_EQ(b->phase(), WatchdogPhase::kStandby);
}

TEST_F(WatchdogFixture, EpochRegressionHaltsWithACriticalAlert) {
  const auto empty = lease_server.snapshot();
  start_with_a_active();
  a->alive = false;
  run_until([&] { return b->phase() == WatchdogPhase::kActive; }, Milliseconds(5'000));
  ASSERT_EQ(b->phase(), WatchdogPhase::kActive);  // alias written under epoch 2
  b->alive = false;
  lease_server.restore(empty);  // the store restarts from an old snapshot: epoch counter back to 0
  a = make("a", "b", "primary", WatchdogOptions{default_options()});
  run(Milliseconds(7'000));
  EXPECT_EQ(a->phase(), WatchdogPhase::kHalted);
  EXPECT_TRUE(a->alerts.saw("epoch_regression"));
  EXPECT_FALSE(a->lease->holding());
  EXPECT_FALSE(a->control.intake_open);
  EXPECT_EQ(alias(), "secondary");  // never overwritten by the regressed epoch
}

TEST_F(WatchdogFixture, AWholeStoreRollbackIsCaughtByTheBlobWitness) {
  // Issue 12 hole 3: the lease store, Coord (and the dedupe store) are one Redis in production
  // and go back together. Without a witness outside that store, the regressed grant (epoch 1
  // again) passes every check and writes under an epoch that b already wrote under.
  const auto empty_lease = lease_server.snapshot();
  const auto empty_coord = coord_server.snapshot();
  start_with_a_active();
  a->alive = false;
  run_until([&] { return b->phase() == WatchdogPhase::kActive; }, Milliseconds(5'000));
  ASSERT_EQ(b->phase(), WatchdogPhase::kActive);  // epoch 2, witnessed in the blob store
  b->alive = false;
  lease_server.restore(empty_lease);
  coord_server.restore(empty_coord);
  a = make("a", "b", "primary", WatchdogOptions{default_options()});
  run(Milliseconds(7'000));
  EXPECT_EQ(a->phase(), WatchdogPhase::kHalted);
  EXPECT_TRUE(a->alerts.saw("epoch_regression"));
  EXPECT_FALSE(a->lease->confirmed());
  EXPECT_FALSE(a->control.intake_open);
}

TEST_F(WatchdogFixture, AStoreThatLostItsStateFailsClosed) {
  // Issue 12 hole 12: the shared store restarted empty but its epoch counter was raised (as the
  // old alert advised). The grant is above every witnessed epoch, yet done marks, floors and the
  // ledger may be gone: the watchdog must not open the fence.
  const auto empty_coord = coord_server.snapshot();
  start_with_a_active();
  a->alive = false;
  b->alive = false;
  coord_server.restore(empty_coord);  // store/incarnation, alias, checkpoints: gone
  a = make("a", "b", "primary", WatchdogOptions{default_options()});
  run(Milliseconds(7'000));
  EXPECT_EQ(a->phase(), WatchdogPhase::kHalted);
  EXPECT_TRUE(a->alerts.saw("store_state_lost"));
  EXPECT_FALSE(a->control.intake_open);
}

TEST_F(WatchdogFixture, DyingBetweenAcquireAndAliasFlipLeavesTheAliasToTheNextHolder) {
  b->alive = false;
  a->crash_points.armed = "watchdog.after_acquire_before_alias";
  run(Milliseconds(500));
  ASSERT_TRUE(a->crash_points.crashed);
  EXPECT_EQ(alias(), "");
  b->alive = true;
  run_until([&] { return b->phase() == WatchdogPhase::kActive; }, Milliseconds(5'000));
  EXPECT_EQ(b->phase(), WatchdogPhase::kActive);
  EXPECT_EQ(alias(), "secondary");
  EXPECT_EQ(last_failover().epoch, Epoch{2});
}

TEST_F(WatchdogFixture, RestartedAfterDyingMidTakeoverItStillReplaysThePeer) {
  start_with_a_active();
  b->crash_points.armed = "watchdog.after_acquire_before_alias";
  a->alive = false;
  run_until([&] { return b->crash_points.crashed; }, Milliseconds(5'000));
  ASSERT_TRUE(b->crash_points.crashed);
  EXPECT_TRUE(b->control.replays.empty());
  b = make("b", "a", "secondary");  // a fresh process; the last holder it sees is its dead self
  run_until([&] { return b->phase() == WatchdogPhase::kActive; }, Milliseconds(5'000));
  ASSERT_EQ(b->phase(), WatchdogPhase::kActive);
  EXPECT_EQ(last_failover().epoch, Epoch{3});
  EXPECT_EQ(b->control.replays, std::vector<std::string>{"a"});
  EXPECT_EQ(alias(), "secondary");
}

TEST_F(WatchdogFixture, HookRunsOnFailoverAndItsFailureOnlyAlerts) {
  start_with_a_active();
  b->hook.enabled = true;
  b->hook.fail = true;
  a->alive = false;
  run_until([&] { return b->phase() == WatchdogPhase::kActive; }, Milliseconds(5'000));
  EXPECT_EQ(b->phase(), WatchdogPhase::kActive);
  EXPECT_EQ(b->hook.started, std::vector<std::string>{"b"});
  EXPECT_TRUE(b->alerts.saw("hook_failed"));
  EXPECT_EQ(alias(), "secondary");
}

TEST_F(WatchdogFixture, BadOptionsNameTheKey) {
  auto options = default_options();
  options.check_interval = Milliseconds(1);
  EXPECT_FALSE(options.validate().ok());
  options = default_options();
  options.region = *RegionId::parse("a");
  options.peer = *RegionId::parse("a");
  options.bus_namespace = "primary";
  auto status = options.validate();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().detail.find("region.peer"), std::string::npos);
}

}  // namespace
}  // namespace hadr
