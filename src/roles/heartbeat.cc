#include "roles/heartbeat.h"

#include <nlohmann/json.hpp>

#include "core/assert.h"
#include "roles/json_fields.h"

namespace hadr {

std::string heartbeat_prefix(const RegionId& region) { return "heartbeat/" + region.str() + "/"; }

std::string heartbeat_key(const RegionId& region, std::string_view process) {
  return heartbeat_prefix(region) + std::string(process);
}

std::string_view role_kind(std::string_view role_name) { return role_name.substr(0, role_name.find('-')); }

std::string_view dependency_name(Dependency dependency) {
  switch (dependency) {
    case Dependency::kUnknown: return "unknown";
    case Dependency::kSource: return "source";
    case Dependency::kBlobStore: return "blob store";
    case Dependency::kCoord: return "coord store";
    case Dependency::kLease: return "lease store";
    case Dependency::kDedupe: return "dedupe store";
    case Dependency::kBus: return "bus namespace";
    case Dependency::kDisk: return "disk";
  }
  return "unknown";
}

bool is_shared(Dependency dependency) {
  switch (dependency) {
    case Dependency::kSource:
    case Dependency::kBlobStore:
    case Dependency::kCoord:
    case Dependency::kLease:
    case Dependency::kDedupe:
      return true;
    case Dependency::kUnknown:
    case Dependency::kBus:
    case Dependency::kDisk:
      return false;
  }
  return false;
}

Dependency failing_dependency(std::string_view last_error) {
  // Longest names first where one is a prefix of another ("relay reading the checkpoint file
  // for retention" before "relay reading the checkpoint file" is not needed: both are disk).
  struct Entry {
    std::string_view call;
    Dependency dependency;
  };
  static constexpr Entry kCalls[] = {
      {"relay receive", Dependency::kSource},
      {"relay ack", Dependency::kSource},
      {"relay sync backup", Dependency::kBlobStore},
      {"relay backup retention", Dependency::kBlobStore},
      {"relay recovery lookup", Dependency::kDedupe},
      {"relay publish to ", Dependency::kBus},
      {"relay wal append", Dependency::kDisk},
      {"relay reading the checkpoint file", Dependency::kDisk},
      {"relay retention", Dependency::kDisk},
      {"backup ship", Dependency::kBlobStore},
      {"promoter ", Dependency::kBus},
      {"worker receive from ", Dependency::kBus},
      {"worker renew_lock", Dependency::kBus},
      {"worker complete", Dependency::kBus},
      {"worker abandon", Dependency::kBus},
      {"worker dead_letter", Dependency::kBus},
      {"worker claim", Dependency::kDedupe},  // also "worker claim extension", "worker claim (to mark ...)"
      {"worker lookup", Dependency::kDedupe},
      {"worker mark_done", Dependency::kDedupe},
      {"worker mark_dead_lettered", Dependency::kDedupe},
      {"worker release", Dependency::kDedupe},
      {"checkpointer lookup", Dependency::kDedupe},
      {"checkpointer coord put", Dependency::kCoord},
      {"checkpointer reading the coord checkpoint", Dependency::kCoord},
      {"checkpointer file write", Dependency::kDisk},
      {"checkpointer reading the checkpoint file", Dependency::kDisk},
      {"replayer list ", Dependency::kBlobStore},
      {"replayer get ", Dependency::kBlobStore},
      {"replayer lookup", Dependency::kDedupe},
      {"replayer publish to ", Dependency::kBus},
      {"replayer progress put", Dependency::kCoord},
      {"replayer reading", Dependency::kCoord},
      {"heartbeat write", Dependency::kCoord},
      {"lease ", Dependency::kLease},
  };
  for (const Entry& entry : kCalls) {
    if (last_error.starts_with(entry.call)) return entry.dependency;
  }
  return Dependency::kUnknown;
}

std::string encode_heartbeat(const Heartbeat& heartbeat) {
  nlohmann::json roles = nlohmann::json::array();
  for (const NamedHealth& role : heartbeat.roles) {
    roles.push_back({{"name", role.name},
                     {"progress", role.health.progress_total},
                     {"errors", role.health.errors_total},
                     {"consecutive_errors", role.health.consecutive_errors},
                     {"lag", role.health.lag},
                     {"last_error", role.health.last_error.substr(0, 200)},
                     {"dependency", role.health.consecutive_errors > 0
                                        ? dependency_name(failing_dependency(role.health.last_error))
                                        : std::string_view()}});
  }
  const nlohmann::json record = {{"region", heartbeat.region.str()},
                                 {"process", heartbeat.process},
                                 {"at_ms", heartbeat.at_ms},
                                 {"roles", roles}};
  return record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<Heartbeat> decode_heartbeat(const CoordRecord& record) {
  const auto parsed = nlohmann::json::parse(record.value, nullptr, /*allow_exceptions=*/false);
  const auto damaged = [&](std::string_view what) {
    return data_loss("coord record " + record.key + " is not a heartbeat (" + std::string(what) +
                     "); remove it, the process rewrites it");
  };
  if (parsed.is_discarded() || !parsed.is_object()) return damaged("not JSON");
  Heartbeat heartbeat;
  const auto region = parsed.find("region");
  const auto roles = parsed.find("roles");
  if (region == parsed.end() || !region->is_string() || roles == parsed.end() || !roles->is_array()) {
    return damaged("missing region or roles");
  }
  auto region_id = RegionId::parse(region->get<std::string>());
  if (!region_id.ok()) return damaged("bad region");
  heartbeat.region = *region_id;
  HADR_ASSIGN_OR_RETURN(heartbeat.process, json_string_field(parsed, "process", record.key));
  HADR_ASSIGN_OR_RETURN(heartbeat.at_ms, json_i64_field(parsed, "at_ms", record.key));
  heartbeat.remaining = record.remaining;
  for (const auto& role : *roles) {
    if (!role.is_object() || !role.contains("name") || !role["name"].is_string()) return damaged("bad role entry");
    NamedHealth entry;
    entry.name = role["name"].get<std::string>();
    HADR_ASSIGN_OR_RETURN(entry.health.progress_total, json_u64_field(role, "progress", record.key));
    HADR_ASSIGN_OR_RETURN(entry.health.errors_total, json_u64_field(role, "errors", record.key));
    HADR_ASSIGN_OR_RETURN(entry.health.consecutive_errors, json_u64_field(role, "consecutive_errors", record.key));
    HADR_ASSIGN_OR_RETURN(entry.health.lag, json_i64_field(role, "lag", record.key));
    HADR_ASSIGN_OR_RETURN(entry.health.last_error, json_string_field(role, "last_error", record.key));
    heartbeat.roles.push_back(std::move(entry));
  }
  return heartbeat;
}

Result<std::vector<Heartbeat>> read_heartbeats(Coord& coord, const RegionId& region, std::size_t* damaged) {
  HADR_ASSIGN_OR_RETURN(std::vector<CoordRecord> records, coord.list(heartbeat_prefix(region)));
  std::vector<Heartbeat> heartbeats;
  for (const CoordRecord& record : records) {
    auto heartbeat = decode_heartbeat(record);
    if (!heartbeat.ok()) {
      if (damaged != nullptr) ++*damaged;
      continue;
    }
    heartbeats.push_back(std::move(*heartbeat));
  }
  return heartbeats;
}

Status HeartbeatOptions::validate() const {
  if (region.empty()) return invalid_argument("heartbeat region is empty");
  if (process.empty() || process.size() > 64) return invalid_argument("heartbeat process name must be 1..64 bytes");
  if (interval < Milliseconds(10) || interval > std::chrono::minutes(1)) {
    return invalid_argument("heartbeat.interval = " + std::to_string(interval.count()) +
                            "ms is out of range; use 10ms .. 1m");
  }
  return backoff.validate("heartbeat backoff");
}

namespace {

// A record lives 3 intervals: a writer backing off longer than one interval would let it expire
// after a store outage while the store already answers again (issue 12, hole 14).
BackoffOptions capped_at_interval(BackoffOptions backoff, Milliseconds interval) {
  backoff.max = std::min(backoff.max, interval);
  backoff.initial = std::min(backoff.initial, backoff.max);
  return backoff;
}

}  // namespace

Result<std::unique_ptr<HeartbeatWriter>> HeartbeatWriter::create(Coord& coord, const Clock& clock, Snapshot snapshot,
                                                                 HeartbeatOptions options) {
  HADR_TRY(options.validate());
  HADR_ASSERT(snapshot != nullptr);
  return std::unique_ptr<HeartbeatWriter>(new HeartbeatWriter(coord, clock, std::move(snapshot), std::move(options)));
}

HeartbeatWriter::HeartbeatWriter(Coord& coord, const Clock& clock, Snapshot snapshot, HeartbeatOptions options)
    : coord_(coord),
      clock_(clock),
      snapshot_(std::move(snapshot)),
      options_(std::move(options)),
      backoff_(clock, capped_at_interval(options_.backoff, options_.interval)) {}

Result<StepOutcome> HeartbeatWriter::step() {
  const MonoTime now = clock_.now_monotonic();
  if (now < next_at_ || !backoff_.ready()) return StepOutcome::kIdle;
  Heartbeat heartbeat{.region = options_.region,
                      .process = options_.process,
                      .at_ms = unix_millis(clock_.now_wall()),
                      .roles = snapshot_()};
  CoordPut write{.key = heartbeat_key(options_.region, options_.process),
                 .value = encode_heartbeat(heartbeat),
                 .condition = CoordCondition::kNone,
                 .ttl = options_.interval * 3};
  auto written = coord_.put(write);
  if (!written.ok()) {
    HADR_TRY(absorb_failure("heartbeat write", written.error(), backoff_, health_));
    return StepOutcome::kIdle;
  }
  backoff_.record_success();
  health_.add_progress(1);
  next_at_ = now + options_.interval;
  return StepOutcome::kProgress;
}

}  // namespace hadr
