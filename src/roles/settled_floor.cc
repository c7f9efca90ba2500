#include "roles/settled_floor.h"

#include <algorithm>
#include <charconv>

#include "roles/checkpoint.h"

namespace hadr {

std::string backup_floor_key(const RegionId& region) {
  HADR_ASSERT(!region.empty());
  return "wal-floor/" + region.str();
}

Result<std::uint64_t> read_decimal_blob(BlobStore& blobs, std::string_view key, std::string_view fix) {
  Result<std::string> bytes = blobs.get(key);
  if (!bytes.ok()) {
    if (bytes.code() == ErrorCode::kNotFound) return std::uint64_t{0};
    return std::move(bytes).take_error();
  }
  std::uint64_t value = 0;
  const char* begin = bytes->data();
  const char* end = begin + bytes->size();
  const auto [stop, error] = std::from_chars(begin, end, value);
  if (bytes->empty() || error != std::errc() || stop != end) {
    return data_loss("blob '" + std::string(key) + "' holds " + std::to_string(bytes->size()) +
                     " bytes that are not a decimal number; " + std::string(fix));
  }
  return value;
}

Result<Lsn> read_backup_floor(BlobStore& blobs, const RegionId& region) {
  HADR_ASSIGN_OR_RETURN(const std::uint64_t floor,
                        read_decimal_blob(blobs, backup_floor_key(region),
                                          "it is written only by hadr's relay before WAL backup retention: restore it "
                                          "from a copy or remove it (replays then start at the coord checkpoint)"));
  return Lsn{floor};
}

Status raise_backup_floor(BlobStore& blobs, const RegionId& region, Lsn floor) {
  HADR_ASSIGN_OR_RETURN(const Lsn current, read_backup_floor(blobs, region));
  if (current >= floor) return ok_status();
  // One writer per region (its relay, on the thread that owns the WAL), so read-then-put cannot
  // lower it; a put is atomic (BlobStore contract).
  return blobs.put(backup_floor_key(region), std::to_string(floor.value));
}

Result<SettledSet> read_settled_set(Coord& coord, BlobStore* blobs, const RegionId& region,
                                    std::optional<Error>* damaged) {
  SettledSet settled;
  Result<CheckpointValue> from_coord = read_coord_checkpoint_value(coord, region);
  if (from_coord.ok()) {
    settled = from_coord->settled();
  } else if (from_coord.code() == ErrorCode::kDataLoss) {
    if (damaged != nullptr) *damaged = from_coord.error();
  } else {
    return std::move(from_coord).take_error();
  }
  if (blobs != nullptr) {
    Result<Lsn> from_blob = read_backup_floor(*blobs, region);
    if (from_blob.ok()) {
      settled.raise_floor(*from_blob);
    } else if (from_blob.code() == ErrorCode::kDataLoss) {
      if (damaged != nullptr) *damaged = from_blob.error();
    } else {
      return std::move(from_blob).take_error();
    }
  }
  return settled;
}

Result<Lsn> read_settled_floor(Coord& coord, BlobStore* blobs, const RegionId& region,
                               std::optional<Error>* damaged) {
  HADR_ASSIGN_OR_RETURN(const SettledSet settled, read_settled_set(coord, blobs, region, damaged));
  return settled.floor();
}

FloorCache::FloorCache(Coord& coord, const Clock& clock, Milliseconds refresh_interval)
    : coord_(coord), clock_(clock), refresh_interval_(refresh_interval) {
  HADR_ASSERT(refresh_interval > Milliseconds(0));
}

Result<bool> FloorCache::settled(const RegionId& region, Epoch epoch, Lsn lsn) {
  const MonoTime now = clock_.now_monotonic();
  auto found = entries_.find(region.str());
  if (found != entries_.end() && found->second.loaded_under == epoch &&
      now - found->second.loaded_at < refresh_interval_) {
    return found->second.settled.contains(lsn);
  }
  std::optional<Error> damaged;
  HADR_ASSIGN_OR_RETURN(SettledSet loaded, read_settled_set(coord_, nullptr, region, &damaged));
  if (found == entries_.end()) {
    if (entries_.size() >= kRegionsMax) entries_.clear();  // bounded; only costs reloads
    found = entries_.emplace(region.str(), Entry{}).first;
  }
  // Settled records stay settled; a coord record that went back (restored, lost) never makes
  // this worker forget what it has already seen under the same epoch.
  if (found->second.loaded_under == epoch) (void)loaded.merge(found->second.settled);  // bounded: may forget, never invent
  found->second = Entry{.settled = std::move(loaded), .loaded_under = epoch, .loaded_at = now};
  return found->second.settled.contains(lsn);
}

}  // namespace hadr
