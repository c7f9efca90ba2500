#include "gateway/gateway_server.h"

#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

namespace hadr {
namespace {

// cpp-httplib's own ThreadPool queues connections without limit; this one holds at most
// `queued_max` and makes the accepting thread wait for room.
class BoundedTaskQueue final : public httplib::TaskQueue {
 public:
  BoundedTaskQueue(std::size_t threads, std::size_t queued_max) : queued_max_(queued_max) {
    HADR_ASSERT(threads >= 1 && queued_max >= 1);
    for (std::size_t index = 0; index < threads; ++index) workers_.emplace_back([this] { work(); });
  }
  ~BoundedTaskQueue() override { HADR_ASSERT(workers_.empty()); }

  void enqueue(std::function<void()> task) override {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return jobs_.size() < queued_max_ || shutting_down_; });
    HADR_ASSERT(!shutting_down_);  // cpp-httplib enqueues only before shutdown()
    jobs_.push_back(std::move(task));
    ready_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard lock(mutex_);
      shutting_down_ = true;
    }
    ready_.notify_all();
    room_.notify_all();
    for (std::thread& worker : workers_) worker.join();
    workers_.clear();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return !jobs_.empty() || shutting_down_; });
        if (jobs_.empty()) return;  // shutting down and drained
        task = std::move(jobs_.front());
        jobs_.pop_front();
        room_.notify_one();
      }
      task();
    }
  }

  const std::size_t queued_max_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable room_;
  std::deque<std::function<void()>> jobs_;
  bool shutting_down_ = false;
  std::vector<std::thread> workers_;
};

HttpRequest to_gateway_request(const httplib::Request& request) {
  HttpRequest converted;
  converted.method = request.method;
  converted.path = request.path;
  converted.headers.assign(request.headers.begin(), request.headers.end());
  converted.body = request.body;
  converted.remote_address = request.remote_addr;
  return converted;
}

void serve(Gateway& gateway, const httplib::Request& request, httplib::Response& response) {
  const HttpResponse answer = gateway.handle(to_gateway_request(request));
  response.status = answer.status;
  for (const auto& [name, value] : answer.headers) response.set_header(name, value);
  response.set_content(answer.body, answer.content_type.c_str());
}

}  // namespace

Result<std::unique_ptr<GatewayServer>> GatewayServer::start(Gateway& gateway, const GatewayOptions& options) {
  HADR_TRY(options.validate());
  auto server = std::make_unique<httplib::Server>();
  const std::size_t threads = options.server_threads;
  server->new_task_queue = [threads] { return new BoundedTaskQueue(threads, kQueuedConnectionsMax); };
  server->set_payload_max_length(options.body_bytes_max);
  server->set_read_timeout(options.read_timeout);
  server->set_write_timeout(options.read_timeout);
  server->set_keep_alive_timeout(5);  // an idle keep-alive connection gives its thread back soon
  server->set_keep_alive_max_count(1000);
  // Headers and body go out in separate writes: without NODELAY, Nagle and the client's delayed
  // ACK stall every response by ~40 ms.
  server->set_tcp_nodelay(true);
  const auto handler = [&gateway](const httplib::Request& request, httplib::Response& response) {
    serve(gateway, request, response);
  };
  server->Get(".*", handler).Post(".*", handler).Put(".*", handler).Delete(".*", handler).Patch(".*", handler);
  int port = options.listen_port;
  if (port == 0) {
    port = server->bind_to_any_port(options.listen_host);
  } else if (!server->bind_to_port(options.listen_host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return unavailable("gateway: cannot listen on " + options.listen_host + ":" + std::to_string(options.listen_port) +
                       " (address in use or not local?); choose another --listen");
  }
  auto gateway_server = std::unique_ptr<GatewayServer>(new GatewayServer(std::move(server), port));
  httplib::Server* raw = gateway_server->server_.get();
  gateway_server->listener_ = std::thread([raw] { raw->listen_after_bind(); });
  // listen_after_bind() flips is_running() as it enters its accept loop: wait for it, bounded.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!raw->is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!raw->is_running()) {
    gateway_server->stop();
    return internal_error("gateway: the server did not start within 10 s");
  }
  return gateway_server;
}

GatewayServer::GatewayServer(std::unique_ptr<httplib::Server> server, int port)
    : server_(std::move(server)), port_(port) {
  HADR_ASSERT(server_ != nullptr && port_ > 0);
}

GatewayServer::~GatewayServer() { stop(); }

void GatewayServer::stop() {
  server_->stop();
  if (listener_.joinable()) listener_.join();  // returns after the task queue drained
}

}  // namespace hadr
