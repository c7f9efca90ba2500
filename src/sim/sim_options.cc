#include "sim/sim_options.h"

#include "core/assert.h"

namespace hadr::sim {
namespace {

constexpr std::array<std::string_view, kSimFaultCount> kFaultNames = {
    "store", "crash", "crash_point", "worker_crash", "fsync", "drift", "clock_jump",
    "partition", "flapping", "pause", "lease_restore", "switchover", "handler",
    "store_rollback", "coord_loss", "blob_loss", "store_clock", "long_outage", "async_backup",
    "blob_cut", "coord_cut", "late_write", "synced_corruption", "bus_loss", "nontx_handler",
    "epoch_regress"};

constexpr std::array<std::string_view, kBrokenVariantCount> kBrokenNames = {
    "none", "ack_before_fsync", "claim_ignores_epoch", "staging_completed_before_main",
    "relay_ignores_intake_gate", "checkpoint_past_unsettled", "replay_stops_before_seal",
    "renew_without_deadline", "claim_regranted_to_stale_owner"};

std::string valid_fault_names() {
  std::string names = "all, everything, none";
  for (std::string_view name : kFaultNames) names += ", " + std::string(name);
  return names;
}

}  // namespace

std::string_view sim_fault_name(SimFault fault) {
  const auto index = static_cast<std::size_t>(fault);
  HADR_ASSERT(index < kSimFaultCount);
  return kFaultNames[index];
}

std::array<SimFault, kSimFaultCount> all_sim_faults() {
  std::array<SimFault, kSimFaultCount> faults{};
  for (std::size_t i = 0; i < kSimFaultCount; ++i) faults[i] = static_cast<SimFault>(i);
  return faults;
}

bool awaiting_fix(SimFault fault) {
  for (const AwaitingFix& entry : kFaultsAwaitingFix) {
    if (entry.fault == fault) return true;
  }
  return false;
}

std::array<BrokenVariant, kBrokenVariantCount> all_broken_variants() {
  std::array<BrokenVariant, kBrokenVariantCount> variants{};
  for (std::size_t i = 0; i < kBrokenVariantCount; ++i) variants[i] = static_cast<BrokenVariant>(i);
  return variants;
}

Result<FaultSelection> FaultSelection::parse(std::string_view text) {
  if (text == "all") return FaultSelection{};
  if (text == "everything") return FaultSelection{.include_awaiting = true};
  if (text == "none") return FaultSelection{.mode = Mode::kNone};
  if (text.starts_with("all+")) {
    // The default mix with categories awaiting a fix drawn too: each must be awaiting one.
    auto listed = parse(text.substr(4));
    if (!listed.ok()) return std::move(listed).take_error();
    if (listed->mode != Mode::kForced) return invalid_argument("--faults all+LIST: LIST names categories, e.g. all+bus_loss");
    for (std::size_t i = 0; i < kSimFaultCount; ++i) {
      if (listed->listed.test(i) && !awaiting_fix(static_cast<SimFault>(i))) {
        return invalid_argument("--faults all+LIST: \"" + std::string(kFaultNames[i]) +
                                "\" is in the default mix already; list only categories awaiting a fix");
      }
    }
    return FaultSelection{.on_trial = listed->listed};
  }
  FaultSelection selection{.mode = Mode::kForced};
  constexpr std::size_t kEntriesMax = 64;  // more entries than categories is a typo
  std::size_t entries = 0;
  while (!text.empty()) {
    if (++entries > kEntriesMax) return invalid_argument("--faults has too many entries; list each category once");
    const std::size_t comma = text.find(',');
    const std::string_view entry = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    bool found = false;
    for (std::size_t i = 0; i < kSimFaultCount && !found; ++i) {
      if (kFaultNames[i] == entry) {
        selection.listed.set(i);
        found = true;
      }
    }
    if (!found) {
      return invalid_argument("--faults: unknown fault category \"" + std::string(entry) + "\"; use one of: " +
                              valid_fault_names());
    }
  }
  if (selection.listed.none()) return invalid_argument("--faults is empty; use all, none or a list of: " + valid_fault_names());
  return selection;
}

std::string FaultSelection::describe() const {
  if (mode == Mode::kBuggify && on_trial.none()) return include_awaiting ? "everything" : "all";
  if (mode == Mode::kBuggify) {
    std::string text = include_awaiting ? "everything" : "all+";
    for (std::size_t i = 0; i < kSimFaultCount && !include_awaiting; ++i) {
      if (!on_trial.test(i)) continue;
      if (!text.ends_with('+')) text += ',';
      text += kFaultNames[i];
    }
    return text;
  }
  if (mode == Mode::kNone) return "none";
  std::string text;
  for (std::size_t i = 0; i < kSimFaultCount; ++i) {
    if (!listed.test(i)) continue;
    if (!text.empty()) text += ',';
    text += kFaultNames[i];
  }
  return text;
}

std::string_view broken_variant_name(BrokenVariant variant) {
  const auto index = static_cast<std::size_t>(variant);
  HADR_ASSERT(index < kBrokenVariantCount);
  return kBrokenNames[index];
}

Result<BrokenVariant> parse_broken_variant(std::string_view text) {
  std::string names;
  for (BrokenVariant variant : all_broken_variants()) {
    if (broken_variant_name(variant) == text) return variant;
    names += (names.empty() ? "" : ", ") + std::string(broken_variant_name(variant));
  }
  return invalid_argument("--broken: unknown variant \"" + std::string(text) + "\"; use one of: " + names);
}

}  // namespace hadr::sim
