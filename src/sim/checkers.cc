#include "sim/checkers.h"

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
  for (const EffectEvent& effect : history.effects()) regions_by_id[effect.id].push_back(effect.region);
  std::vector<std::string> duplicated;
  for (const auto& [id, regions] : regions_by_id) {
    if (regions.size() < 2) continue;
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
