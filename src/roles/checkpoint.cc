#include "roles/checkpoint.h"

#include <charconv>

#include "wal/checkpoint_file.h"

namespace hadr {

std::string checkpoint_coord_key(const RegionId& region) {
  HADR_ASSERT(!region.empty());
  return "checkpoint/" + region.str();
}

std::string checkpoint_file_path(std::string_view wal_dir) { return join_path(wal_dir, kCheckpointFileName); }

std::string encode_checkpoint_value(Lsn checkpoint) { return std::to_string(checkpoint.value); }

Result<Lsn> parse_checkpoint_value(std::string_view text, std::string_view key) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || stop != end) {
    return data_loss("coord record '" + std::string(key) + "' holds " + std::to_string(text.size()) +
                     " bytes that are not a decimal LSN; rewrite it (hadr's checkpointer writes it as digits)");
  }
  return Lsn{value};
}

Result<Lsn> read_coord_checkpoint(Coord& coord, const RegionId& region) {
  const std::string key = checkpoint_coord_key(region);
  HADR_ASSIGN_OR_RETURN(const std::optional<CoordRecord> record, coord.get(key));
  if (!record) return Lsn{0};
  return parse_checkpoint_value(record->value, key);
}

Result<Lsn> read_file_checkpoint(Env& env, std::string_view wal_dir) {
  Result<WalCheckpoint> checkpoint = read_checkpoint_file(env, checkpoint_file_path(wal_dir));
  if (!checkpoint.ok()) {
    if (checkpoint.code() == ErrorCode::kNotFound) return Lsn{0};
    return std::move(checkpoint).take_error();
  }
  return checkpoint->lsn;
}

}  // namespace hadr
