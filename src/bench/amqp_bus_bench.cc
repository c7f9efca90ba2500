#include "bench/amqp_bus_bench.h"

#include <proton/binary.hpp>
#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/container.hpp>
#include <proton/delivery_mode.hpp>
#include <proton/message.hpp>
#include <proton/message_id.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/sender.hpp>
#include <proton/sender_options.hpp>
#include <proton/target_options.hpp>
#include <proton/tracker.hpp>
#include <proton/transport.hpp>

#include <stdlib.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <thread>
#include <utility>

#include "amqp/amqp_bus.h"
#include "amqp/amqp_codec.h"
#include "core/env.h"
#include "memory/memory_dedupe_store.h"
#include "memory/memory_source.h"
#include "roles/crash_points.h"
#include "roles/fence.h"
#include "roles/relay.h"
#include "wal/wal.h"

namespace hadr::amqp {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kRawQueue = "bench-raw";
constexpr std::string_view kRelayQueue = "bench-relay";

// "<prefix><number>" (appending, not operator+: g++ 12 -O3 warns falsely on the latter).
std::string numbered(std::string_view prefix, std::size_t number) {
  std::string text(prefix);
  text += std::to_string(number);
  return text;
}

// The message the raw side publishes: a hadr message, encoded by the bus's own codec, as the
// relay's AmqpBus would encode it, so the two sides put the same bytes on the wire.
BusMessage bench_message(std::string_view prefix, std::size_t index, std::size_t body_bytes) {
  BusMessage message;
  message.id = MessageId::parse(numbered(prefix, index)).value();
  message.epoch = Epoch{1};
  message.source_region = RegionId::parse("bench").value();
  message.lsn = Lsn{index + 1};
  message.body = std::string(body_bytes, 'b');
  return message;
}

double per_second(std::size_t count, SteadyClock::duration elapsed) {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  return seconds > 0 ? static_cast<double>(count) / seconds : 0;
}

// The raw baseline: one connection, one sender, `window` unsettled messages in flight, each
// counted on the broker's accept. Runs the container on the calling thread until done, an
// error, or the deadline.
class RawPublisher final : public proton::messaging_handler {
 public:
  RawPublisher(const AmqpOptions& options, std::string address, std::size_t messages, std::size_t window,
               std::size_t body_bytes)
      : options_(options), address_(std::move(address)), messages_(messages), window_(window), body_bytes_(body_bytes) {}

  Result<SteadyClock::duration> run(Milliseconds deadline) {
    proton::container container(*this);
    // run() returns once the connection is closed; the deadline stops it otherwise.
    std::promise<void> finished;
    std::future<void> finished_future = finished.get_future();
    std::thread runner([&] {
      container.run();
      finished.set_value();
    });
    if (finished_future.wait_for(deadline) != std::future_status::ready) {
      container.stop();
      finished_future.wait();
      runner.join();
      return deadline_exceeded("bench raw publisher: not finished within " + std::to_string(deadline.count()) + " ms");
    }
    runner.join();
    if (!error_.empty()) return unavailable("bench raw publisher: " + error_);
    return finished_at_ - started_at_;
  }

  void on_container_start(proton::container& container) override {
    proton::connection_options connection_options;
    connection_options.user(options_.user).password(options_.password.reveal());
    connection_options.sasl_allowed_mechs(options_.user.empty() ? "ANONYMOUS" : "PLAIN");
    connection_options.sasl_allow_insecure_mechs(!options_.tls);
    connection_ = container.connect(options_.url, connection_options);
    connection_.open_sender(address_, proton::sender_options()
                                          .target(proton::target_options().address(address_))
                                          .delivery_mode(proton::delivery_mode::AT_LEAST_ONCE));
  }

  void on_sendable(proton::sender& sender) override {
    if (sent_ == 0) started_at_ = SteadyClock::now();
    while (sent_ < messages_ && sent_ - accepted_ < window_ && sender.credit() > 0) {
      // The stamps AmqpBus adds on RabbitMQ for a queue it created (max delivery count).
      const DeliveryStamps stamps{.max_delivery_count = QueueOptions{}.max_delivery_count};
      sender.send(encode_bus_message(bench_message("raw-", sent_, body_bytes_), stamps));
      ++sent_;
    }
  }

  void on_tracker_accept(proton::tracker& tracker) override {
    if (++accepted_ == messages_) {
      finished_at_ = SteadyClock::now();
      tracker.connection().close();
      return;
    }
    proton::sender sender = tracker.sender();
    on_sendable(sender);
  }
  void on_tracker_reject(proton::tracker& tracker) override { fail(tracker.connection(), "a message was rejected"); }
  void on_tracker_release(proton::tracker& tracker) override { fail(tracker.connection(), "a message was released"); }
  void on_transport_error(proton::transport& transport) override { error_ = transport.error().what(); }
  void on_error(const proton::error_condition& condition) override { error_ = condition.what(); }

 private:
  void fail(proton::connection connection, const std::string& why) {
    error_ = why;
    connection.close();
  }

  const AmqpOptions& options_;
  const std::string address_;
  const std::size_t messages_;
  const std::size_t window_;
  const std::size_t body_bytes_;
  proton::connection connection_;
  std::size_t sent_ = 0;
  std::size_t accepted_ = 0;
  SteadyClock::time_point started_at_{};
  SteadyClock::time_point finished_at_{};
  std::string error_;
};

// The relay's input, counted: each non-empty receive is one WAL append (one fdatasync).
class CountingSource final : public Source {
 public:
  explicit CountingSource(Source& inner) : inner_(inner) {}
  Status put(std::span<const SourceMessage> batch) override { return inner_.put(batch); }
  Result<std::vector<SourceMessage>> receive(std::size_t max) override {
    auto received = inner_.receive(max);
    if (received.ok() && !received->empty()) ++batches_;
    return received;
  }
  Status ack(std::span<const std::string> ack_handles) override { return inner_.ack(ack_handles); }
  Result<std::uint64_t> depth() override { return inner_.depth(); }
  std::uint64_t batches() const { return batches_; }

 private:
  Source& inner_;
  std::uint64_t batches_ = 0;
};

Status fill_source(Source& source, const AmqpBusBenchOptions& options) {
  std::vector<SourceMessage> batch;
  for (std::size_t first = 0; first < options.messages; first += Source::kMaxBatch) {
    batch.clear();
    for (std::size_t i = first; i < std::min(options.messages, first + Source::kMaxBatch); ++i) {
      SourceMessage message;
      message.id = MessageId::parse(numbered("relay-", i)).value();
      message.body = std::string(options.body_bytes, 'b');
      batch.push_back(std::move(message));
    }
    HADR_TRY(source.put(batch));
  }
  return ok_status();
}

// A fresh directory for the WAL, removed when the run ends.
class TemporaryDirectory {
 public:
  static Result<TemporaryDirectory> make(const std::string& parent) {
    std::string pattern = parent + "/hadr-bench-bus-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      return failed_precondition("cannot make a temporary directory under " + parent + ": " + std::strerror(errno) +
                                 "; pass a writable directory");
    }
    return TemporaryDirectory(pattern);
  }
  TemporaryDirectory(TemporaryDirectory&& other) noexcept : path_(std::exchange(other.path_, "")) {}
  ~TemporaryDirectory() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  explicit TemporaryDirectory(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

struct RelayRun {
  SteadyClock::duration elapsed{};
  std::uint64_t wal_batches = 0;
  std::uint64_t steps = 0;
};

// Steps the relay until every message is published and acked to the source (or a deadline).
Result<RelayRun> drive_relay(Relay& relay, const CountingSource& source, std::size_t messages, Milliseconds deadline) {
  RelayRun run;
  const auto started = SteadyClock::now();
  const auto give_up_at = started + deadline;
  // Every step moves at least one batch, or is idle (backing off): bounded by the deadline.
  while (true) {
    const RelayStats stats = relay.stats();
    if (stats.published >= messages && stats.acked >= messages) break;
    if (SteadyClock::now() >= give_up_at) {
      return deadline_exceeded("bench relay: " + std::to_string(stats.published) + " of " + std::to_string(messages) +
                               " published within " + std::to_string(deadline.count()) + " ms; last error: " +
                               relay.health().last_error);
    }
    HADR_ASSIGN_OR_RETURN(const StepOutcome outcome, relay.step());
    ++run.steps;
    // Idle = backing off after a failed send or receive: wait as a driver would.
    if (outcome == StepOutcome::kIdle) std::this_thread::sleep_for(Milliseconds(1));
  }
  run.elapsed = SteadyClock::now() - started;
  run.wal_batches = source.batches();
  return run;
}

Result<RelayRun> publish_through_relay(AmqpBus& bus, const AmqpBusBenchOptions& options, Milliseconds deadline) {
  MemorySourceServer source_server(RealClock::instance(), "bench-source");
  HADR_ASSIGN_OR_RETURN(auto input, MemorySource::open(source_server, "relay", std::chrono::minutes(10)));
  HADR_TRY(fill_source(*input, options));
  CountingSource source(*input);
  HADR_ASSIGN_OR_RETURN(TemporaryDirectory directory, TemporaryDirectory::make(options.temp_parent));
  HADR_ASSIGN_OR_RETURN(auto wal, Wal::open(posix_env(), directory.path(), WalOptions{}));
  MemoryDedupeServer dedupe_server(RealClock::instance());
  MemoryDedupeStore dedupe(dedupe_server);
  StaticFence fence(Epoch{1});
  NoCrashPoints crash_points;
  RelayOptions relay_options;
  relay_options.region = RegionId::parse("bench").value();
  relay_options.staging_queue = std::string(kRelayQueue);
  relay_options.batch_max = options.relay_batch;
  relay_options.in_flight_max = options.relay_in_flight_max;
  const RelayDependencies dependencies{.source = source, .wal = *wal, .env = posix_env(), .bus = bus,
                                       .dedupe = dedupe, .fence = fence, .clock = RealClock::instance(),
                                       .crash_points = crash_points};
  HADR_ASSIGN_OR_RETURN(auto relay, Relay::create(dependencies, relay_options));
  return drive_relay(*relay, source, options.messages, deadline);
}

// Receives and completes up to `expected` messages so the run leaves empty queues behind.
Status drain(AmqpBus& bus, std::string_view queue, std::size_t expected) {
  std::size_t drained = 0;
  const std::size_t max_rounds = expected / Bus::kMaxReceiveBatch + 10;
  for (std::size_t round = 0; round < max_rounds && drained < expected; ++round) {
    HADR_ASSIGN_OR_RETURN(auto received, bus.receive(queue, Bus::kMaxReceiveBatch, std::chrono::minutes(1)));
    if (received.empty()) break;
    for (const ReceivedMessage& message : received) HADR_TRY(bus.complete(queue, message.lock_token));
    drained += received.size();
  }
  return ok_status();
}

}  // namespace

Status AmqpBusBenchOptions::validate() const {
  HADR_TRY(amqp.validate());
  if (messages < 1 || messages > kMaxMessages) {
    return invalid_argument("bench messages must be 1.." + std::to_string(kMaxMessages));
  }
  if (body_bytes > kMaxBodyBytes) return invalid_argument("bench body_bytes must be 0.." + std::to_string(kMaxBodyBytes));
  if (window < 1 || window > AmqpOptions::kMaxSendWindow) {
    return invalid_argument("bench window must be 1.." + std::to_string(AmqpOptions::kMaxSendWindow));
  }
  const std::size_t batch_limit = std::min(Source::kMaxBatch, Bus::kMaxSendBatch);
  if (relay_batch < 1 || relay_batch > batch_limit) {
    return invalid_argument("bench relay_batch must be 1.." + std::to_string(batch_limit));
  }
  if (relay_in_flight_max < relay_batch || relay_in_flight_max > Relay::kInFlightHardMax) {
    return invalid_argument("bench relay_in_flight_max must be relay_batch.." + std::to_string(Relay::kInFlightHardMax));
  }
  if (temp_parent.empty()) return invalid_argument("bench temp_parent is empty; name a writable directory");
  return ok_status();
}

Result<AmqpBusBenchReport> run_amqp_bus_bench(const AmqpBusBenchOptions& options) {
  HADR_TRY(options.validate());
  AmqpOptions amqp = options.amqp;
  amqp.send_window = options.window;  // the same window on both sides
  HADR_ASSIGN_OR_RETURN(auto bus, AmqpBus::open(amqp));
  HADR_TRY(bus->create_queue(kRawQueue, QueueOptions{}));
  HADR_TRY(bus->create_queue(kRelayQueue, QueueOptions{}));
  // Generous: the slowest durable rate seen here (~1.8k/s, one in flight) times four.
  const Milliseconds deadline(static_cast<std::int64_t>(options.messages) * 2 + 60'000);
  RawPublisher raw(amqp, AmqpBus::queue_address(amqp, kRawQueue), options.messages, options.window,
                   options.body_bytes);
  HADR_ASSIGN_OR_RETURN(const SteadyClock::duration raw_elapsed, raw.run(deadline));
  HADR_ASSIGN_OR_RETURN(const RelayRun relay, publish_through_relay(*bus, options, deadline));
  AmqpBusBenchReport report{.messages = options.messages, .body_bytes = options.body_bytes, .window = options.window,
                            .relay_batch = options.relay_batch};
  report.raw_messages_per_second = per_second(options.messages, raw_elapsed);
  report.relay_messages_per_second = per_second(options.messages, relay.elapsed);
  report.ratio = report.raw_messages_per_second > 0
                     ? report.relay_messages_per_second / report.raw_messages_per_second
                     : 0;
  report.wal_batches = relay.wal_batches;
  report.relay_steps = relay.steps;
  HADR_TRY(drain(*bus, kRawQueue, options.messages));
  HADR_TRY(drain(*bus, kRelayQueue, options.messages));
  return report;
}

}  // namespace hadr::amqp
