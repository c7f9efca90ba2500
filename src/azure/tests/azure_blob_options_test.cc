// Proves AzureBlobOptions: a good Azurite or Azure configuration validates; each bad field
// (endpoint shape, plain http off loopback, account, container, credentials, timeouts,
// attempts, page size) is kInvalidArgument naming the field; from_environment reads the four
// HADR_AZURE_* variables (default endpoint from the account; a SAS's leading '?' dropped);
// and the key or SAS never appears in describe(), in << output or in any error — checked with
// a recognisable secret value in every path that reports.
#include "azure/azure_blob_options.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

namespace hadr::azure {
namespace {

// Valid base64 (64 bytes decoded) with a marker that would be easy to spot in a message.
const std::string kKey = "U0VDUkVUS0VZU0VDUkVUS0VZU0VDUkVUS0VZU0VDUkVUS0VZU0VDUkVUS0VZU0VDUkVUS0VZU0VDUkVUS0VZ";
const std::string kSas = "sv=2021-08-06&ss=b&srt=sco&sp=rwdlac&se=2030-01-01T00%3A00%3A00Z&sig=SECRETSIGNATURE";

AzureBlobOptions azurite_options() {
  AzureBlobOptions options;
  options.endpoint = "http://127.0.0.1:10000/devstoreaccount1";
  options.account = "devstoreaccount1";
  options.container = "backups";
  options.key = Secret(kKey);
  return options;
}

void expect_invalid(const AzureBlobOptions& options, std::string_view field) {
  const Status status = options.validate();
  ASSERT_FALSE(status.ok()) << "accepted " << field;
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(status.error().detail.find(field), std::string::npos) << status.error().detail;
  EXPECT_EQ(status.error().detail.find("U0VDUkVU"), std::string::npos) << status.error().detail;
  EXPECT_EQ(status.error().detail.find("SECRETSIGNATURE"), std::string::npos) << status.error().detail;
}

EnvironmentLookup fake_environment(std::map<std::string, std::string> variables) {
  return [variables = std::move(variables)](const std::string& name) -> std::optional<std::string> {
    const auto found = variables.find(name);
    if (found == variables.end()) return std::nullopt;
    return found->second;
  };
}

TEST(AzureBlobOptions, AzuriteOptionsAreValid) { EXPECT_TRUE(azurite_options().validate().ok()); }

TEST(AzureBlobOptions, AzureHttpsOptionsWithSasAreValid) {
  AzureBlobOptions options = azurite_options();
  options.endpoint = "https://myaccount.blob.core.windows.net";
  options.account = "myaccount";
  options.key = Secret();
  options.sas = Secret(kSas);
  EXPECT_TRUE(options.validate().ok()) << options.validate().error().to_string();
}

TEST(AzureBlobOptions, RejectsEndpointWithoutScheme) {
  AzureBlobOptions options = azurite_options();
  options.endpoint = "127.0.0.1:10000/devstoreaccount1";
  expect_invalid(options, "endpoint");
}

TEST(AzureBlobOptions, RejectsEndpointWithQuery) {
  AzureBlobOptions options = azurite_options();
  options.endpoint = "https://a.blob.core.windows.net/?sv=1&sig=SECRETSIGNATURE";
  const Status status = options.validate();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().detail.find("sas option"), std::string::npos) << status.error().detail;
}

TEST(AzureBlobOptions, RejectsEndpointWithTrailingSlash) {
  AzureBlobOptions options = azurite_options();
  options.endpoint += "/";
  expect_invalid(options, "endpoint");
}

TEST(AzureBlobOptions, RejectsPlainHttpToRemoteHost) {
  AzureBlobOptions options = azurite_options();
  options.endpoint = "http://storage.example.com";
  expect_invalid(options, "use https");
  options.allow_plain_http = true;
  EXPECT_TRUE(options.validate().ok());
}

TEST(AzureBlobOptions, RejectsAccountWithUpperCase) {
  AzureBlobOptions options = azurite_options();
  options.account = "DevStoreAccount1";
  expect_invalid(options, "account");
}

TEST(AzureBlobOptions, RejectsContainerWithDoubleDash) {
  AzureBlobOptions options = azurite_options();
  options.container = "wal--backup";
  expect_invalid(options, "container");
}

TEST(AzureBlobOptions, RejectsContainerTooShort) {
  AzureBlobOptions options = azurite_options();
  options.container = "ab";
  expect_invalid(options, "container");
}

TEST(AzureBlobOptions, RejectsBothKeyAndSas) {
  AzureBlobOptions options = azurite_options();
  options.sas = Secret(kSas);
  expect_invalid(options, "exactly one");
}

TEST(AzureBlobOptions, RejectsNeitherKeyNorSas) {
  AzureBlobOptions options = azurite_options();
  options.key = Secret();
  expect_invalid(options, "exactly one");
}

TEST(AzureBlobOptions, RejectsKeyThatIsNotBase64WithoutQuotingIt) {
  AzureBlobOptions options = azurite_options();
  options.key = Secret("U0VDUkVU not base64!");
  expect_invalid(options, "key is not a base64");
}

TEST(AzureBlobOptions, RejectsSasWithoutSignatureWithoutQuotingIt) {
  AzureBlobOptions options = azurite_options();
  options.key = Secret();
  options.sas = Secret("sv=2021-08-06&SECRETSIGNATURE");
  expect_invalid(options, "sas is not a SAS token");
}

TEST(AzureBlobOptions, RejectsSasWithLeadingQuestionMark) {
  AzureBlobOptions options = azurite_options();
  options.key = Secret();
  options.sas = Secret("?" + kSas);
  expect_invalid(options, "without the leading '?'");
}

TEST(AzureBlobOptions, RejectsZeroRequestTimeout) {
  AzureBlobOptions options = azurite_options();
  options.request_timeout = Milliseconds(0);
  expect_invalid(options, "request_timeout");
}

TEST(AzureBlobOptions, RejectsBackoffInitialOverMax) {
  AzureBlobOptions options = azurite_options();
  options.backoff_initial = Milliseconds(5'000);
  options.backoff_max = Milliseconds(1'000);
  expect_invalid(options, "backoff_initial");
}

TEST(AzureBlobOptions, RejectsZeroAttempts) {
  AzureBlobOptions options = azurite_options();
  options.attempts_max = 0;
  expect_invalid(options, "attempts_max");
}

TEST(AzureBlobOptions, RejectsListPageSizeOverServiceLimit) {
  AzureBlobOptions options = azurite_options();
  options.list_page_size = 5'001;
  expect_invalid(options, "list_page_size");
}

TEST(AzureBlobOptions, DescribeHidesTheKey) {
  const AzureBlobOptions options = azurite_options();
  const std::string description = options.describe();
  EXPECT_EQ(description.find(kKey), std::string::npos) << description;
  EXPECT_NE(description.find("shared key ***"), std::string::npos) << description;
  EXPECT_NE(description.find("'backups'"), std::string::npos) << description;
  std::ostringstream streamed;
  streamed << options.key;
  EXPECT_EQ(streamed.str(), "***");
}

TEST(AzureBlobOptions, DescribeHidesTheSas) {
  AzureBlobOptions options = azurite_options();
  options.key = Secret();
  options.sas = Secret(kSas);
  const std::string description = options.describe();
  EXPECT_EQ(description.find("SECRETSIGNATURE"), std::string::npos) << description;
  EXPECT_NE(description.find("sas ***"), std::string::npos) << description;
}

TEST(AzureBlobOptionsFromEnvironment, ReadsEndpointAccountAndKey) {
  auto options = azure_blob_options_from_environment(
      fake_environment({{"HADR_AZURE_BLOB_ENDPOINT", "http://127.0.0.1:10000/devstoreaccount1"},
                        {"HADR_AZURE_STORAGE_ACCOUNT", "devstoreaccount1"},
                        {"HADR_AZURE_STORAGE_KEY", kKey}}),
      "backups");
  ASSERT_TRUE(options.ok()) << options.error().to_string();
  EXPECT_EQ(options->endpoint, "http://127.0.0.1:10000/devstoreaccount1");
  EXPECT_EQ(options->account, "devstoreaccount1");
  EXPECT_EQ(options->container, "backups");
  EXPECT_EQ(options->key.reveal(), kKey);
  EXPECT_TRUE(options->sas.empty());
}

TEST(AzureBlobOptionsFromEnvironment, DefaultsEndpointFromAccountAndDropsSasQuestionMark) {
  auto options = azure_blob_options_from_environment(
      fake_environment({{"HADR_AZURE_STORAGE_ACCOUNT", "myaccount"}, {"HADR_AZURE_STORAGE_SAS", "?" + kSas}}),
      "backups");
  ASSERT_TRUE(options.ok()) << options.error().to_string();
  EXPECT_EQ(options->endpoint, "https://myaccount.blob.core.windows.net");
  EXPECT_EQ(options->sas.reveal(), kSas);
}

TEST(AzureBlobOptionsFromEnvironment, MissingAccountNamesTheVariable) {
  auto options = azure_blob_options_from_environment(fake_environment({{"HADR_AZURE_STORAGE_KEY", kKey}}), "backups");
  ASSERT_FALSE(options.ok());
  EXPECT_NE(options.error().detail.find("HADR_AZURE_STORAGE_ACCOUNT"), std::string::npos);
  EXPECT_EQ(options.error().detail.find("U0VDUkVU"), std::string::npos);
}

TEST(AzureBlobOptionsFromEnvironment, BadKeyNamesTheVariablesNotTheValue) {
  auto options = azure_blob_options_from_environment(
      fake_environment({{"HADR_AZURE_STORAGE_ACCOUNT", "myaccount"}, {"HADR_AZURE_STORAGE_KEY", "U0VDUkVU=x"}}),
      "backups");
  ASSERT_FALSE(options.ok());
  EXPECT_NE(options.error().detail.find("HADR_AZURE_STORAGE_KEY"), std::string::npos) << options.error().detail;
  EXPECT_EQ(options.error().detail.find("U0VDUkVU"), std::string::npos) << options.error().detail;
}

TEST(AzureBlobOptionsFromEnvironment, BothKeyAndSasIsRefused) {
  auto options = azure_blob_options_from_environment(
      fake_environment({{"HADR_AZURE_STORAGE_ACCOUNT", "myaccount"},
                        {"HADR_AZURE_STORAGE_KEY", kKey},
                        {"HADR_AZURE_STORAGE_SAS", kSas}}),
      "backups");
  ASSERT_FALSE(options.ok());
  EXPECT_EQ(options.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(options.error().detail.find("SECRETSIGNATURE"), std::string::npos);
}

}  // namespace
}  // namespace hadr::azure
