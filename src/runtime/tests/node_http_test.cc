// Proves the node's operator endpoints without a running node (runtime/node_http.h):
//   - the /metrics text of a single-region and a two-region observation is Prometheus text
//     format 0.0.4 as Prometheus reads it: every sample belongs to a family announced by
//     `# HELP` and `# TYPE` just before it, names match [a-zA-Z_:][a-zA-Z0-9_:]*, counters end
//     in _total, every value parses as a number, no family appears twice; the values are the
//     observation's (lease epoch, checkpoint, relay counters);
//   - /readyz: active (alone, or holding the lease) is ready; a standby with a live worker is
//     ready; a standby whose workers all fail, a draining node and a halted watchdog are not,
//     each with a one-line reason;
//   - routing: 404 for other paths, 405 (with Allow) for other methods, HEAD like GET;
//   - where to listen: [http] listen in the config, --listen on the command line (which wins),
//     neither (no listener), and bad values of both refused with the key or flag named.
#include "runtime/node_http.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace hadr {
namespace {

NodeObservation single_region_observation() {
  NodeObservation node;
  node.region = RegionId::parse("a").value();
  node.process_name = "node";
  node.lease_holding = true;
  node.lease_epoch = 1;
  node.worker_count = 2;
  node.stats.relay.appended = 42;
  node.stats.relay.published = 40;
  node.stats.workers.suppressed_duplicates = 3;
  node.stats.checkpointer.checkpoint = 37;
  node.roles = {{"relay", RoleHealth{.progress_total = 42, .lag = 2}},
                {"worker-1", RoleHealth{.progress_total = 20}},
                {"worker-2", RoleHealth{.progress_total = 20, .errors_total = 1}}};
  return node;
}

NodeObservation standby_observation() {
  NodeObservation node = single_region_observation();
  node.two_regions = true;
  node.lease_holding = false;
  node.lease_epoch = 0;
  node.lease = LeaseStats{.epoch = 0, .acquired = 1, .renewed = 10, .highest_epoch_seen = 3};
  node.watchdog = WatchdogStatus{};
  node.backup = WalShipperStats{.shipped_lsn = 40, .records_shipped = 40, .bytes_shipped = 4000};
  node.backup_lag_records = 2;
  node.replay = ReplayerStats{};
  return node;
}

struct ParsedMetrics {
  std::map<std::string, std::string> types;  // family -> counter | gauge
  std::map<std::string, double> samples;     // name{labels} -> value
};

// Reads the text as a scraper does and fails the test on any line that breaks the format.
ParsedMetrics parse_exposition(const std::string& text) {
  static const std::regex kName("[a-zA-Z_:][a-zA-Z0-9_:]*");
  static const std::regex kSample(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-z_]+="[a-z0-9-]+"\})? (\S+))");
  ParsedMetrics parsed;
  std::set<std::string> helped;
  std::string current;  // the family the last HELP/TYPE announced
  std::istringstream lines(text);
  std::string line;
  EXPECT_TRUE(text.ends_with("\n"));
  while (std::getline(lines, line)) {
    if (line.starts_with("# HELP ")) {
      const std::string rest = line.substr(7);
      const std::string name = rest.substr(0, rest.find(' '));
      EXPECT_TRUE(std::regex_match(name, kName)) << line;
      EXPECT_GT(rest.size(), name.size() + 1) << "empty HELP: " << line;
      EXPECT_TRUE(helped.insert(name).second) << "family announced twice: " << name;
      current = name;
      continue;
    }
    if (line.starts_with("# TYPE ")) {
      std::istringstream fields(line.substr(7));
      std::string name, type;
      fields >> name >> type;
      EXPECT_EQ(name, current) << "TYPE without its HELP just before: " << line;
      EXPECT_TRUE(type == "counter" || type == "gauge") << line;
      if (type == "counter") {
        EXPECT_TRUE(name.ends_with("_total")) << "a counter must end in _total: " << name;
      }
      parsed.types[name] = type;
      continue;
    }
    std::smatch match;
    EXPECT_TRUE(std::regex_match(line, match, kSample)) << "not a sample: " << line;
    if (match.empty()) continue;
    EXPECT_EQ(match[1].str(), current) << "sample outside its family: " << line;
    EXPECT_EQ(parsed.types.count(match[1].str()), 1u) << "sample without TYPE: " << line;
    const std::string value = match[3].str();
    char* end = nullptr;
    const double number = std::strtod(value.c_str(), &end);
    EXPECT_EQ(*end, '\0') << "value does not parse: " << line;
    parsed.samples[match[1].str() + match[2].str()] = number;
  }
  return parsed;
}

TEST(NodeMetrics, SingleRegionTextFollowsTheExpositionFormat) {
  const ParsedMetrics parsed = parse_exposition(render_node_metrics(single_region_observation()));
  EXPECT_EQ(parsed.samples.at("hadr_lease_holder"), 1);
  EXPECT_EQ(parsed.samples.at("hadr_lease_epoch"), 1);
  EXPECT_EQ(parsed.samples.at("hadr_checkpoint_lsn"), 37);
  EXPECT_EQ(parsed.samples.at("hadr_relay_appended_records_total"), 42);
  EXPECT_EQ(parsed.samples.at("hadr_relay_published_records_total"), 40);
  EXPECT_EQ(parsed.samples.at("hadr_worker_duplicates_suppressed_total"), 3);
  EXPECT_EQ(parsed.samples.at("hadr_role_lag{role=\"relay\"}"), 2);
  EXPECT_EQ(parsed.samples.at("hadr_role_errors_total{role=\"worker-2\"}"), 1);
  EXPECT_EQ(parsed.types.at("hadr_worker_dead_lettered_total"), "counter");
  // Alone there is no lease manager: no renew deadline is invented.
  EXPECT_EQ(parsed.types.count("hadr_lease_renew_deadline_seconds"), 0u);
}

TEST(NodeMetrics, TwoRegionTextAddsLeaseBackupAndReplay) {
  NodeObservation node = standby_observation();
  node.lease_holding = true;
  node.lease_epoch = 3;
  node.lease_time_to_deadline = Milliseconds(1'250);
  const ParsedMetrics parsed = parse_exposition(render_node_metrics(node));
  EXPECT_EQ(parsed.samples.at("hadr_lease_epoch"), 3);
  EXPECT_DOUBLE_EQ(parsed.samples.at("hadr_lease_renew_deadline_seconds"), 1.25);
  EXPECT_EQ(parsed.samples.at("hadr_lease_renewals_total"), 10);
  EXPECT_EQ(parsed.samples.at("hadr_lease_highest_epoch_seen"), 3);
  EXPECT_EQ(parsed.samples.at("hadr_wal_backup_shipped_lsn"), 40);
  EXPECT_EQ(parsed.samples.at("hadr_wal_backup_lag_records"), 2);
  EXPECT_EQ(parsed.types.at("hadr_wal_backup_shipped_bytes_total"), "counter");
  EXPECT_EQ(parsed.types.at("hadr_replayer_replayed_records_total"), "counter");
  EXPECT_EQ(parsed.types.at("hadr_watchdog_region_healthy"), "gauge");
  EXPECT_EQ(parsed.types.at("hadr_watchdog_alerts_total"), "counter");
}

TEST(NodeReadiness, ActiveIsReady) {
  const NodeReadiness alone = node_readiness(single_region_observation());
  EXPECT_TRUE(alone.ready) << alone.reason;
  NodeObservation holding = standby_observation();
  holding.lease_holding = true;
  holding.lease_epoch = 4;
  const NodeReadiness active = node_readiness(holding);
  EXPECT_TRUE(active.ready);
  EXPECT_NE(active.reason.find("epoch 4"), std::string::npos) << active.reason;
}

TEST(NodeReadiness, StandbyWithALiveWorkerIsReady) {
  const NodeReadiness standby = node_readiness(standby_observation());
  EXPECT_TRUE(standby.ready) << standby.reason;
  EXPECT_NE(standby.reason.find("2 of 2 workers"), std::string::npos) << standby.reason;
}

TEST(NodeReadiness, StandbyWithEveryWorkerFailingIsNotReady) {
  NodeObservation node = standby_observation();
  for (NamedHealth& role : node.roles) {
    role.health.consecutive_errors = 5;
    role.health.last_error = "bus: connection refused\nsecond line";
  }
  const NodeReadiness readiness = node_readiness(node);
  EXPECT_FALSE(readiness.ready);
  EXPECT_NE(readiness.reason.find("no live worker"), std::string::npos) << readiness.reason;
  EXPECT_EQ(readiness.reason.find('\n'), std::string::npos) << "one line: " << readiness.reason;
  NodeObservation no_workers = standby_observation();
  no_workers.roles.clear();
  no_workers.worker_count = 0;
  EXPECT_FALSE(node_readiness(no_workers).ready);
}

TEST(NodeReadiness, DrainingOrHaltedIsNotReady) {
  NodeObservation draining = single_region_observation();
  draining.draining = true;
  EXPECT_FALSE(node_readiness(draining).ready);
  NodeObservation halted = standby_observation();
  halted.watchdog->phase = WatchdogPhase::kHalted;
  halted.watchdog->health_reason = "epoch regression";
  const NodeReadiness readiness = node_readiness(halted);
  EXPECT_FALSE(readiness.ready);
  EXPECT_NE(readiness.reason.find("epoch regression"), std::string::npos);
}

HttpRequest request(std::string method, std::string path) {
  HttpRequest made;
  made.method = std::move(method);
  made.path = std::move(path);
  return made;
}

TEST(NodeHttpService, RoutesPathsAndMethods) {
  NodeHttpService service([] { return single_region_observation(); },
                          []() -> Result<std::string> { return std::string("{\"single_region\": true}"); });
  EXPECT_EQ(service.handle(request("GET", "/healthz")).status, 200);
  EXPECT_EQ(service.handle(request("GET", "/readyz")).status, 200);
  const HttpResponse metrics = service.handle(request("GET", "/metrics"));
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics.body.find("hadr_lease_epoch 1\n"), std::string::npos);
  const HttpResponse status = service.handle(request("GET", "/status"));
  EXPECT_EQ(status.status, 200);
  EXPECT_EQ(status.content_type, "application/json");
  EXPECT_EQ(service.handle(request("HEAD", "/metrics")).status, 200);
  EXPECT_EQ(service.handle(request("GET", "/")).status, 404);
  EXPECT_EQ(service.handle(request("GET", "/metrics/x")).status, 404);
  const HttpResponse post = service.handle(request("POST", "/metrics"));
  EXPECT_EQ(post.status, 405);
  ASSERT_NE(post.header("Allow"), nullptr);
  EXPECT_EQ(*post.header("Allow"), "GET, HEAD");
}

TEST(NodeHttpService, StatusThatCannotBeReadIs503) {
  NodeHttpService service([] { return single_region_observation(); },
                          []() -> Result<std::string> { return unavailable("coord: down"); });
  EXPECT_EQ(service.handle(request("GET", "/status")).status, 503);
}

constexpr std::string_view kConfig = "[region]\nname = \"a\"\ndata_dir = \"/var/lib/hadr/a\"\n";

TEST(NodeListenAddress, NeitherKeyNorFlagMeansNoListener) {
  auto config = parse_region_config(kConfig, "/");
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  EXPECT_FALSE(config->http_listen.has_value());
  auto chosen = choose_node_listen_address(std::nullopt, *config);
  ASSERT_TRUE(chosen.ok());
  EXPECT_FALSE(chosen->has_value());
}

TEST(NodeListenAddress, ConfigKeyIsReadAndTheFlagWins) {
  auto config = parse_region_config(std::string(kConfig) + "[http]\nlisten = \"127.0.0.1:9100\"\n", "/");
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  ASSERT_TRUE(config->http_listen.has_value());
  EXPECT_EQ(config->http_listen->host, "127.0.0.1");
  EXPECT_EQ(config->http_listen->port, 9100);
  EXPECT_NE(describe(*config).find("127.0.0.1:9100"), std::string::npos);
  auto from_config = choose_node_listen_address(std::nullopt, *config);
  ASSERT_TRUE(from_config.ok());
  EXPECT_EQ((*from_config)->port, 9100);
  auto from_flag = choose_node_listen_address("[::1]:9200", *config);
  ASSERT_TRUE(from_flag.ok());
  EXPECT_EQ((*from_flag)->host, "::1");
  EXPECT_EQ((*from_flag)->port, 9200);
}

TEST(NodeListenAddress, BadConfigValuesNameTheKey) {
  for (const char* value : {"\"9100\"", "\"127.0.0.1:65536\"", "\"127.0.0.1:-5\"", "\"host:port\"", "9100", "\"\""}) {
    auto config = parse_region_config(std::string(kConfig) + "[http]\nlisten = " + value + "\n", "/");
    ASSERT_FALSE(config.ok()) << value;
    EXPECT_NE(config.error().detail.find("http.listen"), std::string::npos) << config.error().detail;
  }
  auto unknown = parse_region_config(std::string(kConfig) + "[http]\nlisten_on = \"127.0.0.1:9100\"\n", "/");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().detail.find("http.listen_on"), std::string::npos) << unknown.error().detail;
}

TEST(NodeListenAddress, BadFlagValuesNameTheFlag) {
  auto config = parse_region_config(std::string(kConfig) + "[http]\nlisten = \"127.0.0.1:9100\"\n", "/");
  ASSERT_TRUE(config.ok());
  for (const char* value : {"", "9100", "127.0.0.1:70000", "127.0.0.1:", "127.0.0.1:abc"}) {
    auto chosen = choose_node_listen_address(std::string(value), *config);
    ASSERT_FALSE(chosen.ok()) << value;
    EXPECT_EQ(chosen.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(chosen.error().detail.find("--listen"), std::string::npos) << chosen.error().detail;
  }
}

}  // namespace
}  // namespace hadr
