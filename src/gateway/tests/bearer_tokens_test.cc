// Proves how the gateway's bearer tokens are loaded and checked: from environment variables and
// token files (one per line, comments and blank lines skipped, several tokens for rotation),
// never from a plain value; a missing variable, an unreadable or empty file, a short token or a
// token with characters outside token68 stops the start with a message that names the variable
// or file and never contains the token; accepts() takes "Bearer" in any case and refuses a
// missing header, another scheme, a wrong token and a token that is a prefix of the right one.
#include "gateway/bearer_tokens.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "core/local_server.h"

namespace hadr::gateway_test {
namespace {

constexpr std::string_view kGood = "good-token-0123456789";
constexpr std::string_view kOther = "other-token-abcdefghij";

EnvironmentLookup environment(std::map<std::string, std::string> variables) {
  return [variables = std::move(variables)](const std::string& name) -> std::optional<std::string> {
    const auto found = variables.find(name);
    if (found == variables.end()) return std::nullopt;
    return found->second;
  };
}

class BearerTokensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = make_temporary_directory("hadr-gateway-tokens");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write_file(std::string_view name, std::string_view text) {
    const std::string path = dir_ + "/" + std::string(name);
    std::ofstream(path) << text;
    return path;
  }

  std::string dir_;
};

std::string bearer(std::string_view token) { return "Bearer " + std::string(token); }

TEST_F(BearerTokensTest, TokensFromAVariableAndAFileAreAllAccepted) {
  const std::string file = write_file("tokens", "# rotation: old and new\n\n" + std::string(kOther) + "\n");
  auto tokens = BearerTokens::load({"GW_TOKEN"}, {file}, environment({{"GW_TOKEN", std::string(kGood) + "\n"}}));
  ASSERT_TRUE(tokens.ok()) << tokens.error().to_string();
  EXPECT_EQ(tokens->size(), 2u);
  const std::string good = bearer(kGood);
  const std::string other = "bearer  " + std::string(kOther);
  EXPECT_TRUE(tokens->accepts(&good));
  EXPECT_TRUE(tokens->accepts(&other));
}

TEST_F(BearerTokensTest, WrongMissingOrOtherSchemeIsRefused) {
  auto tokens = BearerTokens::from_secrets({Secret(std::string(kGood))});
  ASSERT_TRUE(tokens.ok());
  const std::string wrong = bearer(kOther);
  const std::string prefix = bearer(kGood.substr(0, kGood.size() - 1));
  const std::string longer = bearer(std::string(kGood) + "x");
  const std::string basic = "Basic " + std::string(kGood);
  const std::string bare = std::string(kGood);
  const std::string empty = "Bearer ";
  for (const std::string* value : {&wrong, &prefix, &longer, &basic, &bare, &empty}) {
    EXPECT_FALSE(tokens->accepts(value)) << *value;
  }
  EXPECT_FALSE(tokens->accepts(nullptr));
}

TEST_F(BearerTokensTest, NoTokensMeansAuthenticationIsOff) {
  auto tokens = BearerTokens::load({}, {}, environment({}));
  ASSERT_TRUE(tokens.ok());
  EXPECT_FALSE(tokens->enabled());
}

TEST_F(BearerTokensTest, MissingVariableIsAnErrorNamingIt) {
  auto tokens = BearerTokens::load({"GW_TOKEN"}, {}, environment({}));
  ASSERT_FALSE(tokens.ok());
  EXPECT_NE(tokens.error().detail.find("--token-env GW_TOKEN"), std::string::npos) << tokens.error().detail;
}

TEST_F(BearerTokensTest, ShortTokenIsRefusedWithoutShowingIt) {
  auto tokens = BearerTokens::load({"GW_TOKEN"}, {}, environment({{"GW_TOKEN", "short-secret"}}));
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.error().detail.find("short-secret"), std::string::npos) << tokens.error().detail;
  EXPECT_NE(tokens.error().detail.find("16"), std::string::npos) << tokens.error().detail;
}

TEST_F(BearerTokensTest, TokenWithSpacesIsRefusedWithoutShowingIt) {
  const std::string file = write_file("tokens", "a secret with spaces inside it\n");
  auto tokens = BearerTokens::load({}, {file}, environment({}));
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.error().detail.find("secret"), std::string::npos) << tokens.error().detail;
  EXPECT_NE(tokens.error().detail.find("--token-file"), std::string::npos);
}

TEST_F(BearerTokensTest, EmptyOrMissingFileIsAnError) {
  const std::string empty = write_file("empty", "# nothing here\n\n");
  EXPECT_FALSE(BearerTokens::load({}, {empty}, environment({})).ok());
  EXPECT_FALSE(BearerTokens::load({}, {dir_ + "/absent"}, environment({})).ok());
}

}  // namespace
}  // namespace hadr::gateway_test
