#include "runtime/alerting.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/child_environment.h"

namespace hadr {
namespace {

constexpr auto kCommandTimeout = std::chrono::seconds(30);
constexpr long kWebhookTimeoutMs = 5'000;

size_t discard_body(char*, size_t size, size_t count, void*) { return size * count; }

// Appends `line` to `path`, created 0600 (and narrowed to 0600 if an older hadr made it 0644):
// an alert's detail may name hosts, queues and message ids. Best effort, as the line is also
// on stderr.
void append_line_private(const std::string& path, const std::string& line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::fprintf(stderr, "hadr: cannot append to %s: %s\n", path.c_str(), std::strerror(errno));
    return;
  }
  (void)::fchmod(fd, 0600);
  const std::string text = line + "\n";
  // O_APPEND: one write() of a line is one record even with two writers.
  (void)!::write(fd, text.data(), text.size());
  ::close(fd);
}

}  // namespace

std::string alert_to_json(const Alert& alert) {
  const nlohmann::json json = {{"alert", alert.event},
                               {"severity", alert_severity_name(alert.severity)},
                               {"region", alert.region.str()},
                               {"epoch", alert.epoch.value},
                               {"at_ms", unix_millis(alert.at)},
                               {"detail", alert.detail}};
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

RuntimeAlertSink::RuntimeAlertSink(AlertOptions options, std::string log_path, EnvironmentLookup environment)
    : options_(std::move(options)), log_path_(std::move(log_path)), environment_(std::move(environment)) {
  if (!options_.webhook_url.empty() || !options_.command.empty()) {
    dispatcher_ = std::thread([this] { dispatch_loop(); });
  }
}

RuntimeAlertSink::~RuntimeAlertSink() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
}

void RuntimeAlertSink::raise(const Alert& alert) {
  const std::string line = alert_to_json(alert);
  std::fprintf(stderr, "%s\n", line.c_str());
  append_line_private(log_path_, line);
  if (!dispatcher_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= kQueueMax) {
      queue_.pop_front();
      ++dropped_;
    }
    queue_.push_back(alert);
  }
  wake_.notify_one();
}

std::uint64_t RuntimeAlertSink::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

void RuntimeAlertSink::dispatch_loop() {
  while (true) {
    Alert alert;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued was delivered
      alert = std::move(queue_.front());
      queue_.pop_front();
    }
    deliver(alert);
  }
}

void RuntimeAlertSink::deliver(const Alert& alert) {
  if (!options_.webhook_url.empty()) {
    const std::string body = alert_to_json(alert);
    CURL* curl = curl_easy_init();
    if (curl != nullptr) {
      curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
      curl_easy_setopt(curl, CURLOPT_URL, options_.webhook_url.c_str());
      curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, kWebhookTimeoutMs);
      curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
      const CURLcode code = curl_easy_perform(curl);
      long status = 0;
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
      // The URL may carry a token: name the failure, never the URL.
      if (code != CURLE_OK) std::fprintf(stderr, "hadr: alert webhook failed: %s\n", curl_easy_strerror(code));
      else if (status < 200 || status >= 300) std::fprintf(stderr, "hadr: alert webhook answered HTTP %ld\n", status);
      curl_slist_free_all(headers);
      curl_easy_cleanup(curl);
    }
  }
  if (!options_.command.empty()) {
    const std::vector<std::string> args(options_.command.begin() + 1, options_.command.end());
    const std::vector<std::string> own = {"HADR_ALERT_EVENT=" + alert.event,
                                          "HADR_ALERT_SEVERITY=" + std::string(alert_severity_name(alert.severity)),
                                          "HADR_ALERT_REGION=" + alert.region.str(),
                                          "HADR_ALERT_EPOCH=" + std::to_string(alert.epoch.value),
                                          "HADR_ALERT_DETAIL=" + alert.detail};
    // A clean environment: hadr's own holds its secrets (core/child_environment.h).
    auto child = ChildProcess::start_with_environment(options_.command.front(), args, log_path_ + ".command.log",
                                                      child_environment(options_.environment, own, environment_));
    if (!child.ok()) {
      std::fprintf(stderr, "hadr: alert command failed to start: %s\n", child.error().detail.c_str());
      return;
    }
    const auto exit = child->wait_for(kCommandTimeout);
    if (!exit) std::fprintf(stderr, "hadr: alert command timed out after 30 s; killed\n");
    else if (!exit->exited || exit->code != 0) std::fprintf(stderr, "hadr: alert command failed (exit %d)\n", exit->code);
  }
}

CommandHook::CommandHook(HookOptions options, std::string log_path, EnvironmentLookup environment)
    : options_(std::move(options)), log_path_(std::move(log_path)), environment_(std::move(environment)) {}

Status CommandHook::start(const RegionId& new_active, Epoch epoch) {
  if (options_.command.empty()) return failed_precondition("no hook.command configured");
  if (child_) return failed_precondition("the alias hook is already running");
  const std::vector<std::string> args(options_.command.begin() + 1, options_.command.end());
  const std::vector<std::string> own = {"HADR_NEW_ACTIVE_REGION=" + new_active.str(),
                                        "HADR_EPOCH=" + std::to_string(epoch.value)};
  HADR_ASSIGN_OR_RETURN(ChildProcess child,
                        ChildProcess::start_with_environment(options_.command.front(), args, log_path_,
                                                             child_environment(options_.environment, own, environment_)));
  child_.emplace(std::move(child));
  deadline_ = RealClock::instance().now_monotonic() + options_.timeout;
  return Status();
}

std::optional<Status> CommandHook::poll() {
  if (!child_) return Status(failed_precondition("the alias hook was not started"));
  const auto exit = child_->wait_for(Milliseconds(0));
  if (!exit) {
    if (RealClock::instance().now_monotonic() < deadline_) return std::nullopt;
    child_.reset();  // SIGKILL and reap
    return Status(deadline_exceeded("alias hook did not finish within " + std::to_string(options_.timeout.count()) +
                                    " ms; killed (output in " + log_path_ + ")"));
  }
  child_.reset();
  if (exit->exited && exit->code == 0) return Status();
  return Status(unavailable("alias hook failed (" +
                            (exit->exited ? "exit " + std::to_string(exit->code) : "signal " + std::to_string(exit->signal)) +
                            "; output in " + log_path_ + ")"));
}

}  // namespace hadr
