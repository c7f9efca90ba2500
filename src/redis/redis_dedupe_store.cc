#include "redis/redis_dedupe_store.h"

#include <algorithm>

#include "redis/redis_keys.h"

namespace hadr::redis {

namespace {

// Record values are "<state><expiry>|<token>", plus "\n<reason>" when dead-lettered: state
// 'c' claimed, 'd' done, 'x' dead-lettered; expiry the absolute Redis time (ms) at which the
// key expires (SET ... PXAT), so that a script that overwrote a record can put it back exactly.
// Every script reads Redis's clock once (TIME) and sets expiries with PXAT from it.
constexpr std::string_view kNowFunction = R"lua(
local function now_ms()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
)lua";

// KEYS[1] highest-epoch key, KEYS[2] token counter, KEYS[3..] records; ARGV[1] owner,
// ARGV[2] epoch, ARGV[3] claim ttl in ms. One INCR per call makes the call's token
// "<owner>/<n>"; every record the call claims gets it (a token names a claim of one id, so ids
// may share it), except an id that this very call already claimed (a duplicate in the batch),
// which gets "<owner>/<n>.<index>" so that its first token stops working.
// Each record, in order: done or dead-lettered → 0; else a stale epoch → -1; else a live
// claim of another owner → -2 (its owner and PTTL follow in the details); else claimed → 1
// with the call's token, or 2 with a token of its own (in the details). An owner's own live
// claim is replaced, so its old token stops working. Returns {highest epoch, n, one code per
// record, details...}. The common case — a fresh id — costs one SET NX and no allocation.
// A higher epoch raises the store's highest epoch whatever the records' states.
constexpr std::string_view kClaimBody = R"lua(
local highest = tonumber(redis.call('GET', KEYS[1]) or '0')
local epoch = tonumber(ARGV[2])
if epoch > highest then
  redis.call('SET', KEYS[1], ARGV[2])
  highest = epoch
end
local stale = epoch < highest
local number = redis.call('INCR', KEYS[2])
local token = ARGV[1] .. '/' .. string.format('%d', number)
local expiry = string.format('%d', now_ms() + tonumber(ARGV[3]))
local value_prefix = 'c' .. expiry .. '|'
local value = value_prefix .. token
local result = {highest, number}
local details = {}
for i = 3, #KEYS do
  if not stale and redis.call('SET', KEYS[i], value, 'NX', 'PXAT', expiry) then
    result[i] = 1
  else
    local current = redis.call('GET', KEYS[i])
    local state = current and string.sub(current, 1, 1)
    if state == 'd' or state == 'x' then
      result[i] = 0
    elseif stale then
      result[i] = -1
    else
      local holder = string.match(current, '^c%d+|(.*)/[%d.]+$')
      if current == value then
        local own = token .. '.' .. (i - 2)
        redis.call('SET', KEYS[i], value_prefix .. own, 'PXAT', expiry)
        result[i] = 2
        details[#details + 1] = own
      elseif holder == ARGV[1] then
        redis.call('SET', KEYS[i], value, 'PXAT', expiry)
        result[i] = 1
      else
        result[i] = -2
        details[#details + 1] = holder or ''
        details[#details + 1] = redis.call('PTTL', KEYS[i])
      end
    end
  end
end
for _, detail in ipairs(details) do result[#result + 1] = detail end
return result
)lua";

// The mark of one record, shared by the mark script and the ledger script (one encoding of the
// record). is_claim_of(value, token): `value` is the live claim "c<expiry>|<token>" of this
// token, checked without allocating. mark_record(key, token, final_state, reason, expiry): the
// common case — the live claim of this token — costs one SET XX ... GET, which writes the mark
// and returns what was there. When that was anything else, the old record is put back as it
// was (value and PXAT expiry), so only a live claim with this token is ever changed. Answers
// 0 marked now; -1 marked before the same way with this token (idempotent; left as it was); or
// a failure: 1 no record (the claim expired), 2 another live claim, 3 marked the other way
// with this token, 4 marked by another claim, 5 not a hadr record.
constexpr std::string_view kMarkFunction = R"lua(
local function is_claim_of(value, token)
  local bar = #value - #token
  return string.byte(value, 1) == 99 and bar > 1 and string.byte(value, bar) == 124 and
         string.find(value, token, bar + 1, true) == bar + 1
end
local function mark_record(key, token, final_state, reason, expiry)
  local value = final_state .. expiry .. '|' .. token
  if final_state == 'x' then value = value .. '\n' .. reason end
  local old = redis.call('SET', key, value, 'XX', 'PXAT', expiry, 'GET')
  if not old then return 1 end
  if is_claim_of(old, token) then return 0 end
  local state, old_expiry, old_token = string.match(old, '^(.)(%d+)|([^\n]*)')
  if not state then
    redis.call('SET', key, old)
    return 5
  end
  redis.call('SET', key, old, 'PXAT', old_expiry)
  if old_token ~= token then
    if state == 'c' then return 2 end
    return 4
  end
  if state ~= final_state then return 3 end
  return -1
end
)lua";

// KEYS[1..] records; ARGV[1] record ttl in ms, ARGV[2] final state ('d' done, 'x'
// dead-lettered), ARGV[3] reason (dead-lettered only), ARGV[4..] the claim token per record.
// Returns the failures only: {index, code} per record that mark_record refused.
constexpr std::string_view kMarkBody = R"lua(
local expiry = string.format('%d', now_ms() + tonumber(ARGV[1]))
local failures = {}
for i = 1, #KEYS do
  local code = mark_record(KEYS[i], ARGV[i + 3], ARGV[2], ARGV[3], expiry)
  if code > 0 then
    failures[#failures + 1] = i
    failures[#failures + 1] = code
  end
end
return failures
)lua";

// The ledger's mark_done_with_effect. KEYS[1] record, KEYS[2] entries (stream), KEYS[3] counts
// (hash), KEYS[4] the region's applied-at index (sorted set); ARGV[1] record ttl in ms, ARGV[2]
// claim token, ARGV[3] message id, ARGV[4] applied_at_ms, ARGV[5..] the entry's XADD field/value
// pairs. When the record is the live claim of this token: the effect (XADD, HINCRBY, ZADD),
// then the mark. The effect goes first so that a write failing midway (Redis does not roll a
// script back) leaves the claim unmarked: the message is retried and a repeat shows as a
// count of 2, never as a mark without its effect. Otherwise mark_record answers (and changes
// nothing) — -1 for an idempotent repeat, whose effect committed with the first call.
// Returns mark_record's code.
constexpr std::string_view kLedgerBody = R"lua(
local expiry = string.format('%d', now_ms() + tonumber(ARGV[1]))
local current = redis.call('GET', KEYS[1])
if current and is_claim_of(current, ARGV[2]) then
  redis.call('XADD', KEYS[2], '*', unpack(ARGV, 5))
  redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[4])
end
return mark_record(KEYS[1], ARGV[2], 'd', '', expiry)
)lua";

// KEYS[1] record; ARGV[1] token. 0 released; 1 no record; 2 not this token's live claim.
constexpr std::string_view kReleaseBody = R"lua(
local current = redis.call('GET', KEYS[1])
if not current then return 1 end
local state, token = string.match(current, '^(.)%d+|([^\n]*)')
if state == 'c' and token == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 0
end
return 2
)lua";

// Script sources are the shared now_ms() function followed by each body, built once.
const RedisScript& claim_script() {
  static const std::string source = std::string(kNowFunction) + std::string(kClaimBody);
  static const RedisScript script{"dedupe_claim", source};
  return script;
}

const RedisScript& mark_script() {
  static const std::string source = std::string(kNowFunction) + std::string(kMarkFunction) + std::string(kMarkBody);
  static const RedisScript script{"dedupe_mark", source};
  return script;
}

const RedisScript& ledger_script() {
  static const std::string source =
      std::string(kNowFunction) + std::string(kMarkFunction) + std::string(kLedgerBody);
  static const RedisScript script{"dedupe_mark_with_ledger_entry", source};
  return script;
}

constexpr RedisScript kReleaseScript{"dedupe_release", kReleaseBody};

// KEYS[2i-1] the record and KEYS[2i] the pin set of pin i; ARGV[1] how long the pins (and a
// final record) live in ms (kUnsettledRecordTtl), ARGV[2] kPinsMax, ARGV[2+i] pin i's tag.
// Adds the tag to the set (or '' when the set already holds kPinsMax tags: permanently
// pinned), sets the set's expiry, and gives a done ('d') or dead-lettered ('x') record that a
// retire shortened its long expiry back, in its value and its key. Returns 0.
constexpr std::string_view kPinBody = R"lua(
local pinned_until = now_ms() + tonumber(ARGV[1])
local until_text = string.format('%d', pinned_until)
local max = tonumber(ARGV[2])
for i = 1, #KEYS / 2 do
  local record = KEYS[2 * i - 1]
  local pins = KEYS[2 * i]
  local tag = ARGV[2 + i]
  if redis.call('SISMEMBER', pins, tag) == 0 then
    if redis.call('SISMEMBER', pins, '') == 1 or redis.call('SCARD', pins) >= max then
      redis.call('SADD', pins, '')
    else
      redis.call('SADD', pins, tag)
    end
  end
  redis.call('PEXPIREAT', pins, until_text)
  local value = redis.call('GET', record)
  if value then
    local state = string.sub(value, 1, 1)
    local bar = string.find(value, '|', 2, true)
    if (state == 'd' or state == 'x') and bar and tonumber(string.sub(value, 2, bar - 1)) < pinned_until then
      redis.call('SET', record, state .. until_text .. string.sub(value, bar), 'PXAT', until_text)
    end
  end
end
return 0
)lua";

// KEYS[2i-1] the record and KEYS[2i] the pin set of pin i; ARGV[1] record ttl in ms, ARGV[1+i]
// pin i's tag. Removes the tag (absent: nothing); then, when no pin is left, a done ('d') or
// dead-lettered ('x') record gets the expiry now + ttl, in its value and its key (PXAT); claims
// and absent keys are left alone. Returns the number of records retired.
constexpr std::string_view kRetireBody = R"lua(
local expiry = string.format('%d', now_ms() + tonumber(ARGV[1]))
local retired = 0
for i = 1, #KEYS / 2 do
  local record = KEYS[2 * i - 1]
  local pins = KEYS[2 * i]
  redis.call('SREM', pins, ARGV[1 + i])
  local value = redis.call('EXISTS', pins) == 0 and redis.call('GET', record)
  if value then
    local state = string.sub(value, 1, 1)
    local bar = string.find(value, '|', 2, true)
    if (state == 'd' or state == 'x') and bar then
      redis.call('SET', record, state .. expiry .. string.sub(value, bar), 'PXAT', expiry)
      retired = retired + 1
    end
  end
end
return retired
)lua";

const RedisScript& pin_script() {
  static const std::string source = std::string(kNowFunction) + std::string(kPinBody);
  static const RedisScript script{"dedupe_pin", source};
  return script;
}

const RedisScript& retire_script() {
  static const std::string source = std::string(kNowFunction) + std::string(kRetireBody);
  static const RedisScript script{"dedupe_retire", source};
  return script;
}

Status validate_batch_size(std::size_t size) {
  if (size == 0 || size > RedisDedupeStore::kMaxBatch) {
    return invalid_argument("a dedupe batch must hold 1.." + std::to_string(RedisDedupeStore::kMaxBatch) +
                            " ids, got " + std::to_string(size));
  }
  return ok_status();
}

Status mark_failure(const MessageId& id, long long code, char final_state) {
  const std::string message = "message '" + id.str() + "'";
  switch (code) {
    case 1: return aborted("claim lost: " + message + " has no live claim (it expired); do not mark it");
    case 2: return aborted("claim lost: " + message + " was claimed again since; this token is no longer live");
    case 3:
      return failed_precondition(message + " was already marked " +
                                 (final_state == 'd' ? "dead-lettered" : "done") + " with this token");
    case 4: return aborted("claim lost: " + message + " was marked by another claim");
    case 5: return data_loss("dedupe record of " + message + " is not in hadr's format; something else wrote it");
    default: return internal_error("dedupe_mark answered unknown code " + std::to_string(code));
  }
}

// Reads one dedupe_claim answer (see kClaimBody) for `count` ids into `outcomes`.
Status parse_claim_answer(ReplyView answer, std::size_t count, std::string_view owner,
                          std::vector<ClaimOutcome>& outcomes) {
  HADR_TRY(answer.expect_array("the dedupe_claim answer", 2 + count));
  HADR_ASSIGN_OR_RETURN(const long long highest, answer.at(0).expect_integer("the highest epoch"));
  HADR_ASSIGN_OR_RETURN(const long long number, answer.at(1).expect_integer("the claim token number"));
  const std::string call_token = std::string(owner) + "/" + std::to_string(number);
  std::size_t next_detail = 2 + count;
  const auto detail = [&]() -> ReplyView {
    return next_detail < answer.size() ? answer.at(next_detail++) : answer.at(0);  // at(0): wrong type below
  };
  for (std::size_t i = 0; i < count; ++i) {
    HADR_ASSIGN_OR_RETURN(const long long code, answer.at(2 + i).expect_integer("a claim code"));
    ClaimOutcome& outcome = outcomes.emplace_back();
    outcome.highest_epoch = Epoch{static_cast<std::uint64_t>(highest)};
    if (code == 1) {
      outcome.status = ClaimStatus::kClaimed;
      outcome.claim_token = call_token;
    } else if (code == 2) {
      HADR_ASSIGN_OR_RETURN(const std::string_view token, detail().expect_text("a claim token"));
      outcome.status = ClaimStatus::kClaimed;
      outcome.claim_token = std::string(token);
    } else if (code == 0) {
      outcome.status = ClaimStatus::kAlreadyDone;
    } else if (code == -1) {
      outcome.status = ClaimStatus::kStaleEpoch;
    } else if (code == -2) {
      HADR_ASSIGN_OR_RETURN(const std::string_view holder, detail().expect_text("a busy owner"));
      HADR_ASSIGN_OR_RETURN(const long long remaining_ms, detail().expect_integer("a claim PTTL"));
      outcome.status = ClaimStatus::kBusy;
      outcome.busy_owner = std::string(holder);
      outcome.busy_remaining = Milliseconds(std::max<long long>(remaining_ms, 0));
    } else {
      return internal_error("dedupe_claim answered code " + std::to_string(code) + " it does not define");
    }
  }
  return ok_status();
}

}  // namespace

RedisDedupeStore::RedisDedupeStore(std::unique_ptr<RedisConnection> connection, std::string key_namespace)
    : connection_(std::move(connection)),
      key_namespace_(std::move(key_namespace)),
      epoch_key_(key_namespace_ + "dedupe-epoch"),
      token_counter_key_(key_namespace_ + "dedupe-token"),
      ledger_keys_(LedgerKeys::of(key_namespace_)) {}

Result<std::unique_ptr<RedisDedupeStore>> RedisDedupeStore::open(const RedisOptions& options) {
  HADR_ASSIGN_OR_RETURN(std::unique_ptr<RedisConnection> connection, RedisConnection::open(options));
  return std::unique_ptr<RedisDedupeStore>(
      new RedisDedupeStore(std::move(connection), key_namespace(options.key_prefix)));
}

std::string RedisDedupeStore::record_key(const MessageId& id) const {
  HADR_ASSERT(!id.empty());  // a default-constructed MessageId never names a record
  return key_namespace_ + "dedupe:" + id.str();
}

std::string RedisDedupeStore::pins_key(const MessageId& id) const {
  HADR_ASSERT(!id.empty());
  return key_namespace_ + "dedupe-pins:" + id.str();
}

Result<ClaimOutcome> RedisDedupeStore::claim(const MessageId& id, std::string_view owner, Epoch epoch,
                                             Milliseconds claim_ttl) {
  HADR_ASSIGN_OR_RETURN(std::vector<ClaimOutcome> outcomes, claim_batch(std::span(&id, 1), owner, epoch, claim_ttl));
  HADR_ASSERT(outcomes.size() == 1);
  return std::move(outcomes.front());
}

Result<std::vector<ClaimOutcome>> RedisDedupeStore::claim_batch(std::span<const MessageId> ids,
                                                                std::string_view owner, Epoch epoch,
                                                                Milliseconds claim_ttl) {
  HADR_TRY(validate_batch_size(ids.size()));
  HADR_TRY(validate_printable("claim owner", owner, kMaxNameBytes));
  HADR_TRY(validate_epoch(epoch));
  HADR_TRY(validate_ttl("claim ttl", claim_ttl, kMaxDedupeTtl));
  for (const MessageId& id : ids) {
    if (id.empty()) return invalid_argument("a message id in the claim batch is empty; give the source's stable id");
  }
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (const MessageId& id : ids) keys.push_back(record_key(id));
  const std::string epoch_text = decimal(epoch.value);
  const std::string ttl_text = decimal(static_cast<std::uint64_t>(claim_ttl.count()));
  std::vector<RedisConnection::ScriptCall> calls;
  for (std::size_t start = 0; start < keys.size(); start += kIdsPerScriptCall) {
    const std::size_t end = std::min(keys.size(), start + kIdsPerScriptCall);
    RedisConnection::ScriptCall& call = calls.emplace_back();
    call.keys = {epoch_key_, token_counter_key_};
    call.keys.insert(call.keys.end(), keys.begin() + start, keys.begin() + end);
    call.arguments = {owner, epoch_text, ttl_text};
  }
  std::vector<RedisReply> replies;
  {
    std::lock_guard lock(mutex_);
    HADR_ASSIGN_OR_RETURN(replies, connection_->eval_pipeline(claim_script(), calls, CommandKind::kMutating));
  }
  std::vector<ClaimOutcome> outcomes;
  outcomes.reserve(ids.size());
  for (std::size_t call = 0; call < calls.size(); ++call) {
    HADR_TRY(parse_claim_answer(replies[call].view(), calls[call].keys.size() - 2, owner, outcomes));
  }
  HADR_ASSERT(outcomes.size() == ids.size());
  return outcomes;
}

Result<std::vector<Status>> RedisDedupeStore::mark_batch(std::span<const MessageId> ids,
                                                         std::span<const std::string_view> claim_tokens,
                                                         char final_state, std::string_view reason,
                                                         Milliseconds record_ttl) {
  HADR_ASSERT(final_state == 'd' || final_state == 'x');
  HADR_TRY(validate_batch_size(ids.size()));
  if (claim_tokens.size() != ids.size()) {
    return invalid_argument("mark batch has " + std::to_string(ids.size()) + " ids but " +
                            std::to_string(claim_tokens.size()) + " claim tokens; give one token per id");
  }
  HADR_TRY(validate_ttl("record ttl", record_ttl, kMaxDedupeTtl));
  if (reason.size() > kMaxReasonBytes) {
    return invalid_argument("dead-letter reason is " + std::to_string(reason.size()) + " bytes; the maximum is " +
                            std::to_string(kMaxReasonBytes));
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i].empty()) return invalid_argument("a message id in the mark batch is empty");
    HADR_TRY(validate_printable("claim token", claim_tokens[i], kMaxTokenBytes));
  }
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (const MessageId& id : ids) keys.push_back(record_key(id));
  const std::string ttl_text = decimal(static_cast<std::uint64_t>(record_ttl.count()));
  const std::string state_text(1, final_state);
  std::vector<RedisConnection::ScriptCall> calls;
  for (std::size_t start = 0; start < keys.size(); start += kIdsPerScriptCall) {
    const std::size_t end = std::min(keys.size(), start + kIdsPerScriptCall);
    RedisConnection::ScriptCall& call = calls.emplace_back();
    call.keys.assign(keys.begin() + start, keys.begin() + end);
    call.arguments = {ttl_text, state_text, reason};
    call.arguments.insert(call.arguments.end(), claim_tokens.begin() + start, claim_tokens.begin() + end);
  }
  std::vector<RedisReply> replies;
  {
    std::lock_guard lock(mutex_);
    HADR_ASSIGN_OR_RETURN(replies, connection_->eval_pipeline(mark_script(), calls, CommandKind::kMutating));
  }
  std::vector<Status> statuses(ids.size());
  std::size_t first_id = 0;
  for (std::size_t call = 0; call < calls.size(); ++call) {
    const ReplyView failures = replies[call].view();
    HADR_TRY(failures.expect_array("the dedupe_mark answer", 0));
    if (failures.size() % 2 != 0) return internal_error("dedupe_mark answered an odd-sized failure list");
    for (std::size_t at = 0; at < failures.size(); at += 2) {
      HADR_ASSIGN_OR_RETURN(const long long index, failures.at(at).expect_integer("a failed mark's index"));
      HADR_ASSIGN_OR_RETURN(const long long code, failures.at(at + 1).expect_integer("a mark code"));
      const std::size_t position = first_id + static_cast<std::size_t>(index) - 1;
      if (index < 1 || static_cast<std::size_t>(index) > calls[call].keys.size()) {
        return internal_error("dedupe_mark answered index " + std::to_string(index) + " out of range");
      }
      statuses[position] = mark_failure(ids[position], code, final_state);
    }
    first_id += calls[call].keys.size();
  }
  HADR_ASSERT(statuses.size() == ids.size());
  return statuses;
}

Result<std::vector<Status>> RedisDedupeStore::mark_done_batch(std::span<const MessageId> ids,
                                                              std::span<const std::string> claim_tokens,
                                                              Milliseconds record_ttl) {
  std::vector<std::string_view> tokens(claim_tokens.begin(), claim_tokens.end());
  return mark_batch(ids, tokens, 'd', "", record_ttl);
}

Status RedisDedupeStore::mark_done(const MessageId& id, std::string_view claim_token, Milliseconds record_ttl) {
  HADR_ASSIGN_OR_RETURN(std::vector<Status> statuses,
                        mark_batch(std::span(&id, 1), std::span(&claim_token, 1), 'd', "", record_ttl));
  HADR_ASSERT(statuses.size() == 1);
  return std::move(statuses.front());
}

Status RedisDedupeStore::mark_dead_lettered(const MessageId& id, std::string_view claim_token,
                                            std::string_view reason, Milliseconds record_ttl) {
  HADR_ASSIGN_OR_RETURN(std::vector<Status> statuses,
                        mark_batch(std::span(&id, 1), std::span(&claim_token, 1), 'x', reason, record_ttl));
  HADR_ASSERT(statuses.size() == 1);
  return std::move(statuses.front());
}

Status RedisDedupeStore::mark_done_with_ledger_append(const MessageId& id, std::string_view claim_token,
                                                      Milliseconds record_ttl, const LedgerAppend& append) {
  if (id.empty()) return invalid_argument("message id is empty; give the id that was claimed");
  HADR_TRY(validate_printable("claim token", claim_token, kMaxTokenBytes));
  HADR_TRY(validate_ttl("record ttl", record_ttl, kMaxDedupeTtl));
  HADR_ASSERT(!append.region.empty() && !append.fields.empty() && append.fields.size() % 2 == 0);
  if (append.applied_at_ms < 0 || static_cast<std::uint64_t>(append.applied_at_ms) > kMaxScriptInteger) {
    return invalid_argument("ledger applied_at_ms " + std::to_string(append.applied_at_ms) +
                            " is outside 0.." + std::to_string(kMaxScriptInteger) + "; check the handler's clock");
  }
  const std::string record = record_key(id);
  const std::string applied_key = ledger_keys_.applied(append.region);
  const std::string ttl_text = decimal(static_cast<std::uint64_t>(record_ttl.count()));
  const std::string applied_text = decimal(static_cast<std::uint64_t>(append.applied_at_ms));
  const std::string_view keys[] = {record, ledger_keys_.entries, ledger_keys_.counts, applied_key};
  std::vector<std::string_view> arguments = {ttl_text, claim_token, id.str(), applied_text};
  arguments.insert(arguments.end(), append.fields.begin(), append.fields.end());
  long long code = 0;
  {
    std::lock_guard lock(mutex_);
    HADR_ASSIGN_OR_RETURN(const RedisReply reply,
                          connection_->eval(ledger_script(), keys, arguments, CommandKind::kMutating));
    HADR_ASSIGN_OR_RETURN(code, reply.view().expect_integer("the ledger mark code"));
  }
  if (code == 0 || code == -1) return ok_status();  // marked now with its effect, or before with it
  return mark_failure(id, code, 'd');
}

Status RedisDedupeStore::release(const MessageId& id, std::string_view claim_token) {
  if (id.empty()) return invalid_argument("message id is empty; give the id that was claimed");
  HADR_TRY(validate_printable("claim token", claim_token, kMaxTokenBytes));
  const std::string key = record_key(id);
  const std::string_view keys[] = {key};
  const std::string_view arguments[] = {claim_token};
  std::lock_guard lock(mutex_);
  HADR_ASSIGN_OR_RETURN(const RedisReply reply, connection_->eval(kReleaseScript, keys, arguments, CommandKind::kMutating));
  HADR_ASSIGN_OR_RETURN(const long long code, reply.view().expect_integer("the dedupe_release code"));
  if (code == 0) return ok_status();
  if (code == 1) return aborted("cannot release message '" + id.str() + "': it has no live claim (it expired)");
  return aborted("cannot release message '" + id.str() + "': this token is not its live claim");
}

Status RedisDedupeStore::run_pin_script(const RedisScript& script, std::span<const CopyPin> pins,
                                        const std::vector<std::string>& head, std::string_view what) {
  std::vector<std::string> keys;  // the calls below view these
  keys.reserve(2 * pins.size());
  for (const CopyPin& pin : pins) {
    keys.push_back(record_key(pin.id));
    keys.push_back(pins_key(pin.id));
  }
  std::vector<RedisConnection::ScriptCall> calls;
  for (std::size_t start = 0; start < pins.size(); start += kIdsPerScriptCall) {
    const std::size_t end = std::min(pins.size(), start + kIdsPerScriptCall);
    RedisConnection::ScriptCall& call = calls.emplace_back();
    call.arguments.assign(head.begin(), head.end());
    call.keys.assign(keys.begin() + static_cast<std::ptrdiff_t>(2 * start),
                     keys.begin() + static_cast<std::ptrdiff_t>(2 * end));
    for (std::size_t i = start; i < end; ++i) call.arguments.push_back(pins[i].tag);
  }
  std::vector<RedisReply> replies;
  {
    std::lock_guard lock(mutex_);
    HADR_ASSIGN_OR_RETURN(replies, connection_->eval_pipeline(script, calls, CommandKind::kMutating));
  }
  for (const RedisReply& reply : replies) {
    HADR_ASSIGN_OR_RETURN(const long long answer, reply.view().expect_integer(what));
    HADR_ASSERT(answer >= 0);
  }
  return ok_status();
}

Status RedisDedupeStore::pin(std::span<const CopyPin> pins) {
  HADR_TRY(validate_copy_pins("pin", pins));
  if (pins.empty()) return ok_status();
  const std::vector<std::string> head = {decimal(static_cast<std::uint64_t>(kUnsettledRecordTtl.count())),
                                         decimal(static_cast<std::uint64_t>(kPinsMax))};
  return run_pin_script(pin_script(), pins, head, "the dedupe_pin answer");
}

Status RedisDedupeStore::retire(std::span<const CopyPin> pins, Milliseconds record_ttl) {
  HADR_TRY(validate_copy_pins("retire", pins));
  HADR_TRY(validate_ttl("record ttl", record_ttl, kMaxDedupeTtl));
  if (pins.empty()) return ok_status();
  const std::vector<std::string> head = {decimal(static_cast<std::uint64_t>(record_ttl.count()))};
  return run_pin_script(retire_script(), pins, head, "the dedupe_retire count");
}

Result<std::vector<RecordState>> RedisDedupeStore::lookup(std::span<const MessageId> ids) {
  if (ids.size() > kMaxLookupBatch) {
    return invalid_argument("lookup of " + std::to_string(ids.size()) + " ids; the maximum is " +
                            std::to_string(kMaxLookupBatch) + " per call");
  }
  if (ids.empty()) return std::vector<RecordState>{};
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (const MessageId& id : ids) {
    if (id.empty()) return invalid_argument("a message id in the lookup batch is empty");
    keys.push_back(record_key(id));
  }
  std::vector<RedisCommand> commands;
  for (std::size_t start = 0; start < keys.size(); start += kIdsPerLookupCommand) {
    RedisCommand& command = commands.emplace_back();
    command.push_back("MGET");
    const std::size_t end = std::min(keys.size(), start + kIdsPerLookupCommand);
    command.insert(command.end(), keys.begin() + start, keys.begin() + end);
  }
  std::vector<RedisReply> replies;
  {
    std::lock_guard lock(mutex_);
    HADR_ASSIGN_OR_RETURN(replies, connection_->pipeline(commands, CommandKind::kReadOnly));
  }
  std::vector<RecordState> states;
  states.reserve(ids.size());
  for (std::size_t command = 0; command < commands.size(); ++command) {
    const ReplyView answer = replies[command].view();
    HADR_TRY(answer.expect_array("the MGET answer", commands[command].size() - 1));
    for (std::size_t i = 0; i < answer.size(); ++i) {
      if (answer.at(i).is_nil()) {
        states.push_back(RecordState::kUnknown);
        continue;
      }
      HADR_ASSIGN_OR_RETURN(const std::string_view value, answer.at(i).expect_text("a dedupe record"));
      const char state = value.empty() ? '?' : value.front();
      if (state == 'c') states.push_back(RecordState::kClaimed);
      else if (state == 'd') states.push_back(RecordState::kDone);
      else if (state == 'x') states.push_back(RecordState::kDeadLettered);
      else return data_loss("dedupe record of message '" + ids[states.size()].str() + "' holds an unknown state");
    }
  }
  HADR_ASSERT(states.size() == ids.size());
  return states;
}

Result<Epoch> RedisDedupeStore::highest_epoch() {
  const RedisCommand get = {"GET", epoch_key_};
  std::lock_guard lock(mutex_);
  HADR_ASSIGN_OR_RETURN(const RedisReply reply, connection_->command(get, CommandKind::kReadOnly));
  if (reply.view().is_nil()) return Epoch{0};
  HADR_ASSIGN_OR_RETURN(const std::string_view text, reply.view().expect_text("the highest epoch"));
  HADR_ASSIGN_OR_RETURN(const std::uint64_t value, parse_unsigned(text, "the dedupe highest epoch"));
  return Epoch{value};
}

}  // namespace hadr::redis
