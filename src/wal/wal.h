// Wal: the durable write-ahead log of one region. A message is acknowledged to its source only
// once its record is at or below durable_lsn(), i.e. after the fdatasync that covered it.
//
// Usage:
//   RecoveryReport report;
//   HADR_ASSIGN_OR_RETURN(auto wal, Wal::open(env, "/var/lib/hadr/wal", WalOptions{}, &report));
//   HADR_ASSIGN_OR_RETURN(Lsn last, wal->append(batch));   // one write + one fdatasync
//   ... acknowledge the source for every record <= wal->durable_lsn() ...
//
// Guarantees:
//   - append(batch) assigns consecutive LSNs, writes the batch with one write() and one
//     fdatasync per segment file it touches (a batch that crosses a segment boundary syncs
//     the full segment, creates and syncs the next one and its directory, then writes the rest);
//     durable_lsn() moves only after an fdatasync returned ok.
//   - Any failed write or sync poisons the log: the bytes on disk are unknown, so every later
//     append, seal and retain fails with kDataLoss. There is no retry (fsyncgate); the region
//     steps down and a new process recovers from what is on disk.
//   - Fencing: an append whose epoch is below the highest epoch in the log, or at or below a
//     sealed epoch, fails with kAborted and writes nothing.
//   - open() recovers with the table of segment_scan.h: a torn tail is truncated (it was never
//     acknowledged); a damaged synced frame (kCorruption) is mended from the backup's copies of
//     its records when one is given and holds them (segment_repair.h, logged in the report);
//     anything else damaged stops with kDataLoss naming file and offset.
//   - The log never ends below what it acknowledged, and an LSN is never issued twice: open()
//     checks the scan against the acknowledged floor (recovery.h: META, CHECKPOINT, backup). A
//     log cut below it is repaired from the backup when one is given and holds the missing
//     records (logged in the report), else open() stops with kDataLoss; it never truncates an
//     acknowledged record. META's high-water LSN is rewritten (durably) at every segment roll,
//     and at open when META is missing or a restore moved the log.
//   - Each log has an incarnation (META), made when the directory's log is created: checkpoints
//     name it, so a checkpoint of a replaced log is never applied to this one.
//   - The directory is locked (Env::lock_file on DIR/LOCK) while the Wal lives.
// Ownership: owns its files and the lock. Thread-safety: none; one owner drives it (the relay).
// Readers (read_from) may be used from other threads: they only read synced bytes.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/env.h"
#include "wal/recovery.h"
#include "wal/wal_options.h"
#include "wal/wal_reader.h"
#include "wal/wal_record.h"

namespace hadr {

class Wal {
 public:
  // Creates `dir` if needed, locks it, recovers. `report` (optional) receives what recovery
  // found and repaired, also when open() fails with kDataLoss. `backup` (optional): the log's
  // blob backup, consulted for the acknowledged floor and to restore acknowledged records the
  // local log lost; when it cannot be read the floor comes from META and CHECKPOINT alone (a
  // note in the report) and the shipper's own check still refuses to mix logs.
  static Result<std::unique_ptr<Wal>> open(Env& env, const std::string& dir, const WalOptions& options,
                                           RecoveryReport* report = nullptr, WalBackupSource* backup = nullptr);
  // Records one open() restores from the backup at most; more is kDataLoss (restore by hand).
  static constexpr std::uint64_t kRestoreRecordsMax = 10'000'000;
  // Damaged places one open() mends from the backup (segment_repair.h); more stops it.
  static constexpr int kRepairsPerOpenMax = 64;
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Appends the batch (1..batch_records_max records, <= batch_bytes_max encoded) and returns the
  // LSN of its last record, once durable. Errors: kInvalidArgument (bad batch; nothing written),
  // kAborted (fenced; nothing written), kDataLoss (poisoned).
  Result<Lsn> append(std::span<const WalAppend> batch);

  // Appends a seal record for `epoch` (durably): no record of epoch <= `epoch` is accepted after
  // it. Sealing the epoch that is already sealed is a no-op; a lower one is kAborted.
  Status seal(Epoch epoch);

  // Deletes whole segments whose records are all below `checkpoint`, oldest first, never the
  // segment being written. kInvalidArgument when `checkpoint` > durable_lsn() + 1.
  Status retain_from(Lsn checkpoint);

  // A reader over the durable records from `from` (Lsn{0}: the oldest kept).
  Result<WalReader> read_from(Lsn from) const;

  Lsn durable_lsn() const { return durable_lsn_; }   // 0 when nothing was ever appended
  Lsn next_lsn() const { return durable_lsn_.next(); }
  Lsn first_lsn() const;                             // oldest LSN still kept
  Epoch highest_epoch() const { return highest_epoch_; }
  std::uint64_t incarnation() const { return incarnation_; }  // never 0 once open() returned
  std::optional<Epoch> sealed_epoch() const { return sealed_epoch_; }
  bool poisoned() const { return poison_.has_value(); }
  // The segments, oldest first, each with its durable size (what a backup may ship).
  const std::vector<WalSegmentInfo>& segments() const { return segments_; }
  const std::string& dir() const { return dir_; }

 private:
  Wal(Env& env, std::string dir, const WalOptions& options, std::unique_ptr<FileLock> lock);
  Status recover(const RecoveryReport& report);
  Status apply_tail_action(RecoveryCase tail_case, const RecoveryReport& report);
  // Appends the backup's records durable_lsn()+1..through, keeping their LSNs, epochs and types.
  Status restore_from(WalBackupSource& backup, Lsn through, RecoveryReport& report);
  Status append_restored(const std::vector<WalRecord>& records);
  Status write_meta();
  Status check_batch(std::span<const WalAppend> batch, WalRecordType type);
  Result<Lsn> append_records(std::span<const WalAppend> batch, WalRecordType type);
  Status write_chunk(std::span<const WalAppend> batch, std::size_t first, std::size_t count, WalRecordType type);
  Status create_segment(std::uint64_t sequence, Lsn first_lsn);
  Status roll_segment();
  Error poison(Error error);

  Env* env_;
  std::string dir_;
  WalOptions options_;
  std::unique_ptr<FileLock> lock_;
  std::vector<WalSegmentInfo> segments_;   // never empty once open() returned
  std::unique_ptr<WritableFile> active_;   // the last segment, open for append
  Lsn durable_lsn_;
  Epoch highest_epoch_;
  std::optional<Epoch> sealed_epoch_;
  std::uint64_t incarnation_ = 0;
  std::uint64_t highest_sequence_ = 0;  // written to META; never lowered
  std::optional<Error> poison_;
  std::string write_buffer_;               // reused for every write: no per-batch allocation
  std::vector<std::uint64_t> body_bytes_;  // encoded body size of each record of the batch
};

}  // namespace hadr
