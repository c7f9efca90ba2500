#include "runtime/send_verify.h"

#include <chrono>
#include <fstream>
#include <thread>
#include <unordered_set>
#include <vector>

#include "contracts/bus.h"
#include "contracts/source.h"
#include "core/env.h"
#include "handlers/handler_factory.h"
#include "postgres/pg_connection.h"
#include "runtime/region_backends.h"
#include "runtime/region_node.h"

namespace hadr {

namespace {

// sent.log is read whole into memory; this bounds it (a drill sends far fewer).
constexpr std::uint64_t kSentIdsMax = 100'000'000;

Result<std::vector<SourceMessage>> make_batch(const SendOptions& options, std::uint64_t first, std::size_t size,
                                              const std::string& body) {
  std::vector<SourceMessage> batch;
  batch.reserve(size);
  const WallTime now = RealClock::instance().now_wall();
  for (std::uint64_t number = first; number < first + size; ++number) {
    SourceMessage message;
    HADR_ASSIGN_OR_RETURN(message.id, MessageId::parse(options.prefix + "-" + std::to_string(number)));
    message.enqueued_at = now;
    message.body = body;
    batch.push_back(std::move(message));
  }
  return batch;
}

Status record_sent(WritableFile& log, const std::vector<SourceMessage>& batch) {
  std::string lines;
  for (const SourceMessage& message : batch) lines += message.id.str() + "\n";
  HADR_TRY(log.append(lines));
  return log.sync();
}

Result<std::unordered_set<std::string>> read_sent_ids(const std::string& path) {
  std::unordered_set<std::string> ids;
  std::ifstream file(path);
  if (!file) return ids;  // nothing sent yet
  std::string line;
  while (std::getline(file, line)) {
    if (line.empty()) continue;
    if (ids.size() >= kSentIdsMax) return resource_exhausted(path + " holds more than 100,000,000 ids");
    ids.insert(line);
  }
  return ids;
}

Result<std::uint64_t> count_suppressed_duplicates(const std::string& data_dir) {
  HADR_ASSIGN_OR_RETURN(const auto names, posix_env().list_dir(data_dir));
  std::uint64_t total = 0;
  for (const std::string& name : names) {
    if (name.rfind("stats-", 0) != 0 || name.size() < 5 || name.substr(name.size() - 5) != ".json") continue;
    HADR_ASSIGN_OR_RETURN(const NodeStats stats, read_stats_file(data_dir + "/" + name));
    total += stats.workers.suppressed_duplicates;
  }
  return total;
}

// Classifies the sent ids that have no effect: dead-lettered or lost.
Status classify_without_effect(const RegionConfig& config, const std::unordered_set<std::string>& remaining,
                               VerifyReport& report) {
  if (remaining.empty()) return ok_status();
  HADR_ASSIGN_OR_RETURN(const RegionBackends backends, RegionBackends::resolve(config, process_environment()));
  HADR_ASSIGN_OR_RETURN(DedupeConnection dedupe, backends.open_dedupe());
  std::vector<MessageId> chunk;
  auto flush = [&]() -> Status {
    HADR_ASSIGN_OR_RETURN(const auto states, dedupe.store->lookup(chunk));
    for (RecordState state : states) (state == RecordState::kDeadLettered ? report.dead_lettered : report.lost)++;
    chunk.clear();
    return ok_status();
  };
  for (const std::string& id : remaining) {
    HADR_ASSIGN_OR_RETURN(MessageId parsed, MessageId::parse(id));
    chunk.push_back(std::move(parsed));
    if (chunk.size() == DedupeStore::kMaxLookupBatch) HADR_TRY(flush());
  }
  if (!chunk.empty()) HADR_TRY(flush());
  return ok_status();
}

// The sql handler's effects: one hadr_inbox row per applied id in the user's database, read
// in pages of kInboxPageRows (keyset on the primary key). The primary key makes a duplicate row
// impossible, so duplicate_effects stays 0 here: a duplicate in the user's own tables could only
// come from effects outside hadr. A missing table means no worker has applied anything yet.
constexpr int kInboxPageRows = 10'000;

Status count_inbox_effects(const RegionConfig& config, std::unordered_set<std::string>& remaining,
                           VerifyReport& report) {
  HADR_ASSIGN_OR_RETURN(postgres::PgConnectionOptions options,
                        sql_connection_options(config.handler, process_environment()));
  options.application_name = "hadr-verify";
  HADR_ASSIGN_OR_RETURN(auto connection, postgres::PgConnection::open(options));
  report.effects_source = "hadr_inbox";
  std::string after;
  for (std::uint64_t page = 0; page <= kSentIdsMax / kInboxPageRows; ++page) {
    const postgres::PgParameter parameters[] = {{after, false}};
    auto rows = connection->execute(
        "SELECT message_id FROM hadr_inbox WHERE message_id > $1 ORDER BY message_id LIMIT " +
            std::to_string(kInboxPageRows),
        parameters);
    if (!rows.ok() && rows.error().detail.find("SQLSTATE 42P01") != std::string::npos) {
      report.missing_ledger = "hadr_inbox (in handler.sql_url's database)";
      return ok_status();
    }
    if (!rows.ok()) return Error{rows.error().code, "reading hadr_inbox: " + rows.error().detail};
    for (int row = 0; row < rows.value().rows(); ++row) {
      std::string id = rows.value().value(row, 0);
      ++report.effects;
      if (remaining.erase(id) == 0) ++report.effects_without_sent;
      after = std::move(id);
    }
    if (rows.value().rows() < kInboxPageRows) return ok_status();
  }
  return resource_exhausted("hadr_inbox has more than " + std::to_string(kSentIdsMax) + " rows; verify reads at most that");
}

}  // namespace

Status SendOptions::validate() const {
  if (count < 1 || count > kCountMax) return invalid_argument("--count must be between 1 and 100,000,000");
  if (body_bytes > Bus::kMaxBodyBytes) return invalid_argument("--size must be at most 1048576 bytes (the bus limit)");
  if (rate_per_second < 0) return invalid_argument("--rate must be >= 0 (0: as fast as possible)");
  if (batch_max < 1 || batch_max > Source::kMaxBatch) return invalid_argument("--batch must be between 1 and 1000");
  if (first_number < 1) return invalid_argument("--first must be >= 1");
  if (prefix.empty() || prefix.size() > 64) return invalid_argument("--prefix must be 1..64 printable characters");
  return ok_status();
}

Result<SendReport> send_messages(const RegionConfig& config, const SendOptions& options,
                                 const std::function<bool()>& should_stop) {
  HADR_TRY(options.validate());
  Env& env = posix_env();
  HADR_TRY(env.create_dirs(config.data_dir));
  const Clock& clock = RealClock::instance();
  HADR_ASSIGN_OR_RETURN(const RegionBackends backends, RegionBackends::resolve(config, process_environment()));
  HADR_ASSIGN_OR_RETURN(auto source, backends.open_source("hadr-send"));
  HADR_ASSIGN_OR_RETURN(auto log, env.new_appendable_file(config.sent_log_path()));
  const std::string body(options.body_bytes, 'x');
  const auto started = clock.now_monotonic();
  auto next_progress = started + options.progress_interval;
  SendReport report;
  while (report.sent < options.count && !should_stop()) {
    if (options.progress && clock.now_monotonic() >= next_progress) {
      const double elapsed = std::chrono::duration<double>(clock.now_monotonic() - started).count();
      options.progress(SendProgress{.sent = report.sent,
                                    .count = options.count,
                                    .elapsed_seconds = elapsed,
                                    .rate_per_second = elapsed > 0 ? static_cast<double>(report.sent) / elapsed : 0});
      next_progress = clock.now_monotonic() + options.progress_interval;
    }
    const std::size_t size = static_cast<std::size_t>(std::min<std::uint64_t>(options.batch_max, options.count - report.sent));
    HADR_ASSIGN_OR_RETURN(const auto batch, make_batch(options, options.first_number + report.sent, size, body));
    HADR_TRY(source->put(batch));
    HADR_TRY(record_sent(*log, batch));
    report.sent += size;
    if (options.rate_per_second > 0) {
      // Keep to the schedule: message k is due at k / rate seconds after the start.
      const auto due = started + std::chrono::duration_cast<Nanoseconds>(
                                     std::chrono::duration<double>(static_cast<double>(report.sent) / options.rate_per_second));
      const auto now = clock.now_monotonic();
      if (due > now) std::this_thread::sleep_for(due - now);
    }
  }
  HADR_TRY(log->close());
  report.elapsed_seconds = std::chrono::duration<double>(clock.now_monotonic() - started).count();
  return report;
}

Result<VerifyReport> verify_region(const RegionConfig& config) {
  VerifyReport report;
  // Read-only: opening the embedded ledger would create an empty one on a mistyped path.
  HADR_TRY(require_existing_path(config, config.data_dir, "the region's data dir", "region.data_dir"));
  report.sent_log_found = posix_env().file_exists(config.sent_log_path());
  HADR_ASSIGN_OR_RETURN(auto remaining, read_sent_ids(config.sent_log_path()));
  report.sent = remaining.size();
  if (config.handler.kind == "sql") {
    HADR_TRY(count_inbox_effects(config, remaining, report));
    if (config.backend == BackendKind::kEmbedded && !posix_env().file_exists(config.embedded.dedupe_path())) {
      report.lost = remaining.size();  // no dedupe store: no dead letters either
    } else {
      HADR_TRY(classify_without_effect(config, remaining, report));
    }
    HADR_ASSIGN_OR_RETURN(report.duplicate_deliveries, count_suppressed_duplicates(config.data_dir));
    return report;
  }
  if (config.backend == BackendKind::kEmbedded && !posix_env().file_exists(config.embedded.dedupe_path())) {
    // No worker has run on these stores (or backends.dir is mistyped): no effect, every sent id
    // lost; the store is not created by looking.
    report.missing_ledger = config.embedded.dedupe_path();
    report.lost = remaining.size();
    HADR_ASSIGN_OR_RETURN(report.duplicate_deliveries, count_suppressed_duplicates(config.data_dir));
    return report;
  }
  HADR_ASSIGN_OR_RETURN(const RegionBackends backends, RegionBackends::resolve(config, process_environment()));
  HADR_ASSIGN_OR_RETURN(auto ledger, backends.open_ledger_reader());
  HADR_TRY(ledger->for_each_effect_count(kSentIdsMax, [&](const std::string& id, std::uint64_t count) -> Status {
    report.effects += count;
    if (count > 1) report.duplicate_effects += count - 1;
    if (remaining.erase(id) == 0) report.effects_without_sent += count;
    return ok_status();
  }));
  HADR_TRY(classify_without_effect(config, remaining, report));
  HADR_ASSIGN_OR_RETURN(report.duplicate_deliveries, count_suppressed_duplicates(config.data_dir));
  return report;
}

std::string VerifyReport::to_json() const {
  return "{\"sent\": " + std::to_string(sent) + ", \"effects\": " + std::to_string(effects) +
         ", \"lost\": " + std::to_string(lost) + ", \"duplicate_effects\": " + std::to_string(duplicate_effects) +
         ", \"dead_lettered\": " + std::to_string(dead_lettered) +
         ", \"duplicate_deliveries\": " + std::to_string(duplicate_deliveries) +
         ", \"effects_without_sent\": " + std::to_string(effects_without_sent) +
         ", \"sent_log_found\": " + (sent_log_found ? "true" : "false") + "}";
}

std::string VerifyReport::to_text() const {
  return "sent " + std::to_string(sent) + "\neffects " + std::to_string(effects) + "\nlost " + std::to_string(lost) +
         "\nduplicate_effects " + std::to_string(duplicate_effects) + "\ndead_lettered " +
         std::to_string(dead_lettered) + "\nduplicate_deliveries " + std::to_string(duplicate_deliveries) + "\n" +
         notes();
}

std::string VerifyReport::notes() const {
  std::string text;
  if (effects_source == "hadr_inbox") {
    text += "note: effects are the rows of hadr_inbox in the sql handler's database (one per applied id; its "
            "primary key makes a duplicate row impossible)\n";
  }
  if (!missing_ledger.empty() && effects_source == "hadr_inbox") {
    text += "note: " + missing_ledger + " does not exist: no sql handler has started on that database\n";
  } else if (!missing_ledger.empty()) {
    text += "note: the ledger " + missing_ledger + " does not exist: no worker has run on these stores, or "
            "backends.dir is mistyped (nothing was created)\n";
  }
  if (!sent_log_found) {
    text += "note: no sent.log in this data_dir: nothing was sent with `hadr send` here, so no loss can be checked\n";
  }
  if (effects_without_sent > 0) {
    text += "note: " + std::to_string(effects_without_sent) +
            " of the effects have no entry in sent.log (put by another producer: the gateway, `hadr post`, an AMQP "
            "source); they are counted in effects but cannot be checked for loss\n";
  }
  return text;
}

}  // namespace hadr
