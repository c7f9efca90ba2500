// BlobWalBackupSource: a region's WAL backup in the blob store (wal/<region>/, written by the
// WalShipper) as the WalBackupSource that Wal::open() checks its acknowledged floor against and
// restores lost records from (wal/recovery.h; docs/wal-format.md "Metadata and the acknowledged
// floor"). Objects are decoded with the shipper's own strict codec (decode_backup_object):
// a damaged object is kDataLoss, never skipped. Overlapping objects (a retried ship) are fine:
// each LSN is taken once, in order.
// Ownership: borrows the BlobStore. Thread-safety: none; used by one Wal::open().
#pragma once

#include <string>
#include <vector>

#include "contracts/blob_store.h"
#include "roles/wal_backup.h"
#include "wal/recovery.h"

namespace hadr {

class BlobWalBackupSource final : public WalBackupSource {
 public:
  // Pages of BlobStore::kMaxListPage keys one listing reads at most (as the shipper's start()).
  static constexpr std::size_t kListPagesMax = WalShipper::kStartListPagesMax;

  BlobWalBackupSource(BlobStore& blobs, const RegionId& region);

  std::string describe() const override;
  Result<std::pair<Lsn, Lsn>> extent() override;
  Result<Lsn> contiguous_through(Lsn from) override;
  Result<std::vector<WalRecord>> read(Lsn from, std::size_t records_max) override;

 private:
  // The object ranges, sorted by first LSN; listed once, again only by extent().
  Status list_ranges();

  BlobStore* blobs_;
  RegionId region_;
  std::string prefix_;
  bool listed_ = false;
  std::vector<BackupRange> ranges_;
};

}  // namespace hadr
