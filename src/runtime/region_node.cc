#include "runtime/region_node.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "core/clock.h"
#include "core/env.h"
#include "roles/checkpoint.h"
#include "handlers/handler_factory.h"
#include "runtime/fault_switch.h"
#include "runtime/stop_signal.h"
#include "roles/wal_backup_source.h"

namespace hadr {

namespace {

// Every counter of NodeStats by its name in the stats file: the one list that writing,
// reading and accumulating use.
std::vector<std::pair<std::string_view, std::uint64_t*>> stats_fields(NodeStats& stats) {
  RelayStats& r = stats.relay;
  PromoterStats& p = stats.promoter;
  CheckpointerStats& c = stats.checkpointer;
  WorkerStats& w = stats.workers;
  FailoverCounters& f = stats.failover;
  return {
      {"replayer_replayed", &f.replayed}, {"replayer_skipped_done", &f.replay_skipped_done},
      {"lease_acquired", &f.lease_acquired}, {"lease_lost", &f.lease_lost}, {"lease_self_fenced", &f.self_fenced},
      {"watchdog_takeovers", &f.takeovers}, {"watchdog_step_downs", &f.step_downs},
      {"watchdog_handovers", &f.handovers},
      {"relay_appended", &r.appended}, {"relay_acked", &r.acked}, {"relay_ack_failures", &r.ack_failures},
      {"relay_fenced_after_append", &r.fenced_after_append}, {"relay_published", &r.published},
      {"relay_recovered", &r.recovered}, {"relay_recovered_already_done", &r.recovered_already_done},
      {"promoter_promoted", &p.promoted}, {"promoter_complete_failures", &p.complete_failures},
      {"promoter_send_failures", &p.send_failures}, {"promoter_fenced_abandoned", &p.fenced_abandoned},
      {"checkpointer_persisted", &c.persisted}, {"checkpointer_records_examined", &c.records_examined},
      {"worker_received", &w.received}, {"worker_effects", &w.effects}, {"worker_completed", &w.completed},
      {"worker_suppressed_duplicates", &w.suppressed_duplicates}, {"worker_busy_deferred", &w.busy_deferred},
      {"worker_stale_epoch", &w.stale_epoch}, {"worker_fenced_abandoned", &w.fenced_abandoned},
      {"worker_handler_failures", &w.handler_failures}, {"worker_dead_lettered", &w.dead_lettered},
      {"worker_claim_lost_after_effect", &w.claim_lost_after_effect},
      {"worker_reclaimed_after_effect", &w.reclaimed_after_effect}, {"worker_locks_renewed", &w.locks_renewed},
      {"worker_lock_renewal_failures", &w.lock_renewal_failures}, {"worker_settle_failures", &w.settle_failures},
      {"worker_claims_extended", &w.claims_extended}, {"worker_suppressed_settled", &w.suppressed_settled},
  };
}

void add_stats(NodeStats& total, const NodeStats& more) {
  NodeStats copy = more;
  auto into = stats_fields(total);
  auto from = stats_fields(copy);
  HADR_ASSERT(into.size() == from.size());
  for (std::size_t i = 0; i < into.size(); ++i) *into[i].second += *from[i].second;
}

void add_worker_stats(WorkerStats& total, const WorkerStats& more) {
  NodeStats a, b;
  a.workers = total;
  b.workers = more;
  add_stats(a, b);
  total = a.workers;
}

const Clock& real_clock() { return RealClock::instance(); }
// Worker owners "<region>/<process>-<n>#<16 hex>" stay within the stores' 128 bytes.
constexpr std::size_t kProcessNameBytesMax = 64;

std::uint32_t main_queue_delivery_limit(const WorkerOptions& worker) {
  return std::min<std::uint32_t>(worker.max_delivery_count * 2 + 1, 100'000);
}

// Every repair the WAL's recovery made, and every fatal finding, goes to the log: a cut tail or
// a restore from the backup is never silent.
void log_wal_recovery(const std::string& dir, const RecoveryReport& report) {
  for (const std::string& note : report.notes) std::fprintf(stderr, "hadr: wal %s: %s\n", dir.c_str(), note.c_str());
  if (report.fatal() && report.restored_records == 0) {
    std::fprintf(stderr, "hadr: wal %s: %s\n", dir.c_str(), report.to_error().to_string().c_str());
    return;
  }
  if (report.bytes_truncated > 0 || report.recovery_case == RecoveryCase::kTornSegmentHeader) {
    std::fprintf(stderr, "hadr: wal %s: %s at %s offset %" PRIu64 ": %s; cut %" PRIu64
                         " unacknowledged bytes (log ends at LSN %" PRIu64 ", acknowledged floor %" PRIu64 " by %s)\n",
                 dir.c_str(), std::string(recovery_case_name(report.recovery_case)).c_str(), report.file.c_str(),
                 report.offset, report.detail.c_str(), report.bytes_truncated, report.last_lsn.value,
                 report.acknowledged_lsn.value, report.acknowledged_by.empty() ? "none" : report.acknowledged_by.c_str());
  }
  if (report.restored_records > 0) {
    std::fprintf(stderr, "hadr: wal %s: RESTORED %" PRIu64 " acknowledged records (LSN %" PRIu64 "..%" PRIu64
                         ") from the backup: %s\n",
                 dir.c_str(), report.restored_records, report.restored_first_lsn.value,
                 report.restored_last_lsn.value, report.detail.c_str());
  }
}

}  // namespace

// The watchdog's handle on the rest of the region (roles/region_control.h). Called on the lease
// thread; what needs the Wal or the replayer is queued for the control thread, which answers
// on its next round (serve_control_requests).
class NodeControl final : public RegionControl {
 public:
  NodeControl(GatedFence& intake, Bus& bus, const RegionConfig& config, const std::atomic<std::uint64_t>& relay_pending)
      : intake_(intake), bus_(bus), config_(config), relay_pending_(relay_pending) {}

  void set_intake_open(bool open) override { intake_.set_open(open); }

  void begin_replay(const RegionId& from) override {
    std::lock_guard lock(mutex_);
    replay_request_ = from;
  }

  // The relay's part is Relay::unpublished_count() (pending, held for the sync backup, not yet
  // recovered), mirrored by the control thread; the simulator's SimControl asks the same.
  Result<bool> drained() override {
    if (relay_pending_.load() != 0) return false;
    for (const std::string* queue : {&config_.promoter.staging_queue, &config_.worker.main_queue}) {
      HADR_ASSIGN_OR_RETURN(QueueDepth depth, bus_.depth(*queue));
      if (depth.available + depth.locked != 0) return false;
    }
    return true;
  }

  Result<bool> seal_wal(Epoch epoch) override {
    std::lock_guard lock(mutex_);
    if (seal_answer_ && seal_epoch_ == epoch) {
      Status answer = std::move(*seal_answer_);
      seal_answer_.reset();
      seal_request_.reset();
      if (!answer.ok()) return std::move(answer).take_error();
      return true;
    }
    seal_request_ = epoch;
    seal_epoch_ = epoch;
    return false;
  }

  // Control thread.
  std::optional<RegionId> take_replay_request() {
    std::lock_guard lock(mutex_);
    return std::exchange(replay_request_, std::nullopt);
  }
  std::optional<Epoch> pending_seal() {
    std::lock_guard lock(mutex_);
    return seal_answer_ ? std::nullopt : seal_request_;
  }
  void answer_seal(Status answer) {
    std::lock_guard lock(mutex_);
    seal_answer_ = std::move(answer);
  }

 private:
  GatedFence& intake_;
  Bus& bus_;
  const RegionConfig& config_;
  const std::atomic<std::uint64_t>& relay_pending_;
  std::mutex mutex_;
  std::optional<RegionId> replay_request_;
  std::optional<Epoch> seal_request_;
  Epoch seal_epoch_;
  std::optional<Status> seal_answer_;
};

struct RegionNode::WorkerSlot {
  std::unique_ptr<Bus> bus;
  DedupeConnection dedupe;
  std::unique_ptr<Coord> coord;  // settled floors
  std::unique_ptr<BlobStore> blobs;  // settled copies (two regions; nullptr otherwise)
  std::unique_ptr<Handler> handler;
  std::unique_ptr<Worker> worker;
  std::thread thread;
};

RegionNode::RegionNode(const RegionConfig& config, const NodeRoles& roles, CrashPoints& crash_points)
    : config_(config), roles_(roles), crash_points_(crash_points), incarnation_(random_incarnation()) {}

RegionNode::~RegionNode() {
  stop_ = true;
  for (auto& slot : workers_) {
    if (slot->thread.joinable()) slot->thread.join();
  }
}

Status RegionNode::open_failover() {
  if (!config_.two_regions()) {
    intake_fence_ = std::make_unique<GatedFence>(static_fence_, /*open=*/true);
    return ok_status();
  }
  if (!roles_.relay || !roles_.promoter || !roles_.workers) {
    return invalid_argument("two-region mode ([region] peer = \"" + config_.peer.str() +
                            "\") runs every role in one process: use `hadr node`, not a single-role command");
  }
  const Clock& clock = real_clock();
  HADR_ASSIGN_OR_RETURN(std::unique_ptr<LeaseStore> lease_store, backends_->open_lease_store());
  lease_store_ = std::make_unique<FaultSwitchLeaseStore>(std::move(lease_store),
                                                         lease_partition_switch_path(config_.data_dir));
  HADR_ASSIGN_OR_RETURN(lease_, LeaseManager::create(*lease_store_, clock, config_.lease));
  fence_ = lease_.get();
  intake_fence_ = std::make_unique<GatedFence>(*lease_, /*open=*/false);
  HADR_ASSIGN_OR_RETURN(lease_thread_coord_, backends_->open_coord());
  HADR_ASSIGN_OR_RETURN(lease_thread_bus_, backends_->open_bus());
  HADR_ASSIGN_OR_RETURN(lease_thread_dedupe_, backends_->open_dedupe());
  alerts_ = std::make_unique<RuntimeAlertSink>(config_.alerts, config_.data_dir + "/alerts.jsonl");
  hook_ = std::make_unique<CommandHook>(config_.hook, config_.data_dir + "/hook.log");
  return ok_status();
}

Status RegionNode::open_failover_control_roles() {
  if (!config_.two_regions()) return ok_status();
  const Clock& clock = real_clock();
  // In both modes: async ships with it; sync (the relay ships) keeps it to repair the backup
  // when objects vanish from it (issue 12, hole 13).
  if (shipper_) {
    HADR_ASSIGN_OR_RETURN(backup_, WalBackup::create(WalBackupDependencies{
                                       *shipper_, *wal_, clock, config_.backup_mode == BackupMode::kAsync,
                                       &posix_env()}));
  }
  ReplayerOptions replay_options;
  replay_options.region = config_.region;
  replay_options.staging_queue = config_.promoter.staging_queue;
  replay_options.quiet_period = config_.replay_quiet_period;
  replay_options.record_ttl = config_.worker.record_ttl;  // dedupe.record_ttl, once a mark is covered
  HADR_ASSIGN_OR_RETURN(replayer_, Replayer::create(ReplayerDependencies{*blobs_, *dedupe_.store, *bus_, *coord_, *fence_,
                                                                         clock, crash_points_},
                                                    replay_options));
  control_ = std::make_unique<NodeControl>(*intake_fence_, *lease_thread_bus_, config_, relay_pending_);
  HeartbeatOptions heartbeat_options = config_.heartbeat;
  heartbeat_options.process = roles_.process_name;
  HADR_ASSIGN_OR_RETURN(heartbeat_, HeartbeatWriter::create(
                                        *lease_thread_coord_, clock, [this] { return health_snapshot(); },
                                        heartbeat_options));
  HADR_ASSIGN_OR_RETURN(watchdog_, Watchdog::create(WatchdogDependencies{.lease = *lease_,
                                                                         .lease_store = *lease_store_,
                                                                         .coord = *lease_thread_coord_,
                                                                         .control = *control_,
                                                                         .alerts = *alerts_,
                                                                         .hook = *hook_,
                                                                         .clock = clock,
                                                                         .crash_points = crash_points_,
                                                                         .dedupe = lease_thread_dedupe_.store.get(),
                                                                         .witness = blobs_.get()},
                                                    watchdog_options()));
  return ok_status();
}

WatchdogOptions RegionNode::watchdog_options() const {
  WatchdogOptions options = config_.watchdog;
  options.heartbeat_ttl = config_.heartbeat.interval * 3;  // what HeartbeatWriter gives its records
  return options;
}

std::vector<NamedHealth> RegionNode::health_snapshot() const {
  std::vector<NamedHealth> roles;
  const auto add = [&](const Role* role, std::string name) {
    if (role != nullptr) roles.push_back(NamedHealth{std::move(name), role->health()});
  };
  add(relay_.get(), "relay");
  add(promoter_.get(), "promoter");
  add(checkpointer_.get(), "checkpointer");
  add(backup_.get(), "backup");
  add(replayer_.get(), "replayer");
  add(lease_.get(), "lease");
  add(watchdog_.get(), "watchdog");
  for (std::size_t i = 0; i < workers_.size(); ++i) add(workers_[i]->worker.get(), "worker-" + std::to_string(i + 1));
  return roles;
}

std::string RegionNode::stats_path() const { return config_.data_dir + "/stats-" + roles_.process_name + ".json"; }

Result<std::unique_ptr<RegionNode>> RegionNode::open(const RegionConfig& config, const NodeRoles& roles,
                                                    CrashPoints& crash_points) {
  HADR_TRY(config.validate());
  if (roles.process_name.empty() || roles.process_name.find('/') != std::string::npos ||
      roles.process_name.size() > kProcessNameBytesMax) {
    return invalid_argument("process name \"" + roles.process_name + "\" must be 1.." +
                            std::to_string(kProcessNameBytesMax) + " characters without '/'; fix --instance");
  }
  std::unique_ptr<RegionNode> node(new RegionNode(config, roles, crash_points));
  Env& env = posix_env();
  HADR_TRY(env.create_dirs(config.data_dir));
  HADR_ASSIGN_OR_RETURN(RegionBackends backends, RegionBackends::resolve(config, process_environment()));
  node->backends_ = std::make_unique<RegionBackends>(std::move(backends));
  HADR_ASSIGN_OR_RETURN(node->base_, read_stats_file(node->stats_path()));
  if (roles.relay) {
    // Before the WAL opens: a second process of this region is refused here, naming the first.
    HADR_ASSIGN_OR_RETURN(auto coord, node->backends_->open_coord());
    HADR_ASSIGN_OR_RETURN(node->membership_, RegionMembership::acquire(config.region, config.data_dir, roles.process_name,
                                                                       std::move(coord), real_clock(), node->incarnation_));
  }
  HADR_TRY(node->open_failover());
  HADR_TRY(node->open_control_roles());
  HADR_TRY(node->open_workers());
  HADR_TRY(node->open_failover_control_roles());
  return node;
}

Status RegionNode::open_control_roles() {
  const Clock& clock = real_clock();
  HADR_ASSIGN_OR_RETURN(bus_, backends_->open_bus());
  HADR_TRY(bus_->create_queue(config_.promoter.staging_queue, QueueOptions{config_.staging_max_delivery_count}));
  // The bus's own limit is a backstop above the workers': the worker dead-letters a message that
  // keeps coming back (with a dedupe record, so the checkpoint and verify see it), not the bus.
  HADR_TRY(bus_->create_queue(config_.worker.main_queue, QueueOptions{main_queue_delivery_limit(config_.worker)}));
  if (roles_.promoter) {
    HADR_ASSIGN_OR_RETURN(promoter_, Promoter::create(PromoterDependencies{*bus_, *fence_, clock, crash_points_},
                                                      config_.promoter));
  }
  if (!roles_.relay) return ok_status();
  const std::string consumer = config_.region.str() + "/relay";
  HADR_ASSIGN_OR_RETURN(source_, backends_->open_source(consumer));
  HADR_ASSIGN_OR_RETURN(dedupe_, backends_->open_dedupe());
  HADR_ASSIGN_OR_RETURN(coord_, backends_->open_coord());
  const bool own_backup = config_.two_regions() && config_.backup_mode != BackupMode::kOff;
  if (config_.two_regions()) {
    // Before the WAL: its own backup is checked at open; the replayer reads the peer's.
    HADR_ASSIGN_OR_RETURN(blobs_, backends_->open_blob_store());
  }
  RecoveryReport report;
  // The backup is where the WAL's acknowledged floor is checked and lost records come back from.
  std::optional<BlobWalBackupSource> backup_source;
  if (own_backup) backup_source.emplace(*blobs_, config_.region);
  WalOptions wal_options = config_.wal;
  wal_options.backup_holds_every_ack = own_backup && config_.backup_mode == BackupMode::kSync;
  Result<std::unique_ptr<Wal>> opened = Wal::open(posix_env(), config_.wal_dir(), wal_options, &report,
                                                  backup_source ? &*backup_source : nullptr);
  log_wal_recovery(config_.wal_dir(), report);
  if (!opened.ok()) return std::move(opened).take_error();
  wal_ = std::move(opened).value();
  HADR_TRY(check_wal_reaches_settled_floor());
  RelayDependencies relay_dependencies{*source_, *wal_, posix_env(), *bus_, *dedupe_.store, *intake_fence_, clock, crash_points_};
  relay_dependencies.coord = coord_.get();
  RelayOptions relay_options = config_.relay;
  relay_options.record_ttl = config_.worker.record_ttl;  // dedupe.record_ttl, once a record is acked
  if (own_backup) {
    WalBackupOptions backup_options;
    backup_options.region = config_.region;
    HADR_ASSIGN_OR_RETURN(shipper_, WalShipper::create(WalShipperDependencies{*wal_, *blobs_}, backup_options));
    if (config_.backup_mode == BackupMode::kSync) relay_dependencies.backup_sync = shipper_.get();
    if (config_.backup_mode == BackupMode::kAsync) {
      relay_dependencies.backup_async = shipper_.get();
      relay_options.backup_lag_max = config_.backup_lag_max;
    }
  }
  HADR_ASSIGN_OR_RETURN(relay_, Relay::create(relay_dependencies, relay_options));
  CheckpointerOptions checkpointer_options = config_.checkpointer;
  checkpointer_options.record_ttl = config_.worker.record_ttl;  // dedupe.record_ttl, once a mark is covered
  HADR_ASSIGN_OR_RETURN(checkpointer_,
                        Checkpointer::create(CheckpointerDependencies{*wal_, posix_env(), *dedupe_.store, *coord_, *fence_,
                                                                      clock, crash_points_, blobs_.get()},
                                             checkpointer_options));
  return ok_status();
}

// Workers complete every message of this region at or below its settled floor without running
// it, and relay recovery starts above it (roles/settled_floor.h). A log whose LSNs end below
// the floor (a data dir lost and recreated without a backup to restore it from) would issue
// LSNs that the floor already covers: its new messages would be taken as settled. Refuse.
Status RegionNode::check_wal_reaches_settled_floor() {
  // The floor and the settled ranges above it: the highest LSN they call settled.
  HADR_ASSIGN_OR_RETURN(const CheckpointValue value, read_coord_checkpoint_value(*coord_, config_.region));
  const Lsn floor = value.settled().highest();
  if (floor <= wal_->durable_lsn()) return ok_status();
  return data_loss("the WAL in " + config_.wal_dir() + " ends at LSN " + std::to_string(wal_->durable_lsn().value) +
                   " but region " + config_.region.str() + "'s settled floor (coord record checkpoint/" +
                   config_.region.str() + ") is " + std::to_string(floor.value) +
                   ": this log is not the one the floor describes, and new records would reuse settled LSNs. "
                   "Restore the data dir (or its blob backup), or, once every record of the old log is known "
                   "settled, remove that coord record");
}

Status RegionNode::open_workers() {
  if (!roles_.workers) return ok_status();
  const Clock& clock = real_clock();
  for (std::size_t index = 1; index <= config_.worker_count; ++index) {
    auto slot = std::make_unique<WorkerSlot>();
    HADR_ASSIGN_OR_RETURN(slot->bus, backends_->open_bus());
    HADR_ASSIGN_OR_RETURN(slot->dedupe, backends_->open_dedupe());
    HADR_ASSIGN_OR_RETURN(slot->coord, backends_->open_coord());
    if (config_.two_regions()) {
      // The settled copies (roles/settled_floor.h): this worker's own connection, like coord's.
      HADR_ASSIGN_OR_RETURN(slot->blobs, backends_->open_blob_store());
    }
    // The ledger's done mark lives as the worker's would: until a settled set covers it.
    HandlerContext handler_context;
    handler_context.region = config_.region;
    handler_context.ledger = slot->dedupe.ledger;
    handler_context.clock = &clock;
    handler_context.record_ttl = kUnsettledRecordTtl;
    HADR_ASSIGN_OR_RETURN(slot->handler, roles_.handler_factory ? roles_.handler_factory(handler_context)
                                                                : make_handler(config_.handler, handler_context));
    WorkerOptions options = config_.worker;
    options.owner = config_.region.str() + "/" + roles_.process_name + "-" + std::to_string(index) + "#" + incarnation_;
    HADR_ASSIGN_OR_RETURN(slot->worker,
                          Worker::create(WorkerDependencies{.bus = *slot->bus,
                                                            .dedupe = *slot->dedupe.store,
                                                            .coord = *slot->coord,
                                                            .handler = *slot->handler,
                                                            .fence = *fence_,
                                                            .clock = clock,
                                                            .crash_points = crash_points_,
                                                            .blobs = slot->blobs.get()},
                                         options));
    workers_.push_back(std::move(slot));
  }
  return ok_status();
}

void RegionNode::run_membership_thread() {
  // Bounded by the stop flag, set by run() after every other thread was joined.
  while (!membership_stop_.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const Status kept = membership_->renew_if_due();
    if (!kept.ok()) {
      record_failure("region membership", kept.error());
      return;
    }
  }
}

void RegionNode::record_failure(std::string_view role, const Error& error) {
  std::lock_guard<std::mutex> lock(failure_mutex_);
  if (!failure_) failure_ = Error{error.code, std::string(role) + ": " + error.detail};
  stop_ = true;
}

bool RegionNode::draining() const { return drain_.load(); }

bool RegionNode::past_drain_deadline() const {
  const auto now = real_clock().now_monotonic().time_since_epoch();
  return std::chrono::duration_cast<Nanoseconds>(now).count() >= drain_deadline_ns_.load();
}

Status RegionNode::serve_control_requests() {
  if (!control_) return ok_status();
  if (auto from = control_->take_replay_request()) replayer_->begin(*from);
  const std::optional<Epoch> seal = control_->pending_seal();
  if (!seal) return ok_status();
  Status sealed = wal_->seal(*seal);
  if (sealed.ok() && shipper_) {
    // The seal must reach the backup: it is how the peer's replayer knows the log ended.
    auto shipped = shipper_->ship_through(wal_->durable_lsn());
    if (!shipped.ok()) {
      sealed = std::move(shipped).take_error();
    } else if (*shipped < wal_->durable_lsn()) {
      return ok_status();  // more to ship: answer on a later round
    }
  }
  if (!sealed.ok() && must_stop(sealed.code())) return sealed;
  control_->answer_seal(std::move(sealed));
  return ok_status();
}

void RegionNode::run_control_thread() {
  std::vector<Role*> roles;
  if (relay_) roles.push_back(relay_.get());
  if (promoter_) roles.push_back(promoter_.get());
  if (checkpointer_) roles.push_back(checkpointer_.get());
  if (backup_) roles.push_back(backup_.get());
  if (replayer_) roles.push_back(replayer_.get());
  while (!stop_.load()) {
    bool any_progress = false;
    for (Role* role : roles) {
      // Draining: no intake. The relay's unpublished records are in the WAL for recovery.
      if (draining() && (role == relay_.get() || role == replayer_.get())) continue;
      auto outcome = role->step();
      if (!outcome.ok()) return record_failure(role->name(), outcome.error());
      any_progress = any_progress || *outcome == StepOutcome::kProgress;
    }
    if (relay_) relay_pending_.store(relay_->unpublished_count());
    const Status served = serve_control_requests();
    if (!served.ok()) return record_failure("control", served.error());
    if (draining() && (!any_progress || past_drain_deadline())) return;
    if (!any_progress) std::this_thread::sleep_for(config_.runtime.idle_wait);
  }
}

void RegionNode::run_worker_thread(WorkerSlot& slot) {
  while (!stop_.load()) {
    auto outcome = slot.worker->step();
    if (!outcome.ok()) return record_failure(slot.worker->owner(), outcome.error());
    const bool idle = *outcome == StepOutcome::kIdle;
    if (draining() && (idle || past_drain_deadline())) return;
    if (idle) std::this_thread::sleep_for(config_.runtime.idle_wait);
  }
}

void RegionNode::run_lease_thread() {
  std::vector<Role*> roles = {lease_.get(), heartbeat_.get(), watchdog_.get()};
  // Runs until every other thread stopped: the fence must hold while they drain.
  while (!lease_thread_stop_.load()) {
    bool any_progress = false;
    for (Role* role : roles) {
      auto outcome = role->step();
      if (!outcome.ok()) {
        return record_failure(role->name(), outcome.error());
      }
      any_progress = any_progress || *outcome == StepOutcome::kProgress;
    }
    if (!any_progress) std::this_thread::sleep_for(std::min(config_.runtime.idle_wait, Milliseconds(5)));
  }
}

Status RegionNode::run() {
  HADR_ASSERT(!stop_.load());
  std::thread lease_thread;
  if (lease_) lease_thread = std::thread([this] { run_lease_thread(); });
  std::thread control;
  if (relay_ || promoter_) control = std::thread([this] { run_control_thread(); });
  std::thread membership;
  if (membership_) membership = std::thread([this] { run_membership_thread(); });
  for (auto& slot : workers_) {
    WorkerSlot* raw = slot.get();
    slot->thread = std::thread([this, raw] { run_worker_thread(*raw); });
  }
  auto next_report = real_clock().now_monotonic() + config_.runtime.stats_interval;
  // The watcher: bounded by the stop request; polls at idle_wait granularity.
  while (!stop_.load() && !stop_requested() && !stop_requested_here_.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (real_clock().now_monotonic() >= next_report) {
      log_progress(/*always=*/false);
      (void)write_stats_file();  // best effort: verify treats it as a lower bound
      next_report = real_clock().now_monotonic() + config_.runtime.stats_interval;
    }
  }
  const auto deadline = real_clock().now_monotonic() + config_.runtime.drain_timeout;
  drain_deadline_ns_ = std::chrono::duration_cast<Nanoseconds>(deadline.time_since_epoch()).count();
  drain_ = true;
  if (control.joinable()) control.join();
  for (auto& slot : workers_) slot->thread.join();
  stop_ = true;
  lease_thread_stop_ = true;
  if (lease_thread.joinable()) lease_thread.join();
  membership_stop_ = true;  // renewed through the drain: the region stays ours until every thread stopped
  if (membership.joinable()) membership.join();
  if (lease_) {
    // A clean stop hands the lease back at once: the peer need not wait for the TTL.
    const Status released = lease_->release();
    if (!released.ok()) std::fprintf(stderr, "hadr: lease release failed: %s\n", released.error().to_string().c_str());
  }
  log_progress(/*always=*/true);
  HADR_TRY(write_stats_file());
  std::lock_guard<std::mutex> lock(failure_mutex_);
  if (failure_) return *failure_;
  return ok_status();
}

NodeStats RegionNode::stats() const {
  NodeStats current;
  if (relay_) current.relay = relay_->stats();
  if (promoter_) current.promoter = promoter_->stats();
  if (checkpointer_) current.checkpointer = checkpointer_->stats();
  for (const auto& slot : workers_) add_worker_stats(current.workers, slot->worker->stats());
  if (replayer_) {
    const ReplayerStats replay = replayer_->stats();
    current.failover.replayed = replay.replayed;
    current.failover.replay_skipped_done = replay.skipped_done;
  }
  if (lease_) {
    const LeaseStats lease = lease_->stats();
    current.failover.lease_acquired = lease.acquired;
    current.failover.lease_lost = lease.lost;
    current.failover.self_fenced = lease.self_fenced;
  }
  if (watchdog_) {
    const WatchdogStatus watchdog = watchdog_->status();
    current.failover.takeovers = watchdog.takeovers;
    current.failover.step_downs = watchdog.step_downs;
    current.failover.handovers = watchdog.handovers;
  }
  NodeStats total = base_;
  add_stats(total, current);
  // The checkpoint is a level, not a counter.
  total.checkpointer.checkpoint = checkpointer_ ? checkpointer_->stats().checkpoint : base_.checkpointer.checkpoint;
  return total;
}

NodeObservation RegionNode::observe() const {
  NodeObservation seen;
  seen.region = config_.region;
  seen.process_name = roles_.process_name;
  seen.two_regions = config_.two_regions();
  seen.draining = draining();
  seen.stats = stats();
  // Counters the stats file does not keep (stats_fields): this process's own, from the roles.
  if (relay_) {
    const RelayStats relay = relay_->stats();
    seen.stats.relay.backup_holds = relay.backup_holds;
    seen.stats.relay.backup_lag_pauses = relay.backup_lag_pauses;
  }
  if (checkpointer_) seen.stats.checkpointer.fenced_writes = checkpointer_->stats().fenced_writes;
  seen.roles = health_snapshot();
  seen.worker_count = workers_.size();
  if (lease_) {
    const LeaseStats lease = lease_->stats();
    seen.lease_holding = lease.epoch != 0;
    seen.lease_epoch = lease.epoch;
    seen.lease_time_to_deadline = lease_->time_to_deadline();
    seen.lease = lease;
  } else {
    seen.lease_holding = true;  // alone: always active under the static fence
    seen.lease_epoch = static_fence_.writable_epoch().value_or(Epoch{0}).value;
  }
  if (watchdog_) seen.watchdog = watchdog_->status();
  if (shipper_) seen.backup = shipper_->stats();
  // Async only: in sync mode the role only repairs, and the relay ships before it acks.
  if (backup_ && config_.backup_mode == BackupMode::kAsync) seen.backup_lag_records = backup_->health().lag;
  if (replayer_) seen.replay = replayer_->stats();
  return seen;
}

void RegionNode::log_progress(bool always) {
  const NodeStats s = stats();
  ProgressSample sample{.appended = s.relay.appended,
                        .acked = s.relay.acked,
                        .published = s.relay.published,
                        .promoted = s.promoter.promoted,
                        .effects = s.workers.effects,
                        .suppressed_duplicates = s.workers.suppressed_duplicates,
                        .dead_lettered = s.workers.dead_lettered,
                        .checkpoint = s.checkpointer.checkpoint};
  if (roles_.relay && roles_.promoter && roles_.workers) {
    const auto waiting = [](std::uint64_t in, std::uint64_t out) {
      return in > out ? static_cast<std::int64_t>(in - out) : std::int64_t{0};
    };
    sample.staging_depth = waiting(s.relay.published, s.promoter.promoted);
    sample.main_depth =
        waiting(s.promoter.promoted, s.workers.effects + s.workers.suppressed_duplicates + s.workers.dead_lettered);
  }
  // Backlog per role kind; the workers' summed ("worker-3" -> "workers").
  for (const NamedHealth& role : health_snapshot()) {
    const std::string kind = role.name.rfind("worker-", 0) == 0 ? "workers" : role.name;
    if (kind == "lease" || kind == "watchdog") continue;  // no backlog to show
    auto found = std::find_if(sample.lags.begin(), sample.lags.end(), [&](const auto& lag) { return lag.first == kind; });
    if (found == sample.lags.end()) sample.lags.emplace_back(kind, role.health.lag);
    else found->second += role.health.lag;
  }
  const auto line = progress_line_.next(sample, real_clock().now_wall(), real_clock().now_monotonic(), always);
  if (line) std::fprintf(stderr, "%s\n", line->c_str());
}

Status RegionNode::write_stats_file() const {
  NodeStats s = stats();
  std::ostringstream out;
  out << "{\n";
  for (const auto& [name, value] : stats_fields(s)) out << "  \"" << name << "\": " << *value << ",\n";
  out << "  \"checkpoint\": " << s.checkpointer.checkpoint << "\n}\n";
  // Temp file + rename: a reader never sees half a file.
  const std::string temp = stats_path() + ".tmp";
  {
    std::ofstream file(temp, std::ios::trunc);
    file << out.str();
    if (!file.flush()) return unavailable("cannot write " + temp + "; check free space and permissions");
  }
  if (std::rename(temp.c_str(), stats_path().c_str()) != 0) return unavailable("cannot rename " + temp);
  return ok_status();
}

Result<NodeStats> read_stats_file(const std::string& path) {
  NodeStats stats;
  std::ifstream file(path);
  if (!file) return stats;
  auto fields = stats_fields(stats);
  std::string line;
  constexpr std::size_t kLinesMax = 1000;  // the file has ~30 lines
  for (std::size_t count = 0; count < kLinesMax && std::getline(file, line); ++count) {
    const std::size_t open = line.find('"'), close = line.find("\":");
    if (open == std::string::npos || close == std::string::npos || close <= open) continue;
    const std::string name = line.substr(open + 1, close - open - 1);
    const std::uint64_t value = std::strtoull(line.c_str() + close + 2, nullptr, 10);
    if (name == "checkpoint") stats.checkpointer.checkpoint = value;
    for (auto& [field, target] : fields) {
      if (field == name) *target = value;
    }
  }
  return stats;
}

}  // namespace hadr
