// Proves that a region's TOML config parses with its defaults, that durations accept every
// unit and integers in ms, and that every bad config is refused with a message naming the key
// and the fix: a table of bad configs, each with the fragment its error must contain (unknown
// keys and sections, bad durations, out-of-range values, the dedupe TTL rule, the real backends'
// sections and their secrets, which are only ever named by an environment variable), and every
// one of them in the one format `section.key: what is wrong; how to fix it`.
// Issue 15's config gaps each have a row: a webhook that is not a URL, claim_ttl shorter than
// lock_duration, password_env with password_file, failover sections without a peer, a secret
// written in the file, the real range of workers.count, plaintext passwords to remote hosts,
// Service Bus without TLS, a child environment that names a secret; and issue 12's
// backup.mode = "off" with a peer.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "config/region_config.h"

namespace hadr {
namespace {

constexpr std::string_view kMinimal = R"(
[region]
name = "a"
data_dir = "/var/lib/hadr/a"
)";

TEST(RegionConfig, MinimalConfigTakesTheDefaults) {
  auto config = parse_region_config(kMinimal, "/etc/hadr");
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  EXPECT_EQ(config->region.str(), "a");
  EXPECT_EQ(config->data_dir, "/var/lib/hadr/a");
  EXPECT_EQ(config->wal_dir(), "/var/lib/hadr/a/wal");
  EXPECT_EQ(config->embedded.dir, "/var/lib/hadr/a/embedded");
  EXPECT_EQ(config->relay.region.str(), "a");
  EXPECT_EQ(config->worker_count, 2u);
  EXPECT_EQ(config->worker.record_ttl, kDefaultDedupeRecordTtl);
  EXPECT_EQ(config->handler.kind, "ledger");
}

TEST(RegionConfig, RelativePathsResolveAgainstTheConfigDirectory) {
  auto config = parse_region_config(R"(
[region]
name = "a"
data_dir = "data/a"
[backends]
dir = "shared"
)", "/etc/hadr");
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  EXPECT_EQ(config->data_dir, "/etc/hadr/data/a");
  EXPECT_EQ(config->embedded.dedupe_path(), "/etc/hadr/shared/dedupe.db");
  EXPECT_EQ(config->embedded.bus_path("primary"), "/etc/hadr/shared/bus-primary.db");
}

TEST(RegionConfig, EveryKeyIsRead) {
  auto config = parse_region_config(std::string(kMinimal) + R"(
[source]
visibility_timeout = "45s"
[relay]
batch_max = 100
in_flight_max = 1000
recovery_chunk_max = 50
retention_interval = "2s"
backoff_initial = "20ms"
backoff_max = "1s"
[promoter]
batch_max = 64
lock_duration = "10s"
staging_max_delivery_count = 5000
[workers]
count = 3
batch_max = 8
lock_duration = "20s"
claim_ttl = "40s"
max_delivery_count = 5
[checkpointer]
interval = 500
chunk_max = 100
[dedupe]
record_ttl = "30d"
[wal]
segment_bytes_max = 1048576
record_bytes_max = 65536
retention = "2d"
[replay]
horizon = "3d"
[runtime]
idle_wait = "2ms"
drain_timeout = "5s"
stats_interval = "1s"
[handler]
kind = "exec"
exec_command = ["/bin/true"]
exec_timeout = "3s"
)", "/");
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  EXPECT_EQ(config->source_visibility_timeout, Milliseconds(45'000));
  EXPECT_EQ(config->relay.batch_max, 100u);
  EXPECT_EQ(config->relay.backoff.max, Milliseconds(1000));
  EXPECT_EQ(config->promoter.lock_duration, Milliseconds(10'000));
  EXPECT_EQ(config->staging_max_delivery_count, 5000u);
  EXPECT_EQ(config->worker_count, 3u);
  EXPECT_EQ(config->worker.claim_ttl, Milliseconds(40'000));
  EXPECT_EQ(config->checkpointer.interval, Milliseconds(500));
  EXPECT_EQ(config->worker.record_ttl, std::chrono::hours(24 * 30));
  EXPECT_EQ(config->wal.segment_bytes_max, 1048576u);
  EXPECT_EQ(config->wal.record_bytes_max, 65536u);
  EXPECT_EQ(config->replay_horizon, std::chrono::hours(72));
  EXPECT_EQ(config->runtime.drain_timeout, Milliseconds(5000));
  EXPECT_EQ(config->handler.kind, "exec");
  ASSERT_EQ(config->handler.exec_command.size(), 1u);
}

TEST(RegionConfig, SqlHandlerWithStatementsParses) {
  auto config = parse_region_config(std::string(kMinimal) +
                                        "[handler]\nkind = \"sql\"\nsql_url = \"postgresql://app@db.example/payments\"\n"
                                        "sql_password_env = \"PG_APP_PASSWORD\"\nsql_sslmode = \"verify-full\"\n"
                                        "sql_statement_timeout = \"1s\"\nsql_attempts_max = 5\n"
                                        "sql_isolation = \"serializable\"\n"
                                        "[[handler.sql_statements]]\nsql = \"INSERT INTO payments VALUES ($1, $2)\"\n"
                                        "parameters = [\"$message_id\", \"$body.amount\"]\n"
                                        "[[handler.sql_statements]]\nsql = \"UPDATE accounts SET balance = balance + $1\"\n"
                                        "parameters = [\"$body.amount\"]\n",
                                    "/");
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  EXPECT_EQ(config->handler.kind, "sql");
  EXPECT_EQ(config->handler.sql_password_env, "PG_APP_PASSWORD");
  EXPECT_EQ(config->handler.sql_sslmode, "verify-full");
  EXPECT_EQ(config->handler.sql_statement_timeout, Milliseconds(1'000));
  EXPECT_EQ(config->handler.sql_attempts_max, 5u);
  EXPECT_EQ(config->handler.sql_isolation, "serializable");
  ASSERT_EQ(config->handler.sql_statements.size(), 2u);
  EXPECT_EQ(config->handler.sql_statements[1].sql, "UPDATE accounts SET balance = balance + $1");
  EXPECT_EQ(config->handler.sql_statements[0].parameters,
            (std::vector<std::string>{"$message_id", "$body.amount"}));
}

TEST(RegionConfig, SqlStatementsThatCannotFinishInsideTheLockAreRefused) {
  std::string statements;
  for (int index = 0; index < 4; ++index) statements += "[[handler.sql_statements]]\nsql = \"SELECT 1\"\n";
  auto config = parse_region_config(std::string(kMinimal) + "[handler]\nkind = \"sql\"\nsql_url = \"postgresql://db/x\"\n" +
                                        "sql_statement_timeout = \"10s\"\n" + statements,
                                    "/");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().detail.find("workers.lock_duration"), std::string::npos) << config.error().detail;
}

// Outside the BadConfig table: the key of an array element carries its index, which the
// table's "section.key: ..." format check does not allow.
TEST(RegionConfig, SqlStatementUnknownKeyIsRefusedWithItsIndex) {
  auto config = parse_region_config(std::string(kMinimal) + "[handler]\nkind = \"sql\"\nsql_url = \"postgresql://db/x\"\n" +
                                        "[[handler.sql_statements]]\nsq = \"SELECT 1\"\n",
                                    "/");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().detail.rfind("handler.sql_statements[0].sq: is not a known key", 0), 0u) << config.error().detail;
}

TEST(RegionConfig, PeerTurnsOnTwoRegionModeWithItsDefaults) {
  auto alone = parse_region_config(kMinimal, "/");
  ASSERT_TRUE(alone.ok());
  EXPECT_FALSE(alone->two_regions());
  auto config = parse_region_config(std::string(kMinimal) + "peer = \"b\"\n[lease]\nttl = \"3s\"\n[backup]\nmode = \"async\"\n"
                                                          "lag_max = 100\n[hook]\ncommand = [\"/bin/true\"]\n",
                                    "/");
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  EXPECT_TRUE(config->two_regions());
  EXPECT_EQ(config->peer.str(), "b");
  EXPECT_EQ(config->lease.holder, "a");
  EXPECT_EQ(config->lease.ttl, Milliseconds(3'000));
  EXPECT_EQ(config->watchdog.region.str(), "a");
  EXPECT_EQ(config->watchdog.peer.str(), "b");
  EXPECT_EQ(config->watchdog.bus_namespace, "primary");
  EXPECT_EQ(config->backup_mode, BackupMode::kAsync);
  EXPECT_EQ(config->backup_lag_max, 100u);
  EXPECT_EQ(config->hook.command, std::vector<std::string>{"/bin/true"});
  EXPECT_NE(describe(*config).find("two regions: peer b"), std::string::npos);
}

TEST(RegionConfig, WebhookUrlIsNeverDescribed) {
  auto config = parse_region_config(std::string(kMinimal) + "peer = \"b\"\n[alerts]\nwebhook = \"https://x/?token=s3cret\"\n", "/");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(describe(*config).find("s3cret"), std::string::npos);
}

TEST(RegionConfig, WebhookUrlsWithAHostAreAccepted) {
  for (const char* url : {"https://alerts.example.com/hadr", "https://alerts.example.com:8443/hadr?token=x",
                          "http://127.0.0.1:9/x", "http://[::1]:9/x", "https://user:tok@alerts.example.com/x",
                          "https://alerts.example.com"}) {
    auto config = parse_region_config(std::string(kMinimal) + "peer = \"b\"\n[alerts]\nwebhook = \"" + url + "\"\n", "/");
    EXPECT_TRUE(config.ok()) << url << ": " << config.error().to_string();
  }
}

// Hole 7 (issue 12) chose keep-alive over "fit inside": the exec handler renews the message's
// lock and claim every poll round, so a command may run longer than the lock. Issue 15 listed
// this as a gap; it is accepted on purpose (docs/handlers.md).
TEST(RegionConfig, ExecTimeoutLongerThanTheLockIsAcceptedBecauseKeepAliveRenewsIt) {
  auto config = parse_region_config(std::string(kMinimal) + "[handler]\nkind = \"exec\"\nexec_command = [\"/bin/true\"]\n"
                                                          "exec_timeout = \"10m\"\n[workers]\nlock_duration = \"30s\"\n",
                                    "/");
  ASSERT_TRUE(config.ok()) << config.error().to_string();
}

TEST(RegionConfig, ClaimAsLongAsTheLockIsAccepted) {
  auto config = parse_region_config(std::string(kMinimal) + "[workers]\nlock_duration = \"20s\"\nclaim_ttl = \"20s\"\n", "/");
  ASSERT_TRUE(config.ok()) << config.error().to_string();
}

TEST(RegionConfig, ChildEnvironmentListsAreRead) {
  auto config = parse_region_config(std::string(kMinimal) + R"(peer = "b"
[handler]
kind = "exec"
exec_command = ["/bin/true"]
exec_environment = ["APPLY_TOKEN", "TZ"]
[alerts]
command = ["/usr/local/bin/page"]
environment = ["PAGER_KEY"]
[hook]
command = ["/usr/bin/az"]
environment = ["AZURE_CONFIG_DIR"]
)", "/");
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  EXPECT_EQ(config->handler.exec_environment, (std::vector<std::string>{"APPLY_TOKEN", "TZ"}));
  EXPECT_EQ(config->alerts.environment, std::vector<std::string>{"PAGER_KEY"});
  EXPECT_EQ(config->hook.environment, std::vector<std::string>{"AZURE_CONFIG_DIR"});
}

// A password may cross the network in plain text only to loopback, or where the operator
// says so explicitly; TLS (amqps) needs no such permission.
TEST(RegionConfig, PlaintextPasswordsToRemoteHostsNeedAnExplicitKey) {
  const std::string azure = "[azure]\naccount = \"acct\"\ncontainer = \"hadr-backup\"\nkey_env = \"K\"\n[backends]\nkind = \"real\"\n";
  auto allowed = parse_region_config(std::string(kMinimal) + azure + R"(
[redis]
address = "10.0.0.8:6379"
password_env = "R"
allow_plaintext_password = true
[amqp]
url = "amqp://10.0.0.7:5672"
user = "u"
password_env = "P"
allow_plaintext_password = true
)", "/");
  ASSERT_TRUE(allowed.ok()) << allowed.error().to_string();
  EXPECT_TRUE(allowed->real.redis.allow_plaintext_password);
  EXPECT_TRUE(allowed->real.bus.allow_plaintext_password);
  auto tls = parse_region_config(std::string(kMinimal) + azure + R"(
[amqp]
url = "amqps://ns.servicebus.windows.net"
tls = true
broker = "servicebus"
user = "RootManageSharedAccessKey"
password_env = "P"
tls_ca_file = "ca.pem"
)", "/etc/hadr");
  ASSERT_TRUE(tls.ok()) << tls.error().to_string();
  EXPECT_EQ(tls->real.bus.tls_ca_file, "/etc/hadr/ca.pem");
  auto loopback = parse_region_config(std::string(kMinimal) + azure + R"(
[redis]
address = "127.0.0.1:6379"
password_env = "R"
[amqp]
url = "amqp://localhost:5672"
user = "u"
password_env = "P"
)", "/");
  ASSERT_TRUE(loopback.ok()) << loopback.error().to_string();
}

TEST(ParseDuration, AcceptsEveryUnit) {
  EXPECT_EQ(*parse_duration("k", "250ms"), Milliseconds(250));
  EXPECT_EQ(*parse_duration("k", "30s"), Milliseconds(30'000));
  EXPECT_EQ(*parse_duration("k", "5m"), Milliseconds(300'000));
  EXPECT_EQ(*parse_duration("k", "2h"), Milliseconds(7'200'000));
  EXPECT_EQ(*parse_duration("k", "7d"), std::chrono::hours(24 * 7));
  EXPECT_EQ(*parse_duration("k", "0s"), Milliseconds(0));
}

// Issue 18: "1.5s" was refused while the config took 30000 (ms); a fraction is fine when the
// result is whole milliseconds.
TEST(ParseDuration, AcceptsAFractionThatIsWholeMilliseconds) {
  EXPECT_EQ(*parse_duration("k", "1.5s"), Milliseconds(1'500));
  EXPECT_EQ(*parse_duration("k", "0.25s"), Milliseconds(250));
  EXPECT_EQ(*parse_duration("k", "2.5m"), Milliseconds(150'000));
  EXPECT_EQ(*parse_duration("k", "1.0ms"), Milliseconds(1));
  auto config = parse_region_config(std::string(kMinimal) + "[workers]\nlock_duration = \"1.5s\"\nclaim_ttl = 30000\n", "/");
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  EXPECT_EQ(config->worker.lock_duration, Milliseconds(1'500));
  EXPECT_EQ(config->worker.claim_ttl, Milliseconds(30'000));
}

TEST(ParseDuration, ErrorsListTheUnits) {
  for (const char* text : {"30", "30 parsecs", "1.5ms", "1.s", "3w"}) {
    auto duration = parse_duration("workers.lock_duration", text);
    ASSERT_FALSE(duration.ok()) << text;
    EXPECT_NE(duration.error().detail.find("ms, s, m, h or d"), std::string::npos) << duration.error().detail;
  }
  EXPECT_NE(parse_duration("k", "30").error().detail.find("has no unit"), std::string::npos);
  EXPECT_NE(parse_duration("k", "3w").error().detail.find("unknown unit \"w\""), std::string::npos);
}

TEST(ParseDuration, RefusesWhatIsNotADuration) {
  for (const char* text : {"", "s", "30", "30 s", "-5s", "1.5ms", ".5s", "1.s", "30 parsecs", "3w"}) {
    auto duration = parse_duration("workers.lock_duration", text);
    ASSERT_FALSE(duration.ok()) << text;
    EXPECT_NE(duration.error().detail.find("workers.lock_duration"), std::string::npos) << text;
  }
  EXPECT_FALSE(parse_duration("k", "99999999d").ok());
}

struct BadConfig {
  const char* name;
  const char* toml_after_region;  // appended to a valid [region] section
  const char* expected_fragment;
};

class BadConfigTest : public ::testing::TestWithParam<BadConfig> {};

// `section.key: what is wrong; how to fix it` (a section alone for a whole section refused).
// Matches ^[a-z_]+(\.[a-z_]+)?: [^;]+; .+$ by hand: std::regex trips GCC 12's
// -Wmaybe-uninitialized under ASan (-O2), which the sanitizer build treats as an error.
bool has_the_one_format(const std::string& detail) {
  const auto is_name = [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; };
  std::size_t at = 0;
  const auto name = [&] {
    const std::size_t start = at;
    while (at < detail.size() && is_name(detail[at])) ++at;
    return at > start;
  };
  if (!name()) return false;
  if (at < detail.size() && detail[at] == '.') {
    ++at;
    if (!name()) return false;
  }
  if (detail.compare(at, 2, ": ") != 0) return false;
  at += 2;
  const std::size_t semicolon = detail.find(';', at);
  if (semicolon == std::string::npos || semicolon == at) return false;
  // [^;]+ then "; " then at least one character.
  return detail.compare(semicolon, 2, "; ") == 0 && semicolon + 2 < detail.size();
}

TEST_P(BadConfigTest, IsRefusedNamingTheKeyAndTheFix) {
  const BadConfig& bad = GetParam();
  auto config = parse_region_config(std::string(kMinimal) + bad.toml_after_region, "/");
  ASSERT_FALSE(config.ok()) << bad.name;
  EXPECT_EQ(config.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(config.error().detail.find(bad.expected_fragment), std::string::npos)
      << bad.name << ": got " << config.error().detail;
  EXPECT_EQ(config.error().detail.find("s3cret"), std::string::npos) << bad.name << ": a secret was echoed";
  // The TOML parser's own message has no key to name.
  if (std::string_view(bad.name) != "NotToml") {
    EXPECT_TRUE(has_the_one_format(config.error().detail)) << bad.name << ": got " << config.error().detail;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadConfigTest,
    ::testing::Values(
        BadConfig{"DurationWithUnknownUnit", "[workers]\nlock_duration = \"30 parsecs\"\n",
                  "workers.lock_duration: \"30 parsecs\" has an unknown unit \" parsecs\"; write a number and a unit: ms, s, m, h or d"},
        BadConfig{"DurationStringWithoutUnit", "[workers]\nlock_duration = \"30000\"\n",
                  "workers.lock_duration: \"30000\" has no unit; write a number and a unit"},
        BadConfig{"DurationAsBoolean", "[workers]\nclaim_ttl = true\n", "workers.claim_ttl: is not a duration; write a number and a unit"},
        BadConfig{"NegativeDuration", "[checkpointer]\ninterval = -5\n", "checkpointer.interval: -5 is negative"},
        BadConfig{"UnknownKey", "[relay]\nbatch_maxx = 5\n", "relay.batch_maxx: is not a known key; check its spelling"},
        BadConfig{"UnknownSection", "[relays]\nbatch_max = 5\n", "relays: is not a known section"},
        BadConfig{"IntegerAsString", "[relay]\nbatch_max = \"many\"\n", "relay.batch_max: is not a whole number; write a number between 1 and 1000"},
        BadConfig{"IntegerOutOfRange", "[workers]\ncount = -1\n", "workers.count: -1 is out of range"},
        // The range named is the real one (it said 0..1000000 while 64 is the most).
        BadConfig{"TooManyWorkers", "[workers]\ncount = 1000\n",
                  "workers.count: 1000 is out of range; write a number between 0 and 64"},
        BadConfig{"WorkersCountNotANumber", "[workers]\ncount = \"many\"\n",
                  "workers.count: is not a whole number; write a number between 0 and 64"},
        BadConfig{"RelayBatchAboveTheBusLimit", "[relay]\nbatch_max = 5000\n",
                  "relay.batch_max: 5000 is out of range; write a number between 1 and 1000"},
        BadConfig{"RoleValidationFails", "[relay]\nbatch_max = 100\nretention_interval = \"2h\"\n",
                  "relay.retention_interval: relay retention_interval 7200000 ms must be between 1 ms and 1 h"},
        BadConfig{"InFlightBelowBatch", "[relay]\nbatch_max = 100\nin_flight_max = 10\n", "in_flight_max"},
        BadConfig{"DedupeTtlShorterThanTheSettleBound",
                  "[dedupe]\nrecord_ttl = \"61s\"\n",
                  "must exceed workers.claim_ttl + checkpointer.interval + the floor refresh"},
        BadConfig{"DedupeTtlEqualToTheSettleBound",
                  "[dedupe]\nrecord_ttl = \"12s\"\n[workers]\nclaim_ttl = \"10s\"\nlock_duration = \"10s\"\n",
                  "must exceed"},
        BadConfig{"UnknownBackend", "[backends]\nkind = \"etcd\"\n", "backends.kind: \"etcd\" is unknown"},
        BadConfig{"RedisSectionWithEmbeddedBackends", "[redis]\naddress = \"127.0.0.1:6379\"\n",
                  "redis: the section is only read with backends.kind = \"real\""},
        BadConfig{"RealWithoutAzureCredential", "[backends]\nkind = \"real\"\n[azure]\naccount = \"acct\"\ncontainer = \"backup\"\n",
                  "azure.key_env: neither it nor azure.sas_env is set; set exactly one of key_env"},
        BadConfig{"RealWithBothAzureCredentials",
                  "[backends]\nkind = \"real\"\n[azure]\naccount = \"acct\"\ncontainer = \"backup\"\nkey_env = \"K\"\nsas_env = \"S\"\n",
                  "azure.key_env: is set together with azure.sas_env; set exactly one of key_env"},
        BadConfig{"RealWithoutAzureContainer", "[backends]\nkind = \"real\"\n[azure]\naccount = \"acct\"\nkey_env = \"K\"\n",
                  "azure.container: is missing; set the backup container"},
        BadConfig{"RealWithBadRedisAddress", "[backends]\nkind = \"real\"\n[redis]\naddress = \"localhost\"\n",
                  "redis.address: \"localhost\" is not HOST:PORT; write e.g. \"127.0.0.1:6379\""},
        BadConfig{"RealWithUnknownAmqpKey", "[backends]\nkind = \"real\"\n[amqp]\npassword_envv = \"X\"\n",
                  "amqp.password_envv: is not a known key"},
        BadConfig{"RealWithUnknownBroker", "[backends]\nkind = \"real\"\n[amqp]\nbroker = \"activemq\"\n", "amqp.broker"},
        BadConfig{"AmqpTlsAsString", "[backends]\nkind = \"real\"\n[amqp]\ntls = \"yes\"\n", "amqp.tls: is not a boolean; write true or false"},
        BadConfig{"UnknownSourceKind", "[source]\nkind = \"kafka\"\n", "source.kind: \"kafka\" is unknown"},
        BadConfig{"AmqpKeysOnAnEmbeddedSource", "[source]\nurl = \"amqp://127.0.0.1:5672\"\n", "source.url: is not a known key"},
        BadConfig{"AmqpSourceWithBadQueue", "[source]\nkind = \"amqp\"\nqueue = \"in gress\"\n", "source.queue"},
        BadConfig{"ExecCommandNotArray", "[handler]\nexec_command = \"/bin/true\"\n",
                  "handler.exec_command: is not an array of strings"},
        BadConfig{"VisibilityTimeoutZero", "[source]\nvisibility_timeout = 0\n", "source.visibility_timeout"},
        BadConfig{"IdleWaitTooLong", "[runtime]\nidle_wait = \"5s\"\n", "runtime.idle_wait"},
        BadConfig{"NotToml", "[workers\n", "not valid TOML at line"},
        BadConfig{"PeerIsNotARegionId", "peer = \"b c\"\n", "region.peer: \"b c\" is not a region id"},
        BadConfig{"PeerIsThisRegion", "peer = \"a\"\n", "region.peer: names this region (a); set it to the other region's name"},
        BadConfig{"LeaseTtlTooShort", "peer = \"b\"\n[lease]\nttl = \"5ms\"\n", "lease.ttl"},
        BadConfig{"CheckIntervalAboveHalfTheTtl", "peer = \"b\"\n[lease]\nttl = \"1s\"\n[watchdog]\ncheck_interval = \"600ms\"\n",
                  "watchdog.check_interval: 600ms is more than half of lease.ttl (1s)"},
        BadConfig{"UnknownBackupMode", "peer = \"b\"\n[backup]\nmode = \"sometimes\"\n",
                  "backup.mode: \"sometimes\" is unknown"},
        BadConfig{"UnknownWatchdogKey", "peer = \"b\"\n[watchdog]\ncheck_every = \"1s\"\n",
                  "watchdog.check_every: is not a known key"},
        BadConfig{"WebhookWithoutScheme", "peer = \"b\"\n[alerts]\nwebhook = \"alerts.example.com\"\n",
                  "alerts.webhook: must start with http:// or https://"},
        // Hole 7 (issue 12): a handler's keep-alive must come often enough for the lock and
        // claim it keeps (http: about once a second; exec: every 50 ms poll round).
        BadConfig{"HttpHandlerWithALockShorterThanItsKeepAlive",
                  "[handler]\nkind = \"http\"\nhttp_url = \"http://127.0.0.1:9/x\"\n[workers]\nlock_duration = \"2s\"\n",
                  "workers.lock_duration: 2s is too short for the http handler"},
        BadConfig{"HttpHandlerWithAClaimShorterThanItsKeepAlive",
                  "[handler]\nkind = \"http\"\nhttp_url = \"http://127.0.0.1:9/x\"\n[workers]\nclaim_ttl = \"2s\"\n",
                  "workers.claim_ttl: 2s is too short for the http handler"},
        BadConfig{"ExecHandlerWithALockShorterThanItsKeepAlive",
                  "[handler]\nkind = \"exec\"\nexec_command = [\"/bin/true\"]\n[workers]\nlock_duration = \"100ms\"\n",
                  "workers.lock_duration: 100ms is too short for the exec handler"},
        // Issue 15, config gaps.
        BadConfig{"WebhookThatIsNotAUrl", "peer = \"b\"\n[alerts]\nwebhook = \"not a url\"\n",
                  "alerts.webhook: must start with http:// or https://; write an http:// or https:// URL"},
        BadConfig{"WebhookWithASpace", "peer = \"b\"\n[alerts]\nwebhook = \"https://alerts example.com/x\"\n",
                  "alerts.webhook: holds a space or a control character"},
        BadConfig{"WebhookWithoutAHost", "peer = \"b\"\n[alerts]\nwebhook = \"https:///hadr\"\n",
                  "alerts.webhook: has no valid host"},
        BadConfig{"WebhookWithABadPort", "peer = \"b\"\n[alerts]\nwebhook = \"http://alerts:99999/x\"\n",
                  "alerts.webhook: has a port that is not 1..65535"},
        BadConfig{"ClaimShorterThanTheLock", "[workers]\nlock_duration = \"30s\"\nclaim_ttl = \"20s\"\n",
                  "workers.claim_ttl: 20s is shorter than workers.lock_duration (30s)"},
        BadConfig{"RedisPasswordEnvAndFile",
                  "[backends]\nkind = \"real\"\n[redis]\npassword_env = \"R\"\npassword_file = \"/etc/hadr/redis.pw\"\n",
                  "redis.password_file: is set together with redis.password_env"},
        BadConfig{"LeaseWithoutAPeer", "[lease]\nttl = \"3s\"\n",
                  "lease: the section is only read in a two-region config, and this one has no region.peer; set "
                  "region.peer"},
        BadConfig{"BackupWithoutAPeer", "[backup]\nmode = \"sync\"\n", "backup: the section is only read in a two-region config"},
        BadConfig{"WatchdogWithoutAPeer", "[watchdog]\ncheck_interval = \"1s\"\n", "watchdog: the section is only read"},
        BadConfig{"HeartbeatWithoutAPeer", "[heartbeat]\ninterval = \"1s\"\n", "heartbeat: the section is only read"},
        BadConfig{"AlertsWithoutAPeer", "[alerts]\ncommand = [\"/bin/true\"]\n", "alerts: the section is only read"},
        BadConfig{"HookWithoutAPeer", "[hook]\ncommand = [\"/bin/true\"]\n", "hook: the section is only read"},
        BadConfig{"RedisPasswordInTheFile", "[backends]\nkind = \"real\"\n[redis]\npassword = \"s3cret\"\n",
                  "redis.password: a secret is never written in the config file; put it in an environment variable and "
                  "name that variable with redis.password_env"},
        BadConfig{"AmqpPasswordInTheFile", "[backends]\nkind = \"real\"\n[amqp]\npassword = \"s3cret\"\n",
                  "amqp.password: a secret is never written in the config file; put it in an environment variable and "
                  "name that variable with amqp.password_env"},
        BadConfig{"SourcePasswordInTheFile", "[source]\nkind = \"amqp\"\npassword = \"s3cret\"\n",
                  "source.password: a secret is never written in the config file"},
        BadConfig{"AzureKeyInTheFile", "[backends]\nkind = \"real\"\n[azure]\nkey = \"s3cret\"\n",
                  "azure.key: a secret is never written in the config file; put it in an environment variable and "
                  "name that variable with azure.key_env"},
        BadConfig{"ExecEnvironmentNotAName", "[handler]\nkind = \"exec\"\nexec_command = [\"/bin/true\"]\nexec_environment = [\"A-B\"]\n",
                  "handler.exec_environment: \"A-B\" is not an environment variable name"},
        // Issue 15, transport: a password never crosses a network in plain text unless allowed.
        BadConfig{"AmqpPlaintextPasswordToARemoteHost",
                  "[backends]\nkind = \"real\"\n[amqp]\nurl = \"amqp://10.0.0.7:5672\"\nuser = \"u\"\npassword_env = \"P\"\n"
                  "[azure]\naccount = \"acct\"\ncontainer = \"hadr-backup\"\nkey_env = \"K\"\n",
                  "amqp.url: amqp url amqp://10.0.0.7:5672 is not a loopback host and tls is off"},
        BadConfig{"SourcePlaintextPasswordToARemoteHost",
                  "[source]\nkind = \"amqp\"\nurl = \"amqp://mq.example.com:5672\"\nuser = \"u\"\npassword_env = \"P\"\n",
                  "source.url: amqp url amqp://mq.example.com:5672 is not a loopback host and tls is off"},
        BadConfig{"ServiceBusWithoutTls",
                  "[source]\nkind = \"amqp\"\nurl = \"amqp://127.0.0.1:5672\"\nbroker = \"servicebus\"\n",
                  "source.broker: amqp broker is servicebus but tls is off; Service Bus accepts only TLS"},
        BadConfig{"TlsCaFileWithoutTls", "[source]\nkind = \"amqp\"\ntls_ca_file = \"/etc/hadr/ca.pem\"\n",
                  "source.tls_ca_file: amqp tls_ca_file is set but tls is off"},
        BadConfig{"RedisPasswordToARemoteHost",
                  "[backends]\nkind = \"real\"\n[redis]\naddress = \"10.0.0.8:6379\"\npassword_env = \"R\"\n"
                  "[azure]\naccount = \"acct\"\ncontainer = \"hadr-backup\"\nkey_env = \"K\"\n",
                  "redis.address: 10.0.0.8 is not loopback, and AUTH would send the password in plain text"},
        BadConfig{"ExecEnvironmentNamesASecret",
                  "[source]\nkind = \"amqp\"\nuser = \"u\"\npassword_env = \"HADR_MQ_PASSWORD\"\n[handler]\nkind = \"exec\"\n"
                  "exec_command = [\"/bin/true\"]\nexec_environment = [\"HADR_MQ_PASSWORD\"]\n",
                  "handler.exec_environment: names HADR_MQ_PASSWORD, which holds a secret (source.password_env names it)"},
        // Issue 12: a second region would have nothing to replay.
        BadConfig{"BackupOffWithAPeer", "peer = \"b\"\n[backup]\nmode = \"off\"\n",
                  "backup.mode: \"off\" leaves region b nothing to replay"},
        BadConfig{"HookTimeoutTooShort", "peer = \"b\"\n[hook]\ncommand = [\"/bin/true\"]\ntimeout = \"10ms\"\n",
                  "hook.timeout"}),
    [](const ::testing::TestParamInfo<BadConfig>& info) { return std::string(info.param.name); });

constexpr std::string_view kRealBackends = R"(
[backends]
kind = "real"
bus_namespace = "secondary"
[redis]
address = "127.0.0.1:6390"
password_env = "HADR_TEST_REDIS_PASSWORD"
key_prefix = "drill"
[amqp]
url = "amqp://127.0.0.1:5673"
user = "guest"
password_env = "HADR_TEST_AMQP_PASSWORD"
queue_prefix = "drill"
send_window = 200
[azure]
endpoint = "http://127.0.0.1:10000/devstoreaccount1"
account = "devstoreaccount1"
container = "hadr-backup"
key_env = "HADR_TEST_AZURE_KEY"
[source]
kind = "amqp"
url = "amqp://127.0.0.1:5674"
user = "guest"
password_env = "HADR_TEST_MQ_PASSWORD"
queue = "orders"
)";

TEST(RegionConfig, RealBackendsAreReadWithTheirSecretsNamedNotWritten) {
  auto config = parse_region_config(std::string(kMinimal) + std::string(kRealBackends), "/etc/hadr");
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  EXPECT_EQ(config->backend, BackendKind::kReal);
  EXPECT_EQ(config->bus_namespace, "secondary");
  EXPECT_EQ(config->real.redis.address(), "127.0.0.1:6390");
  EXPECT_EQ(config->real.redis.password_env, "HADR_TEST_REDIS_PASSWORD");
  EXPECT_EQ(config->real.redis.key_prefix, "drill");
  EXPECT_EQ(config->real.bus.url, "amqp://127.0.0.1:5673");
  EXPECT_EQ(config->real.bus.send_window, 200u);
  EXPECT_EQ(config->real.bus_password_env, "HADR_TEST_AMQP_PASSWORD");
  EXPECT_TRUE(config->real.bus.password.empty());  // resolved only when the runtime connects
  EXPECT_EQ(config->real.blob.container, "hadr-backup");
  EXPECT_EQ(config->real.blob_key_env, "HADR_TEST_AZURE_KEY");
  EXPECT_TRUE(config->real.blob.key.empty());
  EXPECT_EQ(config->source.kind, SourceKind::kAmqp);
  EXPECT_EQ(config->source.queue, "orders");
  EXPECT_EQ(config->source.amqp.url, "amqp://127.0.0.1:5674");
  const std::string summary = describe(*config);
  EXPECT_NE(summary.find("real backends: redis 127.0.0.1:6390"), std::string::npos) << summary;
  EXPECT_EQ(summary.find("HADR_TEST"), std::string::npos) << summary;
}

TEST(RegionConfig, AzureEndpointDefaultsToThePublicCloud) {
  auto config = parse_region_config(std::string(kMinimal) + R"(
[backends]
kind = "real"
[azure]
account = "prodbackup"
container = "hadr-backup"
sas_env = "HADR_TEST_SAS"
)", "/");
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  EXPECT_EQ(config->real.blob.endpoint, "https://prodbackup.blob.core.windows.net");
}

TEST(RegionConfig, SectionWrittenAsAValueIsRefused) {
  auto config = parse_region_config(std::string("wal = 5\n") + std::string(kMinimal), "/");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().detail.find("wal: is not a section"), std::string::npos) << config.error().detail;
}

TEST(RegionConfig, MissingRegionNameIsRefused) {
  auto config = parse_region_config("[region]\ndata_dir = \"/x\"\n", "/");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().detail.find("region.name: is missing"), std::string::npos);
}

TEST(RegionConfig, MissingDataDirIsRefused) {
  auto config = parse_region_config("[region]\nname = \"a\"\n", "/");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().detail.find("region.data_dir: is missing"), std::string::npos);
}

TEST(RegionConfig, MissingFileNamesThePath) {
  auto config = load_region_config("/nonexistent/region.toml");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().detail.find("/nonexistent/region.toml"), std::string::npos);
}

// Issue 18: the example said `queue_prefix = "hadr-example"`, and the broker's queues came out
// as "hadr-examplemain". Each real-backends example, rendered as scripts/services renders it,
// loads, and `config check` (describe) shows readable broker queue names.
TEST(ExampleConfigs, RealBackendsExamplesGiveReadableBrokerQueueNames) {
  for (const char* name : {"a", "b"}) {
    std::ifstream file(std::string(HADR_SOURCE_DIR) + "/examples/real-backends/" + name + ".toml.in");
    ASSERT_TRUE(file) << name;
    std::stringstream buffer;
    buffer << file.rdbuf();
    std::string text = buffer.str();
    for (const auto& [placeholder, value] :
         {std::pair<std::string, std::string>{"@HADR_REDIS_ADDRESS@", "127.0.0.1:6379"},
          {"@HADR_AMQP_PRIMARY_URL@", "amqp://127.0.0.1:5672"},
          {"@HADR_AMQP_SECONDARY_URL@", "amqp://127.0.0.1:5673"},
          {"@HADR_AZURE_BLOB_ENDPOINT@", "http://127.0.0.1:10000/devstoreaccount1"},
          {"@HADR_AZURE_STORAGE_ACCOUNT@", "devstoreaccount1"}}) {
      for (std::size_t at = text.find(placeholder); at != std::string::npos; at = text.find(placeholder)) {
        text.replace(at, placeholder.size(), value);
      }
    }
    auto config = parse_region_config(text, "/tmp");
    ASSERT_TRUE(config.ok()) << name << ": " << config.error().to_string();
    const std::string described = describe(*config);
    EXPECT_NE(described.find("amqp broker queues: hadr-example-staging, hadr-example-main"), std::string::npos)
        << described;
    EXPECT_EQ(described.find("note:"), std::string::npos) << described;
  }
}

TEST(ExampleConfigs, RegionAExampleLoadsAndDoesNotClaimEmbeddedIsTheOnlyKind) {
  std::ifstream file(std::string(HADR_SOURCE_DIR) + "/examples/region-a.toml");
  std::stringstream buffer;
  buffer << file.rdbuf();
  EXPECT_EQ(buffer.str().find("only \"embedded\""), std::string::npos);
  auto config = load_region_config(std::string(HADR_SOURCE_DIR) + "/examples/region-a.toml");
  ASSERT_TRUE(config.ok()) << config.error().to_string();
}

TEST(Describe, APrefixWithoutASeparatorGetsANote) {
  auto config = parse_region_config(std::string(kMinimal) + R"([backends]
kind = "real"
[redis]
address = "127.0.0.1:6379"
[amqp]
url = "amqp://127.0.0.1:5672"
queue_prefix = "hadr-example"
[azure]
endpoint = "http://127.0.0.1:10000/devstoreaccount1"
account = "devstoreaccount1"
container = "backup"
key_env = "K"
)", "/tmp");
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  const std::string described = describe(*config);
  EXPECT_NE(described.find("amqp broker queues: hadr-examplestaging, hadr-examplemain"), std::string::npos) << described;
  EXPECT_NE(described.find("note: amqp.queue_prefix \"hadr-example\" is joined to each queue name as is"),
            std::string::npos)
      << described;
}

}  // namespace
}  // namespace hadr
