// The `hadr` command line as a new user meets it (issue 18, "What a new user tripped over"),
// with the real binary: every case runs `hadr …`, captures stdout + stderr and the exit code.
//   - an unknown command or flag is named, with "did you mean";
//   - --help says "hadr", never the binary's path; --version carries the git commit;
//   - duration flags are typed DURATION, list their units, take "1.5s", and a bad one names
//     the flag; `gateway --rate -5` names --rate; `wal dump --limit 0` is a short error;
//   - `config check --config F` (and the positional alias); `wal verify` on a data dir;
//   - read-only commands (status, verify) on a path where nothing ran create nothing and say
//     what is missing; a single-region status shows the region active.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "redis/redis_server.h"
#include "runtime/child_process.h"

namespace {

struct CliRun {
  int code = -1;
  std::string output;  // stdout then stderr, interleaved as written
};

std::string shell_quote(const std::string& word) {
  std::string quoted = "'";
  for (char c : word) {
    if (c == '\'') quoted += "'\\''";
    else quoted += c;
  }
  quoted += '\'';
  return quoted;
}

CliRun hadr(const std::vector<std::string>& args) {
  std::string command = shell_quote(HADR_BINARY);
  for (const std::string& arg : args) {
    command += ' ';  // built by append: g++ 12 warns falsely (-Wrestrict) on " " + std::string
    command += shell_quote(arg);
  }
  command += " 2>&1";
  CliRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) run.output.append(buffer, got);
  const int status = ::pclose(pipe);
  run.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Runs `hadr args` every 100 ms until `done` accepts its result or `timeout` passed; the last run.
CliRun hadr_until(const std::vector<std::string>& args, std::chrono::seconds timeout,
                  const std::function<bool(const CliRun&)>& done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  CliRun run = hadr(args);
  while (!done(run) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    run = hadr(args);
  }
  return run;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hadr-cli-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(dir_);
    else std::fprintf(stderr, "kept %s for inspection\n", dir_.c_str());
  }
  // A valid single-region config on the embedded backends, paths under dir_.
  std::string write_config(const std::string& name = "region.toml", const std::string& extra = "") {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << "[region]\nname = \"a\"\ndata_dir = \"data\"\n[backends]\ndir = \"shared\"\n" << extra;
    return path;
  }
  std::string dir_;
};

TEST_F(CliTest, UnknownCommandIsNamedWithASuggestion) {
  const CliRun run = hadr({"stauts"});
  EXPECT_EQ(run.code, 2);
  EXPECT_TRUE(contains(run.output, "unknown command 'stauts'")) << run.output;
  EXPECT_TRUE(contains(run.output, "did you mean status?")) << run.output;
  EXPECT_FALSE(contains(run.output, "A subcommand is required")) << run.output;

  const CliRun nested = hadr({"wal", "verfy", "x"});
  EXPECT_EQ(nested.code, 2);
  EXPECT_TRUE(contains(nested.output, "hadr wal: unknown command 'verfy'; did you mean verify?")) << nested.output;
}

TEST_F(CliTest, MisspelledFlagIsNamedWithASuggestion) {
  const CliRun run = hadr({"status", "--confg", "x.toml"});
  EXPECT_EQ(run.code, 2);
  EXPECT_TRUE(contains(run.output, "hadr status: unknown flag --confg; did you mean --config?")) << run.output;
  // A flag after a value-taking option's value is checked too.
  const CliRun later = hadr({"send", "--config", "x.toml", "--cuont", "5"});
  EXPECT_EQ(later.code, 2);
  EXPECT_TRUE(contains(later.output, "unknown flag --cuont; did you mean --count?")) << later.output;
}

TEST_F(CliTest, HelpNamesHadrNotTheBinaryPath) {
  const CliRun run = hadr({"--help"});
  EXPECT_EQ(run.code, 0);
  EXPECT_TRUE(contains(run.output, "Usage: hadr ")) << run.output;
  EXPECT_FALSE(contains(run.output, HADR_BINARY)) << run.output;
  const CliRun sub = hadr({"status", "--help"});
  EXPECT_TRUE(contains(sub.output, "Usage: hadr status")) << sub.output;
  EXPECT_FALSE(contains(sub.output, HADR_BINARY)) << sub.output;
}

TEST_F(CliTest, VersionCarriesTheGitCommit) {
  const CliRun run = hadr({"--version"});
  EXPECT_EQ(run.code, 0);
  EXPECT_TRUE(contains(run.output, "hadr 0.1.0 (commit ")) << run.output;
  const std::size_t at = run.output.find("(commit ");
  ASSERT_NE(at, std::string::npos);
  const std::string commit = run.output.substr(at + 8, 12);
  EXPECT_EQ(commit.find_first_not_of("0123456789abcdef"), std::string::npos) << run.output;
}

TEST_F(CliTest, DurationFlagsListTheirUnitsAndNameTheFlagWhenBad) {
  const CliRun help = hadr({"switchover", "--help"});
  EXPECT_TRUE(contains(help.output, "DURATION")) << help.output;
  EXPECT_TRUE(contains(help.output, "ms, s, m, h or d")) << help.output;
  const CliRun bad = hadr({"demo", "--lease-ttl", "2 parsecs"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_TRUE(contains(bad.output, "--lease-ttl")) << bad.output;
  EXPECT_FALSE(contains(bad.output, "--lease-ttl: --lease-ttl")) << bad.output;
  EXPECT_TRUE(contains(bad.output, "ms, s, m, h or d")) << bad.output;
  // A fraction is a duration: the switchover gets past parsing and fails on the missing config.
  const CliRun fraction = hadr({"switchover", "--config", dir_ + "/none.toml", "--to", "b", "--timeout", "1.5s"});
  EXPECT_FALSE(contains(fraction.output, "--timeout")) << fraction.output;
  EXPECT_TRUE(contains(fraction.output, "none.toml")) << fraction.output;
}

TEST_F(CliTest, GatewayNegativeRateNamesTheFlagTyped) {
  const CliRun run = hadr({"gateway", "--config", write_config(), "--rate", "-5"});
  EXPECT_EQ(run.code, 2);
  EXPECT_TRUE(contains(run.output, "--rate must be")) << run.output;
  EXPECT_FALSE(contains(run.output, "--client-rate")) << run.output;
}

TEST_F(CliTest, WalDumpLimitZeroIsAShortError) {
  std::filesystem::create_directories(dir_ + "/wal");
  const CliRun run = hadr({"wal", "dump", dir_ + "/wal", "--limit", "0"});
  EXPECT_EQ(run.code, 2);
  EXPECT_TRUE(contains(run.output, "--limit")) << run.output;
  EXPECT_TRUE(contains(run.output, "give 1 or more")) << run.output;
  EXPECT_LT(run.output.size(), 300u) << run.output;
}

TEST_F(CliTest, ConfigCheckTakesConfigLikeEveryCommandAndKeepsThePositionalForm) {
  const std::string config = write_config();
  const CliRun flag = hadr({"config", "check", "--config", config});
  EXPECT_EQ(flag.code, 0) << flag.output;
  EXPECT_TRUE(contains(flag.output, ": ok")) << flag.output;
  const CliRun positional = hadr({"config", "check", config});
  EXPECT_EQ(positional.code, 0) << positional.output;
  const CliRun neither = hadr({"config", "check"});
  EXPECT_EQ(neither.code, 2);
  EXPECT_TRUE(contains(neither.output, "--config")) << neither.output;
}

TEST_F(CliTest, WalVerifyOnADataDirSaysSo) {
  std::filesystem::create_directories(dir_ + "/data/wal");
  const CliRun run = hadr({"wal", "verify", dir_ + "/data"});
  EXPECT_EQ(run.code, 2);
  EXPECT_TRUE(contains(run.output, "data dir, not a WAL directory")) << run.output;
  EXPECT_TRUE(contains(run.output, dir_ + "/data/wal")) << run.output;
  EXPECT_FALSE(contains(run.output, "empty_log")) << run.output;
  const CliRun missing = hadr({"wal", "verify", dir_ + "/nowhere"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_TRUE(contains(missing.output, "is not a directory")) << missing.output;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/nowhere"));
}

// `hadr status` and `hadr verify` on a config whose paths hold nothing (a mistyped path): they
// used to create empty stores there and print a normal view, exit 0. Now: exit 3, the message
// names the missing directory and the key, and nothing is created.
TEST_F(CliTest, ReadOnlyCommandsOnAMissingPathCreateNothingAndSayWhatIsMissing) {
  const std::string config = write_config();
  const CliRun status = hadr({"status", "--config", config});
  EXPECT_EQ(status.code, 3) << status.output;
  EXPECT_TRUE(contains(status.output, dir_ + "/shared does not exist")) << status.output;
  EXPECT_TRUE(contains(status.output, "backends.dir")) << status.output;
  const CliRun verify = hadr({"verify", "--config", config});
  EXPECT_EQ(verify.code, 3) << verify.output;
  EXPECT_TRUE(contains(verify.output, dir_ + "/data does not exist")) << verify.output;
  EXPECT_TRUE(contains(verify.output, "region.data_dir")) << verify.output;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/shared"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/data"));

  // Sent, but no worker ever ran: every id is lost, the missing ledger is named, not created.
  ASSERT_EQ(hadr({"send", "--config", config, "--count", "3"}).code, 0);
  const CliRun unapplied = hadr({"verify", "--config", config});
  EXPECT_EQ(unapplied.code, 1) << unapplied.output;
  EXPECT_TRUE(contains(unapplied.output, "lost 3\n")) << unapplied.output;
  EXPECT_TRUE(contains(unapplied.output, "note: the ledger " + dir_ + "/shared/dedupe.db does not exist"))
      << unapplied.output;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/shared/dedupe.db"));
}

// A single region has no lease and wrote no heartbeat: status said `lease FREE`, `[standby]`,
// "no live heartbeat: the region's processes are down" about a running node. It is always
// active under the static epoch; its process is the one holding the membership record.
TEST_F(CliTest, StatusShowsARunningSingleRegionNodeActive) {
  const std::string config = write_config("region.toml", "[runtime]\nstats_interval = \"200ms\"\n");
  auto node = hadr::ChildProcess::start(HADR_BINARY, {"node", "--config", config}, dir_ + "/node.log", {});
  ASSERT_TRUE(node.ok()) << node.error().to_string();
  const CliRun status = hadr_until({"status", "--config", config}, std::chrono::seconds(20), [](const CliRun& run) {
    return run.code == 0 && contains(run.output, "process running");
  });
  EXPECT_EQ(status.code, 0) << status.output;
  EXPECT_TRUE(contains(status.output, "single region (no [region] peer): always active at the static epoch 1"))
      << status.output;
  EXPECT_TRUE(contains(status.output, "region a  [ACTIVE, single region]")) << status.output;
  EXPECT_TRUE(contains(status.output, "process running: pid " + std::to_string(node->pid()))) << status.output;
  EXPECT_FALSE(contains(status.output, "FREE")) << status.output;
  EXPECT_FALSE(contains(status.output, "standby")) << status.output;
  EXPECT_FALSE(contains(status.output, "processes are down")) << status.output;
  const CliRun json = hadr({"status", "--config", config, "--json"});
  EXPECT_TRUE(contains(json.output, "\"active\": true")) << json.output;
  EXPECT_TRUE(contains(json.output, "\"mode\": \"single_region\"")) << json.output;
  EXPECT_TRUE(contains(json.output, "\"pid\": \"" + std::to_string(node->pid()) + "\"")) << json.output;
  node->send_signal(SIGTERM);
  auto exit = node->wait_for(std::chrono::seconds(15));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->code, 0);
  const CliRun stopped = hadr({"status", "--config", config});
  EXPECT_TRUE(contains(stopped.output, "no process running")) << stopped.output;
}

// Real backends with Redis up and the AMQP broker and blob endpoint down: status used to fail
// whole (exit 3). Now it shows the lease and the regions (from Redis), marks the bus and the
// backup UNREACHABLE naming why, and exits 3.
TEST_F(CliTest, StatusWithOneBackendDownShowsWhatItReachesAndMarksTheRest) {
  if (!hadr::redis::find_redis_server().ok()) GTEST_SKIP() << "no redis-server";
  auto redis = hadr::redis::RedisServer::start({});
  ASSERT_TRUE(redis.ok()) << redis.error().to_string();
  ::setenv("HADR_CLI_TEST_AMQP_PASSWORD", "guest", 1);
  ::setenv("HADR_CLI_TEST_AZURE_KEY", "cGxhY2Vob2xkZXI=", 1);
  const std::string closed = "127.0.0.1:9";
  const std::string config = dir_ + "/real.toml";
  std::ofstream(config) << "[region]\nname = \"a\"\npeer = \"b\"\ndata_dir = \"a\"\n"
                        << "[backends]\nkind = \"real\"\ndir = \"shared\"\n"
                        << "[redis]\naddress = \"" << (*redis)->address() << "\"\nkey_prefix = \"cli\"\n"
                        << "[amqp]\nurl = \"amqp://" << closed << "\"\nuser = \"guest\"\n"
                        << "password_env = \"HADR_CLI_TEST_AMQP_PASSWORD\"\nconnect_timeout = \"300ms\"\n"
                        << "[azure]\nendpoint = \"http://" << closed << "/acct\"\naccount = \"acct\"\n"
                        << "container = \"backup\"\nkey_env = \"HADR_CLI_TEST_AZURE_KEY\"\n"
                        << "request_timeout = \"300ms\"\nattempts_max = 1\n";
  const CliRun status = hadr({"status", "--config", config});
  EXPECT_EQ(status.code, 3) << status.output;
  EXPECT_TRUE(contains(status.output, "lease active_dc: FREE")) << status.output;
  EXPECT_TRUE(contains(status.output, "region a  [standby]")) << status.output;
  EXPECT_TRUE(contains(status.output, "region b  [standby]")) << status.output;
  EXPECT_TRUE(contains(status.output, "UNREACHABLE (the parts above that could not be read):")) << status.output;
  EXPECT_TRUE(contains(status.output, "\n  bus: ")) << status.output;
  EXPECT_TRUE(contains(status.output, "\n  backup: ")) << status.output;
  EXPECT_FALSE(contains(status.output, "\n  lease: ")) << status.output;
  EXPECT_FALSE(contains(status.output, "\n  coord: ")) << status.output;
  const CliRun json = hadr({"status", "--config", config, "--json"});
  EXPECT_EQ(json.code, 3);
  EXPECT_TRUE(contains(json.output, "\"unreachable\": [")) << json.output;

  // Redis down too: the lease is unknown, not "FREE", and no region is called standby.
  ASSERT_TRUE((*redis)->stop().ok());
  const CliRun blind = hadr({"status", "--config", config});
  EXPECT_EQ(blind.code, 3) << blind.output;
  EXPECT_TRUE(contains(blind.output, "lease active_dc: UNREACHABLE")) << blind.output;
  EXPECT_TRUE(contains(blind.output, "region a  [active or standby: the lease is unreachable]")) << blind.output;
  EXPECT_TRUE(contains(blind.output, "\n  lease: ")) << blind.output;
  EXPECT_FALSE(contains(blind.output, "FREE")) << blind.output;
}

// verify counted effects of messages that no `hadr send` recorded (gateway, post) and said
// nothing; now it says how many and why they cannot be checked.
TEST_F(CliTest, VerifySaysWhenEffectsHaveNoSentEntries) {
  const std::string config = write_config("region.toml", "[runtime]\nstats_interval = \"200ms\"\n");
  const CliRun sent = hadr({"send", "--config", config, "--count", "20"});
  ASSERT_EQ(sent.code, 0) << sent.output;
  // The sent.log is lost (as if another producer had put these messages).
  std::filesystem::remove(dir_ + "/data/sent.log");
  auto node = hadr::ChildProcess::start(HADR_BINARY, {"node", "--config", config}, dir_ + "/node.log", {});
  ASSERT_TRUE(node.ok()) << node.error().to_string();
  const CliRun verify = hadr_until({"verify", "--config", config}, std::chrono::seconds(30),
                                  [](const CliRun& run) { return contains(run.output, "effects 20\n"); });
  node->send_signal(SIGTERM);
  (void)node->wait_for(std::chrono::seconds(15));
  EXPECT_TRUE(contains(verify.output, "effects 20\n")) << verify.output;
  EXPECT_TRUE(contains(verify.output, "note: 20 of the effects have no entry in sent.log")) << verify.output;
  EXPECT_TRUE(contains(verify.output, "note: no sent.log in this data_dir")) << verify.output;
  const CliRun json = hadr({"verify", "--config", config, "--json"});
  EXPECT_TRUE(contains(json.output, "\"effects_without_sent\": 20")) << json.output;
}

// A long send prints its progress on stderr (it printed nothing until it ended).
TEST_F(CliTest, LongSendPrintsProgress) {
  const std::string config = write_config();
  const CliRun sent = hadr({"send", "--config", config, "--count", "300", "--rate", "100", "--batch", "10"});
  EXPECT_EQ(sent.code, 0) << sent.output;
  EXPECT_TRUE(contains(sent.output, "hadr send: ")) << sent.output;
  EXPECT_TRUE(contains(sent.output, "/300 sent (")) << sent.output;
  EXPECT_TRUE(contains(sent.output, "msg/s")) << sent.output;
}

}  // namespace
