// AmqpConnection: one AMQP 1.0 connection (Qpid Proton C++) with synchronous, bounded calls.
//
// Proton runs its own container thread; every call here posts work to it and waits for the
// answer with a deadline (operation_timeout, connect_timeout), so no call hangs forever:
//   - send(address, messages): unsettled transfers, at most send_window in flight; ok only
//     when the broker *accepted* every message; rejected / released / modified / a lost link
//     is an error naming the first failed message. A timeout is kDeadlineExceeded (some may
//     have been accepted).
//   - receive(address, max, quiet): a fresh receiver link with `max` credit; returns the
//     deliveries that arrived until `max` came or none came for `quiet`. Each stays unsettled
//     under a DeliveryHandle until settle(). Deliveries that arrive after the call returned
//     are released at once; the link is detached once its last delivery is settled.
//   - settle(handle, outcome), settle_all(handles, outcome): accept / release / reject, in one
//     trip to the container thread. A handle from before a reconnect, or already settled, is
//     kAborted "lock lost" (the others of the call are still settled). When the settlements
//     empty a receiver link, the call closes it and returns only once the broker answered the
//     detach: the broker handles a session's frames in order, so the answer means it processed
//     the settlements (an accept followed at once by a connection close can be lost otherwise).
//     A settlement that leaves its link open is sent, not confirmed (AMQP has no confirm).
//   - count_available(address): receives up to depth_count_max and releases them all: a
//     best-effort count (messages other receivers hold are not seen; the count is capped).
//   - declare_durable_queue(address) attaches a sender with a durable target (RabbitMQ
//     declares the queue durable) on its own session; check_source_exists(address) attaches a
//     receiver with no credit on its own session: the broker ending that session with
//     amqp:not-found is kNotFound. Own sessions, because RabbitMQ ends the whole session on
//     such errors.
// Reconnect: when the connection is lost, every pending call fails (kUnavailable) and every
// handle dies; the next call reconnects, up to max_reconnect_attempts with exponential backoff
// (reconnect_backoff_initial doubling up to reconnect_backoff_max), then kUnavailable.
// Shutdown (destructor): releases held deliveries, detaches every link and waits for the
// broker's detach before closing the connection (an accept followed at once by a connection
// close can be lost on RabbitMQ), then stops and joins the container thread.
//
// Ownership: owns the container and its thread. Thread-safety: every public method is safe
// from any thread; state touched by Proton callbacks lives on the container thread only.
// Errors never contain the password (Proton's SASL errors do not carry it either).
#pragma once

#include <proton/message.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "amqp/amqp_options.h"
#include "core/result.h"

namespace hadr::amqp {

struct DeliveryHandle {
  std::uint64_t generation = 0;  // connection generation that received it
  std::uint64_t id = 0;
};

struct ReceivedDelivery {
  DeliveryHandle handle;
  proton::message message;
};

enum class Outcome { kAccept, kRelease, kReject };

class AmqpConnection {
 public:
  static constexpr std::size_t kMaxReceive = 100'000;

  // Validates the options and connects once (kUnavailable when the broker cannot be reached).
  static Result<std::unique_ptr<AmqpConnection>> open(AmqpOptions options);
  ~AmqpConnection();
  AmqpConnection(const AmqpConnection&) = delete;
  AmqpConnection& operator=(const AmqpConnection&) = delete;

  Status declare_durable_queue(const std::string& address);
  Status check_source_exists(const std::string& address);
  Status send(const std::string& address, std::vector<proton::message> messages);
  Result<std::vector<ReceivedDelivery>> receive(const std::string& address, std::size_t max, Milliseconds quiet);
  Status settle(const DeliveryHandle& handle, Outcome outcome);
  Status settle_all(std::span<const DeliveryHandle> handles, Outcome outcome);
  Result<std::uint64_t> count_available(const std::string& address);

  // Increments on every reconnect; handles of older generations are dead.
  std::uint64_t generation() const;
  const AmqpOptions& options() const { return options_; }

  class Engine;  // the Proton messaging handler; lives on the container thread

 private:
  explicit AmqpConnection(AmqpOptions options);
  Status ensure_connected();
  Status connect_once();

  const AmqpOptions options_;
  std::unique_ptr<Engine> engine_;
  std::mutex connect_mutex_;  // one reconnect at a time
};

}  // namespace hadr::amqp
