// WalOptions: the bounds of one WAL. Plain value; validate() before use.
#pragma once

#include <cstdint>

#include "core/result.h"

namespace hadr {

struct WalOptions {
  // A segment rolls before a write would take it past this size. Small values in tests.
  std::uint64_t segment_bytes_max = 64ull << 20;
  // Largest record body (id, source reference, headers, payload and their lengths).
  std::uint32_t record_bytes_max = 4u << 20;
  // Largest batch one append() accepts, encoded, and its record count.
  std::uint64_t batch_bytes_max = 16ull << 20;
  std::uint32_t batch_records_max = 65536;

  // The incarnation a log created by this open() takes (wal/wal_meta.h); 0: a random one, as in
  // production. The simulator passes one derived from its seed, so that a seed replays exactly
  // (the incarnation is part of every checkpoint value).
  std::uint64_t new_incarnation = 0;

  // The region acks its source only once the blob backup holds the record (backup.mode = "sync"):
  // the backup's extent is then the floor of everything acknowledged, and synced damage in the
  // last segment above every mark of the acknowledged floor holds only unacknowledged records,
  // which open() cuts like a torn tail when the backup cannot repair them (wal.h). Set by the
  // region from its backup mode, never from config by hand.
  bool backup_holds_every_ack = false;

  // Fails with kInvalidArgument naming the option and the fix.
  Status validate() const;
};

}  // namespace hadr
