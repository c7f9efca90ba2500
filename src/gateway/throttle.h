// Token buckets for the gateway: one per client plus one global, on the injected monotonic
// clock (a wall-clock jump can neither refill nor drain a bucket).
//
// TokenBucket: holds up to `burst` tokens, refilled at `rate_per_second`; a request takes one.
// A bucket with rate 0 is off: it always has a token.
// Throttle: admit(client) takes one token from the client's bucket AND the global one, or from
// neither (a request refused by the global bucket does not cost its client a token). The
// client map is bounded by clients_tracked_max: the least recently seen client is forgotten
// (it comes back with a full bucket; the global bucket still bounds what such churn admits).
//
// Ownership: plain values. Thread-safety: none; the Gateway serializes calls under its mutex.
// Invariants: 0 <= tokens <= burst; tracked clients <= clients_tracked_max.
#pragma once

#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "gateway/gateway_options.h"

namespace hadr {

class TokenBucket {
 public:
  // Starts full at `now`.
  TokenBucket(double rate_per_second, double burst, MonoTime now);

  // Zero when a token is available at `now`, else how long until one is.
  Nanoseconds wait_for_token(MonoTime now);
  // Takes one token; wait_for_token(now) must have been zero.
  void take(MonoTime now);
  double tokens(MonoTime now);

 private:
  void refill(MonoTime now);

  double rate_per_second_;
  double burst_;
  double tokens_;
  MonoTime refilled_at_;
};

class Throttle {
 public:
  enum class Verdict { kAdmitted, kClientLimited, kGlobalLimited };
  struct Decision {
    Verdict verdict = Verdict::kAdmitted;
    Nanoseconds retry_after{0};  // when limited: the wait until a token is there
  };

  Throttle(const ThrottleOptions& options, MonoTime now);

  Decision admit(std::string_view client, MonoTime now);
  std::size_t tracked_clients() const { return clients_.size(); }
  bool tracks(std::string_view client) const { return clients_.contains(std::string(client)); }

 private:
  struct ClientEntry {
    TokenBucket bucket;
    std::list<std::string>::iterator recency;  // position in recency_ (front = most recent)
  };
  TokenBucket& client_bucket(std::string_view client, MonoTime now);

  const ThrottleOptions options_;
  TokenBucket global_;
  std::list<std::string> recency_;
  std::unordered_map<std::string, ClientEntry> clients_;
};

}  // namespace hadr
