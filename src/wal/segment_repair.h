// repair_segment_from_backup: mends a segment whose synced frames were damaged afterwards (a bit
// flip on the disk, a file cut in the middle of the log) by putting the backup's copies of the
// records those frames held in their place.
//
// A damaged frame that is not a torn tail (segment_scan.h: kCorruption) was synced, so it may
// have been acknowledged: it is never cut. When the region's blob backup holds every record the
// damage covers, the segment is rewritten as
//     its good frames before the damage | the backup's copies of the lost LSNs | its own frames
//     from where they decode again to the end
// into `<segment>.repair`, synced, renamed over the segment and the directory synced: a crash
// leaves either the old damaged segment (the next open repairs it again) or the repaired one.
// The lost LSNs run from the last good record + 1 to the LSN where the segment's frames resume
// (find_frame_after_damage), or, when nothing after the damage decodes in a segment that is not
// the last, to the LSN before the next segment's first. Nothing is repaired — the log stays as
// it was for the operator — when the backup lacks any of them, when its copies disagree with
// the log's own record on either side of the hole (the backup of another log), or when the
// damage is of a kind a copy cannot mend (a checksummed frame with inconsistent fields, an LSN
// gap, a damaged segment header). No LSN changes and none is issued twice: the hole is filled
// with the very records that had those LSNs.
// Thread-safety: a free function; the caller holds the WAL directory's lock (Wal::open).
#pragma once

#include <cstdint>
#include <string>

#include "core/env.h"
#include "wal/recovery.h"
#include "wal/wal_options.h"

namespace hadr {

struct SegmentRepair {
  std::string file;             // the segment rewritten
  std::uint64_t offset = 0;     // where its damage started
  std::uint64_t damaged_bytes = 0;  // bytes replaced (from the damage to where frames resume)
  Lsn first_lsn, last_lsn;      // the LSNs copied from the backup
  std::uint64_t records = 0;     // copied from the backup (0 when the head was dropped)
  Lsn dropped_through;          // set when the settled head of the log was dropped instead
  std::string description;      // one line for the log: what was done, where, which LSNs
};

// When the backup does not hold them (its retention removed them, or the region keeps no
// backup) but every damaged LSN is settled — at or below the CHECKPOINT file's LSN of this
// incarnation (found.settled_lsn): done, never read again — the log's head through the damage
// goes as retention would have removed it: every earlier segment, then the damaged segment's
// bytes up to where its frames resume (its header rewritten to start at that LSN). The records
// above stay; no LSN is issued twice.
//
// A segment that is not the last and lost its last frames exactly at a frame boundary ends
// cleanly, and the next segment then does not start where it ends (kLsnGap at offset 0 of the
// next segment): its hole is mended the same way, by appending the lost LSNs' copies.
bool segment_damage_is_repairable(const RecoveryReport& found);

// `found` is the report of inspect_wal for which segment_damage_is_repairable; `backup` may be
// null. Errors: the store's (the log is unchanged), kDataLoss when the damage can be neither
// repaired nor dropped (the detail says why), the Env's while rewriting (the old segment stays).
Result<SegmentRepair> repair_segment_from_backup(Env& env, const std::string& dir, const WalOptions& options,
                                                 const RecoveryReport& found, WalBackupSource* backup);

}  // namespace hadr
