#include "roles/wal_backup_source.h"

#include <algorithm>

namespace hadr {

BlobWalBackupSource::BlobWalBackupSource(BlobStore& blobs, const RegionId& region)
    : blobs_(&blobs), region_(region), prefix_(backup_prefix(region)) {}

std::string BlobWalBackupSource::describe() const { return "the blob backup '" + prefix_ + "'"; }

Status BlobWalBackupSource::list_ranges() {
  ranges_.clear();
  std::string after;
  for (std::size_t page_number = 0;; ++page_number) {
    if (page_number == kListPagesMax) {
      return failed_precondition(describe() + " holds more than " +
                                 std::to_string(kListPagesMax * BlobStore::kMaxListPage) +
                                 " objects; is retention running (the relay deletes objects below the checkpoint)?");
    }
    HADR_ASSIGN_OR_RETURN(const BlobPage page, blobs_->list(prefix_, after, BlobStore::kMaxListPage));
    for (const std::string& key : page.keys) {
      HADR_ASSIGN_OR_RETURN(const BackupRange range, parse_backup_object_key(key, prefix_));
      ranges_.push_back(range);
    }
    if (!page.more || page.keys.empty()) break;
    after = page.keys.back();
  }
  std::sort(ranges_.begin(), ranges_.end(), [](const BackupRange& left, const BackupRange& right) {
    return left.first_lsn != right.first_lsn ? left.first_lsn < right.first_lsn : left.last_lsn < right.last_lsn;
  });
  listed_ = true;
  return ok_status();
}

Result<std::pair<Lsn, Lsn>> BlobWalBackupSource::extent() {
  HADR_TRY(list_ranges());
  if (ranges_.empty()) return std::pair<Lsn, Lsn>{};
  Lsn highest{0};
  for (const BackupRange& range : ranges_) highest = std::max(highest, range.last_lsn);
  return std::pair<Lsn, Lsn>{ranges_.front().first_lsn, highest};
}

Result<Lsn> BlobWalBackupSource::contiguous_through(Lsn from) {
  if (!listed_) HADR_TRY(list_ranges());
  Lsn through{from.value - 1};
  // Sorted by first LSN: a range that starts after through + 1 is a gap nothing later fills.
  for (const BackupRange& range : ranges_) {
    if (range.first_lsn > through.next()) break;
    through = std::max(through, range.last_lsn);
  }
  return through;
}

Result<std::vector<WalRecord>> BlobWalBackupSource::read(Lsn from, std::size_t records_max) {
  if (!listed_) HADR_TRY(list_ranges());
  std::vector<WalRecord> records;
  Lsn next = from;
  // Bounded by the number of objects; each object is fetched and decoded whole (<= 64 MiB).
  for (const BackupRange& range : ranges_) {
    if (records.size() >= records_max) break;
    if (range.last_lsn < next) continue;
    if (range.first_lsn > next) break;  // a gap: the caller sees fewer records
    const std::string key = backup_object_key(region_, range);
    HADR_ASSIGN_OR_RETURN(const std::string bytes, blobs_->get(key));
    HADR_ASSIGN_OR_RETURN(std::vector<WalRecord> decoded, decode_backup_object(key, bytes, range));
    for (WalRecord& record : decoded) {
      if (record.lsn < next) continue;
      if (records.size() >= records_max) break;
      HADR_ASSERT(record.lsn == next);  // decode_backup_object checked first..last without a gap
      records.push_back(std::move(record));
      next = next.next();
    }
  }
  return records;
}

}  // namespace hadr
