#include "roles/checkpoint.h"

#include <algorithm>
#include <charconv>
#include <iterator>

#include "wal/checkpoint_file.h"
#include "wal/wal_meta.h"

namespace hadr {

std::string checkpoint_coord_key(const RegionId& region) {
  HADR_ASSERT(!region.empty());
  return "checkpoint/" + region.str();
}

std::string checkpoint_file_path(std::string_view wal_dir) { return join_path(wal_dir, kCheckpointFileName); }

bool SettledSet::contains(Lsn lsn) const {
  if (lsn <= floor_) return true;
  const auto after = std::upper_bound(ranges_.begin(), ranges_.end(), lsn,
                                      [](Lsn value, const LsnRange& range) { return value < range.first; });
  return after != ranges_.begin() && lsn <= std::prev(after)->last;
}

bool SettledSet::add(Lsn lsn) {
  if (contains(lsn)) return true;
  // The first range starting above lsn; the one before it (if any) ends below lsn.
  auto after = std::upper_bound(ranges_.begin(), ranges_.end(), lsn,
                                [](Lsn value, const LsnRange& range) { return value < range.first; });
  const bool joins_before = after != ranges_.begin() && std::prev(after)->last.next() == lsn;
  const bool joins_after = after != ranges_.end() && lsn.next() == after->first;
  if (joins_before && joins_after) {
    std::prev(after)->last = after->last;
    ranges_.erase(after);
  } else if (joins_before) {
    std::prev(after)->last = lsn;
  } else if (joins_after) {
    after->first = lsn;
  } else if (floor_.next() == lsn) {
    floor_ = lsn;
  } else {
    if (ranges_.size() >= kRangesMax) return false;
    ranges_.insert(after, LsnRange{lsn, lsn});
  }
  absorb_into_floor();
  return true;
}

void SettledSet::raise_floor(Lsn floor) {
  if (floor <= floor_) return;
  floor_ = floor;
  absorb_into_floor();
}

void SettledSet::absorb_into_floor() {
  std::size_t gone = 0;
  while (gone < ranges_.size() && ranges_[gone].first <= floor_.next()) {
    floor_ = std::max(floor_, ranges_[gone].last);
    ++gone;
  }
  ranges_.erase(ranges_.begin(), ranges_.begin() + static_cast<std::ptrdiff_t>(gone));
}

SettledSet SettledSet::normalized(Lsn floor, std::vector<LsnRange> ranges, bool* truncated) {
  std::sort(ranges.begin(), ranges.end());
  SettledSet set(floor);
  for (const LsnRange& range : ranges) {
    if (range.last < range.first || range.last <= set.floor_) continue;
    const LsnRange clipped{std::max(range.first, set.floor_.next()), range.last};
    if (!set.ranges_.empty() && clipped.first <= set.ranges_.back().last.next()) {
      set.ranges_.back().last = std::max(set.ranges_.back().last, clipped.last);
    } else {
      set.ranges_.push_back(clipped);
    }
  }
  set.absorb_into_floor();
  if (truncated != nullptr) *truncated = set.ranges_.size() > kRangesMax;
  if (set.ranges_.size() > kRangesMax) set.ranges_.resize(kRangesMax);
  return set;
}

bool SettledSet::merge(const SettledSet& other) {
  std::vector<LsnRange> all = ranges_;
  all.insert(all.end(), other.ranges_.begin(), other.ranges_.end());
  bool truncated = false;
  *this = normalized(std::max(floor_, other.floor_), std::move(all), &truncated);
  return !truncated;
}

SettledSet CheckpointValue::settled() const { return SettledSet::normalized(lsn, settled_above); }

std::string encode_checkpoint_value(Lsn checkpoint, std::uint64_t incarnation) {
  HADR_ASSERT(incarnation != 0);
  return std::to_string(checkpoint.value) + "@" + incarnation_text(incarnation);
}

std::string encode_checkpoint_value(const SettledSet& settled, std::uint64_t incarnation) {
  // Incarnation 0 (unknown): the old decimal form, as a replay of an old-format region writes it.
  std::string text = incarnation == 0 ? std::to_string(settled.floor().value)
                                      : encode_checkpoint_value(settled.floor(), incarnation);
  for (std::size_t i = 0; i < settled.ranges().size(); ++i) {
    const LsnRange& range = settled.ranges()[i];
    text += i == 0 ? ";s=" : ",";
    text += std::to_string(range.first.value);
    if (range.last != range.first) {
      text += '-';
      text += std::to_string(range.last.value);
    }
  }
  return text;
}

namespace {

bool parse_decimal(std::string_view text, std::uint64_t& value) {
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  return !text.empty() && error == std::errc() && stop == end;
}

bool parse_incarnation(std::string_view text, std::uint64_t& value) {
  if (text.size() != 18 || text.substr(0, 2) != "0x") return false;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data() + 2, end, value, 16);
  return error == std::errc() && stop == end && value != 0;
}

}  // namespace

namespace {

// "A-B,D,F-G": ascending, disjoint, non-adjacent, all above `floor`, at most kRangesMax.
bool parse_ranges(std::string_view text, Lsn floor, std::vector<LsnRange>& out) {
  Lsn previous = floor;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (comma != std::string_view::npos && text.empty()) return false;
    const std::size_t dash = item.find('-');
    LsnRange range;
    if (dash == std::string_view::npos) {
      if (!parse_decimal(item, range.first.value)) return false;
      range.last = range.first;
    } else if (!parse_decimal(item.substr(0, dash), range.first.value) ||
               !parse_decimal(item.substr(dash + 1), range.last.value) || range.last <= range.first) {
      return false;
    }
    if (range.first.value <= previous.value + 1 || out.size() >= SettledSet::kRangesMax) return false;
    out.push_back(range);
    previous = range.last;
  }
  return !out.empty();
}

}  // namespace

Result<CheckpointValue> parse_checkpoint_value(std::string_view full_text, std::string_view key) {
  CheckpointValue value;
  std::string_view text = full_text;
  std::string_view ranges;
  const std::size_t semicolon = text.find(';');
  if (semicolon != std::string_view::npos) {
    ranges = text.substr(semicolon + 1);
    text = text.substr(0, semicolon);
  }
  const std::size_t at = text.find('@');
  const bool parsed = at == std::string_view::npos
                          ? parse_decimal(text, value.lsn.value)
                          : parse_decimal(text.substr(0, at), value.lsn.value) &&
                                parse_incarnation(text.substr(at + 1), value.incarnation);
  const bool ranges_parsed = semicolon == std::string_view::npos ||
                             (ranges.substr(0, 2) == "s=" && parse_ranges(ranges.substr(2), value.lsn, value.settled_above));
  if (!parsed || !ranges_parsed) {
    return data_loss("coord record '" + std::string(key) + "' holds " + std::to_string(full_text.size()) +
                     " bytes that are not a checkpoint (\"<decimal LSN>@0x<16 hex digits>[;s=<ranges>]\" or "
                     "the older \"<decimal LSN>\"); rewrite it from the region's CHECKPOINT file or delete it");
  }
  return value;
}

Result<CheckpointValue> read_coord_checkpoint_value(Coord& coord, const RegionId& region) {
  const std::string key = checkpoint_coord_key(region);
  HADR_ASSIGN_OR_RETURN(const std::optional<CoordRecord> record, coord.get(key));
  if (!record) return CheckpointValue{};
  return parse_checkpoint_value(record->value, key);
}

Result<Lsn> read_coord_checkpoint(Coord& coord, const RegionId& region) {
  HADR_ASSIGN_OR_RETURN(const CheckpointValue value, read_coord_checkpoint_value(coord, region));
  return value.lsn;
}

Result<Lsn> read_file_checkpoint(Env& env, std::string_view wal_dir) {
  Result<WalCheckpoint> checkpoint = read_checkpoint_file(env, checkpoint_file_path(wal_dir));
  if (!checkpoint.ok()) {
    if (checkpoint.code() == ErrorCode::kNotFound) return Lsn{0};
    return std::move(checkpoint).take_error();
  }
  if (checkpoint->incarnation != 0) {
    // A CHECKPOINT left by a replaced log counts other LSNs: it says nothing about this one.
    Result<WalMeta> meta = read_wal_meta(env, std::string(wal_dir));
    if (meta.ok() && meta->incarnation != checkpoint->incarnation) return Lsn{0};
  }
  return checkpoint->lsn;
}

}  // namespace hadr
