#include "sim/sim_options.h"

#include "core/assert.h"

namespace hadr::sim {
namespace {

constexpr std::array<std::string_view, kSimFaultCount> kFaultNames = {
    "store", "crash", "crash_point", "worker_crash", "fsync", "drift", "clock_jump",
    "partition", "flapping", "pause", "lease_restore", "switchover", "handler"};

std::string valid_fault_names() {
  std::string names = "all, none";
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

Result<FaultSelection> FaultSelection::parse(std::string_view text) {
  if (text == "all") return FaultSelection{};
  if (text == "none") return FaultSelection{.mode = Mode::kNone};
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
  if (mode == Mode::kBuggify) return "all";
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
  switch (variant) {
    case BrokenVariant::kNone: return "none";
    case BrokenVariant::kAckBeforeFsync: return "ack_before_fsync";
    case BrokenVariant::kClaimIgnoresEpoch: return "claim_ignores_epoch";
    case BrokenVariant::kStagingCompletedBeforeMain: return "staging_completed_before_main";
  }
  HADR_UNREACHABLE();
}

Result<BrokenVariant> parse_broken_variant(std::string_view text) {
  for (BrokenVariant variant : {BrokenVariant::kNone, BrokenVariant::kAckBeforeFsync, BrokenVariant::kClaimIgnoresEpoch,
                                BrokenVariant::kStagingCompletedBeforeMain}) {
    if (broken_variant_name(variant) == text) return variant;
  }
  return invalid_argument("--broken: unknown variant \"" + std::string(text) +
                          "\"; use none, ack_before_fsync, claim_ignores_epoch or staging_completed_before_main");
}

}  // namespace hadr::sim
