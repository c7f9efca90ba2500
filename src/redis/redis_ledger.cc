#include "redis/redis_ledger.h"

#include <map>

namespace hadr::redis {

Status RedisEffectLedger::mark_done_with_effect(const MessageId& id, std::string_view claim_token,
                                                Milliseconds record_ttl, const LedgerEntry& entry) {
  HADR_ASSERT(entry.message_id == id);
  if (entry.region.empty()) return invalid_argument("ledger entry of message '" + id.str() + "' has no region");
  const std::string epoch = decimal(entry.epoch.value);
  const std::string lsn = decimal(entry.lsn.value);
  const std::string body_bytes = decimal(entry.body_bytes);
  const std::string body_xxh3_64 = decimal(entry.body_xxh3_64);
  const std::string applied_at_ms = std::to_string(entry.applied_at_ms);
  // The stream entry names its fields as the SQLite schema names its columns.
  const std::string_view fields[] = {"message_id",    id.str(),
                                     "region",        entry.region.str(),
                                     "epoch",         epoch,
                                     "source_region", entry.source_region.str(),
                                     "lsn",           lsn,
                                     "body_bytes",    body_bytes,
                                     "body_xxh3_64",  body_xxh3_64,
                                     "applied_at_ms", applied_at_ms};
  return store_.mark_done_with_ledger_append(
      id, claim_token, record_ttl,
      RedisDedupeStore::LedgerAppend{
          .region = entry.region.str(), .applied_at_ms = entry.applied_at_ms, .fields = fields});
}

RedisLedgerReader::RedisLedgerReader(std::unique_ptr<RedisConnection> connection, LedgerKeys keys)
    : connection_(std::move(connection)), keys_(std::move(keys)) {
  HADR_ASSERT(connection_ != nullptr);
}

Result<std::unique_ptr<RedisLedgerReader>> RedisLedgerReader::open(const RedisOptions& options) {
  HADR_ASSIGN_OR_RETURN(std::unique_ptr<RedisConnection> connection, RedisConnection::open(options));
  return std::unique_ptr<RedisLedgerReader>(
      new RedisLedgerReader(std::move(connection), LedgerKeys::of(key_namespace(options.key_prefix))));
}

Status RedisLedgerReader::scan_counts(const std::function<Status(std::string_view id, std::uint64_t count)>& visit) {
  HADR_ASSERT(visit != nullptr);
  const std::string page_ids = decimal(kScanPageIds);
  std::string cursor = "0";
  for (std::uint64_t page = 0; page < kScanPagesMax; ++page) {
    const RedisCommand command = {"HSCAN", keys_.counts, cursor, "COUNT", page_ids};
    HADR_ASSIGN_OR_RETURN(const RedisReply reply, connection_->command(command, CommandKind::kReadOnly));
    const ReplyView answer = reply.view();
    HADR_TRY(answer.expect_array("the HSCAN answer", 2));
    HADR_ASSIGN_OR_RETURN(const std::string_view next, answer.at(0).expect_text("the HSCAN cursor"));
    const ReplyView pairs = answer.at(1);
    HADR_TRY(pairs.expect_array("the HSCAN fields", 0));
    if (pairs.size() % 2 != 0) return internal_error("HSCAN answered an odd number of field/value items");
    for (std::size_t at = 0; at < pairs.size(); at += 2) {
      HADR_ASSIGN_OR_RETURN(const std::string_view id, pairs.at(at).expect_text("a ledger message id"));
      HADR_ASSIGN_OR_RETURN(const std::string_view text, pairs.at(at + 1).expect_text("a ledger effect count"));
      HADR_ASSIGN_OR_RETURN(const std::uint64_t count, parse_unsigned(text, "a ledger effect count"));
      HADR_TRY(visit(id, count));
    }
    cursor = std::string(next);
    if (cursor == "0") return ok_status();
  }
  return resource_exhausted("the ledger count scan passed " + std::to_string(kScanPagesMax) +
                            " pages without finishing; the ledger is larger than a reader supports");
}

Result<LedgerSummary> RedisLedgerReader::summarize() {
  // HLEN before XLEN: an effect adds to both atomically, so a later XLEN is never below it.
  const RedisCommand lengths[] = {{"HLEN", keys_.counts}, {"XLEN", keys_.entries}};
  HADR_ASSIGN_OR_RETURN(const std::vector<RedisReply> replies, connection_->pipeline(lengths, CommandKind::kReadOnly));
  HADR_ASSIGN_OR_RETURN(const long long distinct_ids, replies[0].view().expect_integer("the HLEN of the counts"));
  HADR_ASSIGN_OR_RETURN(const long long effects, replies[1].view().expect_integer("the XLEN of the ledger"));
  LedgerSummary summary{.effects = static_cast<std::uint64_t>(effects),
                        .distinct_ids = static_cast<std::uint64_t>(distinct_ids)};
  std::map<std::string, std::uint64_t, std::less<>> duplicated;  // a map: HSCAN may repeat an id
  HADR_TRY(scan_counts([&](std::string_view id, std::uint64_t count) -> Status {
    if (count <= 1) return ok_status();
    if (duplicated.size() == kDuplicatedIdsMax && !duplicated.contains(id)) {
      return resource_exhausted("the ledger has more than " + std::to_string(kDuplicatedIdsMax) +
                                " duplicated message ids; the effects are broken, inspect them with redis-cli");
    }
    duplicated[std::string(id)] = count;
    return ok_status();
  }));
  summary.duplicated_ids = duplicated.size();
  for (const auto& [id, count] : duplicated) {
    if (summary.duplicates.size() == LedgerSummary::kDuplicateIdsMax) break;
    summary.duplicates.emplace_back(id, count);
  }
  HADR_ASSERT(summary.distinct_ids <= summary.effects);
  HADR_ASSERT(summary.duplicates.size() <= summary.duplicated_ids);
  return summary;
}

Status RedisLedgerReader::for_each_effect_count(
    std::uint64_t ids_max, const std::function<Status(const std::string& id, std::uint64_t count)>& visit) {
  HADR_ASSERT(visit != nullptr);
  // Collected first: HSCAN has no order and may return an id twice; the map makes both right.
  std::map<std::string, std::uint64_t, std::less<>> counts;
  HADR_TRY(scan_counts([&](std::string_view id, std::uint64_t count) -> Status {
    if (counts.size() == ids_max && !counts.contains(id)) {
      return resource_exhausted("the ledger holds more than " + std::to_string(ids_max) +
                                " distinct message ids; raise the id limit of the verify run");
    }
    counts[std::string(id)] = count;
    return ok_status();
  }));
  HADR_ASSERT(counts.size() <= ids_max);
  for (const auto& [id, count] : counts) HADR_TRY(visit(id, count));
  return ok_status();
}

Result<std::uint64_t> RedisLedgerReader::effect_count(std::string_view message_id) {
  HADR_ASSERT(!message_id.empty());
  const RedisCommand command = {"HGET", keys_.counts, message_id};
  HADR_ASSIGN_OR_RETURN(const RedisReply reply, connection_->command(command, CommandKind::kReadOnly));
  if (reply.view().is_nil()) return std::uint64_t{0};
  HADR_ASSIGN_OR_RETURN(const std::string_view text, reply.view().expect_text("a ledger effect count"));
  return parse_unsigned(text, "a ledger effect count");
}

Result<std::uint64_t> RedisLedgerReader::effect_rows() {
  const RedisCommand command = {"XLEN", keys_.entries};
  HADR_ASSIGN_OR_RETURN(const RedisReply reply, connection_->command(command, CommandKind::kReadOnly));
  HADR_ASSIGN_OR_RETURN(const long long rows, reply.view().expect_integer("the XLEN of the ledger"));
  HADR_ASSERT(rows >= 0);
  return static_cast<std::uint64_t>(rows);
}

Result<std::optional<std::int64_t>> RedisLedgerReader::first_effect_at_ms(const RegionId& region,
                                                                          std::int64_t since_ms) {
  HADR_ASSERT(!region.empty());
  const std::string key = keys_.applied(region.str());
  const std::string since = std::to_string(since_ms);
  const RedisCommand command = {"ZRANGEBYSCORE", key, since, "+inf", "LIMIT", "0", "1"};
  HADR_ASSIGN_OR_RETURN(const RedisReply reply, connection_->command(command, CommandKind::kReadOnly));
  HADR_TRY(reply.view().expect_array("the ZRANGEBYSCORE answer", 0));
  if (reply.view().size() == 0) return std::optional<std::int64_t>();
  HADR_ASSIGN_OR_RETURN(const std::string_view member, reply.view().at(0).expect_text("an applied_at_ms"));
  HADR_ASSIGN_OR_RETURN(const std::uint64_t applied_at_ms, parse_unsigned(member, "a ledger applied_at_ms"));
  HADR_ASSERT(static_cast<std::int64_t>(applied_at_ms) >= since_ms);
  return std::optional<std::int64_t>(static_cast<std::int64_t>(applied_at_ms));
}

}  // namespace hadr::redis
