#include "amqp/amqp_bus_bench.h"

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

#include <chrono>
#include <future>
#include <thread>

#include "amqp/amqp_bus.h"
#include "amqp/amqp_codec.h"

namespace hadr::amqp {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kRawQueue = "bench-raw";
constexpr std::string_view kBusQueue = "bench-bus";

// "<prefix><number>" (appending, not operator+: g++ 12 -O3 warns falsely on the latter).
std::string numbered(std::string_view prefix, std::size_t number) {
  std::string text(prefix);
  text += std::to_string(number);
  return text;
}

// The message both sides publish: a hadr message, encoded by the bus's own codec, so the two
// sides differ only in what AmqpBus adds.
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
      sender.send(encode_bus_message(bench_message("raw-", sent_, body_bytes_), DeliveryStamps{}));
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

Result<SteadyClock::duration> publish_through_bus(AmqpBus& bus, const AmqpBusBenchOptions& options) {
  const auto started = SteadyClock::now();
  std::vector<BusMessage> batch;
  for (std::size_t first = 0; first < options.messages; first += options.batch) {
    batch.clear();
    for (std::size_t i = first; i < std::min(options.messages, first + options.batch); ++i) {
      batch.push_back(bench_message("bus-", i, options.body_bytes));
    }
    HADR_TRY(bus.send(kBusQueue, batch));
  }
  return SteadyClock::now() - started;
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
  if (raw_window < 1 || raw_window > AmqpOptions::kMaxSendWindow) {
    return invalid_argument("bench raw_window must be 1.." + std::to_string(AmqpOptions::kMaxSendWindow));
  }
  if (batch < 1 || batch > Bus::kMaxSendBatch) {
    return invalid_argument("bench batch must be 1.." + std::to_string(Bus::kMaxSendBatch));
  }
  return ok_status();
}

Result<AmqpBusBenchReport> run_amqp_bus_bench(const AmqpBusBenchOptions& options) {
  HADR_TRY(options.validate());
  HADR_ASSIGN_OR_RETURN(auto bus, AmqpBus::open(options.amqp));
  HADR_TRY(bus->create_queue(kRawQueue, QueueOptions{}));
  HADR_TRY(bus->create_queue(kBusQueue, QueueOptions{}));
  // Generous: the slowest durable rate seen here (~1.8k/s, one in flight) times four.
  const Milliseconds deadline(static_cast<std::int64_t>(options.messages) * 2 + 60'000);
  RawPublisher raw(options.amqp, AmqpBus::queue_address(options.amqp, kRawQueue), options.messages,
                   options.raw_window, options.body_bytes);
  HADR_ASSIGN_OR_RETURN(const SteadyClock::duration raw_elapsed, raw.run(deadline));
  HADR_ASSIGN_OR_RETURN(const SteadyClock::duration bus_elapsed, publish_through_bus(*bus, options));
  AmqpBusBenchReport report;
  report.messages = options.messages;
  report.raw_messages_per_second = per_second(options.messages, raw_elapsed);
  report.bus_messages_per_second = per_second(options.messages, bus_elapsed);
  report.ratio = report.raw_messages_per_second > 0 ? report.bus_messages_per_second / report.raw_messages_per_second : 0;
  HADR_TRY(drain(*bus, kRawQueue, options.messages));
  HADR_TRY(drain(*bus, kBusQueue, options.messages));
  return report;
}

}  // namespace hadr::amqp
