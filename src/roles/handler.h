// Handler: the code that applies a message's effect (the plan's "Function").
//
// The worker claims the message id in the dedupe store, then calls handle(). Two kinds:
//   - transactional handlers (the built-in `ledger`) apply the effect AND mark the claim done
//     in one transaction, and answer marked_done = true: exactly-once effects;
//   - other handlers (`exec`, `http`) only apply the effect; the worker then marks the claim
//     done. A crash between the effect and the mark means a re-run after the claim expires
//     (at-least-once, bounded by the claim TTL); `http` passes Idempotency-Key = message id so
//     a downstream that honours it keeps effects exactly once.
// Verdicts:
//   kDone        the effect is applied (and marked, if marked_done).
//   kRetryLater  transient (exit 75, HTTP 408/429/5xx, timeout): release the claim, abandon;
//                the bus redelivers, and dead-letters past max deliveries.
//   kFailed      the handler failed (other exit codes): same as kRetryLater, with the reason.
//   kReject      the message can never succeed (HTTP 4xx other than 408/429): dead-letter now.
// Long handlers: a handler that may run longer than a third of the lock duration calls
// input.keep_alive->keep_alive() now and then (exec: every poll round; http: before each
// attempt). The worker then renews the message's bus lock (and those of the batch behind it)
// and extends its dedupe claim, so neither expires under a running handler — an expired claim
// would let another worker run the same effect. keep_alive() is cheap when nothing is due.
// Extending the claim replaces its token: input.claim_token is valid only until the first
// keep_alive() call, so a transactional handler (which marks with the token) must not call it.
// Thread-safety: one handler instance per worker; handle() is called from the worker's thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "contracts/bus.h"
#include "core/ids.h"
#include "core/result.h"

namespace hadr {

enum class HandlerVerdict { kDone, kRetryLater, kFailed, kReject };

class HandlerKeepAlive {
 public:
  virtual ~HandlerKeepAlive() = default;
  virtual void keep_alive() = 0;
};

struct HandlerInput {
  const BusMessage& message;
  std::string_view claim_token;  // the dedupe claim the worker holds for message.id (see above)
  std::uint32_t delivery_count = 0;
  Epoch claim_epoch;              // the epoch the claim was taken under
  HandlerKeepAlive* keep_alive = nullptr;  // null: nothing to keep alive (tests, tools)
};

struct HandlerResult {
  HandlerVerdict verdict = HandlerVerdict::kFailed;
  bool marked_done = false;  // the handler marked the claim done in the effect's transaction
  std::string reason;        // for kRetryLater / kFailed / kReject: what went wrong
};

class Handler {
 public:
  virtual ~Handler() = default;
  virtual std::string_view kind() const = 0;  // "ledger" | "exec" | "http"
  virtual HandlerResult handle(const HandlerInput& input) = 0;
};

}  // namespace hadr
