// Replayer: after a failover, republishes what the failed region had logged but not yet
// processed, reading that region's WAL from its blob backup (DESIGN.md "Failover" step 4; the
// plan's "blob backup replayer with checkpointing"). Details: docs/roles.md, "Replayer".
//
// begin(from_region) starts (or restarts) a replay; the replay runs under the epoch the fence
// gives on its first writable step (normally the epoch just acquired). It starts at the failed
// region's checkpoint + 1 (Coord "checkpoint/<from>"), or further on at the progress record
// Coord "replay/<from>" when that record was written under the same epoch. Each step, with a
// writable epoch equal to the replay's (otherwise it writes nothing; a different epoch starts
// the replay over under the new one), does one bounded unit of work:
//   - fetch: list the next object after the current key under wal/<from>/, get it and decode it
//     strictly (a bad frame is kDataLoss naming key and offset, never skipped); a gap after
//     the progress LSN (objects lost from the backup, issue 12 hole 13) is neither skipped nor
//     the end: the replay alerts (health, "backup gap") and waits, listing again from the
//     first key every tail poll, until the failed region re-ships the records from its WAL.
//     A gap of settled records is passed at once. After quiet_period it replays on past the
//     gap, which stays a hole: never settled, never under the progress record, replayed from the
//     settled floor again as soon as any of it reappears (at most kHolesMax holes);
//   - replay: up to batch_max records of the fetched object: one dedupe lookup, publish the
//     message records neither done nor dead-lettered to staging with their ORIGINAL id, LSN and
//     source region under the current epoch, crash point
//     "replayer.after_publish_before_progress", then persist progress (kEpochAtLeast).
// It is finished only after a seal of the epoch just before the replay's (a planned handover:
// nothing can follow it). Otherwise it tails the backup for as long as its epoch lasts, polling
// the listing: a region that was cut off from the blob store ships what it acknowledged when the
// link heals, maybe long after the takeover, and those records must still be replayed (issue
// 12, hole 4). `caught_up` (stats) says the listing was exhausted and the backup has not grown
// for quiet_period: a status, never an end.
//
// Settling (issue 12, hole 1): the replayer also advances the failed region's settled floor,
// Coord "checkpoint/<from>" (roles/settled_floor.h), under its own epoch. Every record it passes
// (republished, or found done) enters a bounded window in LSN order; every settle_interval one
// dedupe lookup pops the settled front of the window and the floor is persisted past it. Once
// the floor is past a record, no worker, relay recovery or later replay will act on it again,
// whatever the dedupe store forgets. When the window is full the replay waits for it.
// The replay starts at the settled floor (the larger of the coord checkpoint and the backup's
// own floor object, so a lost coord record never halts it: hole 2); records up to this epoch's
// progress record are read again into the window but not republished.
//
// Ownership: borrows its dependencies. Thread-safety: step() from one thread at a time;
// begin(), finished(), stats() and health() from any thread.
// Invariants: the progress LSN only grows within a replay; a record is published only after
// every record before it was published or found done (LSN order, no gap); a crash re-publishes
// at most the one batch whose progress was not persisted (the dedupe store absorbs it).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "contracts/blob_store.h"
#include "contracts/bus.h"
#include "contracts/coord.h"
#include "contracts/dedupe_store.h"
#include "roles/backoff.h"
#include "roles/crash_points.h"
#include "roles/fence.h"
#include "roles/checkpoint.h"
#include "roles/role.h"
#include "roles/role_support.h"
#include "roles/wal_backup.h"

namespace hadr {

struct ReplayerOptions {
  RegionId region;  // this region (the one replaying)
  std::string staging_queue = "staging";
  std::size_t batch_max = 256;  // records per lookup and send: 1 .. Bus::kMaxSendBatch
  // How long the backup must stop growing before an unsealed WAL is declared finished: 1 ms .. 1 h.
  Milliseconds quiet_period{5'000};
  // How often the settle window is looked up and the failed region's floor persisted: 1 ms .. 1 h.
  Milliseconds settle_interval{1'000};
  // Records passed but not yet known settled: batch_max .. 1,000,000.
  std::size_t settle_window_max = 65'536;
  // Done marks the settled set covers are retired to expire this long after (dedupe.record_ttl).
  Milliseconds record_ttl = kDefaultDedupeRecordTtl;
  BackoffOptions backoff;

  Status validate() const;
};

struct ReplayerDependencies {
  BlobStore& blobs;
  DedupeStore& dedupe;
  Bus& bus;  // this region's namespace
  Coord& coord;
  const RegionFence& fence;
  const Clock& clock;
  CrashPoints& crash_points;
};

struct ReplayerStats {
  std::uint64_t objects_read = 0;
  std::uint64_t records_read = 0;   // decoded records after the progress LSN
  std::uint64_t replayed = 0;       // published to staging
  std::uint64_t skipped_done = 0;   // done or dead-lettered: not published
  std::uint64_t progress_lsn = 0;   // every LSN up to it is republished or done
  std::uint64_t start_lsn = 0;      // the first LSN this replay looked at
  std::uint64_t backup_last_lsn = 0;  // the highest LSN seen in the backup listing
  std::uint64_t settled_lsn = 0;      // the failed region's settled floor as this replay knows it
  std::uint64_t floor_writes = 0;     // settled floor persisted to Coord
  bool caught_up = false;             // listing exhausted and no growth for quiet_period
  bool finished = false;              // a handover seal: nothing can follow
  // A hole in the backup the replay waits at (hole 13): LSNs gap_first_lsn..gap_last_lsn were
  // missing at the last look (0: none seen); gap_waits counts the looks that found one.
  std::uint64_t gap_first_lsn = 0;
  std::uint64_t gap_last_lsn = 0;
  std::uint64_t gap_waits = 0;
  std::uint64_t holes_passed = 0;  // holes the replay went by after a quiet period (unsettled)
  std::string from_region;  // empty: no replay begun
};

// Coord key and value of a replay's progress: "replay/<from>", "<epoch> <lsn>".
std::string replay_progress_key(const RegionId& from_region);
std::string encode_replay_progress(Epoch epoch, Lsn lsn);
struct ReplayProgress {
  Epoch epoch;
  Lsn lsn;
};
// kDataLoss naming `key` when the value is not "<epoch> <lsn>".
Result<ReplayProgress> parse_replay_progress(std::string_view value, std::string_view key);

class Replayer final : public Role {
 public:
  // Keys one listing asks for; objects below the progress LSN are skipped without a get.
  static constexpr std::size_t kListPageMax = 1000;
  // The listing is polled at most this often while tailing (and at most quiet_period / 5).
  static constexpr Milliseconds kTailPollIntervalMax{1'000};

  static Result<std::unique_ptr<Replayer>> create(const ReplayerDependencies& dependencies, ReplayerOptions options);

  std::string_view name() const override { return "replayer"; }
  Result<StepOutcome> step() override;
  RoleHealth health() const override { return health_.snapshot(); }

  // Starts (or starts over) a replay of `from_region`'s WAL. Any thread; takes effect on the
  // next step.
  void begin(const RegionId& from_region);
  bool finished() const { return finished_.load(); }
  ReplayerStats stats() const;

 private:
  enum class Phase { kIdle, kStarting, kReplaying, kFinished };

  Replayer(const ReplayerDependencies& dependencies, ReplayerOptions options);

  // Resets the replay state for the begun region under `epoch`.
  void restart(const RegionId& from_region, Epoch epoch);
  // Reads the checkpoint and the progress record; sets the start point.
  Status load_start(Epoch epoch);
  Result<StepOutcome> fetch_next_object();
  Result<StepOutcome> get_object(const std::string& key, BackupRange range);
  // The listing is exhausted: finished after quiet_period without growth, else wait.
  Result<StepOutcome> caught_up();
  // LSNs progress + 1 .. next_present - 1 are missing from the backup: alert and wait; past
  // quiet_period, replay on beyond them and remember them as a hole (never settled).
  Result<StepOutcome> wait_at_gap(Lsn next_present, const std::string& key);
  bool overlaps_a_hole(BackupRange range) const;
  Result<StepOutcome> replay_batch(Epoch epoch);
  // Records waiting in the settle window, or settled ones not yet persisted.
  bool settling_left() const;
  bool settle_due() const;
  // One lookup over the front of the settle window; persists the floor past what is settled.
  Result<StepOutcome> settle(Epoch epoch);
  Result<bool> publish(Epoch epoch, std::vector<WalRecord>& batch);
  Result<bool> persist_progress(Epoch epoch, Lsn lsn);
  void note_backup_last(Lsn lsn);
  void set_progress(Lsn lsn);
  void finish();
  void update_lag();

  ReplayerDependencies deps_;
  const ReplayerOptions options_;
  const Milliseconds tail_poll_interval_;

  // begin() requests, taken by step().
  mutable std::mutex request_mutex_;
  std::optional<RegionId> requested_from_;
  std::uint64_t requested_generation_ = 0;
  std::uint64_t taken_generation_ = 0;

  Phase phase_ = Phase::kIdle;
  RegionId from_region_;
  std::string prefix_;
  Epoch epoch_;                    // the replay's epoch
  Lsn progress_;                   // republished or done through here
  Lsn persisted_progress_;         // what Coord holds for this epoch
  std::string current_key_;        // the last key consumed (listing resumes after it)
  bool gap_rescanned_ = false;     // a gap was met and the listing restarted from the first key
  Lsn gap_first_;                  // the first LSN of the gap being waited at (0: none)
  MonoTime gap_since_{};           // when the replay first met that gap
  // Holes the replay went by, in LSN order: never settled, never covered by a progress record.
  static constexpr std::size_t kHolesMax = 16;
  std::vector<LsnRange> holes_;
  std::vector<WalRecord> object_records_;  // the fetched object's records after progress_
  std::size_t next_record_ = 0;
  MonoTime last_growth_at_{};
  MonoTime next_poll_at_{};
  Lsn backup_last_;
  // Records at or below it were republished under this epoch before a restart (progress record):
  // read again into the settle window, not published again.
  Lsn republished_through_;
  struct SettleEntry {
    Lsn lsn;
    std::optional<MessageId> id;  // nullopt: known settled (a seal, or found done)
  };
  std::deque<SettleEntry> settle_window_;  // records not known settled yet, LSN order
  SettledSet settled_;                     // the failed region's settled records as known here
  SettledSet settled_persisted_;           // what Coord holds as this replay wrote (or read) it
  std::vector<CopyPin> to_retire_;         // marks to retire once the set covering them is persisted
  static constexpr std::size_t kRetireBacklogMax = 4 * DedupeStore::kMaxLookupBatch;
  void retire_marks();
  std::uint64_t from_incarnation_ = 0;     // the failed region's WAL incarnation (0: unknown)
  MonoTime next_settle_at_{};
  Backoff backoff_;
  HealthRecorder health_;

  mutable std::mutex stats_mutex_;
  ReplayerStats stats_;
  std::atomic<bool> finished_{false};
};

}  // namespace hadr
