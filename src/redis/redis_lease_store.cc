#include "redis/redis_lease_store.h"

#include <charconv>

#include "contracts/validation.h"
#include "redis/redis_keys.h"

namespace hadr::redis {

namespace {

// KEYS[1] holder key, KEYS[2] epoch key; ARGV[1] holder, ARGV[2] ttl in ms.
// Returns {granted (0/1), "<holder>|<epoch>" of the live grant, remaining ms, epoch, TIME
// seconds, TIME microseconds} (TIME: Redis's clock, for the step detector).
// The value carries the epoch it is granted with, so it is computed before the SET NX; the
// INCR that follows a successful SET NX produces exactly that epoch (one script: atomic).
constexpr RedisScript kAcquireScript{"lease_acquire", R"lua(
local next_epoch = tonumber(redis.call('GET', KEYS[2]) or '0') + 1
local value = ARGV[1] .. '|' .. string.format('%d', next_epoch)
if not redis.call('SET', KEYS[1], value, 'NX', 'PX', ARGV[2]) then
  local current = redis.call('GET', KEYS[1])
  local time = redis.call('TIME')
  return {0, current, redis.call('PTTL', KEYS[1]), next_epoch - 1, time[1], time[2]}
end
local granted = redis.call('INCR', KEYS[2])
if granted ~= next_epoch then
  return redis.error_reply('lease epoch counter moved during acquire')
end
local time = redis.call('TIME')
return {1, value, tonumber(ARGV[2]), granted, time[1], time[2]}
)lua"};

// KEYS[1] holder key; ARGV[1] expected "<holder>|<epoch>", ARGV[2] ttl in ms.
// Returns {1, TIME seconds, TIME microseconds} when renewed, {0, current value or nil} when
// the grant is not live.
constexpr RedisScript kRenewScript{"lease_renew_timed", R"lua(
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  local time = redis.call('TIME')
  return {1, time[1], time[2]}
end
return {0, current}
)lua"};

// KEYS[1] holder key; ARGV[1] expected "<holder>|<epoch>". Same answers as renew.
constexpr RedisScript kReleaseScript{"lease_release", R"lua(
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return {1}
end
return {0, current}
)lua"};

// KEYS[1] holder key, KEYS[2] epoch key. Returns {value or nil, pttl, highest epoch} at one instant.
constexpr RedisScript kReadScript{"lease_read", R"lua(
return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1]), redis.call('GET', KEYS[2]) or '0'}
)lua"};

struct Grant {
  std::string holder;
  Epoch epoch;
};

// Splits "<holder>|<epoch>" at the last '|' (a holder may contain '|'; an epoch cannot).
Result<Grant> parse_grant(std::string_view value) {
  const std::size_t bar = value.rfind('|');
  if (bar == std::string_view::npos || bar == 0) {
    return data_loss("lease value '" + std::string(value.substr(0, 160)) +
                     "' is not '<holder>|<epoch>'; the key was written by something other than hadr");
  }
  HADR_ASSIGN_OR_RETURN(const std::uint64_t epoch, parse_unsigned(value.substr(bar + 1), "a lease epoch"));
  return Grant{std::string(value.substr(0, bar)), Epoch{epoch}};
}

std::string grant_value(std::string_view holder, Epoch epoch) {
  return std::string(holder) + "|" + decimal(epoch.value);
}

Status validate_name_and_holder(std::string_view name, std::string_view holder) {
  HADR_TRY(validate_printable("lease name", name, kMaxNameBytes));
  return validate_printable("lease holder", holder, kMaxNameBytes);
}

Status validate_lease_ttl(Milliseconds ttl) {
  return validate_ttl("lease ttl", ttl, kMaxLeaseTtl);
}

}  // namespace

RedisLeaseStore::RedisLeaseStore(std::unique_ptr<RedisConnection> connection, std::string key_namespace,
                                 const Clock& clock)
    : connection_(std::move(connection)), key_namespace_(std::move(key_namespace)), clock_(clock) {}

Result<std::unique_ptr<RedisLeaseStore>> RedisLeaseStore::open(const RedisOptions& options, const Clock& clock) {
  HADR_ASSIGN_OR_RETURN(std::unique_ptr<RedisConnection> connection, RedisConnection::open(options));
  return std::unique_ptr<RedisLeaseStore>(
      new RedisLeaseStore(std::move(connection), key_namespace(options.key_prefix), clock));
}

Status StoreClockStepDetector::observe(std::int64_t store_ms, MonoTime sent_at, MonoTime answered_at) {
  HADR_ASSERT(answered_at >= sent_at);
  if (has_last_) {
    // The store read its clock somewhere in [sent_at, answered_at] each time: the monotonic
    // time between the two readings lies in [sent_at - last_answered_at, answered_at - last_sent_at].
    const auto to_ms = [](Nanoseconds d) { return std::chrono::duration_cast<Milliseconds>(d).count(); };
    const std::int64_t store_moved_ms = store_ms - last_store_ms_;
    const std::int64_t least_ms = to_ms(sent_at - last_answered_at_) - tolerance_.count();
    const std::int64_t most_ms = to_ms(answered_at - last_sent_at_) + tolerance_.count();
    if (store_moved_ms < least_ms || store_moved_ms > most_ms) {
      const std::int64_t local_ms = to_ms(answered_at - last_sent_at_);
      has_last_ = false;
      return aborted("store clock step: the store's clock (Redis TIME) moved " + std::to_string(store_moved_ms) +
                     " ms while this host's monotonic clock moved about " + std::to_string(local_ms) +
                     " ms; TTLs measured by the store (the lease, claims, locks) can no longer be trusted, so "
                     "this holder stops writing and steps down; fix the store host's time sync (NTP slewing, "
                     "not stepping)");
    }
  }
  has_last_ = true;
  last_store_ms_ = store_ms;
  last_sent_at_ = sent_at;
  last_answered_at_ = answered_at;
  return ok_status();
}

Status RedisLeaseStore::check_store_clock(const ReplyView& answer, std::size_t at, MonoTime sent_at, Milliseconds ttl) {
  const MonoTime answered_at = clock_.now_monotonic();
  HADR_ASSIGN_OR_RETURN(const std::string_view seconds, answer.at(at).expect_text("Redis TIME seconds"));
  HADR_ASSIGN_OR_RETURN(const std::string_view micros, answer.at(at + 1).expect_text("Redis TIME microseconds"));
  std::int64_t whole_seconds = 0;
  std::int64_t microseconds = 0;
  const auto parsed_seconds = std::from_chars(seconds.data(), seconds.data() + seconds.size(), whole_seconds);
  const auto parsed_micros = std::from_chars(micros.data(), micros.data() + micros.size(), microseconds);
  if (parsed_seconds.ec != std::errc() || parsed_micros.ec != std::errc()) {
    return internal_error("Redis TIME answered '" + std::string(seconds) + "' '" + std::string(micros) +
                          "', not two integers");
  }
  const std::int64_t store_ms = whole_seconds * 1000 + microseconds / 1000;
  // An eighth of the TTL: a step that large is still far from expiring a lease renewed every
  // third of its TTL, and far above drift and scheduling noise (the round trip is added apart).
  if (step_detector_ == nullptr) step_detector_ = std::make_unique<StoreClockStepDetector>(ttl / 8);
  return step_detector_->observe(store_ms, sent_at, answered_at);
}

std::string RedisLeaseStore::holder_key(std::string_view name) const {
  return key_namespace_ + "lease-holder:" + std::string(name);
}

std::string RedisLeaseStore::epoch_key(std::string_view name) const {
  return key_namespace_ + "lease-epoch:" + std::string(name);
}

Result<LeaseAcquireOutcome> RedisLeaseStore::acquire(std::string_view name, std::string_view holder,
                                                     Milliseconds ttl) {
  HADR_TRY(validate_name_and_holder(name, holder));
  HADR_TRY(validate_lease_ttl(ttl));
  const std::string keys[] = {holder_key(name), epoch_key(name)};
  const std::string ttl_text = decimal(static_cast<std::uint64_t>(ttl.count()));
  const std::string_view key_views[] = {keys[0], keys[1]};
  const std::string_view arguments[] = {holder, ttl_text};
  std::lock_guard lock(mutex_);
  const MonoTime sent_at = clock_.now_monotonic();
  HADR_ASSIGN_OR_RETURN(const RedisReply reply,
                        connection_->eval(kAcquireScript, key_views, arguments, CommandKind::kMutating));
  const ReplyView answer = reply.view();
  HADR_TRY(answer.expect_array("the lease_acquire answer", 6));
  HADR_ASSIGN_OR_RETURN(const long long granted, answer.at(0).expect_integer("lease_acquire's granted flag"));
  HADR_ASSIGN_OR_RETURN(const std::string_view value, answer.at(1).expect_text("the lease value"));
  HADR_ASSIGN_OR_RETURN(const long long remaining_ms, answer.at(2).expect_integer("the lease PTTL"));
  HADR_ASSIGN_OR_RETURN(const Grant grant, parse_grant(value));
  LeaseAcquireOutcome outcome;
  outcome.granted = granted == 1;
  outcome.epoch = grant.epoch;
  outcome.holder = grant.holder;
  outcome.remaining = Milliseconds(std::max<long long>(remaining_ms, 0));
  if (outcome.granted) {
    // A new grant: the clocks are compared from here on, with this grant's TTL.
    step_detector_ = std::make_unique<StoreClockStepDetector>(ttl / 8);
    HADR_TRY(check_store_clock(answer, 4, sent_at, ttl));
  }
  HADR_ASSERT(!outcome.granted || outcome.holder == holder);
  HADR_ASSERT(outcome.epoch.value > 0);
  return outcome;
}

Status RedisLeaseStore::compare_and_set(const RedisScript& script, std::string_view action, std::string_view name,
                                        std::string_view holder, Epoch epoch, Milliseconds ttl) {
  const std::string key = holder_key(name);
  const std::string expected = grant_value(holder, epoch);
  const std::string ttl_text = decimal(static_cast<std::uint64_t>(ttl.count()));
  const std::string_view key_views[] = {key};
  const std::string_view arguments[] = {expected, ttl_text};
  std::lock_guard lock(mutex_);
  const MonoTime sent_at = clock_.now_monotonic();
  HADR_ASSIGN_OR_RETURN(const RedisReply reply, connection_->eval(script, key_views, arguments, CommandKind::kMutating));
  const ReplyView answer = reply.view();
  HADR_TRY(answer.expect_array("the lease compare-and-set answer", 1));
  HADR_ASSIGN_OR_RETURN(const long long done, answer.at(0).expect_integer("the compare-and-set flag"));
  // A renewal also compares Redis's clock with ours: a step fences this holder (see the header).
  if (done == 1 && &script == &kRenewScript && answer.size() >= 3) return check_store_clock(answer, 1, sent_at, ttl);
  if (done == 1) return ok_status();
  std::string who = "holder '";  // built by appends: g++ 12 misreports "'" + string (-Wrestrict)
  who += holder;
  who += "' at epoch ";
  who += decimal(epoch.value);
  if (answer.size() < 2 || answer.at(1).is_nil()) {
    return aborted("cannot " + std::string(action) + " lease '" + std::string(name) + "' for " + who +
                   ": it is not held (expired or released); step down and acquire again");
  }
  HADR_ASSIGN_OR_RETURN(const std::string_view current, answer.at(1).expect_text("the lease value"));
  HADR_ASSIGN_OR_RETURN(const Grant grant, parse_grant(current));
  return aborted("cannot " + std::string(action) + " lease '" + std::string(name) + "' for " + who + ": it is held by '" +
                 grant.holder + "' at epoch " + decimal(grant.epoch.value) + "; step down");
}

Status RedisLeaseStore::renew(std::string_view name, std::string_view holder, Epoch epoch, Milliseconds ttl) {
  HADR_TRY(validate_name_and_holder(name, holder));
  HADR_TRY(validate_lease_ttl(ttl));
  HADR_TRY(validate_epoch(epoch));
  return compare_and_set(kRenewScript, "renew", name, holder, epoch, ttl);
}

Status RedisLeaseStore::release(std::string_view name, std::string_view holder, Epoch epoch) {
  HADR_TRY(validate_name_and_holder(name, holder));
  HADR_TRY(validate_epoch(epoch));
  return compare_and_set(kReleaseScript, "release", name, holder, epoch, Milliseconds(0));
}

Result<LeaseState> RedisLeaseStore::read(std::string_view name) {
  HADR_TRY(validate_printable("lease name", name, kMaxNameBytes));
  const std::string keys[] = {holder_key(name), epoch_key(name)};
  const std::string_view key_views[] = {keys[0], keys[1]};
  std::lock_guard lock(mutex_);
  HADR_ASSIGN_OR_RETURN(const RedisReply reply, connection_->eval(kReadScript, key_views, {}, CommandKind::kReadOnly));
  const ReplyView answer = reply.view();
  HADR_TRY(answer.expect_array("the lease_read answer", 3));
  HADR_ASSIGN_OR_RETURN(const std::string_view highest_text, answer.at(2).expect_text("the lease epoch counter"));
  HADR_ASSIGN_OR_RETURN(const std::uint64_t highest, parse_unsigned(highest_text, "the lease epoch counter"));
  LeaseState state;
  state.highest_epoch = Epoch{highest};
  if (answer.at(0).is_nil()) return state;
  HADR_ASSIGN_OR_RETURN(const std::string_view value, answer.at(0).expect_text("the lease value"));
  HADR_ASSIGN_OR_RETURN(const Grant grant, parse_grant(value));
  HADR_ASSIGN_OR_RETURN(const long long remaining_ms, answer.at(1).expect_integer("the lease PTTL"));
  state.held = true;
  state.holder = grant.holder;
  state.epoch = grant.epoch;
  state.remaining = Milliseconds(std::max<long long>(remaining_ms, 0));
  return state;
}

}  // namespace hadr::redis
