#include "redis/redis_coord.h"

#include <algorithm>

#include "contracts/validation.h"
#include "redis/redis_keys.h"

namespace hadr::redis {

namespace {

// KEYS[1] record, KEYS[2] index; ARGV[1] coord key, ARGV[2] value, ARGV[3] writer's epoch,
// ARGV[4] condition ('n' none, 'v' version equals, 'e' epoch at least), ARGV[5] expected
// version, ARGV[6] ttl in ms (0 = no expiry). An expired record is absent (version 0).
// Returns {written (0/1), version, epoch}: the new ones, or the current ones when refused.
constexpr RedisScript kPutScript{"coord_put", R"lua(
local current = redis.call('HMGET', KEYS[1], 'version', 'epoch')
local exists = current[1] ~= false
local version = tonumber(current[1] or '0')
local stored_epoch = tonumber(current[2] or '0')
if ARGV[4] == 'v' and version ~= tonumber(ARGV[5]) then
  return {0, version, stored_epoch}
end
if ARGV[4] == 'e' and exists and stored_epoch > tonumber(ARGV[3]) then
  return {0, version, stored_epoch}
end
version = version + 1
redis.call('HSET', KEYS[1], 'value', ARGV[2], 'version', string.format('%d', version), 'epoch', ARGV[3])
if ARGV[6] ~= '0' then
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
else
  redis.call('PERSIST', KEYS[1])
end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return {1, version, tonumber(ARGV[3])}
)lua"};

// KEYS[1] record. Returns nil when absent, else {value, version, epoch, pttl}.
constexpr RedisScript kGetScript{"coord_get", R"lua(
local r = redis.call('HMGET', KEYS[1], 'value', 'version', 'epoch')
if not r[2] then return false end
return {r[1], r[2], r[3], redis.call('PTTL', KEYS[1])}
)lua"};

// KEYS[1] index; ARGV[1] record key prefix, ARGV[2] coord key prefix, ARGV[3] most records
// to return, ARGV[4] most index entries to read. Reads the index in key order, page by page;
// returns {complete (0/1), key, value, version, epoch, pttl, ...} and removes index entries
// of expired records. complete = 0 when ARGV[4] entries were read before the end.
constexpr RedisScript kListScript{"coord_list", R"lua(
local low, high = '-', '+'
if ARGV[2] ~= '' then
  low = '[' .. ARGV[2]
  high = '[' .. ARGV[2] .. '\255'
end
local limit, scan_max = tonumber(ARGV[3]), tonumber(ARGV[4])
local result = {1}
local expired = {}
local live, scanned, offset = 0, 0, 0
while live < limit do
  if scanned >= scan_max then result[1] = 0; break end
  local members = redis.call('ZRANGEBYLEX', KEYS[1], low, high, 'LIMIT', offset, math.min(1000, scan_max - scanned))
  if #members == 0 then break end
  offset = offset + #members
  for _, member in ipairs(members) do
    scanned = scanned + 1
    if live < limit then
      local record = ARGV[1] .. member
      local r = redis.call('HMGET', record, 'value', 'version', 'epoch')
      if r[2] then
        local n = #result
        result[n + 1] = member; result[n + 2] = r[1]; result[n + 3] = r[2]; result[n + 4] = r[3]
        result[n + 5] = redis.call('PTTL', record)
        live = live + 1
      else
        expired[#expired + 1] = member
      end
    end
  end
end
for start = 1, #expired, 500 do
  redis.call('ZREM', KEYS[1], unpack(expired, start, math.min(#expired, start + 499)))
end
return result
)lua"};

// KEYS[1] record, KEYS[2] index; ARGV[1] coord key.
constexpr RedisScript kRemoveScript{"coord_remove", R"lua(
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
)lua"};

Status validate_put(const CoordPut& write) {
  HADR_TRY(validate_printable("coord key", write.key, kMaxCoordKeyBytes));
  if (write.value.size() > Coord::kMaxValueBytes) {
    return invalid_argument("coord value of '" + write.key + "' is " + std::to_string(write.value.size()) +
                            " bytes; the maximum is " + std::to_string(Coord::kMaxValueBytes));
  }
  if (write.ttl != Milliseconds(0)) HADR_TRY(validate_ttl("coord ttl", write.ttl, kMaxCoordTtl));
  return validate_epoch(write.epoch);
}

char condition_letter(CoordCondition condition) {
  switch (condition) {
    case CoordCondition::kNone: return 'n';
    case CoordCondition::kVersionEquals: return 'v';
    case CoordCondition::kEpochAtLeast: return 'e';
  }
  HADR_UNREACHABLE();
}

// Reads {value, version, epoch, pttl} starting at `base` of `answer`.
Result<CoordRecord> parse_record(std::string key, ReplyView answer, std::size_t base) {
  HADR_ASSIGN_OR_RETURN(const std::string_view value, answer.at(base).expect_text("a coord value"));
  HADR_ASSIGN_OR_RETURN(const std::string_view version_text, answer.at(base + 1).expect_text("a coord version"));
  HADR_ASSIGN_OR_RETURN(const std::string_view epoch_text, answer.at(base + 2).expect_text("a coord epoch"));
  HADR_ASSIGN_OR_RETURN(const long long remaining_ms, answer.at(base + 3).expect_integer("a coord PTTL"));
  CoordRecord record;
  record.key = std::move(key);
  record.value = std::string(value);
  HADR_ASSIGN_OR_RETURN(record.version, parse_unsigned(version_text, "a coord version"));
  HADR_ASSIGN_OR_RETURN(record.epoch.value, parse_unsigned(epoch_text, "a coord epoch"));
  // PTTL is -1 for a record without expiry: the contract says 0.
  record.remaining = Milliseconds(std::max<long long>(remaining_ms, 0));
  return record;
}

}  // namespace

RedisCoord::RedisCoord(std::unique_ptr<RedisConnection> connection, std::string key_namespace)
    : connection_(std::move(connection)),
      key_namespace_(std::move(key_namespace)),
      record_key_prefix_(key_namespace_ + "coord:"),
      index_key_(key_namespace_ + "coord-index") {}

Result<std::unique_ptr<RedisCoord>> RedisCoord::open(const RedisOptions& options) {
  HADR_ASSIGN_OR_RETURN(std::unique_ptr<RedisConnection> connection, RedisConnection::open(options));
  return std::unique_ptr<RedisCoord>(new RedisCoord(std::move(connection), key_namespace(options.key_prefix)));
}

std::string RedisCoord::record_key(std::string_view key) const { return record_key_prefix_ + std::string(key); }

Result<CoordRecord> RedisCoord::put(const CoordPut& write) {
  HADR_TRY(validate_put(write));
  const std::string key = record_key(write.key);
  const std::string epoch_text = decimal(write.epoch.value);
  const std::string condition(1, condition_letter(write.condition));
  const std::string expected_text = decimal(write.expected_version);
  const std::string ttl_text = decimal(static_cast<std::uint64_t>(write.ttl.count()));
  const std::string_view keys[] = {key, index_key_};
  const std::string_view arguments[] = {write.key, write.value, epoch_text, condition, expected_text, ttl_text};
  std::lock_guard lock(mutex_);
  HADR_ASSIGN_OR_RETURN(const RedisReply reply, connection_->eval(kPutScript, keys, arguments, CommandKind::kMutating));
  const ReplyView answer = reply.view();
  HADR_TRY(answer.expect_array("the coord_put answer", 3));
  HADR_ASSIGN_OR_RETURN(const long long written, answer.at(0).expect_integer("coord_put's written flag"));
  HADR_ASSIGN_OR_RETURN(const long long version, answer.at(1).expect_integer("the coord version"));
  HADR_ASSIGN_OR_RETURN(const long long epoch, answer.at(2).expect_integer("the coord epoch"));
  if (written != 1) {
    const std::string wanted = write.condition == CoordCondition::kVersionEquals
                                   ? "version " + decimal(write.expected_version)
                                   : "stored epoch <= " + decimal(write.epoch.value);
    return aborted("coord put of '" + write.key + "' refused: wanted " + wanted + ", current version " +
                   std::to_string(version) + " epoch " + std::to_string(epoch) + "; re-read and decide again");
  }
  HADR_ASSERT(version >= 1);
  return CoordRecord{write.key, write.value, static_cast<std::uint64_t>(version),
                     Epoch{static_cast<std::uint64_t>(epoch)}, write.ttl};
}

Result<std::optional<CoordRecord>> RedisCoord::get(std::string_view key) {
  HADR_TRY(validate_printable("coord key", key, kMaxCoordKeyBytes));
  const std::string record = record_key(key);
  const std::string_view keys[] = {record};
  std::lock_guard lock(mutex_);
  HADR_ASSIGN_OR_RETURN(const RedisReply reply, connection_->eval(kGetScript, keys, {}, CommandKind::kReadOnly));
  const ReplyView answer = reply.view();
  if (answer.is_nil()) return std::optional<CoordRecord>();
  HADR_TRY(answer.expect_array("the coord_get answer", 4));
  HADR_ASSIGN_OR_RETURN(CoordRecord found, parse_record(std::string(key), answer, 0));
  return std::optional<CoordRecord>(std::move(found));
}

Result<std::vector<CoordRecord>> RedisCoord::list(std::string_view prefix) {
  if (!prefix.empty()) HADR_TRY(validate_printable("coord key prefix", prefix, kMaxCoordKeyBytes));
  const std::string limit_text = decimal(kMaxList);
  const std::string scan_text = decimal(kMaxIndexScan);
  const std::string_view keys[] = {index_key_};
  const std::string_view arguments[] = {record_key_prefix_, prefix, limit_text, scan_text};
  std::lock_guard lock(mutex_);
  // Mutating: it prunes index entries of expired records.
  HADR_ASSIGN_OR_RETURN(const RedisReply reply, connection_->eval(kListScript, keys, arguments, CommandKind::kMutating));
  const ReplyView answer = reply.view();
  HADR_TRY(answer.expect_array("the coord_list answer", 1));
  HADR_ASSIGN_OR_RETURN(const long long complete, answer.at(0).expect_integer("coord_list's complete flag"));
  if (complete != 1) {
    return resource_exhausted("coord list of prefix '" + std::string(prefix) + "' read " + scan_text +
                              " index entries, mostly expired records, and pruned them; call list again");
  }
  if ((answer.size() - 1) % 5 != 0) return internal_error("coord_list answered a malformed array");
  std::vector<CoordRecord> records;
  records.reserve((answer.size() - 1) / 5);
  for (std::size_t base = 1; base < answer.size(); base += 5) {
    HADR_ASSIGN_OR_RETURN(const std::string_view key, answer.at(base).expect_text("a coord key"));
    HADR_ASSIGN_OR_RETURN(CoordRecord record, parse_record(std::string(key), answer, base + 1));
    records.push_back(std::move(record));
  }
  HADR_ASSERT(records.size() <= kMaxList);
  return records;
}

Status RedisCoord::remove(std::string_view key) {
  HADR_TRY(validate_printable("coord key", key, kMaxCoordKeyBytes));
  const std::string record = record_key(key);
  const std::string_view keys[] = {record, index_key_};
  const std::string_view arguments[] = {key};
  std::lock_guard lock(mutex_);
  HADR_ASSIGN_OR_RETURN(const RedisReply reply, connection_->eval(kRemoveScript, keys, arguments, CommandKind::kMutating));
  return ok_status();
}

}  // namespace hadr::redis
