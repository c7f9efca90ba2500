#include "roles/backoff.h"

#include <algorithm>
#include <string>

namespace hadr {

Status BackoffOptions::validate(std::string_view what) const {
  const auto in_range = [](Milliseconds value) { return value >= Milliseconds(1) && value <= Backoff::kDelayMax; };
  if (!in_range(initial) || !in_range(max) || initial > max) {
    return invalid_argument(std::string(what) + ": initial " + std::to_string(initial.count()) + " ms and max " +
                            std::to_string(max.count()) + " ms must satisfy 1 ms <= initial <= max <= " +
                            std::to_string(Backoff::kDelayMax.count()) + " ms");
  }
  return ok_status();
}

Backoff::Backoff(const Clock& clock, const BackoffOptions& options) : clock_(clock), options_(options) {
  HADR_ASSERT(options_.validate("backoff").ok());
}

bool Backoff::ready() const {
  return consecutive_failures_ == 0 || clock_.now_monotonic() >= retry_at_;
}

void Backoff::record_failure() {
  // Doubling stops at max, so the counter can grow without the delay overflowing.
  delay_ = consecutive_failures_ == 0 ? options_.initial : std::min(options_.max, delay_ * 2);
  if (consecutive_failures_ < UINT32_MAX) ++consecutive_failures_;
  retry_at_ = clock_.now_monotonic() + delay_;
  HADR_ASSERT(delay_ >= options_.initial && delay_ <= options_.max);
}

void Backoff::record_success() {
  consecutive_failures_ = 0;
  delay_ = Milliseconds(0);
}

}  // namespace hadr
