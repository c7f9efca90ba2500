#include "roles/tests/region_harness.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace hadr::roles_test {
namespace {

constexpr std::size_t kPutBatchMax = 100;
constexpr std::size_t kIoLogMax = 2'000'000;
constexpr Milliseconds kElsewhereClaimTtl = std::chrono::hours(1);

template <typename T>
T take(Result<T> result, const char* what) {
  HADR_ASSERT_MSG(result.ok(), "region harness: %s: %s", what, result.ok() ? "" : result.error().to_string().c_str());
  return std::move(result).value();
}

// The relay's view of the source: forwards to the MemorySource and logs receive and ack.
class ObservedSource final : public Source {
 public:
  ObservedSource(Source& inner, std::vector<IoEvent>& log) : inner_(inner), log_(log) {}

  Status put(std::span<const SourceMessage> batch) override { return inner_.put(batch); }
  Result<std::vector<SourceMessage>> receive(std::size_t max) override {
    Result<std::vector<SourceMessage>> received = inner_.receive(max);
    if (received.ok() && !received->empty()) {
      IoEvent event{.kind = IoEvent::Kind::kReceive};
      for (const SourceMessage& message : *received) {
        event.ids.push_back(message.id.str());
        id_by_handle_[message.ack_handle] = message.id.str();
      }
      append(std::move(event));
    }
    return received;
  }
  Status ack(std::span<const std::string> ack_handles) override {
    // The ids the handles belong to are known from the receive that handed them out.
    IoEvent event{.kind = IoEvent::Kind::kAck};
    for (const std::string& handle : ack_handles) {
      const auto found = id_by_handle_.find(handle);
      event.ids.push_back(found == id_by_handle_.end() ? "?" + handle : found->second);
      if (found != id_by_handle_.end()) id_by_handle_.erase(found);
    }
    const Status acked = inner_.ack(ack_handles);
    event.ok = acked.ok();
    append(std::move(event));
    return acked;
  }
  Result<std::uint64_t> depth() override { return inner_.depth(); }

 private:
  void append(IoEvent event) {
    HADR_ASSERT(log_.size() < kIoLogMax);
    log_.push_back(std::move(event));
  }

  Source& inner_;
  std::vector<IoEvent>& log_;
  std::map<std::string, std::string> id_by_handle_;  // handles received and not acked yet
};

}  // namespace

MessageId message_id(std::string_view text) { return take(MessageId::parse(text), "message id"); }

// ---- TestCrashPoints -------------------------------------------------------------------------

void TestCrashPoints::arm(std::string_view point, std::uint64_t skip) {
  armed_ = std::string(point);
  skip_ = skip;
}

void TestCrashPoints::hit(std::string_view point) {
  // kAllCrashPoints must stay complete: a role hitting a point missing from it is a bug.
  HADR_ASSERT_MSG(std::find(kAllCrashPoints.begin(), kAllCrashPoints.end(), point) != kAllCrashPoints.end(),
                  "crash point '%.*s' is missing from kAllCrashPoints", static_cast<int>(point.size()), point.data());
  ++hits_[std::string(point)];
  if (crashed_ || armed_.empty() || point != armed_) return;
  if (skip_ > 0) {
    --skip_;
    return;
  }
  crashed_ = true;
  crashed_at_ = std::string(point);
  armed_.clear();
  if (on_crash_) on_crash_();
}

std::uint64_t TestCrashPoints::hits(std::string_view point) const {
  const auto found = hits_.find(point);
  return found == hits_.end() ? 0 : found->second;
}

void TestCrashPoints::clear() {
  crashed_ = false;
  armed_.clear();
  skip_ = 0;
}

// ---- SwitchableFence, ScriptedFaultInjector, Ledger -------------------------------------------

std::optional<Epoch> SwitchableFence::writable_epoch() const {
  if (pending_) {
    if (pending_->first == 0) {
      fence_.set(pending_->second);
      pending_.reset();
    } else {
      --pending_->first;
    }
  }
  return fence_.writable_epoch();
}

void SwitchableFence::set_after(std::uint64_t queries, Epoch epoch) { pending_ = std::pair{queries, epoch}; }

bool ScriptedFaultInjector::fire(FaultSite site) {
  const std::uint64_t ask = ++asked_[site];
  const auto found = scripted_.find(site);
  return found != scripted_.end() && found->second.contains(ask);
}

std::uint64_t ScriptedFaultInjector::asked(FaultSite site) const {
  const auto found = asked_.find(site);
  return found == asked_.end() ? 0 : found->second;
}

std::uint64_t Ledger::duplicate_effects() const {
  std::uint64_t duplicates = 0;
  for (const auto& [id, count] : effects) duplicates += count > 1 ? count - 1 : 0;
  return duplicates;
}

// ---- LedgerLikeHandler -----------------------------------------------------------------------

HandlerResult LedgerLikeHandler::handle(const HandlerInput& input) {
  // A dead process applies nothing: whatever the role does after its crash point is lost.
  if (crash_points_.crashed()) return HandlerResult{.verdict = HandlerVerdict::kRetryLater, .reason = "dead"};
  const std::string id = input.message.id.str();
  ++ledger_.calls[id];
  if (ledger_.during_handle) ledger_.during_handle();
  if (ledger_.during_handle_with_input) ledger_.during_handle_with_input(input);
  if (auto scripted = ledger_.script.find(id); scripted != ledger_.script.end() && !scripted->second.empty()) {
    HandlerResult result = scripted->second.front();
    scripted->second.pop_front();
    if (result.verdict != HandlerVerdict::kDone) return result;
  }
  if (mode_ == HandlerMode::kPlain) {
    ++ledger_.effects[id];
    return HandlerResult{.verdict = HandlerVerdict::kDone};
  }
  // The ledger's transaction: the effect commits together with the mark, or not at all. A lost
  // confirm is resolved against the store's truth, as the ledger's own database would be.
  const Status marked = dedupe_.mark_done(input.message.id, input.claim_token, kDefaultDedupeRecordTtl);
  if (!marked_with(input.message.id, input.claim_token)) {
    return HandlerResult{.verdict = HandlerVerdict::kRetryLater,
                         .reason = "ledger transaction rolled back: " +
                                   (marked.ok() ? std::string("mark not found") : marked.error().to_string())};
  }
  ++ledger_.effects[id];
  return HandlerResult{.verdict = HandlerVerdict::kDone, .marked_done = true};
}

bool LedgerLikeHandler::marked_with(const MessageId& id, std::string_view claim_token) const {
  for (const DedupeRecordView& record : truth_.records()) {
    if (record.id == id) return record.live && record.state == RecordState::kDone && record.claim_token == claim_token;
  }
  return false;
}

// ---- the process -----------------------------------------------------------------------------

struct RegionHarness::Process {
  std::unique_ptr<MemorySource> source_client;
  std::unique_ptr<ObservedSource> source;
  std::unique_ptr<MemoryBus> relay_bus;
  std::unique_ptr<MemoryBus> promoter_bus;
  std::unique_ptr<MemoryDedupeStore> relay_dedupe;
  std::unique_ptr<MemoryDedupeStore> checkpointer_dedupe;
  std::unique_ptr<MemoryCoord> coord;
  std::vector<std::unique_ptr<MemoryCoord>> worker_coords;
  std::unique_ptr<Wal> wal;
  std::unique_ptr<MemoryBlobStore> blobs;
  std::unique_ptr<WalShipper> shipper;
  std::vector<std::unique_ptr<MemoryBus>> worker_buses;
  std::vector<std::unique_ptr<MemoryDedupeStore>> worker_dedupes;
  std::vector<std::unique_ptr<MemoryDedupeStore>> handler_dedupes;
  std::vector<std::unique_ptr<LedgerLikeHandler>> handlers;
  // Roles last: they borrow everything above and are destroyed first.
  std::unique_ptr<Relay> relay;
  std::unique_ptr<Promoter> promoter;
  std::unique_ptr<Checkpointer> checkpointer;
  std::vector<std::unique_ptr<Worker>> workers;

  void disconnect() {
    source_client->set_connected(false);
    relay_bus->set_connected(false);
    promoter_bus->set_connected(false);
    relay_dedupe->set_connected(false);
    checkpointer_dedupe->set_connected(false);
    coord->set_connected(false);
    blobs->set_connected(false);
    for (auto& bus : worker_buses) bus->set_connected(false);
    for (auto& dedupe : worker_dedupes) dedupe->set_connected(false);
    for (auto& dedupe : handler_dedupes) dedupe->set_connected(false);
    for (auto& worker_coord : worker_coords) worker_coord->set_connected(false);
  }
};

RegionHarness::RegionHarness(HarnessOptions harness_options)
    : options(std::move(harness_options)), crash_random(options.seed), static_fence(options.epoch) {
  options.relay.region = take(RegionId::parse("a"), "region");
  options.checkpointer.region = options.relay.region;
  options.backup.region = options.relay.region;
  HADR_ASSERT(bus_server.create_queue(kStaging, QueueOptions{.max_delivery_count = options.staging_max_delivery_count})
                  .ok());
  HADR_ASSERT(bus_server.create_queue(kMain, QueueOptions{.max_delivery_count = options.main_max_delivery_count}).ok());
  options.worker.max_delivery_count =
      options.worker_max_delivery_count != 0 ? options.worker_max_delivery_count : options.main_max_delivery_count;
  env.set_sync_hook([this](const std::string& path) {
    // After a crash point the process is dead: nothing it writes becomes durable.
    Status status = crash_points.crashed() ? data_loss("the process crashed") : ok_status();
    if (status.ok() && sync_fault) status = sync_fault(path);
    HADR_ASSERT(io_log_.size() < kIoLogMax);
    io_log_.push_back(IoEvent{.kind = IoEvent::Kind::kSync, .path = path, .ok = status.ok()});
    return status;
  });
  crash_points.set_on_crash([this] { on_crash(); });
  start_process();
}

RegionHarness::~RegionHarness() {
  stop_process();
  env.set_sync_hook({});
}

FaultInjector* RegionHarness::injector(const std::string& client) const {
  const auto found = options.faults_by_client.find(client);
  return found != options.faults_by_client.end() ? found->second : options.faults;
}

void RegionHarness::start_process() {
  HADR_ASSERT(process_ == nullptr);
  auto process = std::make_unique<Process>();
  Process& p = *process;
  p.source_client =
      take(MemorySource::open(source_server, "relay-a", options.source_visibility_timeout, injector("source")), "source");
  p.source = std::make_unique<ObservedSource>(*p.source_client, io_log_);
  p.relay_bus = std::make_unique<MemoryBus>(bus_server, injector("relay.bus"));
  p.promoter_bus = std::make_unique<MemoryBus>(bus_server, injector("promoter.bus"));
  p.relay_dedupe = std::make_unique<MemoryDedupeStore>(dedupe_server, injector("relay.dedupe"));
  p.checkpointer_dedupe = std::make_unique<MemoryDedupeStore>(dedupe_server, injector("checkpointer.dedupe"));
  p.coord = std::make_unique<MemoryCoord>(coord_server, injector("checkpointer.coord"));
  p.wal = take(Wal::open(env, std::string(kWalDir), options.wal), "wal open");
  p.blobs = std::make_unique<MemoryBlobStore>(blob_server, injector("backup.blobs"));
  if (options.backup_mode != HarnessBackup::kNone) p.shipper = take(WalShipper::create({.wal = *p.wal, .blobs = *p.blobs}, options.backup), "shipper");
  p.relay = take(Relay::create({.source = *p.source, .wal = *p.wal, .env = env, .bus = *p.relay_bus,
                                .dedupe = *p.relay_dedupe, .fence = fence, .clock = clock,
                                .crash_points = crash_points, .backup_sync = options.backup_mode == HarnessBackup::kSync ? p.shipper.get() : nullptr,
                                .backup_async = options.backup_mode == HarnessBackup::kAsync ? p.shipper.get() : nullptr,
                                .coord = p.coord.get()},
                               options.relay),
                 "relay");
  p.promoter = take(Promoter::create({.bus = *p.promoter_bus, .fence = fence, .clock = clock,
                                      .crash_points = crash_points},
                                     options.promoter),
                    "promoter");
  p.checkpointer = take(Checkpointer::create({.wal = *p.wal, .env = env, .dedupe = *p.checkpointer_dedupe,
                                              .coord = *p.coord, .fence = fence, .clock = clock,
                                              .crash_points = crash_points},
                                             options.checkpointer),
                        "checkpointer");
  for (std::size_t i = 0; i < options.worker_count; ++i) {
    p.worker_buses.push_back(std::make_unique<MemoryBus>(bus_server, injector("worker.bus")));
    p.worker_dedupes.push_back(std::make_unique<MemoryDedupeStore>(dedupe_server, injector("worker.dedupe")));
    p.handler_dedupes.push_back(std::make_unique<MemoryDedupeStore>(dedupe_server, injector("handler.dedupe")));
    p.handlers.push_back(std::make_unique<LedgerLikeHandler>(ledger, options.handler_mode, *p.handler_dedupes.back(),
                                                             dedupe_server, crash_points));
    WorkerOptions worker_options = options.worker;
    worker_options.owner = "a/worker-" + std::to_string(i + 1);
    p.worker_coords.push_back(std::make_unique<MemoryCoord>(coord_server, injector("worker.coord")));
    p.workers.push_back(take(Worker::create({.bus = *p.worker_buses.back(), .dedupe = *p.worker_dedupes.back(),
                                             .coord = *p.worker_coords.back(), .handler = *p.handlers.back(), .fence = fence, .clock = clock,
                                             .crash_points = crash_points},
                                            worker_options),
                             "worker"));
  }
  process_ = std::move(process);
}

void RegionHarness::stop_process() { process_.reset(); }

void RegionHarness::on_crash() {
  // The process dies here: whatever the role still does in this step reaches no server, and
  // the sync hook refuses every later fsync, so it reaches no disk either.
  HADR_ASSERT(process_ != nullptr);
  process_->disconnect();
}

void RegionHarness::crash_now() {
  crash_history_.push_back(crash_points.crashed() ? crash_points.crashed_at() : std::string());
  stop_process();
  env.crash(options.crash_mode, crash_random);
  crash_points.clear();
  ++restarts_;
  start_process();
}

// ---- driving ---------------------------------------------------------------------------------

std::vector<std::string> RegionHarness::put_messages(std::size_t count, std::string_view prefix) {
  std::vector<std::string> ids;
  std::vector<SourceMessage> batch;
  for (std::size_t i = 0; i < count; ++i) {
    char name[64];
    std::snprintf(name, sizeof(name), "%.*s-%05zu", static_cast<int>(prefix.size()), prefix.data(),
                  put_ids_.size() + 1);
    put_ids_.push_back(name);
    ids.push_back(name);
    batch.push_back(SourceMessage{.id = message_id(name), .headers = {{"kind", "test"}}, .body = "body of " + ids.back()});
    if (batch.size() == kPutBatchMax || i + 1 == count) {
      HADR_ASSERT(source_server.put(batch).ok());
      batch.clear();
    }
  }
  return ids;
}

void RegionHarness::record_step(std::string_view role, const Result<StepOutcome>& outcome, bool& progress) {
  if (!outcome.ok()) {
    if (crash_points.crashed()) return;  // the dead process's last words
    step_errors_.push_back(outcome.error());
    if (!step_errors_expected_) ADD_FAILURE() << role << " step failed: " << outcome.error().to_string();
    return;
  }
  if (*outcome == StepOutcome::kProgress) progress = true;
}

bool RegionHarness::step_all() {
  HADR_ASSERT(process_ != nullptr);
  bool progress = false;
  std::vector<std::pair<std::string_view, Role*>> roles = {
      {"relay", process_->relay.get()}, {"promoter", process_->promoter.get()},
      {"checkpointer", process_->checkpointer.get()}};
  for (auto& worker : process_->workers) roles.emplace_back("worker", worker.get());
  for (auto& [name, role] : roles) {
    record_step(name, role->step(), progress);
    if (crash_points.crashed()) {
      crash_now();
      return true;
    }
  }
  return progress;
}

void RegionHarness::run_rounds(std::size_t rounds, Milliseconds tick) {
  for (std::size_t i = 0; i < rounds; ++i) {
    if (!step_all()) clock.advance(tick);
  }
}

::testing::AssertionResult RegionHarness::drain(bool require_checkpoint, std::size_t rounds_max) {
  const auto drained = [&] {
    if (source_server.depth() != 0 || relay().recovering() || relay().pending_count() != 0) return false;
    const QueueDepth staging = depth(kStaging);
    const QueueDepth main = depth(kMain);
    if (staging.available + staging.locked + main.available + main.locked != 0) return false;
    for (const auto& worker : process_->workers) {
      if (worker->health().lag != 0) return false;
    }
    return !require_checkpoint || checkpointer().checkpoint() == wal().durable_lsn();
  };
  for (std::size_t round = 0; round < rounds_max; ++round) {
    if (drained()) return ::testing::AssertionSuccess();
    if (!step_all()) clock.advance(Milliseconds(1'000));
  }
  const QueueDepth staging = depth(kStaging);
  const QueueDepth main = depth(kMain);
  return ::testing::AssertionFailure()
         << "not drained after " << rounds_max << " rounds: source depth " << source_server.depth()
         << ", relay pending " << relay().pending_count() << (relay().recovering() ? " (recovering)" : "")
         << ", staging " << staging.available << "+" << staging.locked << ", main " << main.available << "+"
         << main.locked << ", checkpoint " << checkpointer().checkpoint().value << " of durable "
         << wal().durable_lsn().value << "; last relay error: " << relay().health().last_error
         << "; last checkpointer error: " << checkpointer().health().last_error;
}

// ---- observation -----------------------------------------------------------------------------

std::set<std::string> RegionHarness::dead_lettered_ids() const {
  std::set<std::string> ids;
  for (const DeadLetterEvent& event : bus_server.dead_letter_log()) {
    if (event.queue == kMain) ids.insert(event.message.id.str());
  }
  return ids;
}

std::vector<std::string> RegionHarness::lost() const {
  const std::set<std::string> dead_lettered = dead_lettered_ids();
  std::vector<std::string> missing;
  for (const std::string& id : put_ids_) {
    if (!ledger.effects.contains(id) && !dead_lettered.contains(id)) missing.push_back(id);
  }
  return missing;
}

Relay& RegionHarness::relay() { return *process_->relay; }
Promoter& RegionHarness::promoter() { return *process_->promoter; }
Checkpointer& RegionHarness::checkpointer() { return *process_->checkpointer; }
Worker& RegionHarness::worker(std::size_t index) { return *process_->workers.at(index); }
Wal& RegionHarness::wal() { return *process_->wal; }
MemoryBus& RegionHarness::relay_bus() { return *process_->relay_bus; }
MemoryBus& RegionHarness::promoter_bus() { return *process_->promoter_bus; }
MemoryDedupeStore& RegionHarness::relay_dedupe() { return *process_->relay_dedupe; }
WalShipper* RegionHarness::shipper() { return process_->shipper.get(); }

QueueDepth RegionHarness::depth(std::string_view queue) { return take(bus_server.depth(queue), "bus depth"); }

BusQueueCounts RegionHarness::counts(std::string_view queue) {
  for (BusQueueCounts& counts : bus_server.queue_counts()) {
    if (counts.queue == queue) return counts;
  }
  ADD_FAILURE() << "no queue " << queue;
  return {};
}

std::optional<DedupeRecordView> RegionHarness::dedupe_record(std::string_view id) const {
  for (const DedupeRecordView& record : dedupe_server.records()) {
    if (record.id.str() == id) return record;
  }
  return std::nullopt;
}

void RegionHarness::mark_done_elsewhere(std::string_view id, bool dead_lettered, Epoch epoch) {
  const ClaimOutcome claim = take(dedupe_server.claim(message_id(id), "elsewhere", epoch, kElsewhereClaimTtl), "claim");
  HADR_ASSERT(claim.status == ClaimStatus::kClaimed);
  const Status marked =
      dead_lettered ? dedupe_server.mark_dead_lettered(message_id(id), claim.claim_token, "test", kDefaultDedupeRecordTtl)
                    : dedupe_server.mark_done(message_id(id), claim.claim_token, kDefaultDedupeRecordTtl);
  HADR_ASSERT(marked.ok());
}

}  // namespace hadr::roles_test
