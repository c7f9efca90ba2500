// `hadr bench pipeline --backend embedded`: the whole region in one process, measured from the
// source put to the ledger effect, with the two raw stages of the same run beside it so the
// bottleneck is visible:
//   pipeline  a sender thread puts N messages into the embedded source as fast as it accepts
//             them while a RegionNode (relay, promoter, checkpointer, workers) runs; messages/s
//             from the first put to the last effect; latency per message = the ledger's
//             applied_at minus the put time (it includes queueing: the source is filled faster
//             than the pipeline drains it, so read p50/p99 as latency under saturation);
//   wal       the same N records appended to a fresh WAL in batches of relay.batch_max;
//   bus       N messages sent, received and completed on a fresh SQLite bus, in batches.
// Runs in a temp dir (removed afterwards). Speed is reported, never asserted.
// Thread-safety: one call at a time (it starts and joins its own node threads).
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"

namespace hadr {

struct PipelineBenchOptions {
  std::string backend = "embedded";
  std::uint64_t messages = 5'000;  // 1 .. 10,000,000
  std::size_t body_bytes = 100;
  std::size_t workers = 4;
  Status validate() const;
};

struct PipelineBenchReport {
  std::uint64_t messages = 0;
  double pipeline_messages_per_second = 0;
  double latency_ms_p50 = 0;
  double latency_ms_p99 = 0;
  double wal_messages_per_second = 0;
  double bus_messages_per_second = 0;
  std::string to_json() const;
  std::string to_text() const;
};

Result<PipelineBenchReport> run_pipeline_bench(const PipelineBenchOptions& options);

}  // namespace hadr
