// Checkpointer: advances the region's checkpoint — the highest LSN C such that every WAL record
// at or below C is done or dead-lettered (roles/checkpoint.h) — and persists it. Retention
// itself is applied by the relay, which owns the Wal. Details: docs/roles.md, "Checkpointer".
//
// Every `interval` (monotonic) one step:
//   - reads WAL records after the last one it examined into a bounded window of records not
//     yet known settled (chunk_max; a reader from Wal::read_from stops at the durable LSN), so
//     each record is read once;
//   - looks the window's ids up in the dedupe store in one batch;
//   - moves every record found done or dead-lettered (seal records count as done) out of the
//     window into the region's SettledSet (roles/checkpoint.h): the floor advances over the
//     settled prefix, and records settled above a record that is not (a late claim, a message
//     being retried) are kept as ranges, so their done marks may expire (issue 12, hole 1);
//   - persists the set when it changed, naming the WAL's incarnation: Coord key
//     "checkpoint/<region>" with kEpochAtLeast under the current epoch (a region fenced by a
//     higher epoch writes nothing), then the CHECKPOINT file (the floor only) in the WAL
//     directory; then crash point "checkpointer.after_checkpoint_before_retention".
// Bound: at most chunk_max records wait in the window; while that many stay unsettled the
// checkpointer reads no further, and a record past them that is applied meanwhile relies on its
// done mark until the window reaches it (docs/failover.md, "Settled floors").
// While the window was full and fully settled it steps again at once, to catch up a backlog.
// Without a writable epoch it does nothing (a checkpoint write is a fenced write).
//
// Ownership: borrows its dependencies; reads the Wal (const) from the thread that owns it.
// Thread-safety: step() from the region's control thread (the Wal's owner); health(), stats()
// and checkpoint() from any thread.
// Invariants: the checkpoint (the set's floor) never moves backwards within a run and never
// passes the durable LSN; the set only grows within a run; it is persisted to coord before the file.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

#include "contracts/blob_store.h"
#include "contracts/coord.h"
#include "contracts/dedupe_store.h"
#include "roles/backoff.h"
#include "roles/crash_points.h"
#include "roles/fence.h"
#include "roles/role.h"
#include "roles/checkpoint.h"
#include "roles/role_support.h"
#include "wal/wal.h"

namespace hadr {

struct CheckpointerOptions {
  RegionId region;
  Milliseconds interval{1'000};  // 1 ms .. 1 h
  std::size_t chunk_max = 4096;  // records examined per step: 1 .. DedupeStore::kMaxLookupBatch
  // Once the set it persisted covers a record, its done mark is retired to expire this long
  // after (dedupe.record_ttl); until then marks live kUnsettledRecordTtl.
  Milliseconds record_ttl = kDefaultDedupeRecordTtl;
  BackoffOptions backoff;

  Status validate() const;
};

struct CheckpointerDependencies {
  const Wal& wal;
  Env& env;  // the Env the Wal was opened on: the CHECKPOINT file sits in wal.dir()
  DedupeStore& dedupe;
  Coord& coord;
  const RegionFence& fence;
  const Clock& clock;
  CrashPoints& crash_points;
  // Two regions: the blob store that holds this region's settled copy (roles/settled_floor.h),
  // written after coord and before any done mark is retired. nullptr: coord and the file only.
  BlobStore* blobs = nullptr;
};

struct CheckpointerStats {
  std::uint64_t checkpoint = 0;        // the last checkpoint persisted or loaded
  std::uint64_t persisted = 0;         // checkpoint writes that reached coord and the file
  std::uint64_t fenced_writes = 0;     // coord refused the write: a higher epoch wrote the key
  std::uint64_t records_examined = 0;  // WAL records read into the window
  std::uint64_t settled_ranges = 0;    // ranges of settled records above the floor, persisted
};

class Checkpointer final : public Role {
 public:
  static Result<std::unique_ptr<Checkpointer>> create(const CheckpointerDependencies& dependencies,
                                                      CheckpointerOptions options);

  std::string_view name() const override { return "checkpointer"; }
  Result<StepOutcome> step() override;
  RoleHealth health() const override { return health_.snapshot(); }
  CheckpointerStats stats() const;
  Lsn checkpoint() const { return Lsn{checkpoint_value_.load()}; }

 private:
  struct WindowEntry {
    Lsn lsn;
    std::optional<MessageId> id;  // nullopt: a seal record (counts as done)
  };

  Checkpointer(const CheckpointerDependencies& dependencies, CheckpointerOptions options);

  // The start point: the larger of the file and the coord record among those that count this
  // WAL's LSNs (same incarnation; an old-format value only up to the durable LSN). Never clamps
  // a checkpoint down: one of this WAL past its durable LSN is kDataLoss. Transient errors are
  // returned.
  Status load();
  // Takes `value` into `start` when it belongs to this WAL (see load()).
  Status consider(const std::string& source, CheckpointValue value, Lsn& start);
  // Reads records after the last examined one until the window holds chunk_max.
  Status fill_window();
  // Looks the window up and moves what is settled into settled_; false: store unreachable.
  Result<bool> settle_window();
  // true when coord and the file both hold `settled` (the file: its floor).
  Result<bool> persist(const SettledSet& settled, Epoch epoch);
  void set_checkpoint(Lsn checkpoint);
  void update_lag();

  CheckpointerDependencies deps_;
  const CheckpointerOptions options_;
  bool loaded_ = false;
  Epoch loaded_epoch_;  // the epoch load() ran under (a new one reloads)
  Lsn checkpoint_;         // the persisted floor
  SettledSet settled_;     // what the window found settled (persisted or not yet)
  SettledSet persisted_set_;  // what coord holds as this checkpointer wrote or loaded it
  // Passive: puts its blob copy of persisted_set_ back when it vanished (a wiped container).
  Result<StepOutcome> restore_settled_copy_if_lost(MonoTime now);
  Lsn examined_until_;  // the last LSN read into the window (or skipped as settled)
  std::deque<WindowEntry> window_;  // records not known settled, LSN order
  // Ids taken into settled_ whose marks are retired once the set is persisted (bounded: ids
  // that cannot be retired, past kRetireBacklogMax, keep their long TTL).
  std::vector<CopyPin> to_retire_;
  static constexpr std::size_t kRetireBacklogMax = 4 * DedupeStore::kMaxLookupBatch;
  // Retires the marks of to_retire_ (after a persist); failures leave them for the next step.
  void retire_marks();
  MonoTime next_run_at_{};
  Backoff backoff_;
  HealthRecorder health_;
  std::atomic<std::uint64_t> checkpoint_value_{0}, persisted_{0}, fenced_writes_{0}, records_examined_{0},
      settled_ranges_{0};
};

}  // namespace hadr
