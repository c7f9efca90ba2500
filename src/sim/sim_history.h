// SimHistory: what one simulation run recorded, for the checkers (checkers.h) and the report.
// Everything here is appended by the simulator and its wrappers while the run goes on; the
// checkers only read it afterwards. Times are simulated store time in milliseconds since the
// start of the run.
//
// hash(): a running 64-bit digest of every step, fault and effect, so that "same seed, same
// history" is one comparison (the determinism test).
// Ownership: plain values. Thread-safety: none (the simulation is single-threaded).
// Invariants: each vector is bounded by kEventsMax (the run stops recording and says so).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/dedupe_store.h"
#include "core/ids.h"

namespace hadr::sim {

// A write that a fenced store or log accepted, and under which epoch, at the run's reference
// time (the store's time; the real-time I5 check compares it with the lease grants).
struct WriteEvent {
  enum class Kind : unsigned char { kWalAppend, kPublish, kPromote, kClaim, kSourceAck, kCoordPut };
  Kind kind = Kind::kWalAppend;
  std::string region;
  Epoch epoch;
  std::int64_t at_ms = 0;
  std::string_view writer;  // the role or client that wrote (a literal), e.g. "watchdog"
};
std::string_view write_kind_name(WriteEvent::Kind kind);

struct EffectEvent {
  std::string id;
  std::string region;
  Epoch claim_epoch;
  std::int64_t at_ms = 0;
  // A non-transactional handler's effect is counted at the call, before its done mark; a
  // second call is only a duplicate when it came after a done mark that was acknowledged
  // (a crash between effect and mark re-runs the handler: at-least-once, by contract).
  bool transactional = true;
  bool after_acknowledged_mark = false;
};

// A claim the dedupe store answered (any outcome), with the epoch the caller asked under.
struct ClaimEvent {
  std::string region;
  Epoch caller_epoch;
  ClaimStatus status = ClaimStatus::kBusy;
  std::int64_t at_ms = 0;
};

// A WAL reopened after a crash, as recovery found it (I7).
struct RecoveryEvent {
  std::string region;
  bool opened = false;
  std::string error;             // when !opened
  bool prefix_intact = true;     // every record at or below the pre-crash durable LSN came back
  std::uint64_t durable_before = 0;
  std::uint64_t durable_after = 0;
  bool torn = false;             // recovery truncated a torn tail or a torn segment
  std::int64_t at_ms = 0;
};

struct Violation {
  std::string invariant;  // "I1" .. "I8", "step_error"
  std::string detail;     // one sentence naming the offending ids or epochs
};

// Rare paths the CI seed set must reach (the report counts them).
struct RarePathCounts {
  std::uint64_t torn_tail = 0;
  std::uint64_t wal_repair = 0;   // WAL opens that mended damaged synced frames or dropped a settled head
  std::uint64_t stale_epoch_rejection = 0;
  std::uint64_t lease_steal = 0;  // unplanned takeovers (watchdog "failover_completed")
  std::uint64_t replay = 0;       // records republished by a replayer
  std::uint64_t dead_letter = 0;  // messages moved to main's dead-letter queue
  std::uint64_t switchover = 0;   // planned handovers completed
  // Real-time I5 findings on kRealTimeChecksAwaitingFix, not judged in the default mix.
  std::uint64_t known_finding = 0;

  void add(const RarePathCounts& other);
};

class SimHistory {
 public:
  static constexpr std::size_t kEventsMax = 1'000'000;

  void add_write(WriteEvent event);
  void add_effect(EffectEvent event);
  // A done mark the dedupe store acknowledged (non-transactional handlers: see EffectEvent).
  void add_acknowledged_mark(const std::string& id) {
    if (marked_.size() < kEventsMax) marked_.insert(id);
  }
  bool mark_acknowledged(const std::string& id) const { return marked_.contains(id); }
  void add_claim(ClaimEvent event);
  void add_recovery(RecoveryEvent event);
  void add_alert(std::string region, std::string event, std::int64_t at_ms);
  void add_violation(std::string invariant, std::string detail);
  // Mixes `text` into the history digest (steps, faults, effects).
  void digest(std::string_view text);

  const std::vector<WriteEvent>& writes() const { return writes_; }
  const std::vector<EffectEvent>& effects() const { return effects_; }
  const std::vector<ClaimEvent>& claims() const { return claims_; }
  const std::vector<RecoveryEvent>& recoveries() const { return recoveries_; }
  const std::vector<std::pair<std::string, std::string>>& alerts() const { return alerts_; }  // (region, event)
  const std::vector<Violation>& violations() const { return violations_; }
  bool truncated() const { return truncated_; }
  std::uint64_t hash() const { return hash_; }

  RarePathCounts rare;

 private:
  template <typename T>
  bool room(const std::vector<T>& events) {
    if (events.size() < kEventsMax) return true;
    truncated_ = true;
    return false;
  }

  std::vector<WriteEvent> writes_;
  std::vector<EffectEvent> effects_;
  std::set<std::string> marked_;
  std::vector<ClaimEvent> claims_;
  std::vector<RecoveryEvent> recoveries_;
  std::vector<std::pair<std::string, std::string>> alerts_;
  std::vector<Violation> violations_;
  bool truncated_ = false;
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;  // FNV-1a offset basis
};

}  // namespace hadr::sim
