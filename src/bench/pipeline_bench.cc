#include "bench/pipeline_bench.h"

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>
#include <unordered_map>
#include <vector>

#include "config/region_config.h"
#include "core/env.h"
#include "embedded/sqlite_bus.h"
#include "embedded/sqlite_connection.h"
#include "handlers/ledger_handler.h"
#include "runtime/region_node.h"
#include "runtime/send_verify.h"
#include "wal/wal.h"

namespace hadr {

namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr std::size_t kBatch = 256;

double per_second(std::uint64_t count, SteadyClock::duration elapsed) {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  return seconds > 0 ? static_cast<double>(count) / seconds : 0;
}

Result<double> measure_wal(const std::string& dir, const PipelineBenchOptions& options) {
  HADR_ASSIGN_OR_RETURN(auto wal, Wal::open(posix_env(), dir, WalOptions{}));
  const std::string body(options.body_bytes, 'x');
  std::vector<WalAppend> batch(kBatch);
  const auto started = SteadyClock::now();
  for (std::uint64_t done = 0; done < options.messages;) {
    const std::size_t size = static_cast<std::size_t>(std::min<std::uint64_t>(kBatch, options.messages - done));
    for (std::size_t i = 0; i < size; ++i) {
      HADR_ASSIGN_OR_RETURN(batch[i].message_id, MessageId::parse("wal-" + std::to_string(done + i)));
      batch[i].epoch = Epoch{1};
      batch[i].payload = body;
    }
    HADR_ASSIGN_OR_RETURN(const Lsn last, wal->append(std::span<const WalAppend>(batch.data(), size)));
    HADR_ASSERT(last.value == done + size);
    done += size;
  }
  return per_second(options.messages, SteadyClock::now() - started);
}

Result<double> measure_bus(const std::string& path, const PipelineBenchOptions& options) {
  HADR_ASSIGN_OR_RETURN(auto bus, SqliteBus::open(path, RealClock::instance()));
  HADR_TRY(bus->create_queue("bench", QueueOptions{}));
  const std::string body(options.body_bytes, 'x');
  const auto started = SteadyClock::now();
  for (std::uint64_t done = 0; done < options.messages;) {
    const std::size_t size = static_cast<std::size_t>(std::min<std::uint64_t>(kBatch, options.messages - done));
    std::vector<BusMessage> batch(size);
    for (std::size_t i = 0; i < size; ++i) {
      HADR_ASSIGN_OR_RETURN(batch[i].id, MessageId::parse("bus-" + std::to_string(done + i)));
      batch[i].body = body;
    }
    HADR_TRY(bus->send("bench", batch));
    HADR_ASSIGN_OR_RETURN(const auto received, bus->receive("bench", size, Milliseconds(30'000)));
    for (const ReceivedMessage& message : received) HADR_TRY(bus->complete("bench", message.lock_token));
    done += size;
  }
  return per_second(options.messages, SteadyClock::now() - started);
}

// Latency percentiles from the ledger's applied_at and the put times of the sender's batches.
Status compute_latency(const RegionConfig& config, const std::vector<std::int64_t>& put_at_ms,
                       PipelineBenchReport& report) {
  HADR_ASSIGN_OR_RETURN(auto connection, SqliteConnection::open(config.embedded.dedupe_path(), SqliteOptions{}));
  HADR_ASSIGN_OR_RETURN(auto query, connection->query("SELECT message_id, applied_at_ms FROM ledger"));
  std::vector<double> latencies;
  latencies.reserve(put_at_ms.size());
  while (true) {
    HADR_ASSIGN_OR_RETURN(const bool row, query.next_row());
    if (!row) break;
    const std::string id = query.column_text(0);
    const std::uint64_t number = std::strtoull(id.c_str() + id.find('-') + 1, nullptr, 10);
    if (number >= 1 && number <= put_at_ms.size()) {
      latencies.push_back(static_cast<double>(query.column_int64(1) - put_at_ms[number - 1]));
    }
  }
  if (latencies.empty()) return ok_status();
  std::sort(latencies.begin(), latencies.end());
  report.latency_ms_p50 = latencies[latencies.size() / 2];
  report.latency_ms_p99 = latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
  return ok_status();
}

Result<RegionConfig> bench_config(const std::string& dir, const PipelineBenchOptions& options) {
  std::ofstream(dir + "/region.toml") << "[region]\nname = \"a\"\ndata_dir = \"data\"\n[backends]\ndir = \"shared\"\n"
                                      << "[workers]\ncount = " << options.workers << "\n"
                                      << "[runtime]\nstats_interval = \"1h\"\n";
  return load_region_config(dir + "/region.toml");
}

Status measure_pipeline(const RegionConfig& config, const PipelineBenchOptions& options, PipelineBenchReport& report) {
  NoCrashPoints no_crash_points;
  HADR_ASSIGN_OR_RETURN(auto node, RegionNode::open(config, NodeRoles{}, no_crash_points));
  std::vector<std::int64_t> put_at_ms;
  put_at_ms.reserve(options.messages);
  Status node_status;
  std::thread node_thread([&] { node_status = node->run(); });
  const auto started = SteadyClock::now();
  SendOptions send;
  send.count = options.messages;
  send.body_bytes = options.body_bytes;
  send.prefix = "bench";
  // One batch per send call so that each batch's put time is known for the latency.
  Status sent_status;
  for (std::uint64_t first = 1; first <= options.messages && sent_status.ok(); first += kBatch) {
    send.first_number = first;
    send.count = std::min<std::uint64_t>(kBatch, options.messages - first + 1);
    const std::int64_t now_ms = unix_millis(RealClock::instance().now_wall());
    auto sent = send_messages(config, send, [] { return false; });
    if (!sent.ok()) sent_status = sent.error();
    put_at_ms.insert(put_at_ms.end(), send.count, now_ms);
  }
  Status drained = sent_status;
  auto ledger = LedgerReader::open(config.embedded.dedupe_path());
  if (drained.ok() && !ledger.ok()) drained = ledger.error();
  // Bounded wait: ten minutes is far beyond any run this bench is meant for.
  const auto deadline = SteadyClock::now() + std::chrono::minutes(10);
  while (drained.ok()) {
    auto summary = (*ledger)->summarize();
    if (!summary.ok()) drained = summary.error();
    else if (summary->distinct_ids >= options.messages) break;
    else if (SteadyClock::now() > deadline) drained = deadline_exceeded("the pipeline did not drain in 10 minutes");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  report.pipeline_messages_per_second = per_second(options.messages, SteadyClock::now() - started);
  node->request_stop();
  node_thread.join();
  HADR_TRY(drained);
  HADR_TRY(node_status);
  return compute_latency(config, put_at_ms, report);
}

}  // namespace

Status PipelineBenchOptions::validate() const {
  if (backend != "embedded") return invalid_argument("--backend " + backend + " is not supported; use embedded");
  if (messages < 1 || messages > 10'000'000) return invalid_argument("--messages must be 1 .. 10,000,000");
  if (workers < 1 || workers > RegionConfig::kMaxWorkers) return invalid_argument("--workers must be 1 .. 64");
  return ok_status();
}

Result<PipelineBenchReport> run_pipeline_bench(const PipelineBenchOptions& options) {
  HADR_TRY(options.validate());
  char pattern[] = "/tmp/hadr-bench-pipeline-XXXXXX";
  if (mkdtemp(pattern) == nullptr) return unavailable("cannot create a temp dir under /tmp");
  const std::string dir = pattern;
  PipelineBenchReport report;
  report.messages = options.messages;
  auto result = [&]() -> Status {
    HADR_ASSIGN_OR_RETURN(const RegionConfig config, bench_config(dir, options));
    HADR_TRY(measure_pipeline(config, options, report));
    HADR_ASSIGN_OR_RETURN(report.wal_messages_per_second, measure_wal(dir + "/wal-only", options));
    HADR_ASSIGN_OR_RETURN(report.bus_messages_per_second, measure_bus(dir + "/bus-only.db", options));
    return ok_status();
  }();
  if (std::system(("rm -rf '" + dir + "'").c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", dir.c_str());
  HADR_TRY(result);
  return report;
}

std::string PipelineBenchReport::to_json() const {
  char text[512];
  std::snprintf(text, sizeof(text),
                "{\"messages\": %llu, \"pipeline_messages_per_second\": %.1f, \"latency_ms_p50\": %.1f, "
                "\"latency_ms_p99\": %.1f, \"wal_messages_per_second\": %.1f, \"bus_messages_per_second\": %.1f}",
                static_cast<unsigned long long>(messages), pipeline_messages_per_second, latency_ms_p50, latency_ms_p99,
                wal_messages_per_second, bus_messages_per_second);
  return text;
}

std::string PipelineBenchReport::to_text() const {
  char text[512];
  std::snprintf(text, sizeof(text),
                "pipeline  %10.1f msg/s  (source -> effect, %llu messages)\n"
                "latency   p50 %.1f ms, p99 %.1f ms  (put -> effect, under saturation)\n"
                "wal only  %10.1f msg/s  (append batches of 256, one fdatasync each)\n"
                "bus only  %10.1f msg/s  (send + receive + complete, batches of 256)\n",
                pipeline_messages_per_second, static_cast<unsigned long long>(messages), latency_ms_p50,
                latency_ms_p99, wal_messages_per_second, bus_messages_per_second);
  return text;
}

}  // namespace hadr
