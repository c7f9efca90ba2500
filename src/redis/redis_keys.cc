#include "redis/redis_keys.h"

#include <charconv>

namespace hadr::redis {

std::string key_namespace(std::string_view prefix) {
  HADR_ASSERT(!prefix.empty());
  std::string result;
  result.reserve(prefix.size() + 3);
  result += '{';
  result += prefix;
  result += "}:";
  return result;
}

LedgerKeys LedgerKeys::of(std::string_view key_namespace) {
  HADR_ASSERT(!key_namespace.empty() && key_namespace.back() == ':');
  const std::string base(key_namespace);
  return LedgerKeys{.entries = base + "ledger", .counts = base + "ledger-count", .applied_prefix = base + "ledger-applied:"};
}

std::string LedgerKeys::applied(std::string_view region) const {
  HADR_ASSERT(!region.empty());  // a RegionId is never empty once parsed
  return applied_prefix + std::string(region);
}

Status validate_epoch(Epoch epoch) {
  if (epoch.value > kMaxScriptInteger) {
    return invalid_argument("epoch " + std::to_string(epoch.value) + " is above the Redis stores' maximum " +
                            std::to_string(kMaxScriptInteger));
  }
  return ok_status();
}

std::string decimal(std::uint64_t value) { return std::to_string(value); }

Result<std::uint64_t> parse_unsigned(std::string_view text, std::string_view what) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return data_loss("redis holds '" + std::string(text.substr(0, 64)) + "' as " + std::string(what) +
                     ", which is not a decimal number; the key was written by something other than hadr");
  }
  return value;
}

}  // namespace hadr::redis
