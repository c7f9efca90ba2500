#include "gateway/throttle.h"

#include <algorithm>
#include <cmath>

namespace hadr {

TokenBucket::TokenBucket(double rate_per_second, double burst, MonoTime now)
    : rate_per_second_(rate_per_second), burst_(burst), tokens_(burst), refilled_at_(now) {
  HADR_ASSERT(rate_per_second_ >= 0);
  HADR_ASSERT(rate_per_second_ == 0 || burst_ >= 1);
}

void TokenBucket::refill(MonoTime now) {
  if (now <= refilled_at_) return;  // monotonic: never earlier, but equal is common
  const double elapsed_seconds = std::chrono::duration<double>(now - refilled_at_).count();
  tokens_ = std::min(burst_, tokens_ + elapsed_seconds * rate_per_second_);
  refilled_at_ = now;
  HADR_ASSERT(tokens_ >= 0 && tokens_ <= burst_);
}

Nanoseconds TokenBucket::wait_for_token(MonoTime now) {
  if (rate_per_second_ == 0) return Nanoseconds(0);
  refill(now);
  if (tokens_ >= 1) return Nanoseconds(0);
  const double missing_seconds = (1 - tokens_) / rate_per_second_;
  // Rounded up so that waiting exactly this long always finds the token.
  return Nanoseconds(static_cast<std::int64_t>(std::ceil(missing_seconds * 1e9)));
}

void TokenBucket::take(MonoTime now) {
  if (rate_per_second_ == 0) return;
  refill(now);
  HADR_ASSERT_MSG(tokens_ >= 1, "take() without a token: %f", tokens_);
  tokens_ -= 1;
}

double TokenBucket::tokens(MonoTime now) {
  refill(now);
  return tokens_;
}

Throttle::Throttle(const ThrottleOptions& options, MonoTime now)
    : options_(options), global_(options.global_rate_per_second, options.global_burst, now) {
  HADR_ASSERT(options_.validate().ok());
}

TokenBucket& Throttle::client_bucket(std::string_view client, MonoTime now) {
  const std::string key(client);
  auto found = clients_.find(key);
  if (found != clients_.end()) {
    recency_.splice(recency_.begin(), recency_, found->second.recency);
    return found->second.bucket;
  }
  if (clients_.size() >= options_.clients_tracked_max) {
    clients_.erase(recency_.back());
    recency_.pop_back();
  }
  recency_.push_front(key);
  auto [inserted, _] = clients_.emplace(
      key, ClientEntry{TokenBucket(options_.client_rate_per_second, options_.client_burst, now), recency_.begin()});
  HADR_ASSERT(clients_.size() <= options_.clients_tracked_max && clients_.size() == recency_.size());
  return inserted->second.bucket;
}

Throttle::Decision Throttle::admit(std::string_view client, MonoTime now) {
  TokenBucket& bucket = client_bucket(client, now);
  const Nanoseconds client_wait = bucket.wait_for_token(now);
  if (client_wait > Nanoseconds(0)) return Decision{Verdict::kClientLimited, client_wait};
  const Nanoseconds global_wait = global_.wait_for_token(now);
  if (global_wait > Nanoseconds(0)) return Decision{Verdict::kGlobalLimited, global_wait};
  bucket.take(now);
  global_.take(now);
  return Decision{};
}

}  // namespace hadr
