// What every role shares: how a failed call is classified and absorbed, and the health record
// a role publishes.
//
// Reaction to an error code (core/result.h), the same in every role:
//   kUnavailable, kDeadlineExceeded, kResourceExhausted   transient: count it, back off, retry.
//   kDataLoss, kInternal                                   stop: step() returns the error and
//                                                          the driver stops the region's intake.
//   anything else (kAborted, kInvalidArgument, ...)        the role decides at the call site
//                                                          (kAborted usually means "fenced" or
//                                                          "lock/claim lost"); when it has no
//                                                          better answer it counts the error and
//                                                          backs off like a transient one, so an
//                                                          operator-fixable fault (a missing
//                                                          queue) never drops data.
// HealthRecorder: owns its RoleHealth; thread-safe (one mutex): the role's thread writes, any
// thread reads. absorb_failure borrows its arguments for the call only.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/dedupe_store.h"
#include "core/result.h"
#include "roles/backoff.h"
#include "roles/role.h"

namespace hadr {

bool is_transient(ErrorCode code);
bool must_stop(ErrorCode code);

class HealthRecorder {
 public:
  // Progress is also a success (consecutive_errors = 0).
  void add_progress(std::uint64_t units);
  // errors_total + 1, consecutive_errors + 1 and last_error = "<what>: <error>".
  void record_error(std::string_view what, const Error& error);
  // A call worked (even one that found nothing to do): consecutive_errors = 0.
  void record_success();
  void set_lag(std::int64_t lag);
  RoleHealth snapshot() const;

 private:
  mutable std::mutex mutex_;
  RoleHealth health_;
};

// The common tail of a failed call: records it in `health` and, unless the region must stop,
// arms `backoff` and returns ok (the role goes idle and retries after the delay). Returns the
// error itself for kDataLoss / kInternal.
Status absorb_failure(std::string_view what, const Error& error, Backoff& backoff, HealthRecorder& health);

// Retires `backlog` (copy pins whose copies are settled or acked) in batches of
// DedupeStore::kMaxLookupBatch, oldest first, removing what was retired. A failure is recorded
// in `health` as `what` and leaves the rest for the next call: their records keep their long
// TTL meanwhile, which costs only the store's size.
void retire_pins(DedupeStore& dedupe, std::vector<CopyPin>& backlog, Milliseconds record_ttl, HealthRecorder& health,
                 std::string_view what);

// A free-text reason cut to at most `max_bytes` (a dead-letter reason has a hard limit).
std::string bounded_reason(std::string_view reason, std::size_t max_bytes);

}  // namespace hadr
