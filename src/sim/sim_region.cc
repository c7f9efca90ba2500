#include "sim/sim_region.h"

#include <vector>

#include "core/random.h"
#include "roles/checkpointer.h"
#include "roles/heartbeat.h"
#include "roles/lease_manager.h"
#include "roles/promoter.h"
#include "roles/relay.h"
#include "roles/replayer.h"
#include "roles/wal_backup.h"
#include "roles/wal_backup_source.h"
#include "roles/worker.h"
#include "sim/sim_adapters.h"
#include "wal/checkpoint_file.h"
#include "wal/segment_scan.h"
#include "wal/wal.h"

namespace hadr::sim {
namespace {

constexpr std::string_view kWalDir = "/wal";
// The simulated process's name in heartbeats and worker owners ("a/node-1").
constexpr std::string_view kProcessName = "node";
constexpr std::size_t kPrefixRecordsMax = 1'000'000;

template <typename T>
T take(Result<T> result, const char* what) {
  HADR_ASSERT_MSG(result.ok(), "simulation wiring: %s: %s", what, result.ok() ? "" : result.error().to_string().c_str());
  return std::move(result).value();
}

RegionId region_id(std::string_view name) { return take(RegionId::parse(name), "region id"); }

void mix(std::uint64_t& digest, std::string_view text) {
  for (unsigned char byte : text) {
    digest ^= byte;
    digest *= 0x100000001b3ULL;
  }
}

}  // namespace

struct SimRegion::Process {
  explicit Process(SimWorld& world) : crash_points(world) {}

  SimCrashPoints crash_points;
  std::vector<MemoryClient*> clients;  // every client, to cut the process off at a crash
  bool step_failed = false;

  // Lease side (the runtime's lease thread).
  std::unique_ptr<HalfSpeedClock> lease_clock;  // broken variant renew_without_deadline only
  std::unique_ptr<MemoryLeaseStore> lease_store;
  std::unique_ptr<MemoryCoord> lease_coord_client;
  std::unique_ptr<SimCoord> lease_coord;
  std::unique_ptr<MemoryBus> lease_bus;
  std::unique_ptr<LeaseManager> lease;
  std::unique_ptr<GatedFence> intake;
  std::unique_ptr<UngatedFence> ungated;  // broken variant relay_ignores_intake_gate only
  // Control side (the runtime's control thread).
  std::unique_ptr<MemorySource> source_client;
  std::unique_ptr<SimSource> source;
  std::unique_ptr<MemoryBus> control_bus_client;
  std::unique_ptr<SimBus> control_bus;
  std::unique_ptr<MemoryDedupeStore> dedupe;
  std::unique_ptr<MemoryCoord> coord_client;
  std::unique_ptr<SimCoord> coord;             // replayer and watchdog epoch checks
  std::unique_ptr<SimCoord> checkpoint_coord;  // the checkpointer's (broken checkpoint variant)
  std::unique_ptr<MemoryBlobStore> blobs;
  std::unique_ptr<Wal> wal;
  std::unique_ptr<WalShipper> shipper;
  // Workers, each with its own clients.
  std::vector<std::unique_ptr<MemoryBus>> worker_bus_clients;
  std::vector<std::unique_ptr<SimBus>> worker_buses;
  std::vector<std::unique_ptr<MemoryDedupeStore>> worker_dedupe_clients;
  std::vector<std::unique_ptr<SimDedupe>> worker_dedupes;
  std::vector<std::unique_ptr<MemoryDedupeStore>> handler_dedupes;
  std::vector<std::unique_ptr<MemoryCoord>> worker_coords;  // settled floors
  std::vector<std::unique_ptr<SimHandler>> handlers;
  std::unique_ptr<SimAlerts> alerts;
  NoHook hook;
  std::unique_ptr<SimControl> control;
  // Roles last: they borrow everything above and are destroyed first.
  std::unique_ptr<Relay> relay;
  std::unique_ptr<Promoter> promoter;
  std::unique_ptr<Checkpointer> checkpointer;
  std::unique_ptr<Replayer> replayer;
  std::unique_ptr<WalBackup> backup;  // ships in async mode; repairs lost objects in both
  std::vector<std::unique_ptr<Worker>> workers;
  std::unique_ptr<HeartbeatWriter> heartbeat;
  std::unique_ptr<Watchdog> watchdog;

  template <typename Client>
  Client& add(std::unique_ptr<Client>& slot, std::unique_ptr<Client> client) {
    // A replaced client (a restarted worker's) leaves the list before it is destroyed.
    if (slot != nullptr) std::erase(clients, static_cast<MemoryClient*>(slot.get()));
    clients.push_back(client.get());
    slot = std::move(client);
    return *slot;
  }
  void disconnect() {
    for (MemoryClient* client : clients) client->set_connected(false);
  }
  // The roles in their stepping slots: lease side, control side, workers.
  std::vector<std::pair<std::string, Role*>> roles() const {
    std::vector<std::pair<std::string, Role*>> list = {
        {"lease", lease.get()},       {"heartbeat", heartbeat.get()}, {"watchdog", watchdog.get()},
        {"relay", relay.get()},       {"promoter", promoter.get()},   {"checkpointer", checkpointer.get()},
        {"replayer", replayer.get()}};
    for (std::size_t i = 0; i < workers.size(); ++i) list.emplace_back("worker-" + std::to_string(i + 1), workers[i].get());
    if (backup != nullptr) list.emplace_back("backup", backup.get());
    return list;
  }
};

SimRegion::SimRegion(SimWorld& world, RegionSpec spec, std::bitset<kSimFaultCount> enabled_faults, bool async_backup)
    : world_(world), spec_(std::move(spec)), enabled_faults_(enabled_faults), async_backup_(async_backup),
      crash_random_(world.random.fork()) {
  HADR_ASSERT(spec_.bus_server != nullptr);
  HADR_ASSERT(spec_.name != spec_.peer);
  env.set_sync_hook([this](const std::string& path) -> Status {
    // A dead process writes nothing durable; an injected EIO fails exactly one sync.
    if (process_ != nullptr && process_->crash_points.crashed()) return data_loss("the process crashed");
    if (!fail_next_sync_ || !world_.faults_active()) return ok_status();
    fail_next_sync_ = false;
    injected_sync_failure_ = true;
    world_.note("fault: fsync of " + path + " in region " + spec_.name + " fails (EIO)");
    return unavailable("injected EIO on fsync of " + path);
  });
}

SimRegion::~SimRegion() {
  process_.reset();
  env.set_sync_hook({});
}

void SimRegion::open_lease_side(Process& p) {
  p.add(p.lease_store, std::make_unique<MemoryLeaseStore>(world_.lease_server, &world_.faults));
  p.add(p.lease_coord_client, std::make_unique<MemoryCoord>(world_.coord_server, &world_.faults));
  p.lease_coord = std::make_unique<SimCoord>(*p.lease_coord_client, world_, spec_.name, "watchdog", nullptr);
  p.add(p.lease_bus, std::make_unique<MemoryBus>(*spec_.bus_server, &world_.faults));
  // BROKEN variant renew_without_deadline: the manager's deadline runs on a half-speed clock.
  const Clock* lease_clock = &clock;
  if (world_.options.broken == BrokenVariant::kRenewWithoutDeadline) {
    p.lease_clock = std::make_unique<HalfSpeedClock>(clock);
    lease_clock = p.lease_clock.get();
  }
  p.lease = take(LeaseManager::create(*p.lease_store, *lease_clock,
                                      LeaseOptions{.holder = spec_.name, .ttl = SimTimings::kLeaseTtl,
                                                   .backoff = {.initial = Milliseconds(20), .max = Milliseconds(200)}}),
                 "lease manager");
  p.intake = std::make_unique<GatedFence>(*p.lease, /*open=*/false);
}

Status SimRegion::open_control_side(Process& p) {
  const bool broken_ack = world_.options.broken == BrokenVariant::kAckBeforeFsync;
  p.add(p.source_client, take(MemorySource::open(world_.source_server, spec_.name + "/relay",
                                                 SimTimings::kSourceVisibility, &world_.faults),
                              "source"));
  // BROKEN variant relay_ignores_intake_gate: the relay writes as soon as the lease is granted.
  if (world_.options.broken == BrokenVariant::kRelayIgnoresIntakeGate) p.ungated = std::make_unique<UngatedFence>(*p.lease);
  const RegionFence& relay_fence = p.ungated != nullptr ? static_cast<const RegionFence&>(*p.ungated) : *p.intake;
  p.source = std::make_unique<SimSource>(*p.source_client, world_, spec_.name, relay_fence, broken_ack);
  p.add(p.control_bus_client, std::make_unique<MemoryBus>(*spec_.bus_server, &world_.faults));
  // The promoter sends to main through this client: the broken "staging completed before main"
  // variant lives here.
  p.control_bus = std::make_unique<SimBus>(*p.control_bus_client, *spec_.bus_server, world_, spec_.name, *p.lease,
                                           world_.options.broken == BrokenVariant::kStagingCompletedBeforeMain);
  p.add(p.dedupe, std::make_unique<MemoryDedupeStore>(world_.dedupe_server, &world_.faults));
  p.add(p.coord_client, std::make_unique<MemoryCoord>(world_.coord_server, &world_.faults));
  p.coord = std::make_unique<SimCoord>(*p.coord_client, world_, spec_.name, "replayer", nullptr);
  p.add(p.blobs, std::make_unique<MemoryBlobStore>(world_.blob_server, &world_.faults));
  RecoveryReport report;
  // As RegionNode opens it: the blob backup is the acknowledged floor's third witness and the
  // source of records a damaged log lost (issue 12 holes 5, 10).
  BlobWalBackupSource backup_source(*p.blobs, region_id(spec_.name));
  // A log created here takes an incarnation derived from the seed, the region and how many
  // times this region opened a log (no draw from the run's Random: the fault stream stays as is).
  ++wal_opens_;
  std::uint64_t name_hash = 0;
  for (const char c : spec_.name) name_hash = name_hash * 131 + static_cast<unsigned char>(c);
  const std::uint64_t incarnation =
      Random(world_.options.seed ^ (name_hash << 32) ^ (wal_opens_ << 48)).next_u64() | 1;
  Result<std::unique_ptr<Wal>> wal = Wal::open(
      env, std::string(kWalDir),
      WalOptions{.segment_bytes_max = 4096, .record_bytes_max = 1024, .new_incarnation = incarnation,
                 .backup_holds_every_ack = !async_backup_},
      &report,
      &backup_source);
  if (!wal.ok()) return std::move(wal).take_error();
  p.wal = std::move(wal).value();
  if (prefix_before_crash_) check_recovery(*prefix_before_crash_, report, *p.wal);
  prefix_before_crash_.reset();
  const RegionId region = region_id(spec_.name);
  appends_recorded_through_ = p.wal->durable_lsn().value;
  Wal* wal_raw = p.wal.get();
  p.checkpoint_coord = std::make_unique<SimCoord>(
      *p.coord_client, world_, spec_.name, "checkpointer",
      world_.options.broken == BrokenVariant::kCheckpointPastUnsettled
          ? std::function<std::uint64_t()>([wal_raw] { return wal_raw->durable_lsn().value; })
          : std::function<std::uint64_t()>());
  p.shipper = take(WalShipper::create({.wal = *p.wal, .blobs = *p.blobs},
                                      WalBackupOptions{.region = region, .chunk_records_max = 16,
                                                       .repair_interval = Milliseconds(1'000)}),
                   "shipper");
  RelayDependencies relay_dependencies{.source = *p.source, .wal = *p.wal, .env = env, .bus = *p.control_bus,
                                       .dedupe = *p.dedupe, .fence = relay_fence, .clock = clock,
                                       .crash_points = p.crash_points, .coord = p.coord.get()};
  RelayOptions relay_options{.region = region, .batch_max = 8, .in_flight_max = 64, .recovery_chunk_max = 32,
                             .retention_interval = Milliseconds(1'000),
                             .backoff = {.initial = Milliseconds(10), .max = Milliseconds(200)},
                             .record_ttl = world_.record_ttl};
  if (async_backup_) {
    relay_dependencies.backup_async = p.shipper.get();
    relay_options.backup_lag_max = kAsyncBackupLagMax;
  } else {
    relay_dependencies.backup_sync = p.shipper.get();
  }
  // Both modes: async ships with it; in sync mode it only repairs lost backup objects (hole 13).
  p.backup = take(WalBackup::create(WalBackupDependencies{*p.shipper, *p.wal, clock, async_backup_, &env}), "backup");
  p.relay = take(Relay::create(relay_dependencies, relay_options), "relay");
  p.promoter = take(Promoter::create({.bus = *p.control_bus, .fence = *p.lease, .clock = clock,
                                      .crash_points = p.crash_points},
                                     PromoterOptions{.batch_max = 8, .lock_duration = SimTimings::kLockDuration,
                                                     .backoff = {.initial = Milliseconds(10), .max = Milliseconds(200)}}),
                    "promoter");
  p.checkpointer = take(Checkpointer::create({.wal = *p.wal, .env = env, .dedupe = *p.dedupe,
                                              .coord = *p.checkpoint_coord,
                                              .fence = *p.lease, .clock = clock, .crash_points = p.crash_points,
                                              .blobs = p.blobs.get()},
                                             CheckpointerOptions{.region = region, .interval = Milliseconds(500),
                                                                 .chunk_max = 64,
                                                                 .record_ttl = world_.record_ttl,
                                                                 .backoff = {.initial = Milliseconds(10),
                                                                             .max = Milliseconds(200)}}),
                        "checkpointer");
  p.replayer = take(Replayer::create({.blobs = *p.blobs, .dedupe = *p.dedupe, .bus = *p.control_bus, .coord = *p.coord,
                                      .fence = *p.lease, .clock = clock, .crash_points = p.crash_points},
                                     ReplayerOptions{.region = region, .batch_max = 16,
                                                     // BROKEN variant replay_stops_before_seal: no quiet period.
                                                     .quiet_period = world_.options.broken == BrokenVariant::kReplayStopsBeforeSeal
                                                                         ? Milliseconds(1)
                                                                         : SimTimings::kReplayQuietPeriod,
                                                     .record_ttl = world_.record_ttl,
                                                     .backoff = {.initial = Milliseconds(10), .max = Milliseconds(200)}}),
                    "replayer");
  return ok_status();
}

void SimRegion::open_worker(Process& p, std::size_t index) {
  HADR_ASSERT(index < kWorkerCount);
  const bool ignore_epoch = world_.options.broken == BrokenVariant::kClaimIgnoresEpoch;
  const bool handler_failures = enabled_faults_.test(static_cast<std::size_t>(SimFault::kHandlerFailure));
  p.add(p.worker_bus_clients[index], std::make_unique<MemoryBus>(*spec_.bus_server, &world_.faults));
  p.worker_buses[index] = std::make_unique<SimBus>(*p.worker_bus_clients[index], *spec_.bus_server, world_, spec_.name,
                                                      *p.lease, false);
  p.add(p.worker_dedupe_clients[index], std::make_unique<MemoryDedupeStore>(world_.dedupe_server, &world_.faults));
  p.worker_dedupes[index] = std::make_unique<SimDedupe>(*p.worker_dedupe_clients[index], world_, spec_.name, ignore_epoch);
  p.add(p.handler_dedupes[index], std::make_unique<MemoryDedupeStore>(world_.dedupe_server, &world_.faults));
  p.add(p.worker_coords[index], std::make_unique<MemoryCoord>(world_.coord_server, &world_.faults));
  const bool transactional = !enabled_faults_.test(static_cast<std::size_t>(SimFault::kNonTxHandler));
  p.handlers[index] = std::make_unique<SimHandler>(world_, spec_.name, *p.handler_dedupes[index], p.crash_points,
                                                   handler_failures, transactional);
  // BROKEN variant claim_regranted_to_stale_owner: every worker and every restart of the region
  // claims as one owner, so the store re-grants a live claim to a stale incarnation.
  const std::string owner = world_.options.broken == BrokenVariant::kClaimRegrantedToStaleOwner
                                ? spec_.name + "/" + std::string(kProcessName)
                                : spec_.name + "/" + std::string(kProcessName) + "-" + std::to_string(index + 1);
  p.workers[index] = take(Worker::create({.bus = *p.worker_buses[index], .dedupe = *p.worker_dedupes[index],
                                          .coord = *p.worker_coords[index], .handler = *p.handlers[index], .fence = *p.lease, .clock = clock,
                                          .crash_points = p.crash_points, .blobs = p.blobs.get()},
                                         WorkerOptions{.owner = owner, .batch_max = 4,
                                                       .lock_duration = SimTimings::kLockDuration,
                                                       .claim_ttl = SimTimings::kClaimTtl,
                                                       .record_ttl = world_.record_ttl,
                                                       .max_delivery_count = kMainMaxDeliveryCount,
                                                       .backoff = {.initial = Milliseconds(10), .max = Milliseconds(200)}}),
                          "worker");
}

void SimRegion::open_workers(Process& p) {
  p.worker_bus_clients.resize(kWorkerCount);
  p.worker_buses.resize(kWorkerCount);
  p.worker_dedupe_clients.resize(kWorkerCount);
  p.worker_dedupes.resize(kWorkerCount);
  p.handler_dedupes.resize(kWorkerCount);
  p.worker_coords.resize(kWorkerCount);
  p.handlers.resize(kWorkerCount);
  p.workers.resize(kWorkerCount);
  for (std::size_t i = 0; i < kWorkerCount; ++i) open_worker(p, i);
}

void SimRegion::open_watchdog(Process& p) {
  p.alerts = std::make_unique<SimAlerts>(world_, spec_.name);
  p.control = std::make_unique<SimControl>(SimControl::Parts{.intake = *p.intake, .replayer = *p.replayer,
                                                             .relay = *p.relay, .bus = *p.lease_bus, .wal = *p.wal,
                                                             .shipper = *p.shipper});
  Process* raw = &p;
  p.heartbeat = take(HeartbeatWriter::create(
                         *p.lease_coord, clock,
                         [raw] {
                           std::vector<NamedHealth> health;
                           for (const auto& [name, role] : raw->roles()) health.push_back({name, role->health()});
                           return health;
                         },
                         HeartbeatOptions{.region = region_id(spec_.name), .process = std::string(kProcessName),
                                          .interval = SimTimings::kHeartbeatInterval}),
                     "heartbeat");
  p.watchdog = take(Watchdog::create({.lease = *p.lease, .lease_store = *p.lease_store, .coord = *p.lease_coord,
                                      .control = *p.control, .alerts = *p.alerts, .hook = p.hook, .clock = clock,
                                      .crash_points = p.crash_points, .dedupe = p.dedupe.get(),
                                      .witness = p.blobs.get()},
                                     WatchdogOptions{.region = region_id(spec_.name), .peer = region_id(spec_.peer),
                                                     .bus_namespace = spec_.bus_server->namespace_name(),
                                                     .check_interval = SimTimings::kCheckInterval,
                                                     .min_failover_interval = SimTimings::kMinFailoverInterval,
                                                     .unhealthy_grace = SimTimings::kUnhealthyGrace,
                                                     .drain_timeout = SimTimings::kDrainTimeout,
                                                     .handoff_timeout = SimTimings::kHandoffTimeout,
                                                     .heartbeat_ttl = SimTimings::kHeartbeatInterval * 3}),
                    "watchdog");
}

// ---- process life ----------------------------------------------------------------------------

bool SimRegion::start() {
  HADR_ASSERT(process_ == nullptr && !halted_for_good);
  injected_sync_failure_ = false;
  supervisor_restart_at_ms.reset();
  auto process = std::make_unique<Process>(world_);
  Process* raw = process.get();
  process->crash_points.set_on_crash([raw] { raw->disconnect(); });
  open_lease_side(*process);
  const Status opened = open_control_side(*process);
  if (!opened.ok() && (injected_sync_failure_ || opened.code() == ErrorCode::kUnavailable)) {
    // An injected EIO during recovery (a repair's or a restore's fsync), or a backup that did not
    // answer: the process exits, as the node does, and its supervisor starts it again a little
    // later; nothing on disk was half done (segment_repair.h). The log is checked when an open
    // succeeds.
    world_.note("region " + spec_.name + " failed to reopen its WAL, stays down until its supervisor retries: " +
                opened.error().to_string());
    supervisor_restart_at_ms = world_.now_ms() + kSupervisorRestartDelayMs;
    return false;
  }
  if (!opened.ok()) {
    // I7: recovery must always reopen the log (only a torn tail may be cut off).
    world_.history.add_recovery(RecoveryEvent{.region = spec_.name, .opened = false,
                                              .error = opened.error().to_string(), .at_ms = world_.now_ms()});
    world_.note("region " + spec_.name + " cannot reopen its WAL: " + opened.error().to_string());
    halted_for_good = true;
    return false;
  }
  open_workers(*process);
  open_watchdog(*process);
  for (std::string_view queue : {kStagingQueue, kMainQueue}) {
    const std::uint32_t deliveries = queue == kMainQueue ? kMainMaxDeliveryCount : kStagingMaxDeliveryCount;
    HADR_ASSERT(spec_.bus_server->create_queue(queue, QueueOptions{.max_delivery_count = deliveries}).ok());
  }
  process_ = std::move(process);
  world_.note("region " + spec_.name + " process started");
  return true;
}

void SimRegion::drop_process(bool power_loss) {
  HADR_ASSERT(process_ != nullptr);
  harvest();
  const Wal& wal = *process_->wal;
  Result<WalPrefix> prefix = read_prefix(wal, wal.first_lsn().value, wal.durable_lsn().value);
  HADR_ASSERT_MSG(prefix.ok(), "region %s: reading its own durable WAL failed: %s", spec_.name.c_str(),
                  prefix.ok() ? "" : prefix.error().to_string().c_str());
  prefix_before_crash_ = *prefix;
  Result<WalCheckpoint> checkpoint = read_checkpoint_file(env, std::string(kWalDir) + "/" + std::string(kWalCheckpointFileName));
  if (checkpoint.ok() && checkpoint->incarnation == wal.incarnation()) prefix_before_crash_->settled = checkpoint->lsn.value;
  process_->disconnect();
  process_.reset();
  if (!power_loss) return;
  const std::uint64_t pick = crash_random_.uniform(8);
  const CrashMode mode = pick < 4 ? CrashMode::kTearUnsynced : pick < 7 ? CrashMode::kDropUnsynced
                                                                         : CrashMode::kCorruptUnsynced;
  env.crash(mode, crash_random_);
  world_.note("region " + spec_.name + " lost power (" +
              std::string(mode == CrashMode::kTearUnsynced ? "tear" : mode == CrashMode::kDropUnsynced ? "drop" : "flip") +
              " unsynced bytes)");
}

void SimRegion::restart(bool power_loss) {
  drop_process(power_loss);
  (void)start();
}

void SimRegion::stop(bool power_loss) { drop_process(power_loss); }

Result<SimRegion::WalPrefix> SimRegion::read_prefix(const Wal& wal, std::uint64_t first, std::uint64_t durable) const {
  WalPrefix prefix{.first = first, .durable = durable, .digests = {}};
  if (durable == 0 || first > durable) return prefix;
  HADR_ASSIGN_OR_RETURN(WalReader reader, wal.read_from(Lsn{first}));
  for (std::size_t count = 0; count < kPrefixRecordsMax; ++count) {
    HADR_ASSIGN_OR_RETURN(std::optional<WalRecord> record, reader.next());
    if (!record || record->lsn.value > durable) break;
    std::uint64_t digest = 0xcbf29ce484222325ULL;
    mix(digest, std::to_string(record->lsn.value) + ":" + record->message_id.str() + ":" +
                    std::to_string(record->epoch.value));
    prefix.digests.push_back(digest);
  }
  return prefix;
}

// Every record that was durable before the crash comes back, byte for byte, except:
//   - the settled head a repair dropped (no copy left): the log may start above where it did,
//     never above the CHECKPOINT file's LSN at the crash (done records only; I1 also checks);
//   - after synced bytes were damaged with sync backup, records above the shipped LSN, which were
//     neither acknowledged nor settled: a damaged last frame there reads as a torn write and is
//     cut, as it must be (segment_scan.h), and the source delivers those messages again.
void SimRegion::check_recovery(const WalPrefix& before, const RecoveryReport& report, const Wal& wal) {
  RecoveryEvent event{.region = spec_.name, .opened = true, .durable_before = before.durable,
                      .durable_after = wal.durable_lsn().value, .at_ms = world_.now_ms()};
  event.torn = report.bytes_truncated > 0 || report.recovery_case == RecoveryCase::kTornTail ||
               report.recovery_case == RecoveryCase::kTornSegmentHeader;
  if (event.torn) ++world_.history.rare.torn_tail;
  if (report.repaired_records > 0 || report.dropped_through.value > 0) ++world_.history.rare.wal_repair;
  const std::uint64_t first_after = wal.first_lsn().value;
  std::uint64_t from = before.first;
  if (first_after > before.first && before.durable > 0) {
    if (first_after - 1 > before.settled) {
      event.prefix_intact = false;
      event.error = "the log now starts at LSN " + std::to_string(first_after) + " but only LSNs up to " +
                    std::to_string(before.settled) + " were settled";
      world_.history.add_recovery(std::move(event));
      return;
    }
    from = first_after;
  }
  const std::uint64_t must_keep = before.synced_damage && !async_backup_
                                      ? std::min(before.durable, std::max(before.shipped, before.settled))
                                      : before.durable;
  const std::uint64_t through = std::min(before.durable, wal.durable_lsn().value);
  Result<WalPrefix> after = read_prefix(wal, from, through);
  event.prefix_intact = wal.durable_lsn().value >= must_keep && after.ok();
  if (after.ok()) {
    const std::size_t skip = std::min<std::uint64_t>(from - before.first, before.digests.size());
    const std::size_t keep = std::min<std::uint64_t>(through >= from ? through - from + 1 : 0, before.digests.size() - skip);
    const std::vector<std::uint64_t> expected(before.digests.begin() + static_cast<std::ptrdiff_t>(skip),
                                              before.digests.begin() + static_cast<std::ptrdiff_t>(skip + keep));
    event.prefix_intact = event.prefix_intact && after->digests == expected;
  } else {
    event.error = after.error().to_string();
  }
  world_.history.add_recovery(std::move(event));
}

// ---- stepping --------------------------------------------------------------------------------

std::size_t SimRegion::role_count() const {
  if (process_ == nullptr) return 0;
  return 8 + kWorkerCount;
}

std::string_view SimRegion::role_name(std::size_t index) const {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names = {"lease", "heartbeat", "watchdog", "relay", "promoter", "checkpointer", "replayer"};
    for (std::size_t i = 0; i < kWorkerCount; ++i) names.push_back("worker-" + std::to_string(i + 1));
    names.push_back("backup");
    return names;
  }();
  HADR_ASSERT(index < kNames.size());
  return kNames[index];
}

Result<StepOutcome> SimRegion::step_role(std::size_t index) {
  HADR_ASSERT(process_ != nullptr && index < role_count());
  Role* role = process_->roles()[index].second;
  HADR_ASSERT(role != nullptr);
  Result<StepOutcome> outcome = role->step();
  if (!outcome.ok()) process_->step_failed = true;
  record_wal_appends();
  return outcome;
}

void SimRegion::record_wal_appends() {
  const Wal& wal = *process_->wal;
  const std::uint64_t durable = wal.durable_lsn().value;
  if (durable <= appends_recorded_through_) return;
  const std::uint64_t from = std::max(appends_recorded_through_ + 1, wal.first_lsn().value);
  appends_recorded_through_ = durable;
  Result<WalReader> reader = wal.read_from(Lsn{from});
  if (!reader.ok()) return;
  for (std::uint64_t lsn = from; lsn <= durable; ++lsn) {
    Result<std::optional<WalRecord>> record = reader->next();
    if (!record.ok() || !record->has_value()) return;
    // A seal is what the old writer owes its successor: it may come after the next grant.
    if ((*record)->type != WalRecordType::kMessage) continue;
    world_.history.add_write(WriteEvent{.kind = WriteEvent::Kind::kWalAppend, .region = spec_.name,
                                        .epoch = (*record)->epoch, .at_ms = world_.now_ms(), .writer = "relay"});
  }
}

bool SimRegion::process_died() const {
  return process_ != nullptr && (process_->crash_points.crashed() || process_->step_failed);
}

// ---- faults and observation ------------------------------------------------------------------

void SimRegion::set_lease_connected(bool connected) {
  if (process_ != nullptr && !process_->crash_points.crashed()) process_->lease_store->set_connected(connected);
}

void SimRegion::arm_crash_point(std::string point) {
  if (process_ != nullptr) process_->crash_points.arm(std::move(point));
}

void SimRegion::set_blob_connected(bool connected) {
  if (process_ != nullptr && !process_->crash_points.crashed()) process_->blobs->set_connected(connected);
}

void SimRegion::set_coord_connected(bool connected) {
  if (process_ == nullptr || process_->crash_points.crashed()) return;
  process_->coord_client->set_connected(connected);
  process_->lease_coord_client->set_connected(connected);
}

void SimRegion::crash_with_synced_corruption() {
  if (process_ == nullptr) return;
  const std::uint64_t shipped = process_->shipper->shipped_lsn().value;
  drop_process(/*power_loss=*/true);
  if (prefix_before_crash_) {
    prefix_before_crash_->shipped = shipped;
    prefix_before_crash_->synced_damage = true;
  }
  damage_synced_wal_bytes(shipped);
  (void)start();
}

// A bit flip or a cut anywhere after a segment header. With async backup, only where every
// record the damage can destroy is shipped: an acked record that only the local disk held is
// the documented RPO of async mode (docs/failover.md), which no repair can give back; so a flip
// lands in a shipped frame and a cut only in a segment whose records are all shipped.
void SimRegion::damage_synced_wal_bytes(std::uint64_t shipped) {
  Result<std::vector<std::string>> names = env.list_dir(std::string(kWalDir));
  if (!names.ok()) return;
  struct Candidate {
    std::string path;
    std::uint64_t size = 0;
    std::uint64_t flip_end = 0;  // bit flips land in [48, flip_end)
    bool cut_allowed = true;
  };
  std::vector<Candidate> candidates;
  constexpr std::uint64_t kHeaderBytes = 48;  // never the segment header: a frame is what is damaged
  std::sort(names->begin(), names->end());
  for (const std::string& name : *names) {
    if (!name.ends_with(".seg")) continue;
    const std::string path = std::string(kWalDir) + "/" + name;
    Result<std::string> bytes = env.contents(path);
    if (!bytes.ok() || bytes->size() <= kHeaderBytes + 1) continue;
    Candidate candidate{path, bytes->size(), bytes->size(), true};
    if (async_backup_) {
      std::uint64_t shipped_end = kHeaderBytes;
      const std::optional<std::uint64_t> sequence = parse_segment_file_name(name);
      const SegmentScan scan = scan_segment(*bytes, sequence.value_or(0), false, 1u << 20, [&](const FrameView& frame) {
        if (frame.lsn.value <= shipped) shipped_end = frame.offset + frame.frame_bytes;
      });
      candidate.flip_end = shipped_end;
      candidate.cut_allowed = scan.outcome == RecoveryCase::kCleanEnd && scan.last_lsn.value <= shipped;
      if (candidate.flip_end <= kHeaderBytes) continue;
    }
    candidates.push_back(std::move(candidate));
  }
  if (candidates.empty()) {
    world_.note("fault: no synced WAL bytes to damage in region " + spec_.name);
    return;
  }
  const Candidate& target = candidates[crash_random_.uniform(candidates.size())];
  const bool flip = !target.cut_allowed || crash_random_.chance(0.5);
  const std::uint64_t end = flip ? target.flip_end : target.size;
  const std::uint64_t offset = kHeaderBytes + crash_random_.uniform(end - kHeaderBytes);
  if (flip) {
    Result<std::string> bytes = env.contents(target.path);
    if (!bytes.ok()) return;
    const char flipped = static_cast<char>((*bytes)[offset] ^ static_cast<char>(1u << crash_random_.uniform(8)));
    (void)env.overwrite(target.path, offset, std::string_view(&flipped, 1));
    world_.note("fault: a synced bit of " + target.path + " flipped at byte " + std::to_string(offset));
  } else {
    (void)env.truncate_file(target.path, offset);
    world_.note("fault: " + target.path + " cut at byte " + std::to_string(offset) + " of " + std::to_string(target.size));
  }
}

void SimRegion::heal() {
  fail_next_sync_ = false;
  paused = false;
  drift = 0;
  // NTP puts the wall clock right again: the store clock is the reference.
  clock.jump_wall(world_.store_clock.now_wall() - clock.now_wall());
  if (process_ == nullptr) return;
  process_->crash_points.arm("");
  set_lease_connected(true);
  set_blob_connected(true);
  set_coord_connected(true);
}

void SimRegion::restart_worker(std::size_t index) {
  if (process_ == nullptr || process_->crash_points.crashed()) return;
  HADR_ASSERT(index < kWorkerCount);
  process_->worker_bus_clients[index]->set_connected(false);
  process_->worker_dedupe_clients[index]->set_connected(false);
  process_->handler_dedupes[index]->set_connected(false);
  process_->worker_coords[index]->set_connected(false);
  process_->workers[index].reset();  // the worker dies first: it borrows its clients
  open_worker(*process_, index);
  world_.note("worker " + spec_.name + "/" + std::to_string(index + 1) + " restarted");
}

WatchdogPhase SimRegion::watchdog_phase() const {
  return process_ == nullptr ? WatchdogPhase::kStandby : process_->watchdog->status().phase;
}

std::optional<Epoch> SimRegion::writable_epoch() const {
  return process_ == nullptr ? std::nullopt : process_->lease->writable_epoch();
}

std::uint64_t SimRegion::relay_pending() const {
  if (process_ == nullptr) return 0;
  return process_->relay->pending_count() + (process_->relay->holding_batch() ? 1 : 0);
}

void SimRegion::harvest() {
  if (process_ == nullptr) return;
  world_.history.rare.replay += process_->replayer->stats().replayed;
  world_.history.rare.stale_epoch_rejection += process_->checkpointer->stats().fenced_writes;
}

}  // namespace hadr::sim
