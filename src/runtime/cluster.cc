#include "runtime/cluster.h"

#include <algorithm>
#include <cinttypes>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/env.h"
#include "runtime/region_backends.h"
#include "runtime/region_membership.h"
#include "roles/checkpoint.h"
#include "roles/replayer.h"
#include "roles/wal_backup.h"

namespace hadr {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kBackupListPagesMax = 100;

Status read_backup(BlobStore& blobs, RegionView& view) {
  const std::string prefix = backup_prefix(view.region);
  std::string after;
  for (std::size_t page = 0; page < kBackupListPagesMax; ++page) {
    HADR_ASSIGN_OR_RETURN(BlobPage listed, blobs.list(prefix, after, BlobStore::kMaxListPage));
    for (const std::string& key : listed.keys) {
      auto range = parse_backup_object_key(key, prefix);
      if (range.ok()) view.backup_last_lsn = std::max(view.backup_last_lsn, range->last_lsn.value);
      ++view.backup_objects;
    }
    if (!listed.more || listed.keys.empty()) break;
    after = listed.keys.back();
  }
  return ok_status();
}

// One region's view from what could be opened (a null store: its part is unreachable, listed
// in ClusterStatus::unreachable by the caller).
RegionView read_region_view(Coord* coord, BlobStore* blobs, const RegionId& region, std::vector<std::string>& unreachable) {
  RegionView view;
  view.region = region;
  if (coord != nullptr) {
    const Status read = [&]() -> Status {
      HADR_ASSIGN_OR_RETURN(view.heartbeats, read_heartbeats(*coord, region));
      HADR_ASSIGN_OR_RETURN(Lsn checkpoint, read_coord_checkpoint(*coord, region));
      view.checkpoint = checkpoint.value;
      HADR_ASSIGN_OR_RETURN(std::optional<CoordRecord> progress, coord->get(replay_progress_key(region)));
      if (progress) view.replay_progress = progress->value;
      HADR_ASSIGN_OR_RETURN(std::optional<CoordRecord> member, coord->get(RegionMembership::coord_key(region)));
      if (member) view.member = member->value;
      return ok_status();
    }();
    if (!read.ok()) unreachable.push_back("coord (region " + region.str() + "): " + read.error().to_string());
  }
  if (blobs != nullptr) {
    const Status read = read_backup(*blobs, view);
    if (!read.ok()) unreachable.push_back("backup (region " + region.str() + "): " + read.error().to_string());
  }
  return view;
}

// "pid=12 host=h …" -> "12" for "pid"; data_dir, the last field, may hold spaces.
std::string member_field(const std::string& value, std::string_view name) {
  const std::string marker = std::string(name) + "=";
  std::size_t at = value.rfind(" " + marker);
  at = at == std::string::npos ? (value.rfind(marker, 0) == 0 ? 0 : std::string::npos) : at + 1;
  if (at == std::string::npos) return "?";
  const std::size_t begin = at + marker.size();
  const std::size_t end = name == "data_dir" ? value.size() : value.find(' ', begin);
  return value.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

Json member_json(const std::optional<std::string>& member) {
  if (!member) return nullptr;
  return {{"pid", member_field(*member, "pid")},
          {"host", member_field(*member, "host")},
          {"process", member_field(*member, "process")},
          {"data_dir", member_field(*member, "data_dir")}};
}

// On the embedded backends opening a store creates its file: a read-only view opens only files
// that exist and lists the others.
Status store_present(const RegionConfig& config, const std::string& path) {
  if (config.backend != BackendKind::kEmbedded || posix_env().file_exists(path)) return ok_status();
  return failed_precondition(path + " does not exist yet (no process has created it); nothing was created");
}

Json heartbeat_json(const Heartbeat& beat) {
  Json roles = Json::array();
  for (const NamedHealth& role : beat.roles) {
    roles.push_back({{"name", role.name},
                     {"progress", role.health.progress_total},
                     {"errors", role.health.errors_total},
                     {"lag", role.health.lag},
                     {"last_error", role.health.last_error}});
  }
  return {{"process", beat.process}, {"at_ms", beat.at_ms}, {"ttl_left_ms", beat.remaining.count()}, {"roles", roles}};
}

std::string seconds_text(std::int64_t ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f s", static_cast<double>(ms) / 1000.0);
  return text;
}

}  // namespace

Result<ClusterStatus> read_cluster_status(const RegionConfig& config) {
  ClusterStatus status;
  status.single_region = !config.two_regions();
  status.lease_name = config.lease.name;
  status.bus_namespace = config.bus_namespace;
  if (config.backend == BackendKind::kEmbedded) {
    // A mistyped backends.dir must not get empty stores and a normal-looking view.
    HADR_TRY(require_existing_path(config, config.embedded.dir, "the embedded store directory", "backends.dir"));
  }
  HADR_ASSIGN_OR_RETURN(const RegionBackends backends, RegionBackends::resolve(config, process_environment()));
  // Each part is read on its own: one server down leaves the others' parts in the view.
  const auto part = [&](const std::string& name, const std::function<Status()>& read) {
    const Status result = read();
    if (!result.ok()) status.unreachable.push_back(name + ": " + result.error().to_string());
    return result.ok();
  };
  if (!status.single_region) {
    part("lease", [&]() -> Status {
      HADR_TRY(store_present(config, config.embedded.lease_path()));
      HADR_ASSIGN_OR_RETURN(auto lease_store, backends.open_lease_store());
      HADR_ASSIGN_OR_RETURN(status.lease, lease_store->read(config.lease.name));
      return ok_status();
    });
  }
  std::unique_ptr<Coord> coord;
  part("coord", [&]() -> Status {
    HADR_TRY(store_present(config, config.embedded.coord_path()));
    HADR_ASSIGN_OR_RETURN(coord, backends.open_coord());
    HADR_ASSIGN_OR_RETURN(status.alias, coord->get(kAliasCoordKey));
    HADR_ASSIGN_OR_RETURN(std::optional<CoordRecord> failover, coord->get(kFailoverCoordKey));
    if (failover) {
      auto decoded = decode_failover_record(failover->value);
      if (decoded.ok()) status.last_failover = *decoded;
    }
    HADR_ASSIGN_OR_RETURN(std::optional<CoordRecord> request, coord->get(kSwitchoverRequestCoordKey));
    if (request) {
      auto decoded = decode_switchover_request(request->value);
      if (decoded.ok()) status.switchover_pending = *decoded;
    }
    return ok_status();
  });
  std::unique_ptr<BlobStore> blobs;
  // A single region has no backup (it is shipped for the peer): nothing to read.
  if (!status.single_region) {
    part("backup", [&]() -> Status {
      if (config.backend == BackendKind::kEmbedded && !posix_env().file_exists(config.embedded.blobs_dir())) {
        return failed_precondition(config.embedded.blobs_dir() + " does not exist yet (no backup shipped); nothing was created");
      }
      HADR_ASSIGN_OR_RETURN(blobs, backends.open_blob_store());
      return ok_status();
    });
  }
  std::vector<RegionId> regions = {config.region};
  if (config.two_regions()) regions.push_back(config.peer);
  for (const RegionId& region : regions) {
    status.regions.push_back(read_region_view(coord.get(), blobs.get(), region, status.unreachable));
  }
  part("bus", [&]() -> Status {
    HADR_TRY(store_present(config, config.embedded.bus_path(config.bus_namespace)));
    HADR_ASSIGN_OR_RETURN(auto bus, backends.open_bus());
    for (const std::string& queue : {config.promoter.staging_queue, config.worker.main_queue}) {
      for (const std::string& name : {queue, dead_letter_queue(queue)}) {
        auto depth = bus->depth(name);
        if (depth.ok()) status.queues.push_back(QueueView{name, *depth});
      }
    }
    return ok_status();
  });
  return status;
}

bool ClusterStatus::unreachable_part(std::string_view part) const {
  return std::any_of(unreachable.begin(), unreachable.end(), [&](const std::string& entry) {
    return entry.rfind(part, 0) == 0 && entry.size() > part.size() && (entry[part.size()] == ':' || entry[part.size()] == ' ');
  });
}

std::string ClusterStatus::to_json() const {
  Json json;
  json["mode"] = single_region ? "single_region" : "two_regions";
  if (single_region) {
    // No lease: the region is always active under the static epoch.
    json["lease"] = {{"name", nullptr},
                     {"static", true},
                     {"held", true},
                     {"holder", regions.empty() ? std::string() : regions.front().region.str()},
                     {"epoch", kSingleRegionEpoch},
                     {"ttl_left_ms", nullptr},
                     {"highest_epoch", kSingleRegionEpoch}};
  } else if (unreachable_part("lease")) {
    json["lease"] = nullptr;  // unknown: see "unreachable"
  } else {
    json["lease"] = {{"name", lease_name},
                     {"static", false},
                     {"held", lease.held},
                     {"holder", lease.holder},
                     {"epoch", lease.epoch.value},
                     {"ttl_left_ms", lease.remaining.count()},
                     {"highest_epoch", lease.highest_epoch.value}};
  }
  json["alias"] = alias ? Json{{"namespace", alias->value}, {"epoch", alias->epoch.value}} : Json(nullptr);
  if (last_failover) {
    const FailoverRecord& f = *last_failover;
    json["last_failover"] = {{"kind", f.kind},          {"from", f.from.str()},
                             {"to", f.to.str()},        {"epoch", f.epoch.value},
                             {"phase", f.phase},        {"acquired_at_ms", f.acquired_at_ms},
                             {"completed_at_ms", f.completed_at_ms},
                             {"duration_ms", f.completed_at_ms > 0 ? f.completed_at_ms - f.free_seen_at_ms : 0}};
  } else {
    json["last_failover"] = nullptr;
  }
  json["switchover_pending"] = switchover_pending ? Json(switchover_pending->to.str()) : Json(nullptr);
  json["regions"] = Json::array();
  for (const RegionView& view : regions) {
    Json beats = Json::array();
    for (const Heartbeat& beat : view.heartbeats) beats.push_back(heartbeat_json(beat));
    json["regions"].push_back({{"region", view.region.str()},
                               {"active", !single_region && unreachable_part("lease") ? Json(nullptr)
                                                                                       : Json(active(view.region))},
                               {"process", member_json(view.member)},
                               {"checkpoint", view.checkpoint},
                               {"backup_last_lsn", view.backup_last_lsn},
                               {"backup_objects", view.backup_objects},
                               {"replay_progress", view.replay_progress ? Json(*view.replay_progress) : Json(nullptr)},
                               {"heartbeats", beats}});
  }
  json["queues"] = Json::array();
  for (const QueueView& queue : queues) {
    json["queues"].push_back({{"namespace", bus_namespace},
                              {"queue", queue.queue},
                              {"available", queue.depth.available},
                              {"locked", queue.depth.locked},
                              {"dead_lettered", queue.depth.dead_lettered}});
  }
  json["unreachable"] = unreachable;
  return json.dump(2, ' ', false, Json::error_handler_t::replace);
}

std::string ClusterStatus::to_text() const {
  std::ostringstream out;
  if (single_region) {
    out << "lease: none, single region (no [region] peer): always active at the static epoch " << kSingleRegionEpoch;
  } else if (unreachable_part("lease")) {
    out << "lease " << lease_name << ": UNREACHABLE (below)";
  } else if (lease.held) {
    out << "lease " << lease_name << ": ";
    out << "held by " << lease.holder << ", epoch " << lease.epoch.value << ", " << seconds_text(lease.remaining.count())
        << " left";
  } else {
    out << "lease " << lease_name << ": FREE (highest epoch " << lease.highest_epoch.value << ")";
  }
  out << "\n";
  if (!single_region) {
    out << "alias: " << (alias ? alias->value + " (epoch " + std::to_string(alias->epoch.value) + ")" : "not set") << "\n";
  }
  if (last_failover) {
    const FailoverRecord& f = *last_failover;
    out << "last change: " << f.kind << " " << (f.from.empty() ? "-" : f.from.str()) << " -> " << f.to.str()
        << " at epoch " << f.epoch.value << ", " << f.phase;
    if (f.completed_at_ms > 0) {
      out << " in " << seconds_text(f.completed_at_ms - f.free_seen_at_ms) << " (lease free -> acquired "
          << seconds_text(f.acquired_at_ms - f.free_seen_at_ms) << ", -> alias "
          << seconds_text(f.alias_at_ms - f.acquired_at_ms) << ", -> intake open "
          << seconds_text(f.completed_at_ms - f.alias_at_ms) << ")";
    }
    out << "\n";
  }
  if (switchover_pending) out << "switchover to " << switchover_pending->to.str() << " requested, in progress\n";
  const bool coord_reachable = !unreachable_part("coord");
  const bool bus_reachable = !unreachable_part("bus");
  const bool lease_known = single_region || !unreachable_part("lease");
  for (const RegionView& view : regions) {
    out << "\nregion " << view.region.str()
        << (single_region  ? "  [ACTIVE, single region]"
            : !lease_known ? "  [active or standby: the lease is unreachable]"
            : active(view.region) ? "  [ACTIVE]"
                                  : "  [standby]")
        << "\n"
        << "  checkpoint " << view.checkpoint;
    if (!single_region) {
      out << ", backup through LSN " << view.backup_last_lsn << " (" << view.backup_objects << " objects)";
    }
    if (view.replay_progress) out << ", replayed elsewhere through \"" << *view.replay_progress << "\"";
    out << "\n";
    if (view.member) {
      out << "  process running: pid " << member_field(*view.member, "pid") << " on " << member_field(*view.member, "host")
          << " (hadr " << member_field(*view.member, "process") << ", data_dir " << member_field(*view.member, "data_dir")
          << ")\n";
    }
    if (!coord_reachable) {
      out << "  heartbeats, checkpoint and replay: UNREACHABLE (below)\n";
    } else if (view.heartbeats.empty() && !view.member) {
      out << "  no process running (no live heartbeat or membership record): the region's processes are down\n";
    } else if (view.heartbeats.empty() && !single_region) {
      out << "  no live heartbeat yet (the process is starting, or its lease thread is stuck)\n";
    }
    for (const Heartbeat& beat : view.heartbeats) {
      out << "  process " << beat.process << " (heartbeat ttl " << seconds_text(beat.remaining.count()) << ")\n";
      for (const NamedHealth& role : beat.roles) {
        char line[160];
        std::snprintf(line, sizeof line, "    %-14s progress %-10" PRIu64 " errors %-6" PRIu64 " lag %" PRId64,
                      role.name.c_str(), role.health.progress_total, role.health.errors_total, role.health.lag);
        out << line;
        if (!role.health.last_error.empty() && role.health.errors_total > 0) out << "  last: " << role.health.last_error;
        out << "\n";
      }
    }
  }
  out << "\nqueues in namespace " << bus_namespace << ":\n";
  if (!bus_reachable) out << "  UNREACHABLE (below)\n";
  for (const QueueView& queue : queues) {
    out << "  " << queue.queue << ": " << queue.depth.available << " available, " << queue.depth.locked << " locked";
    if (queue.depth.dead_lettered > 0) out << ", " << queue.depth.dead_lettered << " dead-lettered";
    out << "\n";
  }
  if (!unreachable.empty()) {
    out << "\nUNREACHABLE (the parts above that could not be read):\n";
    for (const std::string& part : unreachable) out << "  " << part << "\n";
  }
  return out.str();
}

std::string SwitchoverReport::to_json() const {
  return Json{{"from", from.str()},
              {"to", to.str()},
              {"epoch_before", epoch_before},
              {"epoch_after", epoch_after},
              {"elapsed_ms", elapsed_ms},
              {"already_there", already_there}}
      .dump();
}

Result<SwitchoverReport> request_switchover(const RegionConfig& config, const RegionId& to, Milliseconds timeout,
                                            const std::function<void(const std::string&)>& progress) {
  if (!config.two_regions()) return failed_precondition("switchover needs two regions: set [region] peer in the config");
  if (to != config.region && to != config.peer) {
    return failed_precondition("--to " + to.str() + " is neither this region (" + config.region.str() +
                               ") nor its peer (" + config.peer.str() + ")");
  }
  const Clock& clock = RealClock::instance();
  HADR_ASSIGN_OR_RETURN(const RegionBackends backends, RegionBackends::resolve(config, process_environment()));
  HADR_ASSIGN_OR_RETURN(auto lease_store, backends.open_lease_store());
  HADR_ASSIGN_OR_RETURN(auto coord, backends.open_coord());
  HADR_ASSIGN_OR_RETURN(LeaseState before, lease_store->read(config.lease.name));
  SwitchoverReport report{.to = to, .epoch_before = before.epoch.value};
  if (!before.held) return failed_precondition("no region holds the lease now; start the regions first (hadr node)");
  report.from = *RegionId::parse(before.holder);
  if (report.from == to) {
    report.already_there = true;
    report.epoch_after = before.epoch.value;
    return report;
  }
  const MonoTime started = clock.now_monotonic();
  auto written = coord->put(CoordPut{.key = std::string(kSwitchoverRequestCoordKey),
                                     .value = encode_switchover_request(
                                         SwitchoverRequest{.to = to, .requested_at_ms = unix_millis(clock.now_wall())})});
  if (!written.ok()) return written.error();
  progress("switchover requested: " + report.from.str() + " drains, seals its WAL and hands the lease to " + to.str());
  const MonoTime deadline = started + timeout;
  while (clock.now_monotonic() < deadline) {
    std::this_thread::sleep_for(Milliseconds(50));
    HADR_ASSIGN_OR_RETURN(LeaseState now, lease_store->read(config.lease.name));
    HADR_ASSIGN_OR_RETURN(std::optional<CoordRecord> record, coord->get(kFailoverCoordKey));
    if (!now.held || now.holder != to.str() || now.epoch <= before.epoch || !record) continue;
    auto failover = decode_failover_record(record->value);
    if (!failover.ok() || failover->epoch != now.epoch || failover->phase != "completed") continue;
    report.epoch_after = now.epoch.value;
    report.elapsed_ms = std::chrono::duration_cast<Milliseconds>(clock.now_monotonic() - started).count();
    return report;
  }
  (void)coord->remove(kSwitchoverRequestCoordKey);
  return deadline_exceeded("the switchover to " + to.str() + " did not finish within " +
                           std::to_string(timeout.count()) + " ms; the request was withdrawn. See `hadr status` "
                           "and the alerts in each region's data_dir/alerts.jsonl");
}

}  // namespace hadr
