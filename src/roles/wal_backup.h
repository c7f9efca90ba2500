// WAL backup: ships a region's durable WAL records to the BlobStore, so that the other region's
// replayer can republish them after this region is lost (DESIGN.md "Failover" step 4). Object
// layout: docs/wal-format.md, "WAL backup".
//
//   key      wal/<region>/<first_lsn, 20 zero-padded digits>-<last_lsn, 20 digits>
//   content  a 40-byte object header, then the records first..last as WAL frames
//            (wal_format.h's append_frame: same framing and XXH3 checksums as a segment).
// Objects are written with put_if_absent, so shipping is idempotent: a shipper that ships the
// same range again after a restart gets `false` and moves on. Ranges may overlap after a
// restart (a lost confirm, a different chunking); readers skip LSNs they already have.
//
// Two ways to run it:
//   - async: the WalBackup role ships up to the durable LSN whenever it is behind; the relay
//     pauses intake while durable - shipped > RelayOptions::backup_lag_max (the documented RPO);
//   - sync: the relay ships each appended batch before it acks the source (RPO = 0).
// In both the relay applies retention: backup objects below the checkpoint are deleted, and
// WAL segments are kept until they are shipped.
//
// Ownership: WalShipper borrows the Wal and the BlobStore; WalBackup borrows the shipper.
// Thread-safety: start(), ship_through(), ship_batch() and retain_below() from the thread that
// owns the Wal (the region's control thread, which also steps the relay and WalBackup);
// shipped_lsn() and stats() from any thread.
// Invariants: only durable records are shipped (shipped_lsn() <= wal.durable_lsn()); every LSN in
// (first LSN kept at start - 1, shipped_lsn()] is in some object; shipped_lsn() never decreases.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/blob_store.h"
#include "roles/backoff.h"
#include "roles/role.h"
#include "roles/role_support.h"
#include "wal/wal.h"

namespace hadr {

// ---- object layout (shared by the shipper, the replayer and tools) ---------------------------

inline constexpr std::string_view kBackupObjectMagic{"HADRWALB", 8};
inline constexpr std::uint32_t kBackupObjectVersion = 1;
inline constexpr std::size_t kBackupObjectHeaderBytes = 40;
inline constexpr std::size_t kBackupLsnDigits = 20;

// The LSN range an object holds, as its key names it.
struct BackupRange {
  Lsn first_lsn;
  Lsn last_lsn;
};

// "wal/<region>/"
std::string backup_prefix(const RegionId& region);
// "wal/<region>/<first>-<last>", both 20 zero-padded digits, so keys sort by first LSN.
std::string backup_object_key(const RegionId& region, BackupRange range);
// Strict: `key` must be `prefix` + 20 digits + '-' + 20 digits with 1 <= first <= last; anything
// else is kDataLoss naming the key (a foreign or damaged object where only backups belong).
Result<BackupRange> parse_backup_object_key(std::string_view key, std::string_view prefix);
// The 40-byte header: magic | u32 version | u32 header bytes | u64 first | u64 last | XXH3 of [0, 32).
std::string encode_backup_object_header(BackupRange range);
// Decodes a whole object strictly: the header must match `range` (the key's), every frame must
// decode with a valid checksum, LSNs must run first..last without a gap, nothing may follow the
// last frame. Any defect is kDataLoss naming `key` and the byte offset: never skipped.
Result<std::vector<WalRecord>> decode_backup_object(std::string_view key, std::string_view bytes, BackupRange range);

// ---- the shipper -----------------------------------------------------------------------------

struct WalBackupOptions {
  RegionId region;
  // Records per object: 1 .. kChunkRecordsHardMax.
  std::size_t chunk_records_max = 1024;
  // Object size at which a chunk is cut (a single larger record still goes alone):
  // kChunkBytesMin .. kChunkBytesHardMax.
  std::uint64_t chunk_bytes_max = 8ull << 20;
  // Used by WalBackup (async mode); the relay uses its own in sync mode.
  BackoffOptions backoff;
  // How often WalBackup lists the whole backup for objects that vanished (repair_gaps):
  // 1 ms .. 1 h. One listing of wal/<region>/ per interval (retention keeps it short).
  Milliseconds repair_interval{10'000};

  Status validate() const;
};

struct WalShipperDependencies {
  const Wal& wal;
  BlobStore& blobs;
};

struct WalShipperStats {
  std::uint64_t shipped_lsn = 0;
  std::uint64_t objects_written = 0;          // put_if_absent wrote the object
  std::uint64_t objects_already_present = 0;  // put_if_absent found the key (a resumed or repeated range)
  std::uint64_t records_shipped = 0;
  std::uint64_t bytes_shipped = 0;
  std::uint64_t records_skipped_retained = 0;  // never shipped: WAL retention removed them (done work)
  std::uint64_t objects_deleted = 0;           // by retain_below
  std::uint64_t records_reshipped = 0;         // by repair_gaps: lost objects written again from the WAL
  std::uint64_t gaps_found = 0;                // repair_gaps calls that found the backup missing records
};

class WalShipper {
 public:
  static constexpr std::size_t kChunkRecordsHardMax = 10'000;
  static constexpr std::uint64_t kChunkBytesMin = 4096;
  static constexpr std::uint64_t kChunkBytesHardMax = 64ull << 20;
  // Objects one ship_through() writes before it returns (the caller steps again).
  static constexpr std::size_t kChunksPerCallMax = 4;
  // start() lists at most this many pages of BlobStore::kMaxListPage keys (retention keeps the
  // object count far below: it deletes objects below the checkpoint).
  static constexpr std::size_t kStartListPagesMax = 2'000;
  // retain_below() deletes at most this many objects per call.
  static constexpr std::size_t kDeletesPerCallMax = 1'000;

  static Result<std::unique_ptr<WalShipper>> create(const WalShipperDependencies& dependencies,
                                                    WalBackupOptions options);

  // Finds the last shipped LSN by listing wal/<region>/ (the highest last LSN of any object).
  // Called by the first ship call when not called before. Errors: transient store errors;
  // kDataLoss for a malformed key under the prefix; kFailedPrecondition when the backup reaches
  // past the WAL's durable LSN (the WAL was replaced: shipping would mix two logs).
  Status start();
  bool started() const { return started_; }

  // Ships the durable records (shipped_lsn(), min(target, durable LSN)] in chunks, at most
  // kChunksPerCallMax objects per call, and returns the new shipped LSN (possibly < target: call
  // again). Store errors are returned (the caller backs off); what was shipped before stays.
  Result<Lsn> ship_through(Lsn target);

  // Sync mode's fast path: `batch` was just appended as LSNs first_lsn.. (durable), so its
  // records are encoded from memory instead of being read back from the segment. Catches up
  // with ship_through() first when behind. Returns the new shipped LSN, which covers the batch
  // only if the whole batch was shipped.
  Result<Lsn> ship_batch(Lsn first_lsn, std::span<const WalAppend> batch);

  // Deletes objects whose records are all below `lsn` (last LSN < lsn), at most
  // kDeletesPerCallMax per call, oldest first. The relay passes checkpoint + 1: those records
  // are done, and no replayer starts before checkpoint + 1.
  Status retain_below(Lsn lsn);

  // Re-derives lost backup objects from the WAL (issue 12, hole 13). Objects vanish (a deleted
  // blob, a container restarted empty) while shipped_lsn() stays where it was, so shipping alone
  // never fills the hole, and the other region's replay would stop at it. This lists the whole
  // backup and re-ships, from the WAL, the first gap in (first LSN the WAL keeps - 1,
  // shipped_lsn()]: at most kChunksPerCallMax objects per call, with put_if_absent under their
  // own keys (overlaps with surviving objects are allowed: readers skip LSNs they have).
  // Records below the WAL's first LSN are not re-shipped: WAL retention removed them only at or
  // below the checkpoint (settled), and no replay starts before the checkpoint.
  // shipped_lsn() is not moved. Returns the records re-shipped (0: the backup is whole, or the
  // shipper has not started). Errors: transient store errors; kDataLoss for a malformed key or
  // a damaged WAL segment.
  // `settled_floor` is the region's own settled floor (its CHECKPOINT file): records at or
  // below it are settled and are not re-shipped, and before anything is re-shipped the backup's
  // floor object (wal-floor/<region>, lost with a wiped container) is raised to it again. A
  // replay that lost every copy of the settled set would otherwise republish settled records
  // whose done marks may have expired (the default mix found that: coord_loss + blob_loss +
  // long_outage, I2).
  Result<std::uint64_t> repair_gaps(Lsn settled_floor = Lsn{0});

  Lsn shipped_lsn() const { return Lsn{shipped_lsn_.load()}; }
  WalShipperStats stats() const;
  const WalBackupOptions& options() const { return options_; }

  // A WAL record on its way into an object: the append form append_frame encodes.
  struct PendingFrame {
    Lsn lsn;
    WalRecordType type = WalRecordType::kMessage;
    WalAppend record;
    std::uint64_t body_bytes = 0;
  };
 private:
  // One object being assembled: header space, then frames.
  struct Chunk {
    std::string bytes;
    Lsn first_lsn;
    Lsn last_lsn;
    std::size_t records = 0;
  };

  WalShipper(const WalShipperDependencies& dependencies, WalBackupOptions options);

  // Records below the WAL's first LSN are gone (retention): skip them, counted.
  void skip_retained();
  bool chunk_has_room(const Chunk& chunk, std::uint64_t frame_bytes) const;
  void add_frame(Chunk& chunk, Lsn lsn, WalRecordType type, const WalAppend& record, std::uint64_t body_bytes);
  // Fills `chunk` from `reader` with the records up to `end` that fit; `carried` holds a record
  // read that did not fit, for the next chunk. Shared by ship_through and the repair.
  Status fill_chunk(WalReader& reader, std::optional<PendingFrame>& carried, Chunk& chunk, Lsn end);
  // Writes the chunk as one object and advances shipped_lsn.
  Status put_chunk(Chunk& chunk);
  // Writes the chunk as one object (put_if_absent), counted; shipped_lsn is not touched.
  Status write_chunk(Chunk& chunk);
  // Lists wal/<region>/ whole (bounded like start()), sorted by first LSN.
  Result<std::vector<BackupRange>> list_ranges();
  void set_shipped(Lsn lsn);

  WalShipperDependencies deps_;
  const WalBackupOptions options_;
  const std::string prefix_;
  bool started_ = false;
  std::atomic<std::uint64_t> shipped_lsn_{0};
  std::atomic<std::uint64_t> objects_written_{0}, objects_already_present_{0}, records_shipped_{0},
      bytes_shipped_{0}, records_skipped_retained_{0}, objects_deleted_{0}, records_reshipped_{0}, gaps_found_{0};
};

// ---- async mode ------------------------------------------------------------------------------

// WalBackup: the role that ships in async mode, and repairs the backup in both modes. Each
// step, when the shipper is behind the WAL's durable LSN and not backing off, ships up to it
// (bounded per step; async mode only: in sync mode the relay ships each batch before its ack);
// health lag = durable - shipped. Every repair_interval it lists the backup and re-ships from the
// WAL what vanished from it (WalShipper::repair_gaps; issue 12, hole 13), until the backup is
// whole again. It ships and repairs whatever the fence says: writing durable records of this
// region's own WAL is idempotent and fences nothing, and a passive region that repairs its
// backup is what lets the other region's replay past a gap. Driven by the region's control
// thread (the Wal's owner).
struct WalBackupDependencies {
  WalShipper& shipper;
  const Wal& wal;
  const Clock& clock;
  // false in sync mode: the relay ships, this role only repairs.
  bool ships = true;
  // Where the CHECKPOINT file is read for repair_gaps' settled floor (the WAL's directory).
  // nullptr: no floor (only what the WAL no longer holds is left out).
  Env* env = nullptr;
};

class WalBackup final : public Role {
 public:
  static Result<std::unique_ptr<WalBackup>> create(const WalBackupDependencies& dependencies);

  std::string_view name() const override { return "backup"; }
  Result<StepOutcome> step() override;
  RoleHealth health() const override { return health_.snapshot(); }

 private:
  explicit WalBackup(const WalBackupDependencies& dependencies);

  // One repair_gaps call when due; kProgress while it re-ships.
  Result<StepOutcome> repair_if_due();

  WalBackupDependencies deps_;
  Backoff backoff_;
  MonoTime next_repair_at_{};
  HealthRecorder health_;
};

}  // namespace hadr
