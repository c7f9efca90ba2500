// RegionHarness: one region wired for role tests — a MemorySource, the Wal on a MemEnv, a
// MemoryBus namespace with `staging` and `main`, a MemoryDedupeServer, a MemoryCoordServer, a
// StaticFence, the four roles, N workers with a LedgerLikeHandler each, and test crash points.
//
// What belongs to "the process" (role objects, the Wal, every client of every server) is
// rebuilt by restart(); what outlives a process (the servers, the MemEnv, the ledger of
// effects) stays. A crash point armed in `crash_points` kills the process exactly there: at
// the hit, every client of the process is disconnected and every later fsync fails (nothing
// the dead process does afterwards reaches a server or the disk), and after the step the
// harness drops the process, runs MemEnv::crash, reopens the Wal and restarts the roles.
//
// The harness also records an I/O log (source receive and ack, every fsync, in order) so tests
// can prove orderings such as "the source ack never precedes the fsync".
//
// Ownership: owns everything. Thread-safety: none; tests drive it from one thread.
// Invariants: at most one process at a time; the ledger only grows.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/mem_env.h"
#include "core/random.h"
#include "memory/fault_injector.h"
#include "memory/memory_blob_store.h"
#include "memory/memory_bus.h"
#include "memory/memory_coord.h"
#include "memory/memory_dedupe_store.h"
#include "memory/memory_source.h"
#include "roles/checkpointer.h"
#include "roles/crash_points.h"
#include "roles/fence.h"
#include "roles/handler.h"
#include "roles/promoter.h"
#include "roles/relay.h"
#include "roles/wal_backup.h"
#include "roles/worker.h"
#include "wal/wal.h"

namespace hadr::roles_test {

inline constexpr std::string_view kWalDir = "/region-a/wal";
inline constexpr std::string_view kStaging = "staging";
inline constexpr std::string_view kMain = "main";

MessageId message_id(std::string_view text);

// Crash points that record where the process died. arm(point, skip): the (skip + 1)-th hit of
// `point` crashes. hit() counts every point, armed or not, so a test can prove it was reached,
// and asserts that the point is listed in kAllCrashPoints.
class TestCrashPoints final : public CrashPoints {
 public:
  void arm(std::string_view point, std::uint64_t skip = 0);
  void hit(std::string_view point) override;

  bool crashed() const { return crashed_; }
  const std::string& crashed_at() const { return crashed_at_; }
  std::uint64_t hits(std::string_view point) const;
  // Called at the crash, before the role continues (the harness cuts the process off there).
  void set_on_crash(std::function<void()> on_crash) { on_crash_ = std::move(on_crash); }
  // After a restart: not crashed, nothing armed.
  void clear();

 private:
  std::string armed_;
  std::uint64_t skip_ = 0;
  bool crashed_ = false;
  std::string crashed_at_;
  std::map<std::string, std::uint64_t, std::less<>> hits_;
  std::function<void()> on_crash_;
};

// A fence over a StaticFence that can flip after a number of further queries, to fence a role
// in the middle of a step.
class SwitchableFence final : public RegionFence {
 public:
  explicit SwitchableFence(StaticFence& fence) : fence_(fence) {}
  std::optional<Epoch> writable_epoch() const override;
  // After `queries` more answers, the StaticFence is set to `epoch`.
  void set_after(std::uint64_t queries, Epoch epoch);

 private:
  StaticFence& fence_;
  mutable std::optional<std::pair<std::uint64_t, Epoch>> pending_;
};

// Fires `site` on chosen asks (1-based) of that site; everything else passes.
class ScriptedFaultInjector final : public FaultInjector {
 public:
  void fire_on(FaultSite site, std::uint64_t ask_number) { scripted_[site].insert(ask_number); }
  bool fire(FaultSite site) override;
  std::uint64_t asked(FaultSite site) const;

 private:
  std::map<FaultSite, std::set<std::uint64_t>> scripted_;
  std::map<FaultSite, std::uint64_t> asked_;
};

// Delegates to another injector but never fires the excluded sites (e.g. kClaimExpiresEarly
// when the handler is not transactional).
class SiteFilterInjector final : public FaultInjector {
 public:
  SiteFilterInjector(FaultInjector& inner, std::set<FaultSite> excluded)
      : inner_(inner), excluded_(std::move(excluded)) {}
  bool fire(FaultSite site) override { return !excluded_.contains(site) && inner_.fire(site); }

 private:
  FaultInjector& inner_;
  std::set<FaultSite> excluded_;
};

// The effects "database": outlives every process, like the ledger's own store.
struct Ledger {
  std::map<std::string, std::uint32_t> effects;  // message id -> times the effect was applied
  std::map<std::string, std::uint32_t> calls;    // message id -> handler calls
  std::map<std::string, std::deque<HandlerResult>> script;  // scripted verdicts, consumed in order
  std::function<void()> during_handle;  // runs inside each call (e.g. moves the clock: a slow handler)
  std::function<void(const HandlerInput&)> during_handle_with_input;  // e.g. a long handler calling keep_alive

  std::uint64_t duplicate_effects() const;
};

enum class HandlerMode {
  kTransactional,  // marks the claim done in the effect's "transaction" (the ledger)
  kPlain,          // only applies the effect; the worker marks it
};

// The test handler. Transactional mode models the built-in ledger: the effect is applied iff the
// mark committed (checked against the dedupe server's truth, so a lost confirm still counts).
class LedgerLikeHandler final : public Handler {
 public:
  LedgerLikeHandler(Ledger& ledger, HandlerMode mode, DedupeStore& dedupe, const MemoryDedupeServer& truth,
                    const TestCrashPoints& crash_points)
      : ledger_(ledger), mode_(mode), dedupe_(dedupe), truth_(truth), crash_points_(crash_points) {}

  std::string_view kind() const override { return "ledger"; }
  HandlerResult handle(const HandlerInput& input) override;

 private:
  bool marked_with(const MessageId& id, std::string_view claim_token) const;

  Ledger& ledger_;
  HandlerMode mode_;
  DedupeStore& dedupe_;
  const MemoryDedupeServer& truth_;
  const TestCrashPoints& crash_points_;
};

// One entry of the I/O log.
struct IoEvent {
  enum class Kind { kReceive, kAck, kSync } kind;
  std::vector<std::string> ids;  // kReceive, kAck: message ids
  std::string path;              // kSync
  bool ok = true;                // kSync: whether the sync succeeded; kAck: whether the ack did
};

enum class HarnessBackup { kNone, kSync, kAsync };

struct HarnessOptions {
  std::size_t worker_count = 2;
  HandlerMode handler_mode = HandlerMode::kTransactional;
  Epoch epoch{1};
  std::uint32_t main_max_delivery_count = 10;
  // The workers' limit; 0 = the main queue's. The runtime sets the queue's above the workers'
  // (a backstop), so that the worker, not the bus, dead-letters a message that keeps coming back.
  std::uint32_t worker_max_delivery_count = 0;
  std::uint32_t staging_max_delivery_count = 10'000;
  Milliseconds source_visibility_timeout{30'000};
  CrashMode crash_mode = CrashMode::kDropUnsynced;
  std::uint64_t seed = 1;  // MemEnv crash tearing
  // Small batches, windows and segments, so that short tests cross every boundary. The harness
  // sets the region ("a"), each worker's owner ("a/worker-<i>") and max_delivery_count.
  RelayOptions relay{.batch_max = 8, .in_flight_max = 32, .recovery_chunk_max = 16,
                     .retention_interval = Milliseconds(1'000)};
  PromoterOptions promoter{.batch_max = 8, .lock_duration = Milliseconds(10'000)};
  WorkerOptions worker{.batch_max = 4, .lock_duration = Milliseconds(10'000), .claim_ttl = Milliseconds(60'000)};
  CheckpointerOptions checkpointer{.interval = Milliseconds(1'000), .chunk_max = 16};
  // WAL backup to `blob_server`: kSync, the relay ships each batch before acking the source;
  // kAsync, the relay only bounds its lag (relay.backup_lag_max) and tests step shipper().
  HarnessBackup backup_mode = HarnessBackup::kNone;
  WalBackupOptions backup{.chunk_records_max = 8};
  WalOptions wal{.segment_bytes_max = 4096, .record_bytes_max = 1024};
  // Fault injection: `faults` for every client, or per client by name: "source", "relay.bus",
  // "relay.dedupe", "promoter.bus", "worker.bus", "worker.dedupe", "handler.dedupe",
  // "checkpointer.dedupe", "checkpointer.coord", "backup.blobs".
  FaultInjector* faults = nullptr;
  std::map<std::string, FaultInjector*> faults_by_client;
};

class RegionHarness {
 public:
  explicit RegionHarness(HarnessOptions options = {});
  ~RegionHarness();
  RegionHarness(const RegionHarness&) = delete;
  RegionHarness& operator=(const RegionHarness&) = delete;

  // Producer side: `count` messages "<prefix>-<n>" (n from the running total), put in batches.
  std::vector<std::string> put_messages(std::size_t count, std::string_view prefix = "m");

  // Steps the relay, the promoter, the checkpointer and every worker once; a crash restarts
  // the process. Returns whether any role made progress. A role error outside a crash fails
  // the test (ADD_FAILURE) unless errors are expected (expect_step_errors).
  bool step_all();
  // step_all() up to `rounds` times, moving the clock by `tick` after each idle round.
  void run_rounds(std::size_t rounds, Milliseconds tick = Milliseconds(1'000));
  // Steps until the region is drained: every source message acked, nothing pending, staging and
  // main empty, no unmarked effect and, if `require_checkpoint`, the checkpoint at the durable LSN.
  ::testing::AssertionResult drain(bool require_checkpoint = true, std::size_t rounds_max = 20'000);

  // Kills the process between steps and restarts it (MemEnv::crash in options.crash_mode).
  void crash_now();
  std::uint64_t restarts() const { return restarts_; }
  // The crash points the process died at, in order ("" for a crash_now() between steps).
  const std::vector<std::string>& crash_history() const { return crash_history_; }
  void expect_step_errors(bool expected) { step_errors_expected_ = expected; }
  const std::vector<Error>& step_errors() const { return step_errors_; }

  // Invariants. Lost: put, but neither an effect nor a dead-lettered copy in main's DLQ.
  std::vector<std::string> lost() const;
  std::uint64_t duplicate_effects() const { return ledger.duplicate_effects(); }
  std::set<std::string> dead_lettered_ids() const;
  const std::vector<std::string>& put_ids() const { return put_ids_; }

  // The process (valid until the next restart).
  Relay& relay();
  Promoter& promoter();
  Checkpointer& checkpointer();
  Worker& worker(std::size_t index);
  Wal& wal();
  MemoryBus& relay_bus();
  MemoryBus& promoter_bus();
  MemoryDedupeStore& relay_dedupe();
  WalShipper* shipper();  // nullptr without a backup_mode
  // Observations from the servers.
  QueueDepth depth(std::string_view queue);
  BusQueueCounts counts(std::string_view queue);
  std::optional<DedupeRecordView> dedupe_record(std::string_view id) const;
  // Marks `id` done (or dead-lettered) as another owner would, straight on the server.
  void mark_done_elsewhere(std::string_view id, bool dead_lettered = false, Epoch epoch = Epoch{1});
  const std::vector<IoEvent>& io_log() const { return io_log_; }

  // Public so tests can reach the world directly. Declared before the process, which borrows it.
  HarnessOptions options;
  ManualClock clock;
  MemEnv env;
  Random crash_random;
  MemorySourceServer source_server{clock, "orders"};
  MemoryBusServer bus_server{clock, "ns-a"};
  MemoryDedupeServer dedupe_server{clock};
  MemoryCoordServer coord_server{clock};
  MemoryBlobServer blob_server;
  StaticFence static_fence;
  SwitchableFence fence{static_fence};
  TestCrashPoints crash_points;
  Ledger ledger;
  // Consulted by the MemEnv sync hook before every fsync: a non-ok answer fails that fsync
  // (EIO). Tests also use it to act at the exact moment of an fsync.
  std::function<Status(const std::string& path)> sync_fault;

 private:
  struct Process;

  void start_process();
  void stop_process();
  void on_crash();
  FaultInjector* injector(const std::string& client) const;
  void record_step(std::string_view role, const Result<StepOutcome>& outcome, bool& progress);

  std::unique_ptr<Process> process_;
  std::vector<std::string> put_ids_;
  std::vector<IoEvent> io_log_;
  std::uint64_t restarts_ = 0;
  std::vector<std::string> crash_history_;
  bool step_errors_expected_ = false;
  std::vector<Error> step_errors_;
};

}  // namespace hadr::roles_test
