// hadr wal verify|dump — operator commands over a WAL directory. Both only read: they take no
// lock and never truncate or remove anything (a torn tail is reported, not repaired), so they
// are safe next to a running node.
//   hadr wal verify DIR [--json]   checks every record and, like Wal::open, checks where the log
//                                  ends against what it acknowledged (META high-water, the
//                                  CHECKPOINT file); exit 0 clean (or a torn tail above that
//                                  floor), 1 corruption or acknowledged records missing (file
//                                  and byte offset printed)
//   hadr wal dump DIR [--from LSN] [--limit N] [--json]   one line per record (JSON lines)
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "apps/hadr/cli_support.h"
#include "apps/hadr/commands.h"
#include "core/env.h"
#include "wal/recovery.h"
#include "wal/wal_reader.h"

namespace hadr::cli {
namespace {

constexpr std::uint64_t kDumpRecordsMax = 1ull << 40;  // effectively all, but still a bound

// Read-only limits: the largest segments hadr can write; records up to --record-bytes-max.
WalOptions read_options(std::uint32_t record_bytes_max) {
  WalOptions options;
  options.record_bytes_max = record_bytes_max;
  options.segment_bytes_max = 1ull << 30;
  options.batch_bytes_max = std::max<std::uint64_t>(options.batch_bytes_max, 2ull * record_bytes_max);
  return options;
}

nlohmann::json report_json(const RecoveryReport& report) {
  nlohmann::json segments = nlohmann::json::array();
  for (const WalSegmentInfo& segment : report.segments) {
    segments.push_back({{"sequence", segment.sequence}, {"file", segment.path}, {"first_lsn", segment.first_lsn.value},
                        {"last_lsn", segment.last_lsn.value}, {"records", segment.records}, {"bytes", segment.bytes}});
  }
  nlohmann::json json{{"status", report.fatal() ? "corrupt" : "ok"},
                      {"case", recovery_case_name(report.recovery_case)},
                      {"records", report.records},
                      {"first_lsn", report.first_lsn.value},
                      {"last_lsn", report.last_lsn.value},
                      {"highest_epoch", report.highest_epoch.value},
                      {"segments", segments}};
  json["sealed_epoch"] = report.sealed_epoch ? nlohmann::json(report.sealed_epoch->value) : nlohmann::json(nullptr);
  json["incarnation"] = report.meta ? nlohmann::json(incarnation_text(report.meta->incarnation)) : nlohmann::json(nullptr);
  json["acknowledged_lsn"] = report.acknowledged_lsn.value;
  json["acknowledged_by"] = report.acknowledged_by;
  json["notes"] = report.notes;
  if (report.recovery_case == RecoveryCase::kAcknowledgedLost) json["tail_case"] = recovery_case_name(report.tail_case);
  if (!report.file.empty()) {
    json["file"] = report.file;
    json["offset"] = report.offset;
    json["detail"] = report.detail;
    json["bytes_truncated_on_open"] = report.bytes_truncated;
  }
  return json;
}

bool is_directory(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

// DIR must be a WAL directory: a region's data dir (which holds wal/) or a missing path would
// otherwise read as an empty log and pass.
Status check_wal_dir(const std::string& dir) {
  if (!is_directory(dir)) {
    return invalid_argument("DIR " + dir + " is not a directory; give the WAL directory, <data_dir>/wal of the region");
  }
  if (is_directory(join_path(dir, "wal"))) {
    return invalid_argument("DIR " + dir + " is a region's data dir, not a WAL directory; its WAL is " +
                            join_path(dir, "wal") + " (run the command on that)");
  }
  return ok_status();
}

void print_report(const std::string& dir, const RecoveryReport& report) {
  std::printf("wal %s: %s\n", dir.c_str(), std::string(recovery_case_name(report.recovery_case)).c_str());
  std::printf("  segments: %zu\n", report.segments.size());
  for (const WalSegmentInfo& segment : report.segments) {
    std::printf("    %s  LSN %llu..%llu  %llu records  %llu bytes\n", segment.path.c_str(),
                static_cast<unsigned long long>(segment.first_lsn.value),
                static_cast<unsigned long long>(segment.last_lsn.value),
                static_cast<unsigned long long>(segment.records), static_cast<unsigned long long>(segment.bytes));
  }
  std::printf("  records: %llu (LSN %llu..%llu), highest epoch %llu\n", static_cast<unsigned long long>(report.records),
              static_cast<unsigned long long>(report.first_lsn.value),
              static_cast<unsigned long long>(report.last_lsn.value),
              static_cast<unsigned long long>(report.highest_epoch.value));
  std::printf("  acknowledged through LSN %llu (%s), incarnation %s\n",
              static_cast<unsigned long long>(report.acknowledged_lsn.value),
              report.acknowledged_by.empty() ? "no mark yet" : report.acknowledged_by.c_str(),
              report.meta ? incarnation_text(report.meta->incarnation).c_str() : "none (no META file)");
  for (const std::string& note : report.notes) std::printf("  note: %s\n", note.c_str());
  if (report.fatal()) {
    std::printf("CORRUPT: %s offset %llu: %s\n", report.file.c_str(), static_cast<unsigned long long>(report.offset),
                report.detail.c_str());
  } else if (!report.file.empty()) {
    std::printf("  note: %s at %s offset %llu (%s); %llu unacknowledged bytes are cut when the log is next opened\n",
                std::string(recovery_case_name(report.recovery_case)).c_str(), report.file.c_str(),
                static_cast<unsigned long long>(report.offset), report.detail.c_str(),
                static_cast<unsigned long long>(report.bytes_truncated));
  }
}

void add_verify(CLI::App& wal, CommandContext& context) {
  struct Arguments {
    std::string dir;
    bool json = false;
    std::uint32_t record_bytes_max = WalOptions{}.record_bytes_max;
  };
  auto arguments = std::make_shared<Arguments>();
  CLI::App* command = wal.add_subcommand("verify", "Check every record of a WAL directory (read-only)");
  command->add_option("DIR", arguments->dir, "WAL directory")->required();
  command->add_option("--record-bytes-max", arguments->record_bytes_max, "largest record the log may hold")
      ->capture_default_str();
  command->add_flag("--json", arguments->json, "print one JSON object");
  command->callback([arguments, &context] {
    const Status dir_ok = check_wal_dir(arguments->dir);
    if (!dir_ok.ok()) {
      context.exit_code = report_error("wal verify", dir_ok.error());
      return;
    }
    auto report = inspect_wal(posix_env(), arguments->dir, read_options(arguments->record_bytes_max));
    if (!report.ok()) {
      context.exit_code = report_error("wal verify", report.error());
      return;
    }
    if (arguments->json) std::printf("%s\n", report_json(*report).dump().c_str());
    else print_report(arguments->dir, *report);
    context.exit_code = report->fatal() ? kExitCheckFailed : kExitOk;
  });
}

void print_record(const WalRecord& record, bool json) {
  const long long enqueued_ms = unix_millis(record.enqueued_at);
  if (json) {
    // Header values and payload bytes are application data: shown by size only.
    const nlohmann::json line{{"lsn", record.lsn.value},
                              {"epoch", record.epoch.value},
                              {"type", wal_record_type_name(record.type)},
                              {"message_id", record.message_id.str()},
                              {"source_ref", record.source_ref},
                              {"enqueued_at_ms", enqueued_ms},
                              {"headers", record.headers.size()},
                              {"payload_bytes", record.payload.size()}};
    std::printf("%s\n", line.dump().c_str());
    return;
  }
  std::printf("lsn=%llu epoch=%llu type=%s id=%s enqueued_at_ms=%lld headers=%zu payload_bytes=%zu\n",
              static_cast<unsigned long long>(record.lsn.value), static_cast<unsigned long long>(record.epoch.value),
              std::string(wal_record_type_name(record.type)).c_str(), record.message_id.str().c_str(), enqueued_ms,
              record.headers.size(), record.payload.size());
}

void add_dump(CLI::App& wal, CommandContext& context) {
  struct Arguments {
    std::string dir;
    std::uint64_t from = 0;
    std::uint64_t limit = kDumpRecordsMax;
    bool json = false;
    std::uint32_t record_bytes_max = WalOptions{}.record_bytes_max;
  };
  auto arguments = std::make_shared<Arguments>();
  CLI::App* command = wal.add_subcommand("dump", "Print the records of a WAL directory (read-only)");
  command->add_option("DIR", arguments->dir, "WAL directory")->required();
  command->add_option("--from", arguments->from, "first LSN to print (default: the oldest kept)");
  // Not CLI::PositiveNumber: its message printed the range 0..1.79e308 written out in full.
  command->add_option("--limit", arguments->limit, "print at most this many records (default: all)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            const bool positive = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos &&
                                  text.find_first_not_of('0') != std::string::npos;
            return positive ? std::string()
                            : "\"" + text + "\" is not a count of records; give 1 or more (leave --limit out to "
                                             "print every record)";
          },
          "COUNT"));
  command->add_option("--record-bytes-max", arguments->record_bytes_max, "largest record the log may hold")
      ->capture_default_str();
  command->add_flag("--json", arguments->json, "one JSON object per line");
  command->callback([arguments, &context] {
    const Status dir_ok = check_wal_dir(arguments->dir);
    if (!dir_ok.ok()) {
      context.exit_code = report_error("wal dump", dir_ok.error());
      return;
    }
    auto reader = WalReader::open(posix_env(), arguments->dir, read_options(arguments->record_bytes_max),
                                  Lsn{arguments->from});
    if (!reader.ok()) {
      context.exit_code = report_error("wal dump", reader.error());
      return;
    }
    for (std::uint64_t printed = 0; printed < arguments->limit; ++printed) {
      auto next = reader->next();
      if (!next.ok()) {
        std::fflush(stdout);
        context.exit_code = report_error("wal dump", next.error());
        return;
      }
      if (!next->has_value()) break;
      print_record(**next, arguments->json);
    }
    context.exit_code = kExitOk;
  });
}

}  // namespace

void add_wal_commands(CLI::App& app, CommandContext& context) {
  CLI::App* wal = app.add_subcommand("wal", "Inspect a write-ahead log directory");
  wal->require_subcommand(1);
  add_verify(*wal, context);
  add_dump(*wal, context);
}

}  // namespace hadr::cli
