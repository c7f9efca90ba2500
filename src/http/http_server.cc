#include "http/http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/assert.h"

namespace hadr {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kListenBacklog = 1024;
constexpr std::size_t kReadChunkBytes = 16 * 1024;
constexpr int kReadsPerWakeMax = 4;         // fairness: at most 64 KiB per connection per pass
constexpr int kAcceptsPerWakeMax = 64;
constexpr Milliseconds kLingerTime{2'000};  // after a refusal: read and drop what the client still sends
constexpr std::size_t kLingerBytesMax = 4 * 1024 * 1024;
constexpr std::size_t kRefusingConnectionsMax = 64;  // over the caps: answered, beyond this just closed
constexpr Milliseconds kAcceptPauseOnExhaustion{100};
constexpr Milliseconds kPollTimeoutMax{1'000};
constexpr std::size_t kLogPathBytesMax = 100;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// A fixed pool of threads over a bounded queue. The loop submits at most one job per counted
// connection, so the queue can never exceed connections_max (asserted).
class WorkerPool {
 public:
  WorkerPool(std::size_t threads, std::size_t queued_max) : queued_max_(queued_max) {
    HADR_ASSERT(threads >= 1 && queued_max >= 1);
    for (std::size_t index = 0; index < threads; ++index) workers_.emplace_back([this] { work(); });
  }
  ~WorkerPool() { shutdown(); }

  void submit(std::function<void()> job) {
    std::lock_guard lock(mutex_);
    HADR_ASSERT(!shutting_down_ && jobs_.size() < queued_max_);
    jobs_.push_back(std::move(job));
    ready_.notify_one();
  }

  // Runs the queued jobs to the end, then joins.
  void shutdown() {
    {
      std::lock_guard lock(mutex_);
      shutting_down_ = true;
    }
    ready_.notify_all();
    for (std::thread& worker : workers_) worker.join();
    workers_.clear();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return !jobs_.empty() || shutting_down_; });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  const std::size_t queued_max_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  bool shutting_down_ = false;
  std::vector<std::thread> workers_;
};

bool is_loopback(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
  }
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    if (IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr) && v6->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

// The peer's IP as text; an IPv4-mapped IPv6 address is shown (and capped) as the IPv4 address.
std::string address_text(const sockaddr_storage& storage) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (storage.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, text, sizeof text);
  } else if (storage.ss_family == AF_INET6) {
    const in6_addr& v6 = reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      inet_ntop(AF_INET, &v6.s6_addr[12], text, sizeof text);
    } else {
      inet_ntop(AF_INET6, &v6, text, sizeof text);
    }
  }
  return text;
}

struct Listener {
  int fd = -1;
  int port = 0;
  bool loopback = false;
};

Result<Listener> open_listener(const HttpServerOptions& options) {
  const std::string where = options.listen_host + ":" + std::to_string(options.listen_port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port_text = std::to_string(options.listen_port);
  if (getaddrinfo(options.listen_host.c_str(), port_text.c_str(), &hints, &found) != 0 || found == nullptr) {
    return invalid_argument(options.name + ": " + options.listen_key + " " + where + ": the host does not resolve");
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found, freeaddrinfo);
  Listener listener;
  listener.loopback = is_loopback(found->ai_addr);
  if (!listener.loopback && !options.allow_insecure_listener) {
    return failed_precondition(options.name + ": " + options.listen_key + " " + where + " is not a loopback address and the " +
                               options.name + " serves plain HTTP (no TLS): " + options.insecure_listener_fix);
  }
  listener.fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listener.fd < 0) return unavailable(options.name + ": socket(): " + std::string(std::strerror(errno)));
  const int one = 1;
  setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(listener.fd, found->ai_addr, found->ai_addrlen) != 0 || listen(listener.fd, kListenBacklog) != 0) {
    const std::string reason = std::strerror(errno);
    close(listener.fd);
    return unavailable(options.name + ": cannot listen on " + where + " (" + reason + "); choose another " +
                       options.listen_key);
  }
  sockaddr_storage bound{};
  socklen_t bound_size = sizeof bound;
  getsockname(listener.fd, reinterpret_cast<sockaddr*>(&bound), &bound_size);
  listener.port = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                                   : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  return listener;
}

std::string printable_for_log(std::string_view text) {
  if (text.empty()) return "-";
  std::string out;
  for (const char c : text.substr(0, kLogPathBytesMax)) out.push_back(c > 0x20 && c < 0x7f && c != '"' ? c : '?');
  if (text.size() > kLogPathBytesMax) out += "...";
  return out;
}

}  // namespace

// The event loop: every member below is touched by the loop thread only, except the
// completions (guarded by completions_mutex_) and stopping_.
class HttpServer::Loop {
 public:
  Loop(HttpService& service, const HttpServerOptions& options, AccessLog access_log, Listener listener, int wake_fd)
      : service_(service),
        options_(options),
        limits_(options.limits),
        access_log_(std::move(access_log)),
        listener_(listener),
        wake_fd_(wake_fd),
        workers_(options.threads, options.connections_max) {}
  ~Loop() {
    stop();
    if (listener_.fd >= 0) close(listener_.fd);
    close(wake_fd_);
  }

  void start() { thread_ = std::thread([this] { run(); }); }
  void stop() {
    stopping_ = true;
    wake();
    if (thread_.joinable()) thread_.join();
    workers_.shutdown();
  }
  int port() const { return listener_.port; }
  bool on_loopback() const { return listener_.loopback; }

 private:
  enum class Phase { kReading, kDispatched, kWriting, kLingering };

  struct Connection {
    Connection(std::uint64_t id_, int fd_, std::string peer_, const HttpParserLimits& limits, bool counted_)
        : id(id_), fd(fd_), peer(std::move(peer_)), parser(limits), counted(counted_) {}
    const std::uint64_t id;
    const int fd;
    const std::string peer;
    HttpRequestParser parser;
    const bool counted;  // false: accepted over a cap only to be answered and closed
    Phase phase = Phase::kReading;
    std::string inbox;   // read and not yet parsed: bytes of a pipelined next request
    std::string outbox;  // 100 Continue and the response
    std::size_t written = 0;
    bool headers_in = false;
    bool close_after_write = false;
    bool served_any = false;
    bool doomed = false;  // dropped: closed and forgotten by reap() at the end of the pass
    std::size_t body_reservation = 0;
    std::size_t lingered_bytes = 0;
    MonoTime ready_since;  // the header deadline counts from here
    MonoTime body_deadline;
    MonoTime write_deadline;
    MonoTime linger_deadline;
    // For the access log of the request being answered.
    MonoTime request_started;
    std::uint64_t request_bytes = 0;
    std::string method;
    std::string path;
    bool head_request = false;
  };

  struct Completion {
    std::uint64_t connection_id;
    HttpResponse response;
  };

  void run();
  int poll_timeout_ms(MonoTime now) const;
  void build_poll_set(std::vector<pollfd>& fds, std::vector<std::uint64_t>& ids) const;
  void accept_connections(MonoTime now);
  void admit(int fd, std::string peer, MonoTime now);
  void on_events(Connection& connection, short revents, MonoTime now);
  void read_from(Connection& connection, MonoTime now);
  void drive(Connection& connection, MonoTime now);
  void on_headers(Connection& connection, MonoTime now);
  void dispatch(Connection& connection);
  void refuse(Connection& connection, int status, std::string_view reason, std::string message, MonoTime now,
              bool retry_after = false);
  void respond(Connection& connection, const HttpResponse& response, bool close_after, std::string_view reason,
               MonoTime now);
  void write_to(Connection& connection, MonoTime now);
  void finish_response(Connection& connection, MonoTime now);
  void linger(Connection& connection, MonoTime now);
  void check_deadlines(MonoTime now);
  void take_completions(MonoTime now);
  void release_body(Connection& connection);
  void drop(Connection& connection, std::string_view reason = {});
  void reap();
  void begin_stopping();
  void wake() const;
  void report_connections();

  HttpService& service_;
  const HttpServerOptions options_;
  const HttpParserLimits limits_;
  const AccessLog access_log_;
  Listener listener_;
  const int wake_fd_;
  WorkerPool workers_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  bool stopping_begun_ = false;

  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;
  std::unordered_map<std::string, std::size_t> connections_per_address_;
  std::size_t counted_connections_ = 0;
  std::size_t refusing_connections_ = 0;
  std::size_t body_bytes_reserved_ = 0;
  std::uint64_t next_connection_id_ = 1;
  std::uint64_t accepted_total_ = 0;
  MonoTime accept_paused_until_{};

  std::mutex completions_mutex_;
  std::vector<Completion> completions_;
};

void HttpServer::Loop::wake() const {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = write(wake_fd_, &one, sizeof one);  // EAGAIN: already signalled
}

void HttpServer::Loop::run() {
  std::vector<pollfd> fds;
  std::vector<std::uint64_t> ids;
  for (;;) {
    if (stopping_ && !stopping_begun_) begin_stopping();
    if (stopping_begun_ && connections_.empty()) return;
    build_poll_set(fds, ids);
    const int ready = poll(fds.data(), fds.size(), poll_timeout_ms(SteadyClock::now()));
    HADR_ASSERT_MSG(ready >= 0 || errno == EINTR, "poll: %s", std::strerror(errno));
    const MonoTime now = SteadyClock::now();
    if (fds[0].revents != 0) {
      std::uint64_t count = 0;
      [[maybe_unused]] const ssize_t drained = read(wake_fd_, &count, sizeof count);
    }
    take_completions(now);
    if (fds[1].fd >= 0 && (fds[1].revents & POLLIN) != 0) accept_connections(now);
    for (std::size_t index = 2; index < fds.size(); ++index) {
      if (fds[index].revents == 0) continue;
      const auto found = connections_.find(ids[index]);
      if (found != connections_.end() && !found->second->doomed) on_events(*found->second, fds[index].revents, now);
    }
    check_deadlines(SteadyClock::now());
    reap();
  }
}

void HttpServer::Loop::build_poll_set(std::vector<pollfd>& fds, std::vector<std::uint64_t>& ids) const {
  fds.clear();
  ids.clear();
  fds.push_back({wake_fd_, POLLIN, 0});
  ids.push_back(0);
  const bool accepting = !stopping_begun_ && SteadyClock::now() >= accept_paused_until_;
  fds.push_back({accepting ? listener_.fd : -1, POLLIN, 0});
  ids.push_back(0);
  for (const auto& [id, connection] : connections_) {
    short events = 0;
    if (connection->phase == Phase::kReading || connection->phase == Phase::kLingering) events |= POLLIN;
    if (connection->written < connection->outbox.size()) events |= POLLOUT;
    if (events == 0) continue;  // dispatched: nothing to do until its worker answers
    fds.push_back({connection->fd, events, 0});
    ids.push_back(id);
  }
}

int HttpServer::Loop::poll_timeout_ms(MonoTime now) const {
  MonoTime earliest = now + kPollTimeoutMax;
  if (accept_paused_until_ > now) earliest = std::min(earliest, accept_paused_until_);
  for (const auto& [id, connection] : connections_) {
    switch (connection->phase) {
      case Phase::kReading:
        if (!connection->parser.started()) {
          earliest = std::min(earliest, connection->ready_since + options_.idle_timeout);
        } else {
          earliest = std::min(earliest, connection->headers_in ? connection->body_deadline
                                                               : connection->ready_since + options_.header_timeout);
        }
        break;
      case Phase::kWriting: earliest = std::min(earliest, connection->write_deadline); break;
      case Phase::kLingering: earliest = std::min(earliest, connection->linger_deadline); break;
      case Phase::kDispatched: break;
    }
  }
  const auto wait = std::chrono::ceil<Milliseconds>(earliest - now);
  return static_cast<int>(std::clamp<std::int64_t>(wait.count(), 0, kPollTimeoutMax.count()));
}

void HttpServer::Loop::accept_connections(MonoTime now) {
  for (int accepted = 0; accepted < kAcceptsPerWakeMax; ++accepted) {
    sockaddr_storage address{};
    socklen_t address_size = sizeof address;
    const int fd = accept4(listener_.fd, reinterpret_cast<sockaddr*>(&address), &address_size,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors or memory: the kernel's backlog holds the clients meanwhile.
        service_.record_rejection(0, "accept_failed");
        accept_paused_until_ = now + kAcceptPauseOnExhaustion;
      }
      break;
    }
    ++accepted_total_;
    const int one = 1;
    // Headers and body go out in one write, but 100 Continue and the answer may not: no Nagle.
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    admit(fd, address_text(address), now);
  }
  report_connections();
}

void HttpServer::Loop::admit(int fd, std::string peer, MonoTime now) {
  std::string_view refusal;
  int status = 0;
  if (counted_connections_ >= options_.connections_max) {
    refusal = "connections_total";
    status = 503;
  } else if (connections_per_address_[peer] >= options_.connections_per_address_max) {
    refusal = "connections_per_address";
    status = 429;
  }
  if (!refusal.empty() && refusing_connections_ >= kRefusingConnectionsMax) {
    service_.record_rejection(0, refusal);
    close(fd);
    return;
  }
  const std::uint64_t id = next_connection_id_++;
  auto connection = std::make_unique<Connection>(id, fd, peer, limits_, refusal.empty());
  connection->ready_since = now;
  Connection& added = *connections_.emplace(id, std::move(connection)).first->second;
  if (refusal.empty()) {
    ++counted_connections_;
    ++connections_per_address_[peer];
    return;
  }
  ++refusing_connections_;
  added.request_started = now;
  refuse(added, status, refusal,
         status == 503 ? "the " + options_.name + " has too many open connections; retry after Retry-After seconds"
                       : "too many open connections from this address; close some and retry",
         now, /*retry_after=*/true);
}

void HttpServer::Loop::on_events(Connection& connection, short revents, MonoTime now) {
  if ((revents & POLLOUT) != 0 || ((revents & (POLLERR | POLLHUP)) != 0 && connection.phase == Phase::kWriting)) {
    write_to(connection, now);
  }
  if (connection.doomed || (revents & (POLLIN | POLLHUP | POLLERR)) == 0) return;
  if (connection.phase == Phase::kReading) read_from(connection, now);
  else if (connection.phase == Phase::kLingering) linger(connection, now);
}

void HttpServer::Loop::read_from(Connection& connection, MonoTime now) {
  char buffer[kReadChunkBytes];
  for (int reads = 0; reads < kReadsPerWakeMax; ++reads) {
    const ssize_t received = recv(connection.fd, buffer, sizeof buffer, 0);
    if (received < 0 && errno == EINTR) continue;
    if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (received <= 0) {
      // The client went away (or reset): a request it did not finish is simply dropped.
      drop(connection, connection.parser.started() ? "client_closed" : std::string_view());
      return;
    }
    connection.inbox.append(buffer, static_cast<std::size_t>(received));
    drive(connection, now);
    if (connection.doomed || connection.phase != Phase::kReading) return;
  }
}

// Parses what arrived; moves the connection on when a request is framed or refused.
void HttpServer::Loop::drive(Connection& connection, MonoTime now) {
  while (!connection.doomed && connection.phase == Phase::kReading &&
         (connection.parser.started() || !connection.inbox.empty())) {
    if (!connection.parser.started()) {
      connection.request_started = now;
      connection.request_bytes = 0;
    }
    const HttpRequestParser::FeedResult result = connection.parser.feed(connection.inbox);
    connection.request_bytes += result.consumed;
    connection.inbox.erase(0, result.consumed);
    switch (result.progress) {
      case HttpRequestParser::Progress::kNeedMore:
        HADR_ASSERT(connection.inbox.empty());
        return;
      case HttpRequestParser::Progress::kHeadersComplete: on_headers(connection, now); break;
      case HttpRequestParser::Progress::kComplete: dispatch(connection); return;
      case HttpRequestParser::Progress::kError: {
        const HttpRefusal& error = connection.parser.error();
        refuse(connection, error.status, error.reason, error.message, now);
        return;
      }
    }
  }
}

void HttpServer::Loop::on_headers(Connection& connection, MonoTime now) {
  const HttpRequest& head = connection.parser.request();
  connection.headers_in = true;
  connection.method = head.method;
  connection.path = head.path;
  connection.head_request = head.method == "HEAD";
  connection.body_deadline = now + options_.body_timeout;
  if (auto refused = service_.refuse_before_body(head)) {
    respond(connection, *refused, /*close_after=*/true, "unauthorized", now);
    return;
  }
  const std::uint64_t body_bytes = connection.parser.chunked() ? options_.limits.body_bytes_max
                                                                : connection.parser.content_length();
  if (body_bytes == 0) return;
  if (body_bytes_reserved_ + body_bytes > options_.body_buffer_bytes_max) {
    refuse(connection, 503, "body_buffer_full",
           "the " + options_.name + " holds too many request bodies at once; retry after Retry-After seconds", now, true);
    return;
  }
  body_bytes_reserved_ += body_bytes;
  connection.body_reservation = static_cast<std::size_t>(body_bytes);
  // Only now, with the length and the token accepted, is the client asked for its body.
  if (connection.parser.expects_continue() && connection.inbox.empty()) {
    connection.outbox.append(kContinue);
    write_to(connection, now);
  }
}

void HttpServer::Loop::dispatch(Connection& connection) {
  HttpRequest request = connection.parser.take_request();
  request.remote_address = connection.peer;
  connection.phase = Phase::kDispatched;
  const std::uint64_t id = connection.id;
  workers_.submit([this, id, request = std::move(request)] {
    HttpResponse response = service_.handle(request);
    {
      std::lock_guard lock(completions_mutex_);
      completions_.push_back(Completion{id, std::move(response)});
    }
    wake();
  });
}

void HttpServer::Loop::take_completions(MonoTime now) {
  std::vector<Completion> done;
  {
    std::lock_guard lock(completions_mutex_);
    done.swap(completions_);
  }
  for (Completion& completion : done) {
    const auto found = connections_.find(completion.connection_id);
    HADR_ASSERT(found != connections_.end());  // a dispatched connection is only dropped after its answer
    Connection& connection = *found->second;
    HADR_ASSERT(connection.phase == Phase::kDispatched);
    release_body(connection);
    const bool keep_alive = connection.parser.keep_alive() && !stopping_begun_;
    respond(connection, completion.response, !keep_alive, "-", now);
  }
}

void HttpServer::Loop::refuse(Connection& connection, int status, std::string_view reason, std::string message,
                                 MonoTime now, bool retry_after) {
  service_.record_rejection(status, reason);
  HttpResponse response = error_response(status, std::move(message));
  if (retry_after) response.headers.emplace_back("Retry-After", "1");
  respond(connection, response, /*close_after=*/true, reason, now);
}

void HttpServer::Loop::respond(Connection& connection, const HttpResponse& response, bool close_after,
                                  std::string_view reason, MonoTime now) {
  release_body(connection);
  const std::string bytes = serialize_response(response, connection.head_request, close_after);
  if (access_log_) {
    char line[512];
    const double elapsed_ms = std::chrono::duration<double, std::milli>(now - connection.request_started).count();
    std::snprintf(line, sizeof line, "%s access peer=%s method=%s path=%s status=%d reason=%.*s in=%llu out=%zu ms=%.1f",
                  options_.name.c_str(), connection.peer.c_str(), printable_for_log(connection.method).c_str(),
                  printable_for_log(connection.path).c_str(), response.status, static_cast<int>(reason.size()),
                  reason.data(), static_cast<unsigned long long>(connection.request_bytes), bytes.size(), elapsed_ms);
    access_log_(line);
  }
  connection.outbox.erase(0, connection.written);
  connection.written = 0;
  connection.outbox += bytes;
  connection.phase = Phase::kWriting;
  connection.close_after_write = close_after;
  connection.write_deadline = now + options_.write_timeout;
  write_to(connection, now);
}

void HttpServer::Loop::write_to(Connection& connection, MonoTime now) {
  while (connection.written < connection.outbox.size()) {
    const ssize_t sent = send(connection.fd, connection.outbox.data() + connection.written,
                              connection.outbox.size() - connection.written, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (sent <= 0) {
      drop(connection);  // the client went away before its answer
      return;
    }
    connection.written += static_cast<std::size_t>(sent);
  }
  connection.outbox.clear();
  connection.written = 0;
  if (connection.phase == Phase::kWriting) finish_response(connection, now);
}

void HttpServer::Loop::finish_response(Connection& connection, MonoTime now) {
  connection.served_any = true;
  if (connection.close_after_write || stopping_begun_) {
    // Close our side, then read and drop what the client still sends for a moment: closing with
    // unread bytes would reset the connection and could destroy the answer before it is read.
    shutdown(connection.fd, SHUT_WR);
    connection.phase = Phase::kLingering;
    connection.linger_deadline = now + (stopping_begun_ ? Milliseconds(0) : kLingerTime);
    return;
  }
  connection.parser.reset();
  connection.phase = Phase::kReading;
  connection.headers_in = false;
  connection.method.clear();
  connection.path.clear();
  connection.head_request = false;
  connection.ready_since = now;
  drive(connection, now);  // a pipelined request may already be here
}

void HttpServer::Loop::linger(Connection& connection, MonoTime now) {
  char buffer[kReadChunkBytes];
  for (int reads = 0; reads < kReadsPerWakeMax; ++reads) {
    const ssize_t received = recv(connection.fd, buffer, sizeof buffer, 0);
    if (received < 0 && errno == EINTR) continue;
    if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (received <= 0) {
      drop(connection);
      return;
    }
    connection.lingered_bytes += static_cast<std::size_t>(received);
    if (connection.lingered_bytes > kLingerBytesMax) {
      drop(connection);
      return;
    }
  }
  if (now >= connection.linger_deadline) drop(connection);
}

void HttpServer::Loop::check_deadlines(MonoTime now) {
  for (auto& [id, owned] : connections_) {
    Connection& connection = *owned;
    if (connection.doomed) continue;
    if (connection.phase == Phase::kReading && !connection.parser.started()) {
      if (now >= connection.ready_since + options_.idle_timeout) {
        drop(connection, connection.served_any ? std::string_view() : "idle_timeout");
      }
    } else if (connection.phase == Phase::kReading && !connection.headers_in) {
      if (now >= connection.ready_since + options_.header_timeout) {
        refuse(connection, 408, "header_timeout", "the header section did not arrive in time (header timeout)", now);
      }
    } else if (connection.phase == Phase::kReading) {
      if (now >= connection.body_deadline) {
        refuse(connection, 408, "body_timeout", "the body did not arrive in time (body timeout)", now);
      }
    } else if (connection.phase == Phase::kWriting && now >= connection.write_deadline) {
      drop(connection, "write_timeout");
    } else if (connection.phase == Phase::kLingering && now >= connection.linger_deadline) {
      drop(connection);
    }
  }
}

void HttpServer::Loop::release_body(Connection& connection) {
  HADR_ASSERT(body_bytes_reserved_ >= connection.body_reservation);
  body_bytes_reserved_ -= connection.body_reservation;
  connection.body_reservation = 0;
}

// Marks the connection for reap(): handlers up the stack may still hold a reference to it.
void HttpServer::Loop::drop(Connection& connection, std::string_view reason) {
  HADR_ASSERT(connection.phase != Phase::kDispatched);  // its worker still answers it
  if (connection.doomed) return;
  connection.doomed = true;
  if (!reason.empty()) service_.record_rejection(0, reason);
  release_body(connection);
}

void HttpServer::Loop::reap() {
  bool any = false;
  for (auto iterator = connections_.begin(); iterator != connections_.end();) {
    Connection& connection = *iterator->second;
    if (!connection.doomed) {
      ++iterator;
      continue;
    }
    if (connection.counted) {
      HADR_ASSERT(counted_connections_ >= 1);
      --counted_connections_;
      const auto per_address = connections_per_address_.find(connection.peer);
      HADR_ASSERT(per_address != connections_per_address_.end() && per_address->second >= 1);
      if (--per_address->second == 0) connections_per_address_.erase(per_address);
    } else {
      HADR_ASSERT(refusing_connections_ >= 1);
      --refusing_connections_;
    }
    close(connection.fd);
    iterator = connections_.erase(iterator);
    any = true;
  }
  if (any) report_connections();
}

// Stop accepting; close every connection that has no request in a worker or an answer to send.
void HttpServer::Loop::begin_stopping() {
  stopping_begun_ = true;
  close(listener_.fd);
  listener_.fd = -1;
  for (auto& [id, connection] : connections_) {
    if (connection->phase == Phase::kReading || connection->phase == Phase::kLingering) drop(*connection);
  }
  reap();
}

void HttpServer::Loop::report_connections() { service_.record_connections(connections_.size(), accepted_total_); }

Status HttpServerOptions::validate() const {
  if (name.empty() || name.size() > 32) return invalid_argument("http server: a name of 1..32 characters is needed");
  if (listen_host.empty()) return invalid_argument(listen_key + " needs a host, e.g. 127.0.0.1:9100");
  if (listen_port < 0 || listen_port > 65535) return invalid_argument(listen_key + " port must be 0..65535");
  if (threads < 1 || threads > kThreadsMax) return invalid_argument(name + ": threads must be between 1 and 256");
  for (const Milliseconds timeout : {header_timeout, body_timeout, idle_timeout, write_timeout}) {
    if (timeout < Milliseconds(100) || timeout > std::chrono::minutes(10)) {
      return invalid_argument(name + ": every timeout must be between 100ms and 10min");
    }
  }
  if (connections_max < 1 || connections_max > kConnectionsMax) {
    return invalid_argument(name + ": connections_max must be between 1 and 16384");
  }
  if (connections_per_address_max < 1 || connections_per_address_max > connections_max) {
    return invalid_argument(name + ": connections_per_address_max must be between 1 and connections_max");
  }
  if (limits.header_bytes_max < 1024 || limits.header_bytes_max > 1024 * 1024 || limits.request_line_bytes_max < 1 ||
      limits.header_count_max < 8 || limits.header_count_max > 1000 || limits.body_bytes_max < 1) {
    return invalid_argument(name + ": header or body limits out of range");
  }
  if (body_buffer_bytes_max < limits.body_bytes_max || body_buffer_bytes_max > (std::size_t{16} << 30)) {
    return invalid_argument(name + ": body_buffer_bytes_max must be at least body_bytes_max and at most 16 GiB");
  }
  return ok_status();
}

Result<ListenAddress> parse_listen_address(std::string_view key, std::string_view text) {
  const std::string shown = std::string(key) + ": '" + std::string(text.substr(0, 100)) + "'";
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return invalid_argument(shown + " must be HOST:PORT, e.g. 127.0.0.1:9100");
  }
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.find_first_of(" []/") != std::string_view::npos || (host.find(':') != std::string_view::npos &&
                                                                text.front() != '[')) {
    return invalid_argument(shown + " must be HOST:PORT (an IPv6 host in brackets: [::1]:9100)");
  }
  int port = -1;
  const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() || port < 0 ||
      port > 65535) {
    return invalid_argument(shown + ": the port must be a number 0..65535");
  }
  return ListenAddress{host.empty() ? "127.0.0.1" : std::string(host), port};
}

HttpServer::AccessLog HttpServer::stderr_access_log() {
  return [](std::string_view line) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
  };
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(HttpService& service, const HttpServerOptions& options,
                                                            AccessLog access_log) {
  HADR_TRY(options.validate());
  HADR_ASSIGN_OR_RETURN(const Listener listener, open_listener(options));
  const int wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) {
    close(listener.fd);
    return unavailable(options.name + ": eventfd(): " + std::string(std::strerror(errno)));
  }
  auto loop = std::make_unique<Loop>(service, options, std::move(access_log), listener, wake_fd);
  loop->start();  // the socket already listens: connections wait in the backlog until the loop runs
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(loop)));
}

HttpServer::HttpServer(std::unique_ptr<Loop> loop) : loop_(std::move(loop)) { HADR_ASSERT(loop_ != nullptr); }

HttpServer::~HttpServer() { stop(); }

int HttpServer::port() const { return loop_->port(); }
bool HttpServer::on_loopback() const { return loop_->on_loopback(); }

void HttpServer::stop() { loop_->stop(); }

}  // namespace hadr
