#include "runtime/process_crash_points.h"

#include <charconv>
#include <csignal>
#include <cstdlib>

namespace hadr {

Result<std::unique_ptr<ProcessCrashPoints>> ProcessCrashPoints::parse(std::string_view spec) {
  if (spec.empty()) return std::unique_ptr<ProcessCrashPoints>(new ProcessCrashPoints("", 0));
  std::string_view name = spec;
  std::uint64_t hit = 1;
  const std::size_t colon = spec.find(':');
  if (colon != std::string_view::npos) {
    name = spec.substr(0, colon);
    const std::string_view count = spec.substr(colon + 1);
    const auto [end, error] = std::from_chars(count.data(), count.data() + count.size(), hit);
    if (error != std::errc() || end != count.data() + count.size() || hit == 0) {
      return invalid_argument(std::string(kCrashPointVariable) + "=" + std::string(spec) +
                              ": the hit count after ':' must be a whole number >= 1, e.g. relay.after_fsync_before_ack:3");
    }
  }
  for (std::string_view known : kAllCrashPoints) {
    if (known == name) return std::unique_ptr<ProcessCrashPoints>(new ProcessCrashPoints(std::string(name), hit));
  }
  std::string valid;
  for (std::string_view known : kAllCrashPoints) valid += (valid.empty() ? "" : ", ") + std::string(known);
  return invalid_argument(std::string(kCrashPointVariable) + "=" + std::string(spec) +
                          " names no crash point; valid names: " + valid);
}

Result<std::unique_ptr<ProcessCrashPoints>> ProcessCrashPoints::from_environment() {
  const char* value = std::getenv(std::string(kCrashPointVariable).c_str());
  return parse(value == nullptr ? std::string_view() : std::string_view(value));
}

void ProcessCrashPoints::hit(std::string_view point) {
  HADR_ASSERT(!point.empty());
  if (armed_point_.empty() || point != armed_point_) return;
  const std::uint64_t count = hits_.fetch_add(1) + 1;
  HADR_ASSERT(count > 0);
  // SIGKILL cannot be caught: the process dies here with no cleanup, as a power cut would
  // leave it (minus the page cache, which the WAL's fsync discipline already accounts for).
  if (count == armed_hit_) std::raise(SIGKILL);
}

}  // namespace hadr
