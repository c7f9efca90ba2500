// ProgressLine: the line a region process prints on stderr every runtime.stats_interval
// (docs/operations.md, "Progress lines"):
//
//   2026-12-07T12:05:19.123Z hadr node [a]: appended 1500 (250/s) acked 1500 published 1500
//   (250/s) promoted 1256 (210/s) effects 650 (140/s) suppressed_duplicates 0 dead_lettered 0
//   checkpoint 600 | depth staging 0 main 606 | lag relay 0 promoter 0 checkpointer 44 workers 0
//
// a UTC timestamp, the process's cumulative counters with the rate of each flow over the last
// interval, the messages waiting between the stages (`hadr node` only), and each role's backlog (Role health `lag`: for the relay, WAL records not yet on
// the bus). A sample equal to the last printed one (an idle process) prints nothing, except a
// reminder every `idle_repeat` ("idle for 60 s"); the final line at a stop always prints.
//
// Ownership: plain value. Thread-safety: one thread (the node's watcher).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"

namespace hadr {

struct ProgressSample {
  std::uint64_t appended = 0;
  std::uint64_t acked = 0;
  std::uint64_t published = 0;
  std::uint64_t promoted = 0;
  std::uint64_t effects = 0;
  std::uint64_t suppressed_duplicates = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t checkpoint = 0;
  // Messages between the stages, from this process's counters when it runs every role
  // (`hadr node`): on staging (published - promoted) and on main (promoted - effects -
  // suppressed - dead-lettered); approximate (a SIGKILL loses the last counts; replayed
  // records do not pass the relay). Unset in a single-role process.
  std::optional<std::int64_t> staging_depth;
  std::optional<std::int64_t> main_depth;
  // Backlog per role kind ("relay", "promoter", "workers" summed over worker-N, ...), in the
  // order first seen; roles without a backlog measure report 0.
  std::vector<std::pair<std::string, std::int64_t>> lags;

  bool operator==(const ProgressSample&) const = default;
};

class ProgressLine {
 public:
  static constexpr Milliseconds kIdleRepeat{60'000};

  ProgressLine(std::string process, std::string region, Milliseconds idle_repeat = kIdleRepeat)
      : process_(std::move(process)), region_(std::move(region)), idle_repeat_(idle_repeat) {}

  // The line to print for `sample` taken at `wall`/`now`, or nothing when it equals the last
  // printed sample and the idle reminder is not due. `always`: print regardless (a stop).
  std::optional<std::string> next(const ProgressSample& sample, WallTime wall, MonoTime now, bool always = false);

 private:
  std::string process_;
  std::string region_;
  Milliseconds idle_repeat_;
  std::optional<ProgressSample> last_;  // the last sample printed
  MonoTime last_at_{};                  // when it was taken
  MonoTime last_printed_at_{};
};

// "2026-12-07T12:05:19.123Z".
std::string utc_timestamp(WallTime time);

}  // namespace hadr
