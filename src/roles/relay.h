// Relay: source -> WAL (one fdatasync per batch) -> ack the source -> publish to `staging`.
// The plan's QueueBuilder. State machine and crash analysis: docs/roles.md, "Relay".
//
// One step does one of, in this order of preference:
//   1. publish: the oldest pending records (appended, acked, not yet on the bus) go to the
//      staging queue as one send, stamped with the region's current epoch;
//   2. recover (after a start, and again under every new epoch): classify the next chunk of the
//      WAL from the settled floor (the larger of the checkpoint file and Coord
//      "checkpoint/<region>", roles/settled_floor.h) to the durable LSN found at start, and
//      queue for publication every message record that the dedupe store does not know as done
//      or dead-lettered. Under a new epoch because the other region may have republished this
//      region's records into its own namespace and then been cut off: nobody else drives them;
//   3. intake: receive a batch from the source, pin each message's copy on the dedupe store
//      ("<region>:<lsn>" and "<region>:<lsn>:unacked" for the LSNs the append will assign;
//      no pin, no append), append it to the WAL stamped with the epoch (one fdatasync),
//      re-check the fence, ack the source (then retire the ":unacked" tags), queue the records
//      for publication. See docs/failover.md, "One id in two WAL records".
// With a blob backup of the WAL (wal_backup.h):
//   - sync (backup_sync): after the fsync, intake ships the batch to the BlobStore and acks the
//     source only once it is there (crash point "relay.after_backup_before_ack"). While shipping
//     fails the relay holds the batch: it acks nothing, receives nothing more, and retries on
//     later steps with backoff (the fence is re-checked before the ack, as always);
//   - async (backup_async): the WalBackup role ships; intake takes at most what keeps
//     durable - shipped <= backup_lag_max (the RPO of async mode) and pauses at the bound.
// Either way retention deletes backup objects below the checkpoint and keeps WAL segments
// until they are shipped.
// Intake runs while publication backs off (the bus is slow or down) until the in-flight window
// (pending records) is full; then the relay receives nothing more: backpressure, and the WAL
// is what buffers, within in_flight_max records.
// Every step first asks the fence. Without the lease (drain_epoch()) the relay does nothing at
// all; with the lease but intake closed (writable_epoch() empty: the watchdog's gate) it takes
// nothing from the source but still publishes pending records, ships and acks a held batch and
// continues a recovery already started, so a planned switchover drains (fence.h).
// Every few seconds (retention_interval) it reads the checkpoint file and applies WAL
// retention, because the relay owns the Wal.
//
// Ownership: borrows every dependency; they must outlive the relay. The pending records are
// memory only: after a restart, publication recovery finds them again in the WAL.
// Thread-safety: step() and the accessors marked "driver thread" from one thread at a time
// (the region's control thread, which owns the Wal); health() and stats() from any thread.
// Invariants: the source is acked only for records at or below wal.durable_lsn() (and, with
// backup_sync, at or below its shipped LSN); the pending queue holds at most in_flight_max
// records; records are published in LSN order; with backup_async, intake never takes the WAL
// past shipped + backup_lag_max.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "contracts/bus.h"
#include "contracts/coord.h"
#include "contracts/dedupe_store.h"
#include "contracts/source.h"
#include "roles/backoff.h"
#include "roles/crash_points.h"
#include "roles/fence.h"
#include "roles/role.h"
#include "roles/role_support.h"
#include "roles/wal_backup.h"
#include "wal/wal.h"

namespace hadr {

struct RelayOptions {
  RegionId region;
  std::string staging_queue = "staging";
  // Messages per source receive, WAL append and bus send: 1 .. min(Source::kMaxBatch,
  // Bus::kMaxSendBatch).
  std::size_t batch_max = 256;
  // Records appended (or recovered) but not yet published: batch_max .. 1,000,000.
  std::size_t in_flight_max = 4096;
  // WAL records classified per recovery step (one dedupe lookup): 1 .. DedupeStore::kMaxLookupBatch.
  std::size_t recovery_chunk_max = 1024;
  // How often the checkpoint file is read to apply retention (monotonic): 1 ms .. 1 h.
  Milliseconds retention_interval{10'000};
  // Async backup only: the most records intake lets the WAL run ahead of the backup
  // (durable - shipped), i.e. the records a whole-region loss can lose. 1 .. 100,000,000 with
  // backup_async; ignored without it (0 there means "no backup, no bound").
  std::uint64_t backup_lag_max = 65'536;
  BackoffOptions backoff;
  // dedupe.record_ttl: once the source confirmed an ack, the relay retires the batch's
  // unacked pins (copy_pin_unacked_tag) with it; 1 ms .. 365 days.
  Milliseconds record_ttl = kDefaultDedupeRecordTtl;

  Status validate() const;
};

struct RelayDependencies {
  Source& source;
  Wal& wal;
  Env& env;  // the Env the Wal was opened on: the checkpoint file sits in wal.dir()
  Bus& bus;
  DedupeStore& dedupe;
  const RegionFence& fence;
  const Clock& clock;
  CrashPoints& crash_points;
  // At most one of the two (wal_backup.h). The relay also applies backup retention with it.
  WalShipper* backup_sync = nullptr;   // ship each batch before acking the source
  WalShipper* backup_async = nullptr;  // shipped by the WalBackup role; intake bounded by backup_lag_max
  // Where the region's settled floor is shared (Coord "checkpoint/<region>", which the other
  // region's replayer advances after a takeover). Without it recovery starts at the checkpoint
  // file alone (one region, no peer).
  Coord* coord = nullptr;
};

struct RelayStats {
  std::uint64_t appended = 0;              // records appended to the WAL by intake
  std::uint64_t acked = 0;                 // source messages acked
  std::uint64_t ack_failures = 0;          // acks refused or lost (the records are published anyway)
  std::uint64_t fenced_after_append = 0;   // appended, then fenced: not acked, not published
  std::uint64_t published = 0;             // records sent to staging (recovered ones included)
  std::uint64_t recovered = 0;             // WAL records queued again by publication recovery
  std::uint64_t recovered_already_done = 0;  // WAL records recovery skipped: done or dead-lettered
  std::uint64_t retained_from = 0;         // last argument given to Wal::retain_from (0: never)
  std::uint64_t backup_holds = 0;          // sync backup: ship attempts that left a batch held (not acked)
  std::uint64_t backup_lag_pauses = 0;     // async backup: intake steps skipped at backup_lag_max
};

// The bus form of a WAL message record, as the relay (publication recovery) and the replayer
// publish it: the original id, LSN, headers and body, from `source_region`, under `epoch`.
BusMessage to_bus_message(WalRecord record, const RegionId& source_region, Epoch epoch);

class Relay final : public Role {
 public:
  static constexpr std::size_t kInFlightHardMax = 1'000'000;
  static constexpr std::uint64_t kBackupLagHardMax = 100'000'000;

  static Result<std::unique_ptr<Relay>> create(const RelayDependencies& dependencies, RelayOptions options);

  std::string_view name() const override { return "relay"; }
  Result<StepOutcome> step() override;
  RoleHealth health() const override { return health_.snapshot(); }
  RelayStats stats() const;

  // Driver thread only.
  std::size_t pending_count() const { return pending_.size(); }
  // Sync backup: a batch appended but not acked because it is not in the blob store yet.
  bool holding_batch() const { return held_.has_value(); }
  // Records this relay took (or found in its WAL at start) that are not on the bus yet: pending,
  // held for the sync backup, or still to be classified by recovery. 0 = drained. The one
  // drain test the runtime and the simulator both use (RegionControl::drained()).
  std::size_t unpublished_count() const;
  bool recovering() const { return phase_ != Phase::kRelaying; }

 private:
  enum class Phase { kStarting, kRecovering, kRelaying };

  // A batch appended and synced whose ack waits for the sync backup.
  struct HeldBatch {
    Epoch epoch;
    std::vector<SourceMessage> received;
    Lsn last_lsn;
  };

  Relay(const RelayDependencies& dependencies, RelayOptions options);

  // false: the settled floor could not be read yet (backoff armed).
  Result<bool> start_recovery(Epoch epoch);
  // A new epoch: forget what is pending and classify the WAL again from the settled floor.
  void restart_recovery();
  Result<StepOutcome> recover_chunk();
  Status read_recovery_chunk();
  Result<StepOutcome> publish_pending(Epoch epoch);
  Result<StepOutcome> take_intake(Epoch epoch);
  // Sync backup: ships the appended batch, then acks; holds it when shipping falls short.
  Result<StepOutcome> back_up_and_ack(Epoch epoch, std::vector<SourceMessage>& received,
                                      std::span<const WalAppend> batch, Lsn last_lsn);
  Result<StepOutcome> retry_held_batch();
  Result<StepOutcome> ack_and_queue(Epoch epoch, std::vector<SourceMessage>& received, Lsn last_lsn);
  // Records intake may take now under backup_lag_max (async backup), else SIZE_MAX.
  std::size_t backup_room() const;
  WalShipper* backup() const { return deps_.backup_sync != nullptr ? deps_.backup_sync : deps_.backup_async; }
  Status apply_backup_retention(Lsn checkpoint);
  Status apply_retention_if_due();
  void queue_for_publication(BusMessage message);
  std::size_t window_room() const;
  void update_lag();

  RelayDependencies deps_;
  const RelayOptions options_;
  Phase phase_ = Phase::kStarting;
  Epoch recovered_under_;  // the epoch of the last publication recovery
  std::deque<BusMessage> pending_;           // LSN order; epoch is stamped at send time
  std::optional<WalReader> recovery_reader_;  // bounded by the durable LSN found at start
  bool recovery_reader_exhausted_ = false;
  Lsn recovery_end_;         // the durable LSN when recovery started: where it stops
  Lsn recovery_read_until_;  // the last LSN recovery has read
  std::vector<WalRecord> recovery_chunk_;     // read, not yet classified (a lookup failed)
  std::optional<HeldBatch> held_;             // sync backup: appended, not yet shipped, not acked
  // Unacked pins of acked records, retired after each ack (retire_pins; a failure leaves them
  // for the next ack; past the bound they keep their long TTL).
  std::vector<CopyPin> to_unpin_;
  static constexpr std::size_t kUnpinBacklogMax = 4 * DedupeStore::kMaxLookupBatch;
  Backoff intake_backoff_;
  Backoff backup_backoff_;
  Backoff publish_backoff_;
  Backoff recovery_backoff_;
  MonoTime next_retention_at_{};
  HealthRecorder health_;

  struct Counters {
    std::atomic<std::uint64_t> appended{0}, acked{0}, ack_failures{0}, fenced_after_append{0}, published{0},
        recovered{0}, recovered_already_done{0}, retained_from{0}, backup_holds{0}, backup_lag_pauses{0};
  };
  Counters counters_;
};

}  // namespace hadr
