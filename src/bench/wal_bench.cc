// WAL benchmark (hadr bench wal); see wal_bench.h.
#include "bench/wal_bench.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "core/clock.h"
#include "core/env.h"
#include "wal/wal.h"
#include "wal/wal_format.h"

namespace hadr {
namespace {

constexpr std::chrono::milliseconds kRoundMax{100};
constexpr std::size_t kLatencySamplesMax = 4'000'000;  // per side; later samples are not kept
constexpr std::uint64_t kBatchesPerRoundMax = 100'000'000;

// Per-side counters and per-batch latencies.
struct SideCounters {
  std::uint64_t records = 0;
  std::uint64_t payload_bytes = 0;
  Nanoseconds elapsed{0};
  std::vector<double> latencies_us;

  void add_batch(std::uint64_t batch_records, std::uint64_t batch_bytes, Nanoseconds latency) {
    records += batch_records;
    payload_bytes += batch_bytes;
    elapsed += latency;
    if (latencies_us.size() < kLatencySamplesMax) latencies_us.push_back(static_cast<double>(latency.count()) / 1000.0);
  }
};

double percentile(std::vector<double>& samples, double fraction) {
  if (samples.empty()) return 0;
  const auto rank = static_cast<std::size_t>(fraction * static_cast<double>(samples.size() - 1));
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(rank), samples.end());
  return samples[rank];
}

WalBenchSide summarize(SideCounters& counters, double disk_bytes_per_record) {
  WalBenchSide side;
  side.disk_bytes_per_record = disk_bytes_per_record;
  side.records = counters.records;
  side.payload_bytes = counters.payload_bytes;
  side.seconds = std::chrono::duration<double>(counters.elapsed).count();
  if (side.seconds > 0) {
    side.records_per_s = static_cast<double>(side.records) / side.seconds;
    side.megabytes_per_s = static_cast<double>(side.payload_bytes) / 1e6 / side.seconds;
  }
  side.latency_us_p50 = percentile(counters.latencies_us, 0.50);
  side.latency_us_p99 = percentile(counters.latencies_us, 0.99);
  return side;
}

// The baseline: the same payload bytes, one write() and one fdatasync() per batch, into plain
// files that roll at the WAL's segment size (no header, no checksum, no directory sync).
class Baseline {
 public:
  Baseline(std::string dir, std::uint64_t file_bytes_max) : dir_(std::move(dir)), file_bytes_max_(file_bytes_max) {}

  Status run_round(const std::string& batch_bytes, std::uint64_t batch_records, Nanoseconds round,
                   SideCounters& counters) {
    Clock& clock = RealClock::instance();
    const MonoTime deadline = clock.now_monotonic() + round;
    for (std::uint64_t batch = 0; batch < kBatchesPerRoundMax && clock.now_monotonic() < deadline; ++batch) {
      if (file_ == nullptr || file_->size() + batch_bytes.size() > file_bytes_max_) HADR_TRY(roll());
      const MonoTime start = clock.now_monotonic();
      HADR_TRY(file_->append(batch_bytes));
      HADR_TRY(file_->sync());
      counters.add_batch(batch_records, batch_bytes.size(), clock.now_monotonic() - start);
    }
    return ok_status();
  }

  // Between rounds: drop every file but the one being written.
  Status trim() {
    for (std::uint64_t old = first_kept_; old < sequence_; ++old) HADR_TRY(posix_env().remove_file(path(old)));
    first_kept_ = sequence_;
    return ok_status();
  }

  Status remove_all() {
    if (file_ != nullptr) HADR_TRY(file_->close());
    file_.reset();
    HADR_TRY(trim());
    return sequence_ == 0 ? ok_status() : posix_env().remove_file(path(sequence_));
  }

 private:
  std::string path(std::uint64_t sequence) const { return join_path(dir_, "baseline-" + std::to_string(sequence) + ".dat"); }
  Status roll() {
    if (file_ != nullptr) HADR_TRY(file_->close());
    HADR_ASSIGN_OR_RETURN(file_, posix_env().new_writable_file(path(++sequence_)));
    return ok_status();
  }

  std::string dir_;
  std::uint64_t file_bytes_max_;
  std::unique_ptr<WritableFile> file_;
  std::uint64_t sequence_ = 0;
  std::uint64_t first_kept_ = 1;
};

Status run_wal_round(Wal& wal, const std::vector<WalAppend>& batch, std::uint64_t payload_bytes, Nanoseconds round,
                     SideCounters& counters) {
  Clock& clock = RealClock::instance();
  const MonoTime deadline = clock.now_monotonic() + round;
  for (std::uint64_t index = 0; index < kBatchesPerRoundMax && clock.now_monotonic() < deadline; ++index) {
    const MonoTime start = clock.now_monotonic();
    HADR_TRY(wal.append(batch));
    counters.add_batch(batch.size(), payload_bytes, clock.now_monotonic() - start);
  }
  // Outside the timed region: keep the disk use bounded to about one segment.
  return wal.retain_from(wal.durable_lsn().next());
}

std::vector<WalAppend> make_batch(const WalBenchOptions& options) {
  std::vector<WalAppend> batch(options.batch_records);
  for (std::uint32_t index = 0; index < options.batch_records; ++index) {
    batch[index].epoch = Epoch{1};
    batch[index].message_id = MessageId::parse("bench-" + std::to_string(index)).value();
    batch[index].source_ref = "bench";
    batch[index].payload.assign(options.record_bytes, static_cast<char>('a' + index % 26));
  }
  return batch;
}

Result<std::string> make_directory(const WalBenchOptions& options, bool& remove_after) {
  remove_after = options.dir.empty();
  if (!remove_after) {
    HADR_TRY(posix_env().create_dirs(options.dir));
    return options.dir;
  }
  // Under /var/tmp (disk-backed on every distribution), never /tmp, which may be tmpfs.
  std::string pattern = "/var/tmp/hadr-bench-wal-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) return internal_error("cannot create a temporary directory under /var/tmp");
  return pattern;
}

}  // namespace

Status WalBenchOptions::validate() const {
  if (record_bytes < 1 || record_bytes > (1u << 20)) return invalid_argument("--record-bytes must be 1..1048576");
  if (batch_records < 1 || batch_records > 65536) return invalid_argument("--batch must be 1..65536");
  if (duration < std::chrono::milliseconds(100) || duration > std::chrono::hours(1)) {
    return invalid_argument("--seconds must be between 0.1 and 3600");
  }
  return ok_status();
}

Result<WalBenchReport> run_wal_bench(const WalBenchOptions& options) {
  HADR_TRY(options.validate());
  bool remove_after = false;
  HADR_ASSIGN_OR_RETURN(const std::string dir, make_directory(options, remove_after));
  const std::string wal_dir = join_path(dir, "wal");
  WalOptions wal_options;
  wal_options.record_bytes_max = std::max<std::uint32_t>(wal_options.record_bytes_max, options.record_bytes + 4096);
  wal_options.batch_bytes_max =
      std::max<std::uint64_t>(wal_options.batch_bytes_max, std::uint64_t{options.batch_records} * (options.record_bytes + 4096));
  wal_options.segment_bytes_max = std::max<std::uint64_t>(wal_options.segment_bytes_max, 2 * wal_options.batch_bytes_max);
  HADR_ASSIGN_OR_RETURN(auto wal, Wal::open(posix_env(), wal_dir, wal_options));
  Baseline baseline(dir, wal_options.segment_bytes_max);
  const std::vector<WalAppend> batch = make_batch(options);
  const std::string baseline_bytes(std::uint64_t{options.record_bytes} * options.batch_records, 'b');
  SideCounters wal_counters, baseline_counters;
  const Nanoseconds total = options.duration;
  const auto rounds = static_cast<std::uint64_t>((total + kRoundMax - Nanoseconds(1)) / kRoundMax);
  for (std::uint64_t round = 0; round < rounds; ++round) {
    const Nanoseconds length = std::min<Nanoseconds>(kRoundMax, total - round * Nanoseconds(kRoundMax));
    HADR_TRY(baseline.run_round(baseline_bytes, options.batch_records, length, baseline_counters));
    HADR_TRY(baseline.trim());
    HADR_TRY(run_wal_round(*wal, batch, baseline_bytes.size(), length, wal_counters));
  }
  wal.reset();
  HADR_TRY(baseline.remove_all());
  if (remove_after) std::filesystem::remove_all(dir);
  std::uint64_t wal_batch_bytes = 0;
  for (const WalAppend& record : batch) wal_batch_bytes += kFrameHeaderBytes + encoded_body_bytes(record);
  const double wal_bytes_per_record = static_cast<double>(wal_batch_bytes) / static_cast<double>(batch.size());
  WalBenchReport report{options, summarize(wal_counters, wal_bytes_per_record),
                        summarize(baseline_counters, options.record_bytes), 0, dir};
  if (report.baseline.records_per_s > 0) report.ratio = report.wal.records_per_s / report.baseline.records_per_s;
  return report;
}

std::string wal_bench_json(const WalBenchReport& report) {
  const auto side = [](const WalBenchSide& side) {
    return nlohmann::json{{"records", side.records},
                          {"seconds", side.seconds},
                          {"records_per_s", side.records_per_s},
                          {"mb_per_s", side.megabytes_per_s},
                          {"disk_bytes_per_record", side.disk_bytes_per_record},
                          {"latency_us_p50", side.latency_us_p50},
                          {"latency_us_p99", side.latency_us_p99}};
  };
  const nlohmann::json json{{"ratio", report.ratio},
                            {"wal_records_per_s", report.wal.records_per_s},
                            {"baseline_records_per_s", report.baseline.records_per_s},
                            {"record_bytes", report.options.record_bytes},
                            {"batch", report.options.batch_records},
                            {"seconds_per_side", std::chrono::duration<double>(report.options.duration).count()},
                            {"wal", side(report.wal)},
                            {"baseline", side(report.baseline)}};
  return json.dump();
}

std::string wal_bench_table(const WalBenchReport& report) {
  char text[1024];
  const auto& wal = report.wal;
  const auto& base = report.baseline;
  std::snprintf(text, sizeof(text),
                "hadr bench wal: %u-byte records, batch %u, %.1f s per side, in %s\n"
                "%-9s %14s %10s %14s %14s\n"
                "%-9s %14.0f %10.1f %14.1f %14.1f\n"
                "%-9s %14.0f %10.1f %14.1f %14.1f\n"
                "ratio (wal records/s / baseline records/s): %.3f; bytes written per record: wal %.0f, baseline %.0f\n",
                report.options.record_bytes, report.options.batch_records,
                std::chrono::duration<double>(report.options.duration).count(), report.dir.c_str(), "", "records/s",
                "MB/s", "p50 us", "p99 us", "wal", wal.records_per_s, wal.megabytes_per_s, wal.latency_us_p50,
                wal.latency_us_p99, "baseline", base.records_per_s, base.megabytes_per_s, base.latency_us_p50,
                base.latency_us_p99, report.ratio, wal.disk_bytes_per_record, base.disk_bytes_per_record);
  return text;
}

}  // namespace hadr
