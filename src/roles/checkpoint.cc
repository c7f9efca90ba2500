#include "roles/checkpoint.h"

#include <charconv>

#include "wal/checkpoint_file.h"
#include "wal/wal_meta.h"

namespace hadr {

std::string checkpoint_coord_key(const RegionId& region) {
  HADR_ASSERT(!region.empty());
  return "checkpoint/" + region.str();
}

std::string checkpoint_file_path(std::string_view wal_dir) { return join_path(wal_dir, kCheckpointFileName); }

std::string encode_checkpoint_value(Lsn checkpoint, std::uint64_t incarnation) {
  HADR_ASSERT(incarnation != 0);
  return std::to_string(checkpoint.value) + "@" + incarnation_text(incarnation);
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

Result<CheckpointValue> parse_checkpoint_value(std::string_view text, std::string_view key) {
  CheckpointValue value;
  const std::size_t at = text.find('@');
  const bool parsed = at == std::string_view::npos
                          ? parse_decimal(text, value.lsn.value)
                          : parse_decimal(text.substr(0, at), value.lsn.value) &&
                                parse_incarnation(text.substr(at + 1), value.incarnation);
  if (!parsed) {
    return data_loss("coord record '" + std::string(key) + "' holds " + std::to_string(text.size()) +
                     " bytes that are not a checkpoint (\"<decimal LSN>@0x<16 hex digits>\" or the older "
                     "\"<decimal LSN>\"); rewrite it from the region's CHECKPOINT file or delete it");
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
