// Proves RegionBackends' secret handling and engine choice without any server:
//   - a real-backends config whose password variable is unset is refused at resolve(), naming
//     the config key and the variable, never a value;
//   - the secrets resolved from the environment never appear in describe();
//   - the embedded kind opens SQLite stores in backends.dir, and the ledger reader reads the
//     ledger the dedupe connection's EffectLedger wrote.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "core/local_server.h"
#include "runtime/region_backends.h"

namespace hadr {
namespace {

constexpr std::string_view kRealConfig = R"(
[region]
name = "a"
data_dir = "/tmp/hadr-region-backends-test"
[backends]
kind = "real"
[redis]
address = "127.0.0.1:6399"
[amqp]
url = "amqp://127.0.0.1:5699"
user = "guest"
password_env = "TEST_AMQP_PASSWORD"
[azure]
endpoint = "http://127.0.0.1:10099/devstoreaccount1"
account = "devstoreaccount1"
container = "hadr-backup"
key_env = "TEST_AZURE_KEY"
)";

EnvironmentLookup fake_environment(std::map<std::string, std::string> variables) {
  return [variables](const std::string& name) -> std::optional<std::string> {
    const auto found = variables.find(name);
    if (found == variables.end()) return std::nullopt;
    return found->second;
  };
}

TEST(RegionBackendsTest, UnsetPasswordVariableIsRefusedNamingKeyAndVariable) {
  auto config = parse_region_config(kRealConfig, "/");
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  auto backends = RegionBackends::resolve(*config, fake_environment({{"TEST_AZURE_KEY", "a2V5"}}));
  ASSERT_FALSE(backends.ok());
  EXPECT_EQ(backends.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(backends.error().detail.find("amqp.password_env"), std::string::npos) << backends.error().detail;
  EXPECT_NE(backends.error().detail.find("TEST_AMQP_PASSWORD"), std::string::npos) << backends.error().detail;
}

TEST(RegionBackendsTest, ResolvedSecretsNeverAppearInDescribe) {
  auto config = parse_region_config(kRealConfig, "/");
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  auto backends = RegionBackends::resolve(
      *config, fake_environment({{"TEST_AMQP_PASSWORD", "amqp-secret-value"}, {"TEST_AZURE_KEY", "c2VjcmV0LWtleQ=="}}));
  ASSERT_TRUE(backends.ok()) << backends.error().to_string();
  const std::string text = backends->describe();
  EXPECT_NE(text.find("redis 127.0.0.1:6399"), std::string::npos) << text;
  EXPECT_EQ(text.find("amqp-secret-value"), std::string::npos) << text;
  EXPECT_EQ(text.find("c2VjcmV0LWtleQ=="), std::string::npos) << text;
}

TEST(RegionBackendsTest, EmbeddedLedgerWrittenThroughTheDedupeConnectionIsReadBack) {
  auto dir = make_temporary_directory("hadr-region-backends");
  ASSERT_TRUE(dir.ok());
  auto config = parse_region_config("[region]\nname = \"a\"\ndata_dir = \"" + *dir + "\"\n", "/");
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  auto backends = RegionBackends::resolve(*config, fake_environment({}));
  ASSERT_TRUE(backends.ok()) << backends.error().to_string();
  auto dedupe = backends->open_dedupe();
  ASSERT_TRUE(dedupe.ok()) << dedupe.error().to_string();
  const MessageId id = *MessageId::parse("m-1");
  auto claim = dedupe->store->claim(id, "a/worker-1", Epoch{1}, Milliseconds(60'000));
  ASSERT_TRUE(claim.ok()) << claim.error().to_string();
  LedgerEntry entry;
  entry.message_id = id;
  entry.region = *RegionId::parse("a");
  entry.source_region = entry.region;
  entry.epoch = Epoch{1};
  ASSERT_TRUE(dedupe->ledger->mark_done_with_effect(id, claim->claim_token, Milliseconds(60'000), entry).ok());
  auto reader = backends->open_ledger_reader();
  ASSERT_TRUE(reader.ok()) << reader.error().to_string();
  auto count = (*reader)->effect_count("m-1");
  ASSERT_TRUE(count.ok()) << count.error().to_string();
  EXPECT_EQ(*count, 1u);
  std::filesystem::remove_all(*dir);
}

}  // namespace
}  // namespace hadr
