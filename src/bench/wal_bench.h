// WAL benchmark (`hadr bench wal`): measures, in one run and on one directory, the WAL's
// append-to-durable path and a raw baseline — plain write() + fdatasync() of the same payload
// bytes in the same batches into a plain file, nothing else — and reports their ratio.
//
// The two alternate in rounds of at most 100 ms each (baseline, WAL, baseline, …), so
// that drift in the disk's state hits both alike. Each side runs `duration` in total. Between
// rounds (outside the timed region) old WAL segments are retained away and the baseline file
// is restarted, so the disk use stays bounded. Latency is per batch, append call to durable.
// Uses the real disk (posix_env) and the real clock: this is a measurement, not role logic.
// Thread-safety: run one at a time per directory.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/result.h"

namespace hadr {

struct WalBenchOptions {
  std::uint32_t record_bytes = 1024;      // payload bytes per record
  std::uint32_t batch_records = 1;        // records per append / per fdatasync
  std::chrono::milliseconds duration{5000};  // per side
  std::string dir;                        // empty: a fresh temporary directory, removed after

  Status validate() const;
};

struct WalBenchSide {
  std::uint64_t records = 0;
  std::uint64_t payload_bytes = 0;
  double seconds = 0;
  double records_per_s = 0;
  double megabytes_per_s = 0;  // payload MB (10^6 bytes) per second
  double disk_bytes_per_record = 0;  // bytes written per record, framing included
  double latency_us_p50 = 0;   // append call -> durable, per batch
  double latency_us_p99 = 0;
};

struct WalBenchReport {
  WalBenchOptions options;
  WalBenchSide wal;
  WalBenchSide baseline;
  double ratio = 0;  // wal.records_per_s / baseline.records_per_s
  std::string dir;   // where it ran
};

Result<WalBenchReport> run_wal_bench(const WalBenchOptions& options);

// One JSON object with the keys ratio, wal_records_per_s, baseline_records_per_s and the rest.
std::string wal_bench_json(const WalBenchReport& report);
// A small human table.
std::string wal_bench_table(const WalBenchReport& report);

}  // namespace hadr
