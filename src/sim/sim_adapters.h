// The simulator's adapters around the roles of one region: recording wrappers over the store
// clients (what the checkers judge), the deliberately broken variants (BrokenVariant, wired
// here and never in the roles), the test handler, the crash points, and the watchdog's
// RegionControl / AlertSink / ExternalHook for one simulated process.
//
// Ownership: every adapter borrows what it wraps and the world; all outlive the adapter (the
// region's process owns the adapters, the world outlives every process).
// Thread-safety: none; the simulation is single-threaded.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "contracts/bus.h"
#include "contracts/coord.h"
#include "contracts/dedupe_store.h"
#include "contracts/source.h"
#include "roles/crash_points.h"
#include "roles/fence.h"
#include "roles/handler.h"
#include "roles/lease_manager.h"
#include "roles/region_control.h"
#include "roles/relay.h"
#include "roles/replayer.h"
#include "roles/wal_backup.h"
#include "sim/sim_world.h"
#include "wal/wal.h"

namespace hadr::sim {

// The relay's Source. Broken variant kAckBeforeFsync: every received batch is acked at once,
// before the WAL append (later acks of those handles answer ok without a call).
// Every ack the source accepted is recorded as a fenced write under the relay's epoch then.
class SimSource final : public Source {
 public:
  SimSource(Source& inner, SimWorld& world, std::string region, const RegionFence& fence, bool ack_at_receive)
      : inner_(inner), world_(world), region_(std::move(region)), fence_(fence), ack_at_receive_(ack_at_receive) {}

  Status put(std::span<const SourceMessage> batch) override { return inner_.put(batch); }
  Result<std::vector<SourceMessage>> receive(std::size_t max) override;
  Status ack(std::span<const std::string> ack_handles) override;
  Result<std::uint64_t> depth() override { return inner_.depth(); }

 private:
  Source& inner_;
  SimWorld& world_;
  const std::string region_;
  const RegionFence& fence_;
  const bool ack_at_receive_;
};

// A region's bus client that records every accepted send to staging (kPublish, stamped epoch)
// or main (kPromote, the region's fence epoch at the send). Broken variant
// kStagingCompletedBeforeMain: a fifth of the sends to main are dropped but answered ok, so the
// promoter completes the staging copy of a message main never got. Fault late_write: a send
// checked against the fence now reaches the namespace (`server`) up to seconds later.
class SimBus final : public Bus {
 public:
  SimBus(Bus& inner, MemoryBusServer& server, SimWorld& world, std::string region, const RegionFence& fence,
         bool drop_main_sends)
      : inner_(inner), server_(server), world_(world), region_(std::move(region)), fence_(fence),
        drop_main_sends_(drop_main_sends) {}

  Status create_queue(std::string_view queue, const QueueOptions& options) override {
    return inner_.create_queue(queue, options);
  }
  Status send(std::string_view queue, std::span<const BusMessage> batch) override;
  Result<std::vector<ReceivedMessage>> receive(std::string_view queue, std::size_t max,
                                               Milliseconds lock_duration) override {
    return inner_.receive(queue, max, lock_duration);
  }
  Status complete(std::string_view queue, std::string_view token) override { return inner_.complete(queue, token); }
  Status abandon(std::string_view queue, std::string_view token) override { return inner_.abandon(queue, token); }
  Status dead_letter(std::string_view queue, std::string_view token, std::string_view reason) override {
    return inner_.dead_letter(queue, token, reason);
  }
  Result<WallTime> renew_lock(std::string_view queue, std::string_view token, Milliseconds duration) override {
    return inner_.renew_lock(queue, token, duration);
  }
  Result<QueueDepth> depth(std::string_view queue) override { return inner_.depth(queue); }

 private:
  static void record_send(SimWorld& world, const std::string& region, std::string_view queue,
                          std::span<const BusMessage> batch, Epoch fence_epoch);

  Bus& inner_;
  MemoryBusServer& server_;
  SimWorld& world_;
  const std::string region_;
  const RegionFence& fence_;
  const bool drop_main_sends_;
};

// A worker's dedupe client that records every claim and its outcome. Broken variant
// kClaimIgnoresEpoch: the claim is sent under the store's highest epoch instead of the
// caller's, which skips the store's stale-epoch check.
class SimDedupe final : public DedupeStore {
 public:
  SimDedupe(DedupeStore& inner, SimWorld& world, std::string region, bool ignore_epoch)
      : inner_(inner), world_(world), region_(std::move(region)), ignore_epoch_(ignore_epoch) {}

  Result<ClaimOutcome> claim(const MessageId& id, std::string_view owner, Epoch epoch, Milliseconds ttl) override;
  Status mark_done(const MessageId& id, std::string_view token, Milliseconds ttl) override {
    Status marked = inner_.mark_done(id, token, ttl);
    if (marked.ok()) world_.history.add_acknowledged_mark(id.str());
    return marked;
  }
  Status mark_dead_lettered(const MessageId& id, std::string_view token, std::string_view reason,
                            Milliseconds ttl) override {
    return inner_.mark_dead_lettered(id, token, reason, ttl);
  }
  Status release(const MessageId& id, std::string_view token) override { return inner_.release(id, token); }
  Result<std::vector<RecordState>> lookup(std::span<const MessageId> ids) override { return inner_.lookup(ids); }
  Status pin(std::span<const CopyPin> pins) override { return inner_.pin(pins); }
  Status retire(std::span<const CopyPin> pins, Milliseconds record_ttl) override {
    return inner_.retire(pins, record_ttl);
  }
  Result<Epoch> highest_epoch() override { return inner_.highest_epoch(); }

 private:
  // Applies the delayed claims (SimWorld::late_claims) that are due, straight at the server.
  void deliver_late_claims();
  void record_claim(const std::string& region, Epoch caller_epoch, const ClaimOutcome& outcome, bool orphaned);

  DedupeStore& inner_;
  SimWorld& world_;
  const std::string region_;
  const bool ignore_epoch_;
};

// A region's coord client that records every accepted fenced put (kEpochAtLeast: checkpoints,
// replay progress, alias, failover records) as a write under its epoch. Fault late_write: a put
// reaches the server up to seconds later (the caller hears kDeadlineExceeded). Broken variant
// kCheckpointPastUnsettled: the region's checkpoint is written at the WAL's durable LSN,
// whatever the checkpointer computed (settled or not).
class SimCoord final : public Coord {
 public:
  // `writer` names the roles behind this client in the history ("watchdog", "checkpointer", ...).
  SimCoord(Coord& inner, SimWorld& world, std::string region, std::string_view writer,
           std::function<std::uint64_t()> durable_lsn)
      : inner_(inner), world_(world), region_(std::move(region)), writer_(writer),
        durable_lsn_(std::move(durable_lsn)) {}

  Result<CoordRecord> put(const CoordPut& write) override;
  Result<std::optional<CoordRecord>> get(std::string_view key) override { return inner_.get(key); }
  Result<std::vector<CoordRecord>> list(std::string_view prefix) override { return inner_.list(prefix); }
  Status remove(std::string_view key) override { return inner_.remove(key); }

 private:
  static void record_put(SimWorld& world, const std::string& region, std::string_view writer, const CoordPut& write);

  Coord& inner_;
  SimWorld& world_;
  const std::string region_;
  const std::string_view writer_;
  std::function<std::uint64_t()> durable_lsn_;  // empty: not the checkpointer's client
};

// A clock whose monotonic time runs at half speed (broken variant kRenewWithoutDeadline: the
// lease manager's renew deadline then ends long after the store expired the lease).
class HalfSpeedClock final : public Clock {
 public:
  explicit HalfSpeedClock(const Clock& inner) : inner_(inner), origin_(inner.now_monotonic()) {}
  MonoTime now_monotonic() const override { return origin_ + (inner_.now_monotonic() - origin_) / 2; }
  WallTime now_wall() const override { return inner_.now_wall(); }

 private:
  const Clock& inner_;
  const MonoTime origin_;
};

// Broken variant kRelayIgnoresIntakeGate: the relay's fence answers the lease's epoch as soon
// as it is granted and within its deadline — no intake gate, so no wait for the watchdog's
// epoch check (confirm) and replay start.
class UngatedFence final : public RegionFence {
 public:
  explicit UngatedFence(const LeaseManager& lease) : lease_(lease) {}
  std::optional<Epoch> writable_epoch() const override {
    if (!lease_.holding() || lease_.time_to_deadline() <= Milliseconds(0)) return std::nullopt;
    return lease_.epoch();
  }

 private:
  const LeaseManager& lease_;
};

// Crash points of one simulated process: an armed point kills the process at its next hit.
// The kill runs `on_crash` at once (the process's clients are cut off and its fsyncs fail), so
// nothing the role does after the point reaches a server or the disk.
class SimCrashPoints final : public CrashPoints {
 public:
  explicit SimCrashPoints(SimWorld& world) : world_(world) {}
  void hit(std::string_view point) override;
  void arm(std::string point) { armed_ = std::move(point); }
  void set_on_crash(std::function<void()> on_crash) { on_crash_ = std::move(on_crash); }
  bool crashed() const { return crashed_; }
  const std::string& crashed_at() const { return crashed_at_; }

 private:
  SimWorld& world_;
  std::string armed_;
  bool crashed_ = false;
  std::string crashed_at_;
  std::function<void()> on_crash_;
};

// The transactional test handler (the built-in ledger's contract): the effect commits with the
// done mark or not at all, so I2 holds exactly. On the in-memory dedupe store a mark that
// answered ok or kDeadlineExceeded (a lost confirm: only raised after the server applied it)
// committed; any other answer committed nothing. With kHandlerFailure on it sometimes fails,
// asks for a retry or rejects, which drives messages to the dead-letter queue.
class SimHandler final : public Handler {
 public:
  // transactional false (fault nontx_handler): the effect happens at the call, then the mark
  // follows; a mark that fails leaves the effect (EffectEvent says how I2 judges that).
  SimHandler(SimWorld& world, std::string region, DedupeStore& dedupe, const SimCrashPoints& crash_points,
             bool failures_enabled, bool transactional)
      : world_(world), region_(std::move(region)), dedupe_(dedupe), crash_points_(crash_points),
        failures_enabled_(failures_enabled), transactional_(transactional) {}

  std::string_view kind() const override { return "ledger"; }
  HandlerResult handle(const HandlerInput& input) override;

 private:
  void trace_effect(const HandlerInput& input) const;
  std::optional<HandlerResult> injected_failure();

  SimWorld& world_;
  const std::string region_;
  DedupeStore& dedupe_;
  const SimCrashPoints& crash_points_;
  const bool failures_enabled_;
  const bool transactional_;
};

// The watchdog's handle on one simulated process (what NodeControl is in the runtime), served
// at once because the simulation has one thread.
class SimControl final : public RegionControl {
 public:
  struct Parts {
    GatedFence& intake;
    Replayer& replayer;
    const Relay& relay;
    Bus& bus;  // the region's namespace, for queue depths
    Wal& wal;
    WalShipper& shipper;
  };
  explicit SimControl(Parts parts) : parts_(parts) {}

  void set_intake_open(bool open) override { parts_.intake.set_open(open); }
  void begin_replay(const RegionId& from) override { parts_.replayer.begin(from); }
  Result<bool> drained() override;
  Result<bool> seal_wal(Epoch epoch) override;

 private:
  Parts parts_;
};

class SimAlerts final : public AlertSink {
 public:
  SimAlerts(SimWorld& world, std::string region) : world_(world), region_(std::move(region)) {}
  void raise(const Alert& alert) override;

 private:
  SimWorld& world_;
  const std::string region_;
};

class NoHook final : public ExternalHook {
 public:
  bool configured() const override { return false; }
  Status start(const RegionId&, Epoch) override { return failed_precondition("no external hook in the simulator"); }
  std::optional<Status> poll() override { return Status(); }
};

}  // namespace hadr::sim
