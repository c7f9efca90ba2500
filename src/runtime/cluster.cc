#include "runtime/cluster.h"

#include <cinttypes>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "runtime/region_backends.h"
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

Result<RegionView> read_region_view(Coord& coord, BlobStore& blobs, const RegionId& region) {
  RegionView view;
  view.region = region;
  HADR_ASSIGN_OR_RETURN(view.heartbeats, read_heartbeats(coord, region));
  HADR_ASSIGN_OR_RETURN(Lsn checkpoint, read_coord_checkpoint(coord, region));
  view.checkpoint = checkpoint.value;
  HADR_TRY(read_backup(blobs, view));
  HADR_ASSIGN_OR_RETURN(std::optional<CoordRecord> progress, coord.get(replay_progress_key(region)));
  if (progress) view.replay_progress = progress->value;
  return view;
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
  status.lease_name = config.lease.name;
  status.bus_namespace = config.bus_namespace;
  HADR_ASSIGN_OR_RETURN(const RegionBackends backends, RegionBackends::resolve(config, process_environment()));
  HADR_ASSIGN_OR_RETURN(auto lease_store, backends.open_lease_store());
  HADR_ASSIGN_OR_RETURN(status.lease, lease_store->read(config.lease.name));
  HADR_ASSIGN_OR_RETURN(auto coord, backends.open_coord());
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
  HADR_ASSIGN_OR_RETURN(auto blobs, backends.open_blob_store());
  std::vector<RegionId> regions = {config.region};
  if (config.two_regions()) regions.push_back(config.peer);
  for (const RegionId& region : regions) {
    HADR_ASSIGN_OR_RETURN(RegionView view, read_region_view(*coord, *blobs, region));
    status.regions.push_back(std::move(view));
  }
  HADR_ASSIGN_OR_RETURN(auto bus, backends.open_bus());
  for (const std::string& queue : {config.promoter.staging_queue, config.worker.main_queue}) {
    for (const std::string& name : {queue, dead_letter_queue(queue)}) {
      auto depth = bus->depth(name);
      if (depth.ok()) status.queues.push_back(QueueView{name, *depth});
    }
  }
  return status;
}

std::string ClusterStatus::to_json() const {
  Json json;
  json["lease"] = {{"name", lease_name},
                   {"held", lease.held},
                   {"holder", lease.holder},
                   {"epoch", lease.epoch.value},
                   {"ttl_left_ms", lease.remaining.count()},
                   {"highest_epoch", lease.highest_epoch.value}};
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
                               {"active", lease.held && lease.holder == view.region.str()},
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
  return json.dump(2, ' ', false, Json::error_handler_t::replace);
}

std::string ClusterStatus::to_text() const {
  std::ostringstream out;
  out << "lease " << lease_name << ": ";
  if (lease.held) {
    out << "held by " << lease.holder << ", epoch " << lease.epoch.value << ", " << seconds_text(lease.remaining.count())
        << " left";
  } else {
    out << "FREE (highest epoch " << lease.highest_epoch.value << ")";
  }
  out << "\nalias: " << (alias ? alias->value + " (epoch " + std::to_string(alias->epoch.value) + ")" : "not set") << "\n";
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
  for (const RegionView& view : regions) {
    const bool active = lease.held && lease.holder == view.region.str();
    out << "\nregion " << view.region.str() << (active ? "  [ACTIVE]" : "  [standby]") << "\n"
        << "  checkpoint " << view.checkpoint << ", backup through LSN " << view.backup_last_lsn << " ("
        << view.backup_objects << " objects)";
    if (view.replay_progress) out << ", replayed elsewhere through \"" << *view.replay_progress << "\"";
    out << "\n";
    if (view.heartbeats.empty()) out << "  no live heartbeat: the region's processes are down\n";
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
  for (const QueueView& queue : queues) {
    out << "  " << queue.queue << ": " << queue.depth.available << " available, " << queue.depth.locked << " locked";
    if (queue.depth.dead_lettered > 0) out << ", " << queue.depth.dead_lettered << " dead-lettered";
    out << "\n";
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
