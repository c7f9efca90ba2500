#include "roles/role_support.h"

#include <algorithm>
#include <span>

namespace hadr {

bool is_transient(ErrorCode code) {
  return code == ErrorCode::kUnavailable || code == ErrorCode::kDeadlineExceeded ||
         code == ErrorCode::kResourceExhausted;
}

bool must_stop(ErrorCode code) { return code == ErrorCode::kDataLoss || code == ErrorCode::kInternal; }

void HealthRecorder::add_progress(std::uint64_t units) {
  const std::lock_guard lock(mutex_);
  health_.progress_total += units;
  if (units > 0) health_.consecutive_errors = 0;
}

void HealthRecorder::record_success() {
  const std::lock_guard lock(mutex_);
  health_.consecutive_errors = 0;
}

void HealthRecorder::record_error(std::string_view what, const Error& error) {
  const std::lock_guard lock(mutex_);
  ++health_.errors_total;
  ++health_.consecutive_errors;
  health_.last_error = std::string(what) + ": " + error.to_string();
}

void HealthRecorder::set_lag(std::int64_t lag) {
  const std::lock_guard lock(mutex_);
  health_.lag = lag;
}

RoleHealth HealthRecorder::snapshot() const {
  const std::lock_guard lock(mutex_);
  return health_;
}

Status absorb_failure(std::string_view what, const Error& error, Backoff& backoff, HealthRecorder& health) {
  health.record_error(what, error);
  if (must_stop(error.code)) return error;
  backoff.record_failure();
  HADR_ASSERT(backoff.consecutive_failures() > 0);
  return ok_status();
}

void retire_pins(DedupeStore& dedupe, std::vector<CopyPin>& backlog, Milliseconds record_ttl, HealthRecorder& health,
                 std::string_view what) {
  while (!backlog.empty()) {
    const std::size_t count = std::min(backlog.size(), DedupeStore::kMaxLookupBatch);
    const Status retired = dedupe.retire(std::span(backlog.data(), count), record_ttl);
    if (!retired.ok()) {
      health.record_error(what, retired.error());
      return;
    }
    backlog.erase(backlog.begin(), backlog.begin() + static_cast<std::ptrdiff_t>(count));
  }
}

std::string bounded_reason(std::string_view reason, std::size_t max_bytes) {
  HADR_ASSERT(max_bytes >= 3);
  if (reason.size() <= max_bytes) return std::string(reason);
  return std::string(reason.substr(0, max_bytes - 3)) + "...";
}

}  // namespace hadr
