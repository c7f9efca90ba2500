// SimOptions: what one simulation run does — its seed, which fault workloads may run, whether
// it traces, and (for the checker tests only) which deliberately broken variant it wires.
//
// Fault categories (docs/simulation.md has the table). With `--faults all` every category is a
// BUGGIFY site of its own: switched on for the run with p = 0.25 (decided from the seed), and an
// enabled category fires with p = 0.25 at every fault tick. `--faults LIST` switches exactly the
// listed categories on (for reproducing and for targeted tests); `none` switches all off.
// Plain values; thread-safety: none needed.
#pragma once

#include <array>
#include <bitset>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace hadr::sim {

enum class SimFault : unsigned char {
  kStoreFaults,      // SeededFaultInjector on every client: unavailable, lost confirm, lock/claim expiry, duplicate delivery
  kRegionCrash,      // power loss of a whole region between steps: MemEnv drops/tears/flips unsynced bytes
  kCrashPoint,       // the process dies at a named crash point (RELIABILITY F1)
  kWorkerCrash,      // one worker process dies and restarts (its claims and locks stay behind)
  kFsyncFailure,     // the next fsync of a region fails (EIO): the WAL is poisoned, the region restarts (F5)
  kClockDrift,       // a region's clocks run up to 10% fast or slow (F12)
  kClockJump,        // a region's wall clock jumps by seconds to minutes (F12)
  kLeasePartition,   // a region is cut off from the lease store for 0.5 .. 3 TTLs (F13)
  kFlappingPartition,  // the cut toggles every 50 .. 500 ms for a few seconds (F14)
  kPause,            // a region is not stepped for 1.2 .. 3 TTLs while time moves (F11)
  kLeaseRestore,     // the lease store restarts from an old snapshot: the epoch goes back (F17)
  kSwitchover,       // a planned switchover request to the standby region
  kHandlerFailure,   // the handler fails, asks for a retry or rejects: dead-letter path
};
inline constexpr std::size_t kSimFaultCount = 13;

std::string_view sim_fault_name(SimFault fault);
std::array<SimFault, kSimFaultCount> all_sim_faults();

// Which categories a run may use, and how they are decided.
struct FaultSelection {
  enum class Mode : unsigned char { kBuggify, kForced, kNone };
  Mode mode = Mode::kBuggify;
  std::bitset<kSimFaultCount> listed;  // kForced: exactly these are on

  // "all" | "none" | "crash,partition,..." (names of sim_fault_name). kInvalidArgument names
  // the unknown entry and lists the valid ones.
  static Result<FaultSelection> parse(std::string_view text);
  std::string describe() const;
};

// Deliberately broken wirings that the checkers must catch (the roles are not touched).
enum class BrokenVariant : unsigned char {
  kNone,
  kAckBeforeFsync,            // the relay's Source acks every message at receive time
  kClaimIgnoresEpoch,         // the workers' DedupeStore claims under the store's highest epoch
  kStagingCompletedBeforeMain,  // the promoter's sends to main are sometimes dropped after "ok"
};
std::string_view broken_variant_name(BrokenVariant variant);
Result<BrokenVariant> parse_broken_variant(std::string_view text);

struct SimOptions {
  std::uint64_t seed = 1;
  FaultSelection faults;
  BrokenVariant broken = BrokenVariant::kNone;
  bool trace = false;  // print every step and fault to stdout
  // Workload: messages put to the source during the fault phase (the count is drawn per seed).
  std::uint32_t messages_min = 40;
  std::uint32_t messages_max = 120;
  // Simulated duration of the fault phase.
  std::chrono::milliseconds fault_phase{20'000};
};

}  // namespace hadr::sim
