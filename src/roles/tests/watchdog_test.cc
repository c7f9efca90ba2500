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
// Regressions of issue 12 (each failed on the code before its fix):
//   - hole 14, CoordOutageShorterThanTheTtlKeepsTheLeaseAndTheEpoch: heartbeats that lapsed only
//     because the coord store was away are no evidence of a sick region: no step-down, no new
//     epoch, no failover record;
//   - hole 15, SharedBlobStoreOutageAlertsInsteadOfSteppingDown and
//     SharedDedupeOutageAlertsInsteadOfSteppingDown: a failing call to a store both regions share
//     raises an alert and keeps the lease (the peer would fail the same way), while
//     OwnBusNamespaceFailureStillStepsDown keeps the region-local case;
//     RegionThatSteppedDownRetakesTheLeaseItsPeerGaveUp and
//     RegionWhosePeerNeverTookTheLeaseRetakesIt: anti-flap never leaves both regions passive;
//   - hole 16, StepDownAlertCarriesTheEpochItGaveUp: the alert names the released epoch, not 0.
// Found by coord_records_fuzz in CI: CoordRecordFieldsOfTheWrongTypeAreDataLossNotACrash (a
// string where an integer belongs threw nlohmann::type_error through the decoder and aborted).
#include "roles/watchdog.h"

#include <gtest/gtest.h>

#include "memory/memory_blob_store.h"
#include "memory/memory_coord.h"
#include "memory/memory_lease_store.h"
#include "roles/heartbeat.h"

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
  void raise(const Alert& alert) override {
    events.push_back(alert.event);
    alerts.push_back(alert);
  }
  bool saw(std::string_view event) const { return std::find(events.begin(), events.end(), event) != events.end(); }
  std::optional<Alert> first(std::string_view event) const {
    for (const Alert& alert : alerts) {
      if (alert.event == event) return alert;
    }
    return std::nullopt;
  }
  std::vector<std::string> events;
  std::vector<Alert> alerts;
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
  // Both of this region's store clients (one Redis holds the lease and the coord records).
  void set_store_connected(bool connected) {
    lease_store.set_connected(connected);
    coord.set_connected(connected);
  }
  // Makes role `name` fail on its last call with `last_error` ("<call>: <error>"), or heal it.
  void set_failing(std::string_view name, bool failing, std::string last_error = "") {
    for (NamedHealth& role : roles) {
      if (role.name != name) continue;
      role.health.consecutive_errors = failing ? role.health.consecutive_errors + 1 : 0;
      if (failing) {
        role.health.errors_total += 1;
        role.health.last_error = std::move(last_error);
      } else {
        role.health.progress_total += 1;
      }
      return;
    }
    roles.push_back(NamedHealth{std::string(name), RoleHealth{}});
    set_failing(name, failing, std::move(last_error));
  }
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
                         .handoff_timeout = Milliseconds(3'000),
                         .heartbeat_ttl = Milliseconds(300)};  // the heartbeat writers' interval is 100 ms
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

// F14: b took over from a; then b's link to the lease store flaps off while b itself lives on
// (its heartbeats go on). a does not take the lease back within min_failover_interval: b could
// come back any moment, and each failover costs a replay and an alias flip.
TEST_F(WatchdogFixture, AntiFlapHoldsBackASecondUnplannedFailover) {
  start_with_a_active();
  a->alive = false;
  run_until([&] { return b->phase() == WatchdogPhase::kActive; }, Milliseconds(5'000));
  ASSERT_EQ(b->phase(), WatchdogPhase::kActive);
  a = make("a", "b", "primary");  // a restarts, then b is cut off from the lease store
  run(Milliseconds(300));
  b->lease_store.set_connected(false);
  run(Milliseconds(3'000));
  EXPECT_FALSE(a->lease->holding());  // lease free, but within min_failover_interval
  run_until([&] { return a->phase() == WatchdogPhase::kActive; }, Milliseconds(5'000));
  EXPECT_EQ(a->phase(), WatchdogPhase::kActive);
}

// Hole 15: anti-flap protects against a lease bouncing between two live regions. A peer that is
// gone (no live heartbeat) cannot take the lease back, so holding back would only leave no
// region active: a takes over once b's heartbeats have expired.
TEST_F(WatchdogFixture, AntiFlapDoesNotWaitForADeadPeer) {
  start_with_a_active();
  a->alive = false;
  run_until([&] { return b->phase() == WatchdogPhase::kActive; }, Milliseconds(5'000));
  ASSERT_EQ(b->phase(), WatchdogPhase::kActive);
  a = make("a", "b", "primary");
  run(Milliseconds(300));
  b->alive = false;
  const Milliseconds took = run_until([&] { return a->phase() == WatchdogPhase::kActive; }, Milliseconds(5'000));
  EXPECT_EQ(a->phase(), WatchdogPhase::kActive);
  EXPECT_LE(took, kTtl + Milliseconds(500));
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

// Hole 14: a Redis outage (lease and coord together) shorter than the lease TTL but longer than
// the heartbeat TTL (300 ms here). Before the fix the first heartbeat read after the store came
// back found no live worker, the active region stepped down and a new epoch was granted.
TEST_F(WatchdogFixture, CoordOutageShorterThanTheTtlKeepsTheLeaseAndTheEpoch) {
  start_with_a_active();
  const Epoch before = a->lease->epoch();
  ASSERT_EQ(before, Epoch{1});
  a->set_store_connected(false);
  b->set_store_connected(false);
  run(Milliseconds(500));  // < TTL (1 s), > heartbeat TTL: every heartbeat record expires
  a->set_store_connected(true);
  b->set_store_connected(true);
  run(Milliseconds(3'000));
  EXPECT_FALSE(a->alerts.saw("step_down"));
  EXPECT_EQ(a->phase(), WatchdogPhase::kActive);
  EXPECT_EQ(b->phase(), WatchdogPhase::kStandby);
  EXPECT_EQ(a->lease->epoch(), before);
  EXPECT_EQ(last_failover().epoch, before);
  EXPECT_EQ(last_failover().kind, "initial");
}

// Hole 14, the other half: workers that are really gone while the store answers are still
// noticed (after a heartbeat TTL of answers), and the region steps down.
TEST_F(WatchdogFixture, WorkersGoneWhileTheStoreAnswersStillStepDown) {
  start_with_a_active();
  a->roles.clear();
  run_until([&] { return b->phase() == WatchdogPhase::kActive; }, Milliseconds(3'000));
  EXPECT_TRUE(a->alerts.saw("step_down"));
  EXPECT_EQ(b->phase(), WatchdogPhase::kActive);
  EXPECT_EQ(last_failover().from.str(), "a");
}

// Hole 15: the relay's sync backup fails because the blob store both regions use is down. Before
// the fix the active region stepped down after unhealthy_grace (and the peer, failing the same
// way, stepped down too).
TEST_F(WatchdogFixture, SharedBlobStoreOutageAlertsInsteadOfSteppingDown) {
  start_with_a_active();
  for (int i = 0; i < 20; ++i) {
    a->set_failing("relay", true, "relay sync backup: unavailable: blob store unreachable");
    run(Milliseconds(100));
  }
  EXPECT_FALSE(a->alerts.saw("step_down"));
  EXPECT_EQ(a->phase(), WatchdogPhase::kActive);
  EXPECT_EQ(a->lease->epoch(), Epoch{1});
  const std::optional<Alert> alert = a->alerts.first("shared_dependency_down");
  ASSERT_TRUE(alert.has_value());
  EXPECT_NE(alert->detail.find("blob"), std::string::npos) << alert->detail;
  EXPECT_EQ(alert->epoch, Epoch{1});
  a->set_failing("relay", false);
  run(Milliseconds(500));
  EXPECT_TRUE(a->alerts.saw("shared_dependency_restored"));
  EXPECT_EQ(a->phase(), WatchdogPhase::kActive);
}

// Hole 15: every worker fails to claim because the dedupe store (shared) is down.
TEST_F(WatchdogFixture, SharedDedupeOutageAlertsInsteadOfSteppingDown) {
  start_with_a_active();
  for (int i = 0; i < 20; ++i) {
    a->set_failing("worker-1", true, "worker claim: unavailable: dedupe store unreachable");
    run(Milliseconds(100));
  }
  EXPECT_FALSE(a->alerts.saw("step_down"));
  EXPECT_EQ(a->phase(), WatchdogPhase::kActive);
  EXPECT_TRUE(a->alerts.saw("shared_dependency_down"));
}

// Hole 15, the region-local case is unchanged: the relay cannot publish to its own namespace.
TEST_F(WatchdogFixture, OwnBusNamespaceFailureStillStepsDown) {
  start_with_a_active();
  for (int i = 0; i < 20 && a->phase() == WatchdogPhase::kActive; ++i) {
    a->set_failing("relay", true, "relay publish to staging: unavailable: broker down");
    run(Milliseconds(100));
  }
  EXPECT_TRUE(a->alerts.saw("step_down"));
  run_until([&] { return b->phase() == WatchdogPhase::kActive; }, Milliseconds(3'000));
  EXPECT_EQ(b->phase(), WatchdogPhase::kActive);
}

// Hole 15, anti-flap: a stepped down, b took over and then stepped down too (its own region
// broke). a is healthy again: it must take the lease back at once, not leave both regions
// passive for min_failover_interval (5 s here).
TEST_F(WatchdogFixture, RegionThatSteppedDownRetakesTheLeaseItsPeerGaveUp) {
  start_with_a_active();
  for (int i = 0; i < 20 && a->phase() == WatchdogPhase::kActive; ++i) {
    a->set_failing("worker-1", true, "worker receive from main: unavailable: broker down");
    run(Milliseconds(100));
  }
  ASSERT_TRUE(a->alerts.saw("step_down"));
  run_until([&] { return b->phase() == WatchdogPhase::kActive; }, Milliseconds(3'000));
  ASSERT_EQ(b->phase(), WatchdogPhase::kActive);
  a->set_failing("worker-1", false);  // a's reason cleared
  for (int i = 0; i < 20 && b->phase() == WatchdogPhase::kActive; ++i) {
    b->set_failing("worker-1", true, "worker receive from main: unavailable: broker down");
    run(Milliseconds(100));
  }
  ASSERT_TRUE(b->alerts.saw("step_down"));
  const Milliseconds took = run_until([&] { return a->phase() == WatchdogPhase::kActive; }, Milliseconds(5'000));
  EXPECT_EQ(a->phase(), WatchdogPhase::kActive);
  EXPECT_LT(took, Milliseconds(1'500));
  EXPECT_EQ(last_failover().from.str(), "b");
}

// Hole 15, anti-flap: a took over from a dead b, then stepped down for a reason that cleared;
// b never came back. a must take the lease back rather than wait out min_failover_interval.
TEST_F(WatchdogFixture, RegionWhosePeerNeverTookTheLeaseRetakesIt) {
  start_with_a_active();
  a->alive = false;
  run_until([&] { return b->phase() == WatchdogPhase::kActive; }, Milliseconds(5'000));
  ASSERT_EQ(last_failover().kind, "failover");
  for (int i = 0; i < 20 && b->phase() == WatchdogPhase::kActive; ++i) {
    b->set_failing("worker-1", true, "worker receive from main: unavailable: broker down");
    run(Milliseconds(100));
  }
  ASSERT_TRUE(b->alerts.saw("step_down"));
  b->set_failing("worker-1", false);
  const Milliseconds took = run_until([&] { return b->phase() == WatchdogPhase::kActive; }, Milliseconds(5'000));
  EXPECT_EQ(b->phase(), WatchdogPhase::kActive);
  EXPECT_LT(took, Milliseconds(1'500));
  EXPECT_EQ(last_failover().from.str(), "b");  // it took the lease back from itself
}

// Hole 16: the step_down alert names the epoch that was released (it said 0).
TEST_F(WatchdogFixture, StepDownAlertCarriesTheEpochItGaveUp) {
  start_with_a_active();
  for (int i = 0; i < 20 && a->phase() == WatchdogPhase::kActive; ++i) {
    a->set_failing("worker-1", true, "worker receive from main: unavailable: broker down");
    run(Milliseconds(100));
  }
  const std::optional<Alert> alert = a->alerts.first("step_down");
  ASSERT_TRUE(alert.has_value());
  EXPECT_EQ(alert->epoch, Epoch{1});
}

// Hole 15: the calls of every role are charged to the dependency they use; unknown calls are
// region-local (the conservative answer: they may still make the region step down).
TEST(HeartbeatTest, FailingDependencyTellsSharedStoresFromRegionLocalOnes) {
  const std::pair<std::string_view, Dependency> cases[] = {
      {"relay sync backup: unavailable: x", Dependency::kBlobStore},
      {"backup ship: unavailable: x", Dependency::kBlobStore},
      {"relay receive: unavailable: x", Dependency::kSource},
      {"relay ack: unavailable: x", Dependency::kSource},
      {"worker claim: unavailable: x", Dependency::kDedupe},
      {"worker claim extension: unavailable: x", Dependency::kDedupe},
      {"checkpointer coord put: unavailable: x", Dependency::kCoord},
      {"lease renew: unavailable: x", Dependency::kLease},
      {"relay publish to staging: unavailable: x", Dependency::kBus},
      {"promoter send to main: unavailable: x", Dependency::kBus},
      {"worker receive from main: unavailable: x", Dependency::kBus},
      {"relay wal append: data_loss: x", Dependency::kDisk},
      {"something new: unavailable: x", Dependency::kUnknown},
  };
  for (const auto& [error, dependency] : cases) EXPECT_EQ(failing_dependency(error), dependency) << error;
  EXPECT_TRUE(is_shared(Dependency::kBlobStore));
  EXPECT_TRUE(is_shared(Dependency::kDedupe));
  EXPECT_FALSE(is_shared(Dependency::kBus));
  EXPECT_FALSE(is_shared(Dependency::kUnknown));
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

TEST(CoordRecordDecoding, CoordRecordFieldsOfTheWrongTypeAreDataLossNotACrash) {
  // The fuzzer's reproducer, then one wrong type per integer width and for strings.
  const auto failover = decode_failover_record(R"({"epoch":"%","to":"bpleted"})");
  ASSERT_FALSE(failover.ok());
  EXPECT_EQ(failover.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(failover.error().detail.find("field epoch"), std::string::npos) << failover.error().detail;
  EXPECT_FALSE(decode_failover_record(R"({"to":"b","epoch":-3})").ok());
  EXPECT_FALSE(decode_failover_record(R"({"to":"b","epoch":1.5})").ok());
  EXPECT_FALSE(decode_failover_record(R"({"to":"b","acquired_at_ms":18446744073709551615})").ok());
  EXPECT_FALSE(decode_failover_record(R"({"to":"b","phase":7})").ok());
  EXPECT_FALSE(decode_failover_record(R"({"to":7})").ok());
  EXPECT_FALSE(decode_switchover_request(R"({"to":"b","requested_at_ms":"soon"})").ok());
  EXPECT_FALSE(decode_handoff(R"({"from":"a","to":"b","epoch":[1]})").ok());
  EXPECT_FALSE(decode_heartbeat(CoordRecord{.key = "heartbeat/a/n",
                                            .value = R"({"region":"a","roles":[{"name":"w","lag":"x"}]})"})
                   .ok());
  // Missing and null fields still read as their defaults: older writers omit them.
  const auto minimal = decode_failover_record(R"({"to":"b","epoch":4,"phase":null})");
  ASSERT_TRUE(minimal.ok()) << minimal.error().to_string();
  EXPECT_EQ(minimal->epoch.value, 4u);
  EXPECT_EQ(minimal->phase, "");
  EXPECT_EQ(minimal->alias_at_ms, 0);
}

}  // namespace
}  // namespace hadr
