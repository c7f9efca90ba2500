#include "amqp/amqp_connection.h"

#include <proton/link.h>
#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/container.hpp>
#include <proton/delivery.hpp>
#include <proton/delivery_mode.hpp>
#include <proton/error_condition.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver.hpp>
#include <proton/receiver_options.hpp>
#include <proton/sender.hpp>
#include <proton/sender_options.hpp>
#include <proton/session.hpp>
#include <proton/ssl.hpp>
#include <proton/target.hpp>
#include <proton/target_options.hpp>
#include <proton/tracker.hpp>
#include <proton/transport.hpp>
#include <proton/work_queue.hpp>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <thread>
#include <unordered_map>

namespace hadr::amqp {

namespace {

using SteadyClock = std::chrono::steady_clock;

// How long shutdown waits for the broker to confirm link detaches and the connection close.
constexpr Milliseconds kShutdownTimeout{3'000};
// Idle timeout we announce: the broker hears from us at least this often, and a dead broker
// is noticed within it.
constexpr Milliseconds kIdleTimeout{30'000};

// One call's answer: filled on the container thread, awaited on the caller's thread.
class Completion {
 public:
  void finish(Status status) {
    {
      std::lock_guard lock(mutex_);
      if (done_) return;
      done_ = true;
      status_ = std::move(status);
    }
    changed_.notify_all();
  }
  // False when `timeout` passed first.
  bool wait_for(Milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [this] { return done_; });
  }
  bool done() const {
    std::lock_guard lock(mutex_);
    return done_;
  }
  Status status() const {
    std::lock_guard lock(mutex_);
    HADR_ASSERT(done_);
    return status_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool done_ = false;
  Status status_;
};

struct SendCall {
  explicit SendCall(std::vector<proton::message> batch) : messages(std::move(batch)) {}
  Completion completion;
  std::vector<proton::message> messages;
  std::string address;
  // Container thread only:
  std::size_t next = 0;
  std::size_t in_flight = 0;
  std::size_t accepted = 0;
  std::atomic<bool> abandoned{false};
};

struct ReceiveCall {
  explicit ReceiveCall(std::size_t max_messages) : max(max_messages) {}
  const std::size_t max;
  std::mutex mutex;
  std::condition_variable changed;
  // Guarded by mutex:
  std::vector<ReceivedDelivery> arrived;
  SteadyClock::time_point last_progress{};
  bool credit_granted = false;
  bool failed = false;
  Status failure;
  // Container thread only. The engine empties `receiver` when it lets go of the call: the
  // caller's thread may drop the last reference to this object, and a Proton handle released
  // there races the container thread on the link's (non-atomic) reference count; that corrupted
  // the connection's count and crashed ~Engine under load (ASan: SEGV in pn_class_decref).
  proton::receiver receiver;
  bool finished = false;  // the caller has its messages; later arrivals are released
  std::size_t held = 0;   // delivered and not yet settled

  void fail(Status status) {
    {
      std::lock_guard lock(mutex);
      if (failed) return;
      failed = true;
      failure = std::move(status);
    }
    changed.notify_all();
  }
};

struct HeldDelivery {
  proton::delivery delivery;
  std::shared_ptr<ReceiveCall> call;
};

struct SenderState {
  proton::sender sender;
  bool open = false;
  std::deque<std::shared_ptr<SendCall>> waiting;  // calls with messages still to send
};

// Proton C++ has no call to take credit back; its C API does (pn_link_flow with a negative
// amount). A class derived from proton::receiver may name the protected pn_object() accessor,
// and a pointer to that member applies to any receiver: standard C++, no cast.
struct ReceiverAccess : proton::receiver {
  static pn_link_t* raw(const proton::receiver& receiver) {
    auto accessor = &ReceiverAccess::pn_object;
    return (receiver.*accessor)();
  }
};

// Sets the link's credit to zero, so the broker sends nothing more on it — in particular not a
// message we release on it (RabbitMQ hands a released message straight back to a consumer
// that still has credit).
void withdraw_credit(const proton::receiver& receiver) {
  pn_link_t* link = ReceiverAccess::raw(receiver);
  const int credit = pn_link_credit(link);
  if (credit > 0) pn_link_flow(link, -credit);
}

std::string condition_text(const proton::error_condition& condition) {
  if (!condition) return "no reason given";
  return condition.name() + ": " + condition.description();
}

}  // namespace

class AmqpConnection::Engine final : public proton::messaging_handler {
 public:
  explicit Engine(const AmqpOptions& options) : options_(options), container_(*this), work_queue_(container_) {
    container_.auto_stop(false);
    thread_ = std::thread([this] { container_.run(); });
  }

  ~Engine() override {
    container_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // Runs `work` on the container thread (thread-safe: a container work queue wakes it).
  // Work done outside the connection's own context leaves its output unflushed until the
  // connection is next woken, so every piece of work ends by waking it.
  void post(std::function<void()> work) {
    work_queue_.add([this, work = std::move(work)] {
      work();
      if (transport_live_) connection_.wake();
    });
  }

  bool connected() const { return connected_.load(); }
  std::uint64_t generation() const { return generation_.load(); }

  // ---- called on the container thread (through post) ----

  void start_connect(std::shared_ptr<Completion> completion) {
    if (!connection_.uninitialized() && connection_.active()) connection_.close();
    connect_completion_ = std::move(completion);
    proton::connection_options connection_options;
    if (!options_.user.empty()) {
      connection_options.user(options_.user);
      connection_options.password(options_.password.reveal());
      connection_options.sasl_allowed_mechs("PLAIN");
    } else {
      connection_options.sasl_allowed_mechs("ANONYMOUS");
    }
    // PLAIN over an unencrypted loopback connection is what a local RabbitMQ needs; with TLS
    // the mechanism is protected by the channel.
    connection_options.sasl_allow_insecure_mechs(!options_.tls);
    // The server's name is verified against the system's CAs, or the file tls_ca_file names.
    if (options_.tls && options_.tls_ca_file.empty()) connection_options.ssl_client_options(proton::ssl_client_options());
    if (options_.tls && !options_.tls_ca_file.empty()) {
      connection_options.ssl_client_options(proton::ssl_client_options(options_.tls_ca_file, proton::ssl::VERIFY_PEER_NAME));
    }
    connection_options.idle_timeout(proton::duration(kIdleTimeout.count()));
    connection_ = container_.connect(options_.url, connection_options);
    transport_live_ = true;
  }

  void abort_connect() {
    if (!connection_.uninitialized() && !connected_) connection_.close();
    connect_completion_.reset();
  }

  void start_send(const std::string& address, std::shared_ptr<SendCall> call) {
    if (!connected_) return call->completion.finish(unavailable("the AMQP connection was lost"));
    call->address = address;
    auto found = senders_.find(address);
    if (found == senders_.end()) {
      proton::sender_options sender_options;
      sender_options.target(proton::target_options().address(address));
      sender_options.delivery_mode(proton::delivery_mode::AT_LEAST_ONCE);
      sender_options.auto_settle(true);
      SenderState state;
      state.sender = connection_.open_sender(address, sender_options);
      sender_addresses_[state.sender] = address;
      found = senders_.emplace(address, std::move(state)).first;
    }
    found->second.waiting.push_back(std::move(call));
    if (found->second.open) pump(found->second);
  }

  void start_receive(const std::string& address, std::shared_ptr<ReceiveCall> call) {
    if (!connected_) return call->fail(unavailable("the AMQP connection was lost"));
    proton::receiver_options receiver_options;
    receiver_options.credit_window(0).auto_accept(false);
    // Each receive gets a session of its own, ended with its link (receiver_ended): see there.
    call->receiver = connection_.open_session().open_receiver(address, receiver_options);
    batches_[call->receiver] = std::move(call);
  }

  std::vector<ReceivedDelivery> finish_receive(const std::shared_ptr<ReceiveCall>& call) {
    call->finished = true;
    // No link when the call failed before one was opened (start_receive on a lost connection)
    // or the engine let go of it (the connection or the link was lost). Proton's
    // `uninitialized()` is an endpoint state and dereferences the link: the raw pointer is the
    // test (a lost broker then crashed the node with SIGSEGV on SIGTERM, in finish_receive).
    if (ReceiverAccess::raw(call->receiver) != nullptr && call->receiver.active()) withdraw_credit(call->receiver);
    std::vector<ReceivedDelivery> arrived;
    {
      std::lock_guard lock(call->mutex);
      arrived.swap(call->arrived);
    }
    close_receiver_if_idle(call);
    return arrived;
  }

  // Opens a link of the given direction on its own session (see the header: RabbitMQ ends the
  // session on a missing queue or a conflicting declare).
  void start_session_call(const std::string& address, bool declare, std::shared_ptr<Completion> completion) {
    if (!connected_) return completion->finish(unavailable("the AMQP connection was lost"));
    proton::session session = connection_.open_session();
    session_calls_[session] = SessionCall{std::move(completion), address};
    if (declare) {
      proton::target_options target;
      target.address(address).durability_mode(proton::target::UNSETTLED_STATE);
      session.open_sender(address, proton::sender_options().target(target));
    } else {
      session.open_receiver(address, proton::receiver_options().credit_window(0).auto_accept(false));
    }
  }

  // Settles every handle; the first one not live makes the answer kAborted (the others are
  // still settled). `detached` finishes once the broker answered the detach of every receiver
  // link this emptied: a session's frames are handled in order, so that answer means the
  // settlements were processed (SERVICES.md: accepts just before a close can be lost).
  Status settle_all(const std::vector<DeliveryHandle>& handles, Outcome outcome,
                    const std::shared_ptr<Completion>& detached) {
    HADR_ASSERT(detached != nullptr);
    Status first_failure = ok_status();
    auto wait = std::make_shared<DetachWait>(DetachWait{detached, 0});
    for (const DeliveryHandle& handle : handles) {
      std::optional<proton::receiver> closed;
      Status settled = settle_one(handle, outcome, closed);
      if (!settled.ok() && first_failure.ok()) first_failure = std::move(settled);
      if (closed) {
        detach_waits_[*closed] = wait;
        ++wait->remaining;
      }
    }
    if (wait->remaining == 0) detached->finish(ok_status());
    return first_failure;
  }

  void start_shutdown(std::shared_ptr<Completion> completion) {
    shutdown_completion_ = std::move(completion);
    shutting_down_ = true;
    if (!connected_) return shutdown_completion_->finish(ok_status());
    for (auto& [id, held] : held_) held.delivery.release();
    held_.clear();
    for (auto& [address, state] : senders_) close_link(state.sender);
    for (auto& [receiver, call] : batches_) close_link(receiver);
    if (links_closing_ == 0) connection_.close();
  }

  // ---- Proton events ----

  void on_connection_open(proton::connection& connection) override {
    if (connection != connection_) return;
    connected_ = true;
    if (connect_completion_) connect_completion_->finish(ok_status());
    connect_completion_.reset();
  }

  void on_connection_close(proton::connection& connection) override {
    if (connection != connection_) return;
    if (shutting_down_ && shutdown_completion_) return shutdown_completion_->finish(ok_status());
    lose_connection("the broker closed the connection: " + condition_text(connection.error()));
  }

  void on_connection_error(proton::connection& connection) override {
    if (connection != connection_) return;
    lose_connection("connection error: " + condition_text(connection.error()));
  }

  void on_transport_close(proton::transport& transport) override {
    if (transport.connection() == connection_) transport_live_ = false;
  }

  void on_transport_error(proton::transport& transport) override {
    if (transport.connection() != connection_) return;
    lose_connection("transport error: " + condition_text(transport.error()));
    if (shutting_down_ && shutdown_completion_) shutdown_completion_->finish(ok_status());
  }

  void on_session_error(proton::session& session) override {
    auto found = session_calls_.find(session);
    if (found == session_calls_.end()) {
      // The shared session is gone, and with it every link and delivery: start afresh.
      const std::string reason = "the broker ended the session: " + condition_text(session.error());
      if (connection_.active()) connection_.close();
      return lose_connection(reason);
    }
    finish_session_call(found, session.error());
  }

  void on_sender_open(proton::sender& sender) override {
    if (finish_session_call_on_open(sender.session())) return;
    auto address = sender_addresses_.find(sender);
    if (address == sender_addresses_.end()) return;
    SenderState& state = senders_.at(address->second);
    state.open = true;
    pump(state);
  }

  void on_sendable(proton::sender& sender) override {
    auto address = sender_addresses_.find(sender);
    if (address != sender_addresses_.end()) pump(senders_.at(address->second));
  }

  void on_sender_error(proton::sender& sender) override { sender_gone(sender, condition_text(sender.error())); }
  // RabbitMQ answers a close with a plain detach (closed=false): both end a link for us.
  void on_sender_close(proton::sender& sender) override { sender_ended(sender); }
  void on_sender_detach(proton::sender& sender) override { sender_ended(sender); }

  void on_receiver_open(proton::receiver& receiver) override {
    if (finish_session_call_on_open(receiver.session())) return;
    auto found = batches_.find(receiver);
    if (found == batches_.end()) return;
    ReceiveCall& call = *found->second;
    receiver.add_credit(static_cast<int>(call.max));
    {
      std::lock_guard lock(call.mutex);
      call.credit_granted = true;
      call.last_progress = SteadyClock::now();
    }
    call.changed.notify_all();
  }

  void on_receiver_error(proton::receiver& receiver) override {
    auto session_call = session_calls_.find(receiver.session());
    if (session_call != session_calls_.end()) return finish_session_call(session_call, receiver.error());
    receiver_gone(receiver, "receiver link error: " + condition_text(receiver.error()));
  }

  void on_receiver_close(proton::receiver& receiver) override { receiver_ended(receiver); }
  void on_receiver_detach(proton::receiver& receiver) override { receiver_ended(receiver); }

  void on_message(proton::delivery& delivery, proton::message& message) override {
    auto found = batches_.find(delivery.receiver());
    if (found == batches_.end() || found->second->finished) {
      // Credit left over from a receive() that already returned: hand it straight back.
      delivery.release();
      return;
    }
    ReceiveCall& call = *found->second;
    const std::uint64_t id = ++next_delivery_id_;
    held_.emplace(id, HeldDelivery{delivery, found->second});
    ++call.held;
    {
      std::lock_guard lock(call.mutex);
      call.arrived.push_back(ReceivedDelivery{DeliveryHandle{generation_.load(), id}, message});
      call.last_progress = SteadyClock::now();
    }
    call.changed.notify_all();
  }

  void on_tracker_accept(proton::tracker& tracker) override {
    auto found = trackers_.find(tracker);
    if (found == trackers_.end()) return;
    std::shared_ptr<SendCall> call = found->second;
    trackers_.erase(found);
    --call->in_flight;
    ++call->accepted;
    if (call->accepted == call->messages.size()) call->completion.finish(ok_status());
    on_sendable_again(tracker.sender());
  }

  void on_tracker_reject(proton::tracker& tracker) override {
    fail_tracker(tracker, ErrorCode::kFailedPrecondition, "rejected");
  }

  // Released and modified both arrive here: the broker did not take the message.
  void on_tracker_release(proton::tracker& tracker) override {
    fail_tracker(tracker, ErrorCode::kUnavailable, "released (not taken)");
  }

  // Errors are handled by the specific callbacks above; the default would throw.
  void on_error(const proton::error_condition&) override {}

 private:
  struct SessionCall {
    std::shared_ptr<Completion> completion;
    std::string address;
  };
  using SessionCalls = std::map<proton::session, SessionCall>;
  // One settle_all() waiting for the detach answers of the links it closed.
  struct DetachWait {
    std::shared_ptr<Completion> detached;
    std::size_t remaining = 0;
  };

  // Settles one delivery; `closed` is the receiver link this emptied and closed, if any.
  Status settle_one(const DeliveryHandle& handle, Outcome outcome, std::optional<proton::receiver>& closed) {
    if (handle.generation != generation_) {
      return aborted("lock lost: the AMQP connection was re-established since this message was received");
    }
    auto found = held_.find(handle.id);
    if (found == held_.end()) return aborted("lock lost: the delivery was already settled or its link closed");
    proton::delivery delivery = found->second.delivery;
    std::shared_ptr<ReceiveCall> call = found->second.call;
    held_.erase(found);
    HADR_ASSERT(call->held > 0);
    --call->held;
    switch (outcome) {
      case Outcome::kAccept:
        delivery.accept();
        break;
      case Outcome::kRelease:
        delivery.release();
        break;
      case Outcome::kReject:
        delivery.reject();
        break;
    }
    closed = close_receiver_if_idle(call);
    return ok_status();
  }

  void sender_ended(const proton::sender& sender) {
    link_closed();
    sender_gone(sender, "the broker detached the link");
  }

  void receiver_ended(const proton::receiver& receiver) {
    link_closed();
    auto wait = detach_waits_.find(receiver);
    if (wait != detach_waits_.end()) {
      if (--wait->second->remaining == 0) wait->second->detached->finish(ok_status());
      detach_waits_.erase(wait);
    }
    receiver_gone(receiver, "the broker detached the receiver link");
    // The credit of a receive can still bring a message after it returned (the broker had sent
    // it before it saw the credit withdrawn, or the link's detach). Such a message is released,
    // but RabbitMQ may ignore a release for a link that is already detached, and then the
    // message stays unacknowledged on the session — invisible to every consumer — until the
    // session ends (seen in CI: a closed consumer's messages never reached another one). So a
    // receive's session ends with its link: the broker requeues whatever is left on it.
    proton::session session = receiver.session();
    if (session_calls_.find(session) == session_calls_.end() && session.active()) session.close();
  }

  void pump(SenderState& state) {
    while (!state.waiting.empty()) {
      SendCall& call = *state.waiting.front();
      if (call.abandoned || call.completion.done()) {
        state.waiting.pop_front();
        continue;
      }
      while (call.next < call.messages.size() && call.in_flight < options_.send_window &&
             state.sender.credit() > 0) {
        proton::tracker tracker = state.sender.send(call.messages[call.next]);
        call.messages[call.next] = proton::message();  // sent: free the body now
        trackers_.emplace(tracker, state.waiting.front());
        ++call.next;
        ++call.in_flight;
      }
      if (call.next < call.messages.size()) return;  // the window or the broker's credit is full
      state.waiting.pop_front();                     // all sent; the trackers finish the call
    }
  }

  void on_sendable_again(const proton::sender& sender) {
    auto address = sender_addresses_.find(sender);
    if (address != sender_addresses_.end()) pump(senders_.at(address->second));
  }

  void fail_tracker(proton::tracker& tracker, ErrorCode code, std::string_view what) {
    auto found = trackers_.find(tracker);
    if (found == trackers_.end()) return;
    std::shared_ptr<SendCall> call = found->second;
    trackers_.erase(found);
    --call->in_flight;
    call->completion.finish(Error{code, "the broker " + std::string(what) + " a message sent to " + call->address +
                                            "; resend the batch with the same message ids"});
    on_sendable_again(tracker.sender());
  }

  void sender_gone(const proton::sender& sender, const std::string& reason) {
    auto address = sender_addresses_.find(sender);
    if (address == sender_addresses_.end()) return;
    const Status failure = unavailable("the link to " + address->second + " is gone (" + reason + ")");
    for (auto& call : senders_.at(address->second).waiting) call->completion.finish(failure);
    for (auto it = trackers_.begin(); it != trackers_.end();) {
      if (it->first.sender() == sender) {
        it->second->completion.finish(failure);
        it = trackers_.erase(it);
      } else {
        ++it;
      }
    }
    senders_.erase(address->second);
    sender_addresses_.erase(address);
  }

  void receiver_gone(const proton::receiver& receiver, const std::string& reason) {
    auto found = batches_.find(receiver);
    if (found == batches_.end()) return;
    found->second->fail(unavailable(reason));
    for (auto it = held_.begin(); it != held_.end();) {
      it = it->second.call == found->second ? held_.erase(it) : std::next(it);
    }
    found->second->receiver = proton::receiver();  // released here, on the container thread
    batches_.erase(found);
  }

  // The call's link when this closed it (its detach answer is still to come). The call keeps no
  // handle once the engine lets go of it (ReceiveCall::receiver).
  std::optional<proton::receiver> close_receiver_if_idle(const std::shared_ptr<ReceiveCall>& call) {
    if (!call->finished || call->held > 0 || shutting_down_) return std::nullopt;
    if (batches_.find(call->receiver) == batches_.end()) return std::nullopt;
    proton::receiver receiver = std::exchange(call->receiver, proton::receiver());
    batches_.erase(receiver);
    if (!receiver.active()) return std::nullopt;
    receiver.close();
    return receiver;
  }

  bool finish_session_call_on_open(const proton::session& session) {
    auto found = session_calls_.find(session);
    if (found == session_calls_.end()) return false;
    found->second.completion->finish(ok_status());
    proton::session to_close = found->first;
    session_calls_.erase(found);
    to_close.close();
    return true;
  }

  void finish_session_call(SessionCalls::iterator found, const proton::error_condition& condition) {
    const std::string text = condition_text(condition);
    if (condition.name() == "amqp:not-found") {
      found->second.completion->finish(not_found("the broker has no queue at " + found->second.address + " (" + text + ")"));
    } else {
      found->second.completion->finish(unavailable("the broker refused the link to " + found->second.address + ": " + text));
    }
    session_calls_.erase(found);
  }

  void close_link(proton::link link) {
    if (!link.active()) return;
    link.close();
    ++links_closing_;
  }

  void link_closed() {
    if (!shutting_down_ || links_closing_ == 0) return;
    if (--links_closing_ == 0 && connection_.active()) connection_.close();
  }

  // Every pending call fails, every handle dies; the next call reconnects.
  void lose_connection(const std::string& reason) {
    const bool was_connected = connected_.exchange(false);
    if (was_connected) ++generation_;
    const Status failure = unavailable("AMQP connection to " + options_.url + " lost: " + reason);
    if (connect_completion_) connect_completion_->finish(failure);
    connect_completion_.reset();
    for (auto& [address, state] : senders_) {
      for (auto& call : state.waiting) call->completion.finish(failure);
    }
    for (auto& [tracker, call] : trackers_) call->completion.finish(failure);
    for (auto& [receiver, call] : batches_) call->fail(failure);
    for (auto& [session, call] : session_calls_) call.completion->finish(failure);
    // Settlements whose detach was not answered may be lost with the connection.
    for (auto& [receiver, wait] : detach_waits_) wait->detached->finish(failure);
    detach_waits_.clear();
    senders_.clear();
    sender_addresses_.clear();
    trackers_.clear();
    for (auto& [receiver, call] : batches_) call->receiver = proton::receiver();
    batches_.clear();
    held_.clear();
    session_calls_.clear();
  }

  const AmqpOptions& options_;
  proton::container container_;
  proton::work_queue work_queue_;
  std::thread thread_;
  std::atomic<bool> connected_{false};
  std::atomic<std::uint64_t> generation_{1};
  // Container thread only:
  proton::connection connection_;
  std::shared_ptr<Completion> connect_completion_;
  std::shared_ptr<Completion> shutdown_completion_;
  bool shutting_down_ = false;
  bool transport_live_ = false;  // the current connection's transport is not closed yet
  std::size_t links_closing_ = 0;
  std::map<std::string, SenderState> senders_;
  std::map<proton::sender, std::string> sender_addresses_;
  std::map<proton::tracker, std::shared_ptr<SendCall>> trackers_;
  std::map<proton::receiver, std::shared_ptr<ReceiveCall>> batches_;
  std::unordered_map<std::uint64_t, HeldDelivery> held_;
  SessionCalls session_calls_;
  std::map<proton::receiver, std::shared_ptr<DetachWait>> detach_waits_;
  std::uint64_t next_delivery_id_ = 0;
};

// ---- AmqpConnection ----

namespace {

// Runs `work` on the container thread and waits for its answer.
template <typename T>
Result<T> run_on_container(AmqpConnection::Engine& engine, std::function<T()> work, Milliseconds timeout) {
  auto completion = std::make_shared<Completion>();
  auto answer = std::make_shared<std::optional<T>>();
  engine.post([completion, answer, work = std::move(work)] {
    *answer = work();
    completion->finish(ok_status());
  });
  if (!completion->wait_for(timeout)) {
    return deadline_exceeded("the AMQP container thread did not answer within " + std::to_string(timeout.count()) +
                             " ms");
  }
  return std::move(**answer);
}

}  // namespace

AmqpConnection::AmqpConnection(AmqpOptions options)
    : options_(std::move(options)), engine_(std::make_unique<Engine>(options_)) {}

Result<std::unique_ptr<AmqpConnection>> AmqpConnection::open(AmqpOptions options) {
  HADR_TRY(options.validate());
  std::unique_ptr<AmqpConnection> connection(new AmqpConnection(std::move(options)));
  HADR_TRY(connection->ensure_connected());
  return connection;
}

AmqpConnection::~AmqpConnection() {
  auto completion = std::make_shared<Completion>();
  Engine* engine = engine_.get();
  engine->post([engine, completion] { engine->start_shutdown(completion); });
  (void)completion->wait_for(std::min(options_.operation_timeout, kShutdownTimeout));
  engine_.reset();  // stops and joins the container thread
}

std::uint64_t AmqpConnection::generation() const { return engine_->generation(); }

Status AmqpConnection::connect_once() {
  auto completion = std::make_shared<Completion>();
  Engine* engine = engine_.get();
  engine->post([engine, completion] { engine->start_connect(completion); });
  if (!completion->wait_for(options_.connect_timeout)) {
    engine->post([engine] { engine->abort_connect(); });
    return unavailable("no AMQP open from " + options_.url + " within " +
                       std::to_string(options_.connect_timeout.count()) + " ms");
  }
  Status status = completion->status();
  if (!status.ok() && status.error().detail.find("unauthorized") != std::string::npos) {
    return failed_precondition("the broker at " + options_.url + " refused the credentials of user '" +
                               options_.user + "'; check the user (SAS key name) and password (key)");
  }
  return status;
}

Status AmqpConnection::ensure_connected() {
  std::lock_guard lock(connect_mutex_);
  if (engine_->connected()) return ok_status();
  Milliseconds backoff = options_.reconnect_backoff_initial;
  Status last = ok_status();
  for (int attempt = 1; attempt <= options_.max_reconnect_attempts; ++attempt) {
    last = connect_once();
    if (last.ok() || last.code() == ErrorCode::kFailedPrecondition) return last;
    if (attempt < options_.max_reconnect_attempts) {
      // An adapter may sleep: this is the bounded backoff between connect attempts.
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, options_.reconnect_backoff_max);
    }
  }
  return unavailable("cannot connect to " + options_.url + " after " + std::to_string(options_.max_reconnect_attempts) +
                     " attempts: " + last.error().detail);
}

Status AmqpConnection::declare_durable_queue(const std::string& address) {
  HADR_TRY(ensure_connected());
  auto completion = std::make_shared<Completion>();
  Engine* engine = engine_.get();
  engine->post([engine, completion, address] { engine->start_session_call(address, true, completion); });
  if (!completion->wait_for(options_.operation_timeout)) {
    return deadline_exceeded("declaring " + address + ": no answer within " +
                             std::to_string(options_.operation_timeout.count()) + " ms");
  }
  return completion->status();
}

Status AmqpConnection::check_source_exists(const std::string& address) {
  HADR_TRY(ensure_connected());
  auto completion = std::make_shared<Completion>();
  Engine* engine = engine_.get();
  engine->post([engine, completion, address] { engine->start_session_call(address, false, completion); });
  if (!completion->wait_for(options_.operation_timeout)) {
    return deadline_exceeded("checking " + address + ": no answer within " +
                             std::to_string(options_.operation_timeout.count()) + " ms");
  }
  return completion->status();
}

Status AmqpConnection::send(const std::string& address, std::vector<proton::message> messages) {
  if (messages.empty()) return ok_status();
  HADR_TRY(ensure_connected());
  auto call = std::make_shared<SendCall>(std::move(messages));
  Engine* engine = engine_.get();
  engine->post([engine, call, address] { engine->start_send(address, call); });
  if (!call->completion.wait_for(options_.operation_timeout)) {
    call->abandoned = true;
    return deadline_exceeded("sending to " + address + ": not every message was accepted within " +
                             std::to_string(options_.operation_timeout.count()) +
                             " ms; some may have been stored, resend with the same ids");
  }
  return call->completion.status();
}

Result<std::vector<ReceivedDelivery>> AmqpConnection::receive(const std::string& address, std::size_t max,
                                                              Milliseconds quiet) {
  HADR_ASSERT(max >= 1 && max <= kMaxReceive);
  HADR_ASSERT(quiet > Milliseconds(0));
  HADR_TRY(ensure_connected());
  auto call = std::make_shared<ReceiveCall>(max);
  Engine* engine = engine_.get();
  engine->post([engine, call, address] { engine->start_receive(address, call); });
  const auto attach_deadline = SteadyClock::now() + options_.operation_timeout;
  Status failure = ok_status();
  {
    std::unique_lock lock(call->mutex);
    // Bounded: each wake-up either ends the loop or moves toward a deadline.
    while (!call->failed) {
      if (!call->credit_granted) {
        if (SteadyClock::now() >= attach_deadline) {
          failure = deadline_exceeded("attaching a receiver to " + address + " took longer than " +
                                      std::to_string(options_.operation_timeout.count()) + " ms");
          break;
        }
        call->changed.wait_until(lock, attach_deadline);
        continue;
      }
      if (call->arrived.size() >= max) break;
      const auto quiet_until = call->last_progress + quiet;
      if (SteadyClock::now() >= quiet_until) break;
      call->changed.wait_until(lock, quiet_until);
    }
    if (call->failed) failure = call->failure;
  }
  std::function<std::vector<ReceivedDelivery>()> finish = [engine, call] { return engine->finish_receive(call); };
  HADR_ASSIGN_OR_RETURN(std::vector<ReceivedDelivery> arrived,
                        run_on_container(*engine, std::move(finish), options_.operation_timeout));
  if (!failure.ok()) {
    for (const ReceivedDelivery& delivery : arrived) (void)settle(delivery.handle, Outcome::kRelease);
    return std::move(failure).take_error();
  }
  return arrived;
}

Status AmqpConnection::settle(const DeliveryHandle& handle, Outcome outcome) {
  return settle_all(std::span<const DeliveryHandle>(&handle, 1), outcome);
}

Status AmqpConnection::settle_all(std::span<const DeliveryHandle> handles, Outcome outcome) {
  HADR_ASSERT(handles.size() <= kMaxReceive);
  if (handles.empty()) return ok_status();
  Engine* engine = engine_.get();
  auto detached = std::make_shared<Completion>();
  std::function<Status()> work = [engine, list = std::vector<DeliveryHandle>(handles.begin(), handles.end()), outcome,
                                  detached] { return engine->settle_all(list, outcome, detached); };
  HADR_ASSIGN_OR_RETURN(Status settled, run_on_container(*engine, std::move(work), options_.operation_timeout));
  if (!detached->wait_for(options_.operation_timeout)) {
    return deadline_exceeded("the broker did not confirm settling " + std::to_string(handles.size()) +
                             " deliveries within " + std::to_string(options_.operation_timeout.count()) +
                             " ms; they may come back (at-least-once)");
  }
  HADR_TRY(detached->status());
  return settled;
}

Result<std::uint64_t> AmqpConnection::count_available(const std::string& address) {
  HADR_ASSIGN_OR_RETURN(std::vector<ReceivedDelivery> browsed,
                        receive(address, options_.depth_count_max, options_.receive_wait));
  std::vector<DeliveryHandle> handles;
  handles.reserve(browsed.size());
  for (const ReceivedDelivery& delivery : browsed) handles.push_back(delivery.handle);
  HADR_TRY(settle_all(handles, Outcome::kRelease));
  return static_cast<std::uint64_t>(browsed.size());
}

}  // namespace hadr::amqp
