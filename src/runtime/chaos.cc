#include "runtime/chaos.h"

#include <signal.h>
#include <stdlib.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <optional>
#include <thread>
#include <vector>

#include "config/region_config.h"
#include "core/random.h"
#include "runtime/child_process.h"

namespace hadr {

namespace {

// The roles of the drill: what `hadr` is started with for each.
struct RoleProcess {
  std::string label;
  std::vector<std::string> arguments;
  std::optional<ChildProcess> child;
};

// Short locks and claims so that what a killed role held comes back within seconds.
constexpr std::string_view kChaosConfig =
    "[region]\nname = \"a\"\ndata_dir = \"data\"\n"
    "[backends]\ndir = \"shared\"\n"
    "[source]\nvisibility_timeout = \"5s\"\n"
    "[promoter]\nlock_duration = \"3s\"\n"
    "[workers]\ncount = 2\nlock_duration = \"3s\"\nclaim_ttl = \"5s\"\nmax_delivery_count = 100\n"
    "[checkpointer]\ninterval = \"500ms\"\n"
    "[runtime]\nstats_interval = \"2s\"\ndrain_timeout = \"5s\"\n";

Result<std::string> prepare_dir(const ChaosOptions& options) {
  std::string dir = options.keep_dir;
  if (dir.empty()) {
    char pattern[] = "/tmp/hadr-chaos-XXXXXX";
    if (mkdtemp(pattern) == nullptr) return unavailable("cannot create a temp dir under /tmp");
    dir = pattern;
  }
  std::ofstream config(dir + "/region.toml", std::ios::trunc);
  config << kChaosConfig;
  if (!config.flush()) return unavailable("cannot write " + dir + "/region.toml; does --keep exist?");
  return dir;
}

Status start_role(const ChaosOptions& options, const std::string& log, RoleProcess& role) {
  HADR_ASSIGN_OR_RETURN(ChildProcess child, ChildProcess::start(options.hadr_binary, role.arguments, log));
  role.child.emplace(std::move(child));
  return ok_status();
}

// Polls verify until nothing is missing or the deadline passes.
Result<VerifyReport> wait_drained(const RegionConfig& config, std::chrono::seconds timeout,
                                  const std::function<void(const std::string&)>& progress) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto next_line = std::chrono::steady_clock::now();
  while (true) {
    HADR_ASSIGN_OR_RETURN(VerifyReport report, verify_region(config));
    if (report.lost == 0) return report;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return report;
    if (now >= next_line) {
      progress("draining: " + std::to_string(report.effects) + " effects, " + std::to_string(report.lost) +
               " not applied yet");
      next_line = now + std::chrono::seconds(5);
    }
    // verify reads the whole ledger: polling it faster would slow the drain it waits for.
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
}

Status stop_all(std::vector<RoleProcess>& roles) {
  for (RoleProcess& role : roles) role.child->send_signal(SIGTERM);
  for (RoleProcess& role : roles) {
    auto exit = role.child->wait_for(std::chrono::seconds(30));
    if (!exit) return deadline_exceeded(role.label + " did not stop within 30 s of SIGTERM");
    if (!exit->exited || exit->code != 0) {
      return internal_error(role.label + " stopped with code " + std::to_string(exit->code) + " signal " +
                            std::to_string(exit->signal) + " after SIGTERM; see the log");
    }
  }
  return ok_status();
}

}  // namespace

Status ChaosOptions::validate() const {
  if (scenario != "kill-roles") return invalid_argument("--scenario " + scenario + " is unknown; use kill-roles");
  if (messages < 1 || messages > SendOptions::kCountMax) return invalid_argument("--messages must be 1 .. 100,000,000");
  if (kills > 10'000) return invalid_argument("--kills must be at most 10,000");
  if (hadr_binary.empty()) return invalid_argument("the hadr binary path is empty");
  return ok_status();
}

Result<ChaosReport> run_chaos(const ChaosOptions& options, const std::function<void(const std::string&)>& progress) {
  HADR_TRY(options.validate());
  const auto started = std::chrono::steady_clock::now();
  ChaosReport report;
  HADR_ASSIGN_OR_RETURN(report.dir, prepare_dir(options));
  const std::string config_path = report.dir + "/region.toml";
  const std::string log = report.dir + "/processes.log";
  HADR_ASSIGN_OR_RETURN(const RegionConfig config, load_region_config(config_path));
  progress("dir " + report.dir + " (logs: processes.log)");
  std::vector<RoleProcess> roles(4);
  roles[0] = RoleProcess{"relay", {"relay", "--config", config_path}, {}};
  roles[1] = RoleProcess{"promoter", {"promoter", "--config", config_path}, {}};
  roles[2] = RoleProcess{"worker-1", {"worker", "--config", config_path, "--instance", "w1"}, {}};
  roles[3] = RoleProcess{"worker-2", {"worker", "--config", config_path, "--instance", "w2"}, {}};
  for (RoleProcess& role : roles) HADR_TRY(start_role(options, log, role));
  HADR_ASSIGN_OR_RETURN(ChildProcess sender,
                        ChildProcess::start(options.hadr_binary,
                                            {"send", "--config", config_path, "--count", std::to_string(options.messages)},
                                            log));
  Random random(options.seed);
  for (std::uint32_t kill = 0; kill < options.kills; ++kill) {
    std::this_thread::sleep_for(std::chrono::milliseconds(random.between(200, 2000)));
    RoleProcess& victim = roles[random.uniform(roles.size())];
    victim.child->send_signal(SIGKILL);
    (void)victim.child->wait_for(std::chrono::seconds(10));
    HADR_TRY(start_role(options, log, victim));
    ++report.kills;
    progress("kill " + std::to_string(report.kills) + "/" + std::to_string(options.kills) + ": " + victim.label);
  }
  auto sent = sender.wait_for(std::chrono::minutes(30));
  if (!sent || !sent->exited || sent->code != 0) return internal_error("the sender failed; see " + log);
  progress("all " + std::to_string(options.messages) + " messages sent; draining");
  HADR_ASSIGN_OR_RETURN(report.verify, wait_drained(config, options.drain_timeout, progress));
  HADR_TRY(stop_all(roles));
  HADR_ASSIGN_OR_RETURN(report.verify, verify_region(config));
  report.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (options.keep_dir.empty() && report.verify.passed()) std::system(("rm -rf '" + report.dir + "'").c_str());
  return report;
}

std::string ChaosReport::to_json() const {
  std::string json = verify.to_json();
  json.pop_back();  // the closing brace
  char tail[128];
  std::snprintf(tail, sizeof(tail), ", \"kills\": %u, \"elapsed_seconds\": %.1f}", kills, elapsed_seconds);
  return json + tail;
}

}  // namespace hadr
