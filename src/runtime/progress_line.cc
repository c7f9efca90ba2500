#include "runtime/progress_line.h"

#include <cinttypes>
#include <cstdio>
#include <ctime>

namespace hadr {

std::string utc_timestamp(WallTime time) {
  const std::int64_t ms = unix_millis(time);
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[96];  // room for any int the format could get, as -Wformat-truncation counts
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(ms % 1000));
  return text;
}

std::optional<std::string> ProgressLine::next(const ProgressSample& sample, WallTime wall, MonoTime now, bool always) {
  const bool unchanged = last_ && *last_ == sample;
  if (unchanged && !always && now - last_printed_at_ < idle_repeat_) return std::nullopt;
  const double seconds = last_ ? std::chrono::duration<double>(now - last_at_).count() : 0;
  // Rate of a counter since the last printed sample ("" on the first line).
  const auto rate = [&](std::uint64_t value, std::uint64_t before) -> std::string {
    if (!last_ || seconds <= 0 || value < before) return "";
    char text[32];
    std::snprintf(text, sizeof text, " (%.0f/s)", static_cast<double>(value - before) / seconds);
    return text;
  };
  const ProgressSample before = last_.value_or(ProgressSample{});
  std::string line = utc_timestamp(wall) + " hadr " + process_ + " [" + region_ + "]:";
  line += " appended " + std::to_string(sample.appended) + rate(sample.appended, before.appended);
  line += " acked " + std::to_string(sample.acked);
  line += " published " + std::to_string(sample.published) + rate(sample.published, before.published);
  line += " promoted " + std::to_string(sample.promoted) + rate(sample.promoted, before.promoted);
  line += " effects " + std::to_string(sample.effects) + rate(sample.effects, before.effects);
  line += " suppressed_duplicates " + std::to_string(sample.suppressed_duplicates);
  line += " dead_lettered " + std::to_string(sample.dead_lettered);
  line += " checkpoint " + std::to_string(sample.checkpoint);
  if (sample.staging_depth && sample.main_depth) {
    line += " | depth staging " + std::to_string(*sample.staging_depth) + " main " + std::to_string(*sample.main_depth);
  }
  if (!sample.lags.empty()) {
    line += " | lag";
    for (const auto& [role, lag] : sample.lags) line += " " + role + " " + std::to_string(lag);
  }
  if (unchanged) {
    line += " | idle for " + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - last_at_).count()) +
            " s";
  } else {
    last_ = sample;
    last_at_ = now;
  }
  last_printed_at_ = now;
  return line;
}

}  // namespace hadr
