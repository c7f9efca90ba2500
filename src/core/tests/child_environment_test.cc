// Proves what a child hadr starts for the operator (exec handler, alias hook, alert command)
// sees in its environment: PATH, HOME and LANG, the variables the config names, hadr's own
// entries, and nothing else of hadr's environment — never a secret such as the variable that
// amqp.password_env names (issue 15: `alerts.command = ["/usr/bin/env"]` logged it).
#include "core/child_environment.h"

#include <gtest/gtest.h>

#include <map>

namespace hadr {
namespace {

EnvironmentLookup fake(std::map<std::string, std::string> variables) {
  return [variables = std::move(variables)](const std::string& name) -> std::optional<std::string> {
    const auto found = variables.find(name);
    if (found == variables.end()) return std::nullopt;
    return found->second;
  };
}

const std::map<std::string, std::string> kParent = {{"PATH", "/opt/bin:/usr/bin"},
                                                    {"HOME", "/home/hadr"},
                                                    {"LANG", "C.UTF-8"},
                                                    {"AZURE_CONFIG_DIR", "/etc/hadr/azure"},
                                                    {"HADR_AMQP_PASSWORD", "canary-secret"},
                                                    {"HADR_MESSAGE_ID", "stale"}};

TEST(ChildEnvironment, OnlyTheBaseVariablesWhenNothingIsNamed) {
  const auto entries = child_environment({}, {}, fake(kParent));
  EXPECT_EQ(entries, (std::vector<std::string>{"PATH=/opt/bin:/usr/bin", "HOME=/home/hadr", "LANG=C.UTF-8"}));
}

TEST(ChildEnvironment, NamedVariablesAreCopiedAndNothingElse) {
  const std::vector<std::string> names = {"AZURE_CONFIG_DIR", "NOT_SET_ANYWHERE"};
  const auto entries = child_environment(names, {}, fake(kParent));
  EXPECT_EQ(entries, (std::vector<std::string>{"PATH=/opt/bin:/usr/bin", "HOME=/home/hadr", "LANG=C.UTF-8",
                                               "AZURE_CONFIG_DIR=/etc/hadr/azure"}));
  for (const std::string& entry : entries) EXPECT_EQ(entry.find("canary-secret"), std::string::npos) << entry;
}

TEST(ChildEnvironment, HadrsOwnEntriesWinOverCopiedValues) {
  const std::vector<std::string> names = {"HADR_MESSAGE_ID"};
  const std::vector<std::string> own = {"HADR_MESSAGE_ID=m-1", "HADR_EPOCH=7"};
  const auto entries = child_environment(names, own, fake(kParent));
  EXPECT_EQ(std::count(entries.begin(), entries.end(), "HADR_MESSAGE_ID=m-1"), 1);
  EXPECT_EQ(std::count(entries.begin(), entries.end(), "HADR_MESSAGE_ID=stale"), 0);
  EXPECT_EQ(entries.back(), "HADR_EPOCH=7");
}

TEST(ChildEnvironment, PathDefaultsWhenHadrHasNone) {
  const auto entries = child_environment({}, {}, fake({}));
  EXPECT_EQ(entries, (std::vector<std::string>{"PATH=" + std::string(kDefaultPath)}));
}

TEST(ChildEnvironment, NamesAreValidated) {
  EXPECT_TRUE(validate_environment_name("hook.environment", "AZURE_CONFIG_DIR").ok());
  EXPECT_TRUE(validate_environment_name("hook.environment", "_x1").ok());
  for (const char* bad : {"", "1ABC", "A=B", "A B", "A-B"}) {
    const Status status = validate_environment_name("hook.environment", bad);
    ASSERT_FALSE(status.ok()) << bad;
    EXPECT_EQ(status.error().detail.rfind("hook.environment: ", 0), 0u) << status.error().detail;
  }
}

}  // namespace
}  // namespace hadr
