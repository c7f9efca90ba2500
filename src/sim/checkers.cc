#include "sim/checkers.h"

#include <algorithm>
#include <map>

namespace hadr::sim {

std::string list_ids(const std::vector<std::string>& ids) {
  std::string text;
  for (std::size_t i = 0; i < ids.size() && i < kIdsShownMax; ++i) {
    if (i > 0) text += ", ";
    text += ids[i];
  }
  if (ids.size() > kIdsShownMax) text += " (and " + std::to_string(ids.size() - kIdsShownMax) + " more)";
  return text;
}

void check_no_loss(const std::set<std::string>& acked, const SimHistory& history,
                   const std::set<std::string>& dead_lettered, std::vector<Violation>& out) {
  std::set<std::string> effected;
  for (const EffectEvent& effect : history.effects()) effected.insert(effect.id);
  std::vector<std::string> lost;
  for (const std::string& id : acked) {
    if (!effected.contains(id) && !dead_lettered.contains(id)) lost.push_back(id);
  }
  if (lost.empty()) return;
  out.push_back(Violation{"I1", std::to_string(lost.size()) +
                                    " acknowledged message(s) have neither an effect nor a dead-letter record: " +
                                    list_ids(lost)});
}

void check_no_duplicate_effect(const SimHistory& history, std::vector<Violation>& out) {
  std::map<std::string, std::vector<std::string>> regions_by_id;
  std::set<std::string> rerun_after_mark;
  for (const EffectEvent& effect : history.effects()) {
    regions_by_id[effect.id].push_back(effect.region);
    if (effect.after_acknowledged_mark) rerun_after_mark.insert(effect.id);
  }
  std::vector<std::string> duplicated;
  for (const auto& [id, regions] : regions_by_id) {
    if (regions.size() < 2) continue;
    // Every effect of one run is transactional or none is (the handler kind is per run).
    const bool transactional = history.effects().empty() || history.effects().front().transactional;
    if (!transactional && !rerun_after_mark.contains(id)) continue;
    std::string where;
    for (const std::string& region : regions) {
      if (!where.empty()) where += '+';
      where += region;
    }
    duplicated.push_back(id + " x" + std::to_string(regions.size()) + " (" + where + ")");
  }
  if (duplicated.empty()) return;
  out.push_back(Violation{"I2", std::to_string(duplicated.size()) + " message(s) took effect more than once: " +
                                    list_ids(duplicated)});
}

void check_one_writer_per_epoch(const SimHistory& history, const std::vector<LeaseGrant>& grants,
                                std::vector<Violation>& out, std::vector<Violation>& reused_out) {
  std::map<std::uint64_t, std::set<std::string>> holders;
  for (const LeaseGrant& grant : grants) holders[grant.epoch.value].insert(grant.holder);
  std::map<std::uint64_t, std::string> writer_of_epoch;
  std::vector<std::string> problems;
  std::vector<std::string> reused;
  for (const WriteEvent& write : history.writes()) {
    const std::string what = std::string(write_kind_name(write.kind)) + " by " + write.region + " under epoch " +
                             std::to_string(write.epoch.value) + " at " + std::to_string(write.at_ms) + " ms";
    const auto granted = holders.find(write.epoch.value);
    if (granted == holders.end() || !granted->second.contains(write.region)) {
      problems.push_back(what + ": that epoch was never granted to " + write.region);
      continue;
    }
    const auto [writer, first] = writer_of_epoch.emplace(write.epoch.value, write.region);
    if (!first && writer->second != write.region) {
      (granted->second.size() > 1 ? reused : problems).push_back(what + ": epoch " + std::to_string(write.epoch.value) + " was already written by " +
                         writer->second);
    }
  }
  std::uint64_t highest_claimed = 0;
  for (const ClaimEvent& claim : history.claims()) {
    if (claim.status != ClaimStatus::kClaimed) continue;
    if (claim.caller_epoch.value < highest_claimed) {
      problems.push_back("dedupe store granted a claim by " + claim.region + " under stale epoch " +
                         std::to_string(claim.caller_epoch.value) + " after epoch " + std::to_string(highest_claimed) +
                         " at " + std::to_string(claim.at_ms) + " ms");
    }
    highest_claimed = std::max(highest_claimed, claim.caller_epoch.value);
  }
  if (!reused.empty()) {
    reused_out.push_back(Violation{"I5", std::to_string(reused.size()) +
                                             " write(s) under an epoch the lease store granted twice: " + list_ids(reused)});
  }
  if (problems.empty()) return;
  out.push_back(Violation{"I5", std::to_string(problems.size()) + " fenced write(s) broke one-writer-per-epoch: " +
                                    list_ids(problems)});
}

namespace {

bool awaiting_fix(const WriteEvent& write) {
  for (const RealTimeCheckAwaitingFix& entry : kRealTimeChecksAwaitingFix) {
    if (entry.kind == write.kind && entry.writer == write.writer) return true;
  }
  return false;
}

}  // namespace

void check_writes_in_real_time(const SimHistory& history, const std::vector<TimedGrant>& grants, bool strict,
                               std::vector<Violation>& out, std::uint64_t& known_out) {
  // Both lists are in time order: sweep the grants along the writes. A restore marker (the
  // lease store restarted from an old snapshot) sets the counter back: the epochs granted above
  // it are forgotten by the store, so a write under one of them is flagged (its holder's lease
  // is gone), while the re-issued lower epochs become the newest again (the watchdog's epoch
  // check and the blob witness make sure none of them was ever written).
  std::vector<std::string> problems;
  std::size_t next_grant = 0;
  std::uint64_t highest = 0;
  std::string highest_holder;
  std::int64_t highest_at_ms = 0;
  std::map<std::uint64_t, std::string> holder_of;     // epoch -> its last holder
  std::map<std::uint64_t, std::int64_t> forgotten_at;  // epoch -> when a restore forgot it
  for (const WriteEvent& write : history.writes()) {
    while (next_grant < grants.size() && grants[next_grant].at_ms < write.at_ms) {
      const TimedGrant& grant = grants[next_grant++];
      if (grant.restore) {
        for (auto it = holder_of.upper_bound(grant.epoch.value); it != holder_of.end(); ++it) {
          forgotten_at[it->first] = grant.at_ms;
        }
        highest = grant.epoch.value;
        highest_holder = "(restored counter)";
        highest_at_ms = grant.at_ms;
        continue;
      }
      holder_of[grant.epoch.value] = grant.holder;
      forgotten_at.erase(grant.epoch.value);
      if (grant.epoch.value > highest) {
        highest = grant.epoch.value;
        highest_holder = grant.holder;
        highest_at_ms = grant.at_ms;
      }
    }
    auto forgotten = forgotten_at.find(write.epoch.value);
    if (forgotten != forgotten_at.end()) {
      // Re-issued to this writer in the same millisecond (grant and first write in one step).
      for (std::size_t ahead = next_grant; ahead < grants.size() && grants[ahead].at_ms == write.at_ms; ++ahead) {
        if (!grants[ahead].restore && grants[ahead].epoch == write.epoch && grants[ahead].holder == write.region) {
          forgotten = forgotten_at.end();
          break;
        }
      }
    }
    if (forgotten == forgotten_at.end() && write.epoch.value >= highest) continue;
    if (!strict && awaiting_fix(write)) {
      ++known_out;
      continue;
    }
    std::string what(write_kind_name(write.kind));
    what += " by ";
    what += write.region;
    if (!write.writer.empty()) {
      what += ' ';
      what += write.writer;
    }
    what += " under epoch " + std::to_string(write.epoch.value) + " at " + std::to_string(write.at_ms) + " ms, ";
    if (forgotten != forgotten_at.end()) {
      what += "which the lease store forgot when it was restored from a snapshot at " +
              std::to_string(forgotten->second) + " ms";
    } else {
      what += "after epoch " + std::to_string(highest) + " was granted to " + highest_holder + " at " +
              std::to_string(highest_at_ms) + " ms";
    }
    problems.push_back(std::move(what));
  }
  if (problems.empty()) return;
  out.push_back(Violation{"I5", std::to_string(problems.size()) +
                                    " fenced write(s) made under a superseded epoch (real time): " + list_ids(problems)});
}

void check_wal_integrity(const SimHistory& history, std::vector<Violation>& out) {
  for (const RecoveryEvent& recovery : history.recoveries()) {
    if (!recovery.opened) {
      out.push_back(Violation{"I7", "region " + recovery.region + " could not reopen its WAL after a crash at " +
                                        std::to_string(recovery.at_ms) + " ms: " + recovery.error});
    } else if (!recovery.prefix_intact) {
      out.push_back(Violation{"I7", "region " + recovery.region + " WAL lost durable records in a crash at " +
                                        std::to_string(recovery.at_ms) + " ms: durable LSN " +
                                        std::to_string(recovery.durable_before) + " before, " +
                                        std::to_string(recovery.durable_after) + " after" +
                                        (recovery.error.empty() ? "" : " (" + recovery.error + ")")});
    }
  }
}

}  // namespace hadr::sim
