#include "roles/settled_floor.h"

#include <algorithm>
#include <charconv>

#include "roles/checkpoint.h"

namespace hadr {

namespace {

// A region has at most this many settled copies: its own and one per peer that replayed it.
constexpr std::size_t kSettledCopiesMax = 16;

std::string settled_copy_prefix(const RegionId& region) { return "wal-settled/" + region.str() + "/"; }

struct SettledCopy {
  std::string writer;
  CheckpointValue value;
};

// Every settled copy of `region` that parses; damaged ones go to `damaged`.
Result<std::vector<SettledCopy>> read_settled_copies(BlobStore& blobs, const RegionId& region,
                                                     std::optional<Error>* damaged) {
  const std::string prefix = settled_copy_prefix(region);
  HADR_ASSIGN_OR_RETURN(const BlobPage page, blobs.list(prefix, "", kSettledCopiesMax));
  std::vector<SettledCopy> copies;
  for (const std::string& key : page.keys) {
    Result<std::string> bytes = blobs.get(key);
    if (!bytes.ok()) {
      if (bytes.code() == ErrorCode::kNotFound) continue;  // removed after the listing
      return std::move(bytes).take_error();
    }
    Result<CheckpointValue> value = parse_checkpoint_value(*bytes, "blob " + key);
    if (!value.ok()) {
      if (damaged != nullptr) *damaged = value.error();
      continue;
    }
    copies.push_back(SettledCopy{key.substr(std::min(prefix.size(), key.size())), std::move(value).value()});
  }
  return copies;
}

}  // namespace

std::string backup_floor_key(const RegionId& region) {
  HADR_ASSERT(!region.empty());
  return "wal-floor/" + region.str();
}

std::string settled_copy_key(const RegionId& region, const RegionId& writer) {
  HADR_ASSERT(!region.empty() && !writer.empty());
  return settled_copy_prefix(region) + writer.str();
}

Status write_settled_copy(BlobStore& blobs, const RegionId& region, const RegionId& writer,
                          const SettledSet& settled, std::uint64_t incarnation) {
  return blobs.put(settled_copy_key(region, writer), encode_checkpoint_value(settled, incarnation));
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
                                    std::optional<Error>* damaged, std::uint64_t* incarnation) {
  SettledSet settled;
  std::uint64_t counted = 0;  // the WAL incarnation the set counts (0: unknown)
  Result<CheckpointValue> from_coord = read_coord_checkpoint_value(coord, region);
  if (from_coord.ok()) {
    settled = from_coord->settled();
    counted = from_coord->incarnation;
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
    HADR_ASSIGN_OR_RETURN(const std::vector<SettledCopy> copies, read_settled_copies(*blobs, region, damaged));
    if (counted == 0) {
      // Coord does not name the incarnation (its record was lost, or the old format): the
      // region's own copy does, as its checkpointer last wrote it.
      for (const SettledCopy& copy : copies) {
        if (copy.writer == region.str() && copy.value.incarnation != 0) counted = copy.value.incarnation;
      }
    }
    for (const SettledCopy& copy : copies) {
      // A copy of another WAL incarnation counts other records under the same numbers.
      if (copy.value.incarnation != 0 && counted != 0 && copy.value.incarnation != counted) continue;
      if (!settled.merge(copy.value.settled()) && damaged != nullptr) {
        *damaged = failed_precondition("the settled copies of region " + region.str() + " hold more than " +
                                       std::to_string(SettledSet::kRangesMax) + " ranges; the highest were left out");
      }
    }
  }
  if (incarnation != nullptr) *incarnation = counted;
  return settled;
}

Result<Lsn> read_settled_floor(Coord& coord, BlobStore* blobs, const RegionId& region,
                               std::optional<Error>* damaged) {
  HADR_ASSIGN_OR_RETURN(const SettledSet settled, read_settled_set(coord, blobs, region, damaged));
  return settled.floor();
}

FloorCache::FloorCache(Coord& coord, BlobStore* blobs, const Clock& clock, Milliseconds refresh_interval)
    : coord_(coord), blobs_(blobs), clock_(clock), refresh_interval_(refresh_interval) {
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
  Result<SettledSet> read = read_settled_set(coord_, blobs_, region, &damaged);
  if (!read.ok() && blobs_ != nullptr && read.code() != ErrorCode::kDataLoss) {
    // The blob store does not answer: coord's copy alone, rather than no progress. Both copies
    // gone at once is the case a second copy cannot cover; this worker still remembers below
    // what it loaded before under the same epoch.
    read = read_settled_set(coord_, nullptr, region, &damaged);
  }
  HADR_ASSIGN_OR_RETURN(SettledSet loaded, std::move(read));
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
