// Proves that a region's TOML config parses with its defaults, that durations accept every
// unit and integers in ms, and that every bad config is refused with a message naming the key
// and the fix: a table of bad configs, each with the fragment its error must contain (unknown
// keys and sections, bad durations, out-of-range values, the dedupe TTL rule, the real backends'
// sections and their secrets, which are only ever named by an environment variable).
#include <gtest/gtest.h>

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

TEST(ParseDuration, AcceptsEveryUnit) {
  EXPECT_EQ(*parse_duration("k", "250ms"), Milliseconds(250));
  EXPECT_EQ(*parse_duration("k", "30s"), Milliseconds(30'000));
  EXPECT_EQ(*parse_duration("k", "5m"), Milliseconds(300'000));
  EXPECT_EQ(*parse_duration("k", "2h"), Milliseconds(7'200'000));
  EXPECT_EQ(*parse_duration("k", "7d"), std::chrono::hours(24 * 7));
  EXPECT_EQ(*parse_duration("k", "0s"), Milliseconds(0));
}

TEST(ParseDuration, RefusesWhatIsNotADuration) {
  for (const char* text : {"", "s", "30", "30 s", "-5s", "1.5s", "30 parsecs", "3w"}) {
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

TEST_P(BadConfigTest, IsRefusedNamingTheKeyAndTheFix) {
  const BadConfig& bad = GetParam();
  auto config = parse_region_config(std::string(kMinimal) + bad.toml_after_region, "/");
  ASSERT_FALSE(config.ok()) << bad.name;
  EXPECT_EQ(config.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(config.error().detail.find(bad.expected_fragment), std::string::npos)
      << bad.name << ": got " << config.error().detail;
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadConfigTest,
    ::testing::Values(
        BadConfig{"DurationWithUnknownUnit", "[workers]\nlock_duration = \"30 parsecs\"\n",
                  "workers.lock_duration: \"30 parsecs\" is not a duration; write e.g. \"30s\" or \"250ms\""},
        BadConfig{"DurationAsBoolean", "[workers]\nclaim_ttl = true\n", "workers.claim_ttl is not a duration"},
        BadConfig{"NegativeDuration", "[checkpointer]\ninterval = -5\n", "checkpointer.interval: -5 is negative"},
        BadConfig{"UnknownKey", "[relay]\nbatch_maxx = 5\n", "relay.batch_maxx is not a known key"},
        BadConfig{"UnknownSection", "[relays]\nbatch_max = 5\n", "relays is not a known section"},
        BadConfig{"IntegerAsString", "[relay]\nbatch_max = \"many\"\n", "relay.batch_max must be a whole number"},
        BadConfig{"IntegerOutOfRange", "[workers]\ncount = -1\n", "workers.count: -1 is out of range"},
        BadConfig{"TooManyWorkers", "[workers]\ncount = 1000\n", "workers.count: 1000 is too many"},
        BadConfig{"RoleValidationFails", "[relay]\nbatch_max = 5000\n", "[relay] relay batch_max 5000"},
        BadConfig{"InFlightBelowBatch", "[relay]\nbatch_max = 100\nin_flight_max = 10\n", "in_flight_max"},
        BadConfig{"DedupeTtlShorterThanTheSettleBound",
                  "[dedupe]\nrecord_ttl = \"61s\"\n",
                  "must exceed workers.claim_ttl + checkpointer.interval + the floor refresh"},
        BadConfig{"DedupeTtlEqualToTheSettleBound",
                  "[dedupe]\nrecord_ttl = \"12s\"\n[workers]\nclaim_ttl = \"10s\"\n",
                  "must exceed"},
        BadConfig{"UnknownBackend", "[backends]\nkind = \"etcd\"\n", "backends.kind: \"etcd\" is unknown"},
        BadConfig{"RedisSectionWithEmbeddedBackends", "[redis]\naddress = \"127.0.0.1:6379\"\n",
                  "[redis] is only read with backends.kind = \"real\""},
        BadConfig{"RealWithoutAzureCredential", "[backends]\nkind = \"real\"\n[azure]\naccount = \"acct\"\ncontainer = \"backup\"\n",
                  "[azure] set exactly one of key_env"},
        BadConfig{"RealWithBothAzureCredentials",
                  "[backends]\nkind = \"real\"\n[azure]\naccount = \"acct\"\ncontainer = \"backup\"\nkey_env = \"K\"\nsas_env = \"S\"\n",
                  "[azure] set exactly one of key_env"},
        BadConfig{"RealWithoutAzureContainer", "[backends]\nkind = \"real\"\n[azure]\naccount = \"acct\"\nkey_env = \"K\"\n",
                  "azure.container is missing"},
        BadConfig{"RealWithBadRedisAddress", "[backends]\nkind = \"real\"\n[redis]\naddress = \"localhost\"\n",
                  "redis.address"},
        BadConfig{"RealWithUnknownAmqpKey", "[backends]\nkind = \"real\"\n[amqp]\npassword = \"in-the-file\"\n",
                  "amqp.password is not a known key"},
        BadConfig{"RealWithUnknownBroker", "[backends]\nkind = \"real\"\n[amqp]\nbroker = \"activemq\"\n", "amqp.broker"},
        BadConfig{"AmqpTlsAsString", "[backends]\nkind = \"real\"\n[amqp]\ntls = \"yes\"\n", "amqp.tls must be true or false"},
        BadConfig{"UnknownSourceKind", "[source]\nkind = \"kafka\"\n", "source.kind: \"kafka\" is unknown"},
        BadConfig{"AmqpKeysOnAnEmbeddedSource", "[source]\nurl = \"amqp://127.0.0.1:5672\"\n", "source.url is not a known key"},
        BadConfig{"AmqpSourceWithBadQueue", "[source]\nkind = \"amqp\"\nqueue = \"in gress\"\n", "source.queue"},
        BadConfig{"ExecCommandNotArray", "[handler]\nexec_command = \"/bin/true\"\n",
                  "handler.exec_command must be an array of strings"},
        BadConfig{"VisibilityTimeoutZero", "[source]\nvisibility_timeout = 0\n", "source.visibility_timeout"},
        BadConfig{"IdleWaitTooLong", "[runtime]\nidle_wait = \"5s\"\n", "runtime.idle_wait"},
        BadConfig{"NotToml", "[workers\n", "not valid TOML at line"},
        BadConfig{"PeerIsNotARegionId", "peer = \"b c\"\n", "region.peer: \"b c\" is not a region id"},
        BadConfig{"PeerIsThisRegion", "peer = \"a\"\n", "region.peer must"},
        BadConfig{"LeaseTtlTooShort", "peer = \"b\"\n[lease]\nttl = \"5ms\"\n", "lease.ttl"},
        BadConfig{"CheckIntervalAboveHalfTheTtl", "peer = \"b\"\n[lease]\nttl = \"1s\"\n[watchdog]\ncheck_interval = \"600ms\"\n",
                  "watchdog.check_interval: 600ms must be at most half of lease.ttl"},
        BadConfig{"UnknownBackupMode", "peer = \"b\"\n[backup]\nmode = \"sometimes\"\n",
                  "backup.mode: \"sometimes\" is unknown"},
        BadConfig{"UnknownWatchdogKey", "peer = \"b\"\n[watchdog]\ncheck_every = \"1s\"\n",
                  "watchdog.check_every is not a known key"},
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
  EXPECT_NE(config.error().detail.find("wal must be a section"), std::string::npos) << config.error().detail;
}

TEST(RegionConfig, MissingRegionNameIsRefused) {
  auto config = parse_region_config("[region]\ndata_dir = \"/x\"\n", "/");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().detail.find("region.name is missing"), std::string::npos);
}

TEST(RegionConfig, MissingDataDirIsRefused) {
  auto config = parse_region_config("[region]\nname = \"a\"\n", "/");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().detail.find("region.data_dir is missing"), std::string::npos);
}

TEST(RegionConfig, MissingFileNamesThePath) {
  auto config = load_region_config("/nonexistent/region.toml");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().detail.find("/nonexistent/region.toml"), std::string::npos);
}

}  // namespace
}  // namespace hadr
