#include "config/region_config.h"

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

#include "amqp/amqp_address.h"
#include "contracts/bus.h"
#include "contracts/dedupe_store.h"
#include "contracts/source.h"
#include "contracts/validation.h"
#include "core/child_environment.h"

namespace hadr {

namespace {

constexpr std::string_view kDurationFix =
    "write a number and a unit: ms, s, m, h or d (e.g. \"1.5s\", \"250ms\", \"2m\"); a bare whole number "
    "(no quotes) is milliseconds";
// A config is a few dozen keys; anything longer is not a region config.
constexpr std::size_t kConfigBytesMax = 1 << 20;
constexpr std::size_t kHandlerArgumentsMax = 256;

// Built by append: g++ 12 warns falsely (-Wrestrict) on "literal" + std::string temporaries.
std::string quote_text(std::string_view text) {
  std::string result(1, '"');
  result.append(text);
  result.push_back('"');
  return result;
}

// The one shape of every config error: `section.key: what is wrong; how to fix it`.
Status config_error(std::string_view key, std::string_view what, std::string_view fix) {
  std::string detail(key);
  detail.append(": ");
  detail.append(what);
  detail.append("; ");
  detail.append(fix);
  return invalid_argument(std::move(detail));
}

// Reads the keys of one section and remembers which it consumed, so that every key nobody
// asked for is reported as unknown (a typo must not be silently ignored).
class SectionReader {
 public:
  SectionReader(const toml::table* table, std::string section) : table_(table), section_(std::move(section)) {}

  std::string key_name(std::string_view key) const { return section_ + "." + std::string(key); }

  const toml::node* find(std::string_view key) {
    if (table_ == nullptr) return nullptr;
    consumed_.insert(std::string(key));
    return table_->get(key);
  }

  Status read_string(std::string_view key, std::string& out) {
    const toml::node* node = find(key);
    if (node == nullptr) return ok_status();
    const auto value = node->value<std::string>();
    if (!value) return config_error(key_name(key), "is not a string", "write the value in quotes");
    out = *value;
    return ok_status();
  }

  Status read_bool(std::string_view key, bool& out) {
    const toml::node* node = find(key);
    if (node == nullptr) return ok_status();
    const auto value = node->value<bool>();
    if (!value || !node->is_boolean()) return config_error(key_name(key), "is not a boolean", "write true or false (no quotes)");
    out = *value;
    return ok_status();
  }

  template <typename Integer>
  Status read_integer(std::string_view key, Integer& out, std::int64_t minimum, std::int64_t maximum) {
    const toml::node* node = find(key);
    if (node == nullptr) return ok_status();
    const auto value = node->value<std::int64_t>();
    if (!value || node->is_floating_point()) {
      return config_error(key_name(key), "is not a whole number",
                          "write a number between " + std::to_string(minimum) + " and " + std::to_string(maximum));
    }
    if (*value < minimum || *value > maximum) {
      return invalid_argument(key_name(key) + ": " + std::to_string(*value) + " is out of range; write a number between " +
                              std::to_string(minimum) + " and " + std::to_string(maximum));
    }
    out = static_cast<Integer>(*value);
    return ok_status();
  }

  Status read_duration(std::string_view key, Milliseconds& out) {
    const toml::node* node = find(key);
    if (node == nullptr) return ok_status();
    if (node->is_integer()) {
      const std::int64_t value = *node->value<std::int64_t>();
      if (value < 0) return invalid_argument(key_name(key) + ": " + std::to_string(value) + " is negative; " + std::string(kDurationFix));
      out = Milliseconds(value);
      return ok_status();
    }
    const auto text = node->value<std::string>();
    if (!text) return config_error(key_name(key), "is not a duration", kDurationFix);
    HADR_ASSIGN_OR_RETURN(out, parse_duration(key_name(key), *text));
    return ok_status();
  }

  Status read_string_array(std::string_view key, std::vector<std::string>& out) {
    const toml::node* node = find(key);
    if (node == nullptr) return ok_status();
    const toml::array* array = node->as_array();
    const std::string fix = "write e.g. [\"/usr/bin/my-handler\", \"--flag\"]";
    if (array == nullptr) return config_error(key_name(key), "is not an array of strings", fix);
    if (array->size() > kHandlerArgumentsMax) {
      return config_error(key_name(key), "has " + std::to_string(array->size()) + " entries",
                          "list at most " + std::to_string(kHandlerArgumentsMax));
    }
    out.clear();
    for (const toml::node& element : *array) {
      const auto value = element.value<std::string>();
      if (!value) return config_error(key_name(key), "is not an array of strings", fix);
      out.push_back(*value);
    }
    return ok_status();
  }

  // Every key of the section that no read_* asked for.
  Status reject_unknown() const {
    if (table_ == nullptr) return ok_status();
    for (const auto& [key, node] : *table_) {
      (void)node;
      if (consumed_.count(std::string(key.str())) == 0) {
        return config_error(key_name(key.str()), "is not a known key", "check its spelling (keys: docs/operations.md)");
      }
    }
    return ok_status();
  }

 private:
  const toml::table* table_;
  std::string section_;
  std::set<std::string> consumed_;
};

std::string resolve_path(const std::string& path, const std::string& base_dir) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) return path;
  return base_dir + "/" + path;
}

Status read_backoff(SectionReader& reader, BackoffOptions& backoff) {
  HADR_TRY(reader.read_duration("backoff_initial", backoff.initial));
  return reader.read_duration("backoff_max", backoff.max);
}

Status read_region(SectionReader& reader, RegionConfig& config, const std::string& base_dir) {
  std::string name;
  HADR_TRY(reader.read_string("name", name));
  if (name.empty()) return config_error("region.name", "is missing", "set it to this region's id, e.g. name = \"a\"");
  auto region = RegionId::parse(name);
  if (!region.ok()) return config_error("region.name", quote_text(name) + " is not a region id", region.error().detail);
  config.region = *region;
  HADR_TRY(reader.read_string("data_dir", config.data_dir));
  if (config.data_dir.empty()) {
    return config_error("region.data_dir", "is missing", "set it to this region's private directory, e.g. \"/var/lib/hadr/a\"");
  }
  config.data_dir = resolve_path(config.data_dir, base_dir);
  std::string peer;
  HADR_TRY(reader.read_string("peer", peer));
  if (!peer.empty()) {
    auto peer_id = RegionId::parse(peer);
    if (!peer_id.ok()) return config_error("region.peer", quote_text(peer) + " is not a region id", peer_id.error().detail);
    config.peer = *peer_id;
  }
  return ok_status();
}

Status read_backends(SectionReader& reader, RegionConfig& config, const std::string& base_dir) {
  std::string kind = "embedded";
  HADR_TRY(reader.read_string("kind", kind));
  if (kind == "embedded") config.backend = BackendKind::kEmbedded;
  else if (kind == "real") config.backend = BackendKind::kReal;
  else return invalid_argument("backends.kind: " + quote_text(kind) + " is unknown; write \"embedded\" (SQLite files) or \"real\" (Redis, AMQP, Azure Blob)");
  HADR_TRY(reader.read_string("dir", config.embedded.dir));
  if (config.embedded.dir.empty()) config.embedded.dir = config.data_dir + "/embedded";
  config.embedded.dir = resolve_path(config.embedded.dir, base_dir);
  return reader.read_string("bus_namespace", config.bus_namespace);
}

// A secret written into the file itself (`password = "..."`): config files are copied, checked
// in and printed, so a secret is only ever named by the variable (or file) that holds it.
Status reject_secret_in_file(SectionReader& reader, std::string_view key, std::string_view instead) {
  if (reader.find(key) == nullptr) return ok_status();
  return config_error(reader.key_name(key), "a secret is never written in the config file",
                      "put it in an environment variable and name that variable with " + reader.key_name(instead) +
                          " (e.g. " + std::string(instead) + " = \"HADR_SECRET\")");
}

// The connection keys an AMQP broker section shares ([amqp] for the bus, [source] for an AMQP
// source): url, user, password_env, broker, tls, queue_prefix and the two timeouts.
Status read_amqp_connection(SectionReader& reader, amqp::AmqpOptions& options, std::string& password_env,
                            const std::string& base_dir) {
  HADR_TRY(reader.read_string("url", options.url));
  HADR_TRY(reader.read_string("user", options.user));
  HADR_TRY(reject_secret_in_file(reader, "password", "password_env"));
  HADR_TRY(reader.read_string("password_env", password_env));
  HADR_TRY(reader.read_bool("allow_plaintext_password", options.allow_plaintext_password));
  HADR_TRY(reader.read_string("tls_ca_file", options.tls_ca_file));
  options.tls_ca_file = resolve_path(options.tls_ca_file, base_dir);
  std::string broker(amqp::broker_style_name(options.broker));
  HADR_TRY(reader.read_string("broker", broker));
  auto style = amqp::parse_broker_style(broker);
  if (!style.ok()) return config_error(reader.key_name("broker"), quote_text(broker) + " is unknown", "write \"rabbitmq\" or \"servicebus\"");
  options.broker = *style;
  HADR_TRY(reader.read_bool("tls", options.tls));
  HADR_TRY(reader.read_string("queue_prefix", options.queue_prefix));
  HADR_TRY(reader.read_duration("connect_timeout", options.connect_timeout));
  return reader.read_duration("operation_timeout", options.operation_timeout);
}

Status read_redis_section(SectionReader& reader, redis::RedisOptions& options, const std::string& base_dir) {
  std::string address = options.address();
  HADR_TRY(reader.read_string("address", address));
  auto parsed = redis::RedisAddress::parse(address);
  if (!parsed.ok()) return config_error("redis.address", quote_text(address) + " is not HOST:PORT", "write e.g. \"127.0.0.1:6379\"");
  options.host = parsed->host;
  options.port = parsed->port;
  HADR_TRY(reject_secret_in_file(reader, "password", "password_env"));
  HADR_TRY(reader.read_string("password_env", options.password_env));
  HADR_TRY(reader.read_string("password_file", options.password_file));
  if (!options.password_env.empty() && !options.password_file.empty()) {
    return config_error("redis.password_file", "is set together with redis.password_env, and only one can hold the password",
                        "keep one of them and remove the other");
  }
  if (!options.password_file.empty()) options.password_file = resolve_path(options.password_file, base_dir);
  HADR_TRY(reader.read_bool("allow_plaintext_password", options.allow_plaintext_password));
  options.key_prefix = "hadr";  // the cluster name: both regions of one cluster must use the same
  HADR_TRY(reader.read_string("key_prefix", options.key_prefix));
  HADR_TRY(reader.read_duration("connect_timeout", options.connect_timeout));
  return reader.read_duration("command_timeout", options.command_timeout);
}

Status read_azure_section(SectionReader& reader, RealBackendsConfig& real) {
  azure::AzureBlobOptions& options = real.blob;
  HADR_TRY(reader.read_string("endpoint", options.endpoint));
  HADR_TRY(reader.read_string("account", options.account));
  if (options.endpoint.empty() && !options.account.empty()) {
    options.endpoint = "https://" + options.account + ".blob.core.windows.net";
  }
  HADR_TRY(reader.read_string("container", options.container));
  HADR_TRY(reject_secret_in_file(reader, "key", "key_env"));
  HADR_TRY(reject_secret_in_file(reader, "sas", "sas_env"));
  HADR_TRY(reader.read_string("key_env", real.blob_key_env));
  HADR_TRY(reader.read_string("sas_env", real.blob_sas_env));
  HADR_TRY(reader.read_duration("request_timeout", options.request_timeout));
  return reader.read_integer("attempts_max", options.attempts_max, 1, azure::AzureBlobOptions::kAttemptsMaxLimit);
}

// [redis], [amqp] and [azure]: read only with backends.kind = "real" (present otherwise they are
// an error, so that a config never looks like it uses an engine it does not).
Status read_real_backends(const toml::table& root, RegionConfig& config, const std::string& base_dir) {
  RealBackendsConfig& real = config.real;
  const bool is_real = config.backend == BackendKind::kReal;
  for (const char* section : {"redis", "amqp", "azure"}) {
    if (!is_real && root[section].as_table() != nullptr) {
      return config_error(section, "the section is only read with backends.kind = \"real\"",
                          "set backends.kind = \"real\" or remove [" + std::string(section) + "]");
    }
  }
  if (!is_real) return ok_status();
  SectionReader redis_reader(root["redis"].as_table(), "redis");
  HADR_TRY(read_redis_section(redis_reader, real.redis, base_dir));
  HADR_TRY(redis_reader.reject_unknown());
  SectionReader amqp_reader(root["amqp"].as_table(), "amqp");
  HADR_TRY(read_amqp_connection(amqp_reader, real.bus, real.bus_password_env, base_dir));
  HADR_TRY(amqp_reader.read_integer("send_window", real.bus.send_window, 1, amqp::AmqpOptions::kMaxSendWindow));
  HADR_TRY(amqp_reader.reject_unknown());
  SectionReader azure_reader(root["azure"].as_table(), "azure");
  HADR_TRY(read_azure_section(azure_reader, real));
  return azure_reader.reject_unknown();
}

Status read_source(SectionReader& reader, RegionConfig& config, const std::string& base_dir) {
  HADR_TRY(reader.read_duration("visibility_timeout", config.source_visibility_timeout));
  std::string kind = "embedded";
  HADR_TRY(reader.read_string("kind", kind));
  if (kind == "embedded") config.source.kind = SourceKind::kEmbedded;
  else if (kind == "amqp") config.source.kind = SourceKind::kAmqp;
  else return invalid_argument("source.kind: " + quote_text(kind) + " is unknown; write \"embedded\" or \"amqp\"");
  HADR_TRY(reader.read_string("queue", config.source.queue));
  HADR_TRY(reject_secret_in_file(reader, "password", "password_env"));
  if (config.source.kind == SourceKind::kEmbedded) return ok_status();  // the AMQP keys stay unknown
  return read_amqp_connection(reader, config.source.amqp, config.source.amqp_password_env, base_dir);
}

Status read_roles(const toml::table& root, RegionConfig& config, const std::string& base_dir) {
  SectionReader source(root["source"].as_table(), "source");
  HADR_TRY(read_source(source, config, base_dir));
  HADR_TRY(source.reject_unknown());

  SectionReader relay(root["relay"].as_table(), "relay");
  // The ranges are the roles' own limits, so that the message names the real one.
  const auto relay_batch_limit = static_cast<std::int64_t>(std::min(Source::kMaxBatch, Bus::kMaxSendBatch));
  HADR_TRY(relay.read_integer("batch_max", config.relay.batch_max, 1, relay_batch_limit));
  HADR_TRY(relay.read_integer("in_flight_max", config.relay.in_flight_max, 1, Relay::kInFlightHardMax));
  HADR_TRY(relay.read_integer("recovery_chunk_max", config.relay.recovery_chunk_max, 1, DedupeStore::kMaxLookupBatch));
  HADR_TRY(relay.read_duration("retention_interval", config.relay.retention_interval));
  HADR_TRY(read_backoff(relay, config.relay.backoff));
  HADR_TRY(relay.reject_unknown());

  SectionReader promoter(root["promoter"].as_table(), "promoter");
  HADR_TRY(promoter.read_integer("batch_max", config.promoter.batch_max, 1,
                                 static_cast<std::int64_t>(std::min(Bus::kMaxReceiveBatch, Bus::kMaxSendBatch))));
  HADR_TRY(promoter.read_duration("lock_duration", config.promoter.lock_duration));
  HADR_TRY(promoter.read_integer("staging_max_delivery_count", config.staging_max_delivery_count, 1, 10'000));
  HADR_TRY(read_backoff(promoter, config.promoter.backoff));
  HADR_TRY(promoter.reject_unknown());

  SectionReader workers(root["workers"].as_table(), "workers");
  HADR_TRY(workers.read_integer("count", config.worker_count, 0, RegionConfig::kMaxWorkers));
  HADR_TRY(workers.read_integer("batch_max", config.worker.batch_max, 1, Bus::kMaxReceiveBatch));
  HADR_TRY(workers.read_duration("lock_duration", config.worker.lock_duration));
  HADR_TRY(workers.read_duration("claim_ttl", config.worker.claim_ttl));
  HADR_TRY(workers.read_integer("max_delivery_count", config.worker.max_delivery_count, 1, kMaxMaxDeliveryCount));
  HADR_TRY(read_backoff(workers, config.worker.backoff));
  HADR_TRY(workers.reject_unknown());

  SectionReader checkpointer(root["checkpointer"].as_table(), "checkpointer");
  HADR_TRY(checkpointer.read_duration("interval", config.checkpointer.interval));
  HADR_TRY(checkpointer.read_integer("chunk_max", config.checkpointer.chunk_max, 1, DedupeStore::kMaxLookupBatch));
  HADR_TRY(read_backoff(checkpointer, config.checkpointer.backoff));
  return checkpointer.reject_unknown();
}

Status read_storage(const toml::table& root, RegionConfig& config) {
  SectionReader dedupe(root["dedupe"].as_table(), "dedupe");
  HADR_TRY(dedupe.read_duration("record_ttl", config.worker.record_ttl));
  HADR_TRY(dedupe.reject_unknown());

  constexpr std::int64_t kBytesMax = std::int64_t{1} << 40;
  SectionReader wal(root["wal"].as_table(), "wal");
  HADR_TRY(wal.read_integer("segment_bytes_max", config.wal.segment_bytes_max, 1, kBytesMax));
  HADR_TRY(wal.read_integer("record_bytes_max", config.wal.record_bytes_max, 1, std::numeric_limits<std::uint32_t>::max()));
  HADR_TRY(wal.read_duration("retention", config.wal_retention));
  HADR_TRY(wal.reject_unknown());

  SectionReader replay(root["replay"].as_table(), "replay");
  HADR_TRY(replay.read_duration("horizon", config.replay_horizon));
  HADR_TRY(replay.read_duration("quiet_period", config.replay_quiet_period));
  HADR_TRY(replay.reject_unknown());

  SectionReader runtime(root["runtime"].as_table(), "runtime");
  HADR_TRY(runtime.read_duration("idle_wait", config.runtime.idle_wait));
  HADR_TRY(runtime.read_duration("drain_timeout", config.runtime.drain_timeout));
  HADR_TRY(runtime.read_duration("stats_interval", config.runtime.stats_interval));
  HADR_TRY(runtime.reject_unknown());

  SectionReader http(root["http"].as_table(), "http");
  std::string listen;
  HADR_TRY(http.read_string("listen", listen));
  if (http.find("listen") != nullptr) {
    HADR_ASSIGN_OR_RETURN(ListenAddress address, parse_listen_address("http.listen", listen));
    config.http_listen = std::move(address);
  }
  return http.reject_unknown();
}

// [[handler.sql_statements]] tables: sql = "...", parameters = ["$message_id", ...].
Status read_sql_statements(SectionReader& handler, std::vector<SqlStatementConfig>& out) {
  const toml::node* node = handler.find("sql_statements");
  if (node == nullptr) return ok_status();
  const std::string fix = "write [[handler.sql_statements]] tables, each with sql = \"...\" and parameters = [\"$message_id\", ...]";
  const toml::array* array = node->as_array();
  if (array == nullptr) return config_error("handler.sql_statements", "is not an array of tables", fix);
  if (array->size() > kSqlStatementsMax) {
    return config_error("handler.sql_statements", "has " + std::to_string(array->size()) + " statements",
                        "list at most " + std::to_string(kSqlStatementsMax));
  }
  out.clear();
  for (std::size_t index = 0; index < array->size(); ++index) {
    const toml::table* table = array->get(index)->as_table();
    const std::string name = "handler.sql_statements[" + std::to_string(index) + "]";
    if (table == nullptr) return config_error(name, "is not a table", fix);
    SectionReader statement(table, name);
    SqlStatementConfig& parsed = out.emplace_back();
    HADR_TRY(statement.read_string("sql", parsed.sql));
    HADR_TRY(statement.read_string_array("parameters", parsed.parameters));
    HADR_TRY(statement.reject_unknown());
  }
  return ok_status();
}

Status read_handler(const toml::table& root, RegionConfig& config) {
  SectionReader handler(root["handler"].as_table(), "handler");
  HandlerConfig& out = config.handler;
  HADR_TRY(handler.read_string("kind", out.kind));
  HADR_TRY(handler.read_string_array("exec_command", out.exec_command));
  HADR_TRY(handler.read_duration("exec_timeout", out.exec_timeout));
  HADR_TRY(handler.read_integer("exec_output_bytes_max", out.exec_output_bytes_max, 1, 16 << 20));
  HADR_TRY(handler.read_string_array("exec_environment", out.exec_environment));
  HADR_TRY(handler.read_string("http_url", out.http_url));
  HADR_TRY(handler.read_duration("http_timeout", out.http_timeout));
  HADR_TRY(handler.read_integer("http_attempts_max", out.http_attempts_max, 1, 100));
  HADR_TRY(handler.read_duration("http_backoff_initial", out.http_backoff_initial));
  HADR_TRY(handler.read_string("sql_url", out.sql_url));
  HADR_TRY(handler.read_string("sql_password_env", out.sql_password_env));
  HADR_TRY(handler.read_string("sql_password_file", out.sql_password_file));
  HADR_TRY(handler.read_string("sql_sslmode", out.sql_sslmode));
  HADR_TRY(handler.read_duration("sql_statement_timeout", out.sql_statement_timeout));
  HADR_TRY(handler.read_integer("sql_attempts_max", out.sql_attempts_max, 1, 10));
  HADR_TRY(handler.read_string("sql_isolation", out.sql_isolation));
  HADR_TRY(read_sql_statements(handler, out.sql_statements));
  return handler.reject_unknown();
}

// The sections only a two-region config reads. In a single-region config they would be silently
// ignored (a [backup] that backs nothing up), so they are refused, as [amqp] is without
// backends.kind = "real".
Status reject_failover_sections_when_alone(const toml::table& root, const RegionConfig& config) {
  if (config.two_regions()) return ok_status();
  for (const char* section : {"lease", "watchdog", "heartbeat", "backup", "alerts", "hook"}) {
    if (root[section].as_table() != nullptr) {
      return config_error(section, "the section is only read in a two-region config, and this one has no region.peer",
                          "set region.peer to the other region's name, or remove [" + std::string(section) + "]");
    }
  }
  return ok_status();
}

Status read_environment_names(SectionReader& reader, std::string_view key, std::vector<std::string>& names) {
  HADR_TRY(reader.read_string_array(key, names));
  if (names.size() > kChildEnvironmentNamesMax) {
    return config_error(reader.key_name(key), "lists " + std::to_string(names.size()) + " variables",
                        "list at most " + std::to_string(kChildEnvironmentNamesMax));
  }
  for (const std::string& name : names) HADR_TRY(validate_environment_name(reader.key_name(key), name));
  return ok_status();
}

Status read_failover(const toml::table& root, RegionConfig& config) {
  HADR_TRY(reject_failover_sections_when_alone(root, config));
  SectionReader lease(root["lease"].as_table(), "lease");
  HADR_TRY(lease.read_string("name", config.lease.name));
  HADR_TRY(lease.read_duration("ttl", config.lease.ttl));
  HADR_TRY(lease.reject_unknown());

  SectionReader watchdog(root["watchdog"].as_table(), "watchdog");
  WatchdogOptions& w = config.watchdog;
  HADR_TRY(watchdog.read_duration("check_interval", w.check_interval));
  HADR_TRY(watchdog.read_duration("min_failover_interval", w.min_failover_interval));
  HADR_TRY(watchdog.read_duration("unhealthy_grace", w.unhealthy_grace));
  HADR_TRY(watchdog.read_duration("drain_timeout", w.drain_timeout));
  HADR_TRY(watchdog.read_duration("handoff_timeout", w.handoff_timeout));
  HADR_TRY(watchdog.reject_unknown());

  SectionReader heartbeat(root["heartbeat"].as_table(), "heartbeat");
  HADR_TRY(heartbeat.read_duration("interval", config.heartbeat.interval));
  HADR_TRY(heartbeat.reject_unknown());

  SectionReader backup(root["backup"].as_table(), "backup");
  std::string mode = "sync";
  HADR_TRY(backup.read_string("mode", mode));
  if (mode == "sync") config.backup_mode = BackupMode::kSync;
  else if (mode == "async") config.backup_mode = BackupMode::kAsync;
  else if (mode == "off") config.backup_mode = BackupMode::kOff;
  else return config_error("backup.mode", quote_text(mode) + " is unknown", "write \"sync\" (RPO 0) or \"async\"");
  HADR_TRY(backup.read_integer("lag_max", config.backup_lag_max, 1, 10'000'000));
  HADR_TRY(backup.reject_unknown());

  SectionReader alerts(root["alerts"].as_table(), "alerts");
  HADR_TRY(alerts.read_string("webhook", config.alerts.webhook_url));
  HADR_TRY(alerts.read_string_array("command", config.alerts.command));
  HADR_TRY(read_environment_names(alerts, "environment", config.alerts.environment));
  HADR_TRY(alerts.reject_unknown());

  SectionReader hook(root["hook"].as_table(), "hook");
  HADR_TRY(hook.read_string_array("command", config.hook.command));
  HADR_TRY(hook.read_duration("timeout", config.hook.timeout));
  HADR_TRY(read_environment_names(hook, "environment", config.hook.environment));
  return hook.reject_unknown();
}

Status reject_unknown_sections(const toml::table& root) {
  static const std::set<std::string> kSections = {"region", "backends", "source",    "relay",  "promoter",
                                                  "workers", "checkpointer", "dedupe", "wal",  "replay",
                                                  "handler", "runtime", "http", "lease", "watchdog", "heartbeat",
                                                  "backup", "alerts", "hook", "redis", "amqp", "azure"};
  for (const auto& [key, node] : root) {
    const std::string name(key.str());
    if (kSections.count(name) == 0) {
      return config_error(name, "is not a known section", "check its spelling (sections: docs/operations.md)");
    }
    if (!node.is_table()) return config_error(name, "is not a section", "write it as [" + name + "] with its keys below");
  }
  return ok_status();
}

// A role's (or a client's) own validation message in the config's one format: the first key of
// `section` the message names becomes `section.key: `, and a message without a fix gets one.
// The roles validate their options themselves (they are also built without a config file);
// this only says which key of the file the message is about.
Status in_section(std::string_view section, std::initializer_list<std::string_view> keys, Status status) {
  if (status.ok()) return status;
  const std::string& message = status.error().detail;
  std::string_view key;
  std::size_t first = std::string::npos;
  const auto is_word = [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; };
  for (const std::string_view candidate : keys) {
    for (std::size_t at = message.find(candidate); at != std::string::npos; at = message.find(candidate, at + 1)) {
      const std::size_t end = at + candidate.size();
      const bool whole = (at == 0 || !is_word(message[at - 1])) && (end == message.size() || !is_word(message[end]));
      if (whole && at < first) {
        first = at;
        key = candidate;
      }
      if (whole) break;
    }
  }
  std::string name(section);
  if (!key.empty()) {
    name.push_back('.');
    name.append(key);
  }
  if (message.find(';') != std::string::npos) return invalid_argument(name + ": " + message);
  return config_error(name, message, "change " + name + " (docs/operations.md)");
}

std::string duration_text(Milliseconds duration) {
  const std::int64_t ms = duration.count();
  if (ms != 0 && ms % 86'400'000 == 0) return std::to_string(ms / 86'400'000) + "d";
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// An options struct whose secret comes from the environment later is validated now with a
// stand-in secret, so that every other field is checked when the config loads.
Status validate_amqp_connection(std::string_view section, amqp::AmqpOptions options, const std::string& password_env) {
  if (!password_env.empty()) options.password = Secret("placeholder");
  const Status status = options.validate();
  return in_section(section,
                    {"url", "user", "password_env", "broker", "tls_ca_file", "tls", "allow_plaintext_password",
                     "queue_prefix", "connect_timeout", "operation_timeout", "send_window"},
                    status);
}

// hiredis 0.14 has no TLS: a password to a remote Redis would cross the network in plain text.
Status validate_redis_transport(const redis::RedisOptions& redis) {
  const bool has_password = !redis.password_env.empty() || !redis.password_file.empty();
  if (!has_password || redis.allow_plaintext_password || is_loopback_host(redis.host)) return ok_status();
  return config_error("redis.address",
                      redis.host + " is not loopback, and AUTH would send the password in plain text (hadr's Redis "
                      "client has no TLS)",
                      "run a local stunnel to the server and point redis.address at it (docs/redis.md), or set "
                      "redis.allow_plaintext_password = true if that network is trusted");
}

Status validate_real_backends(const RealBackendsConfig& real) {
  HADR_TRY(in_section("redis", {"address", "host", "port", "key_prefix", "connect_timeout", "command_timeout"},
                      real.redis.validate()));
  HADR_TRY(validate_redis_transport(real.redis));
  HADR_TRY(validate_amqp_connection("amqp", real.bus, real.bus_password_env));
  if (real.blob_key_env.empty() == real.blob_sas_env.empty()) {
    return config_error("azure.key_env",
                        real.blob_key_env.empty() ? "neither it nor azure.sas_env is set" : "is set together with azure.sas_env",
                        "set exactly one of key_env (the variable holding the account key) and sas_env (the variable "
                        "holding a SAS token)");
  }
  if (real.blob.account.empty()) return config_error("azure.account", "is missing", "set the storage account name");
  if (real.blob.container.empty()) {
    return config_error("azure.container", "is missing", "set the backup container, e.g. \"hadr-backup\"");
  }
  azure::AzureBlobOptions blob = real.blob;
  if (real.blob_key_env.empty()) blob.sas = Secret("sv=2021-08-06&sig=placeholder");
  else blob.key = Secret("cGxhY2Vob2xkZXI=");
  return in_section("azure", {"endpoint", "account", "container", "request_timeout", "attempts_max"}, blob.validate());
}

}  // namespace

std::string_view backend_kind_name(BackendKind kind) {
  switch (kind) {
    case BackendKind::kEmbedded: return "embedded";
    case BackendKind::kReal: return "real";
  }
  return "unknown";
}

Result<Milliseconds> parse_duration(std::string_view key, std::string_view text) {
  const std::string bad = std::string(key) + ": " + quote_text(text) + " is not a duration; " + std::string(kDurationFix);
  // A whole part, an optional fraction ("1.5s"), then the unit.
  std::uint64_t whole = 0;
  const char* const end_of_text = text.data() + text.size();
  const auto [whole_end, error] = std::from_chars(text.data(), end_of_text, whole);
  if (error != std::errc() || whole_end == text.data()) return invalid_argument(bad);
  const char* cursor = whole_end;
  std::uint64_t fraction = 0;
  std::uint64_t fraction_scale = 1;
  if (cursor != end_of_text && *cursor == '.') {
    ++cursor;
    const char* const digits = cursor;
    while (cursor != end_of_text && *cursor >= '0' && *cursor <= '9') {
      if (fraction_scale >= 1'000'000'000) return invalid_argument(bad);  // more digits than any unit needs
      fraction = fraction * 10 + static_cast<std::uint64_t>(*cursor - '0');
      fraction_scale *= 10;
      ++cursor;
    }
    if (cursor == digits) return invalid_argument(bad);
  }
  const std::string_view unit(cursor, static_cast<std::size_t>(end_of_text - cursor));
  std::uint64_t unit_ms = 0;
  if (unit == "ms") unit_ms = 1;
  else if (unit == "s") unit_ms = 1000;
  else if (unit == "m") unit_ms = 60'000;
  else if (unit == "h") unit_ms = 3'600'000;
  else if (unit == "d") unit_ms = 86'400'000;
  else if (unit.empty()) {
    return invalid_argument(std::string(key) + ": " + quote_text(text) + " has no unit; " + std::string(kDurationFix));
  } else {
    return invalid_argument(std::string(key) + ": " + quote_text(text) + " has an unknown unit " + quote_text(unit) + "; " +
                            std::string(kDurationFix));
  }
  // Ten years is far beyond any TTL or horizon; it keeps the product far from overflow.
  constexpr std::uint64_t kMaxMs = 10ull * 365 * 86'400'000;
  if (whole > kMaxMs / unit_ms) return config_error(key, quote_text(text) + " is longer than 10 years", "write a shorter duration").take_error();
  const std::uint64_t fraction_ms_scaled = fraction * unit_ms;  // < 1e9 * 8.64e7: no overflow
  if (fraction_ms_scaled % fraction_scale != 0) {
    return invalid_argument(std::string(key) + ": " + quote_text(text) + " is not a whole number of milliseconds; " +
                            std::string(kDurationFix));
  }
  return Milliseconds(static_cast<std::int64_t>(whole * unit_ms + fraction_ms_scaled / fraction_scale));
}

Milliseconds RegionConfig::record_ttl_minimum() const {
  Milliseconds needed = worker.claim_ttl + checkpointer.interval + worker.floor_refresh_interval;
  if (two_regions()) needed += lease.ttl + ReplayerOptions{}.settle_interval;
  return needed;
}

// A long handler keeps its message's bus lock and dedupe claim alive through the worker's
// keep-alive (roles/handler.h), which renews a lock ending within lock_duration / 2 and extends
// the claim once a third of claim_ttl passed. The handler calls it at most `gap` apart (exec:
// every 50 ms poll round; http: about once a second in flight and in backoff waits), so both
// durations must be at least four gaps, or a lock or claim could lapse under a running handler
// and a second worker run the same effect (issue 12, hole 7).
static Status validate_handler_keep_alive(const RegionConfig& config) {
  Milliseconds gap{0};
  if (config.handler.kind == "http") gap = Milliseconds(1'000);
  if (config.handler.kind == "exec") gap = Milliseconds(50);
  // sql keeps alive only between attempts: one attempt (connect, then BEGIN, the inbox insert,
  // the statements and COMMIT, each cut by statement_timeout) must fit in two gaps, i.e. in half
  // the lock duration.
  if (config.handler.kind == "sql") {
    const auto statements = static_cast<std::int64_t>(config.handler.sql_statements.size());
    gap = (kSqlConnectTimeout + config.handler.sql_statement_timeout * (statements + 3)) / 2;
  }
  if (gap == Milliseconds(0)) return ok_status();  // the ledger handler is one short transaction
  const Milliseconds least = gap * 4;
  const auto too_short = [&](std::string_view key, Milliseconds value) -> Status {
    return invalid_argument(std::string(key) + ": " + duration_text(value) + " is too short for the " +
                            config.handler.kind + " handler, which keeps a running message's lock and claim alive " +
                            "only every " + duration_text(gap) + "; use at least \"" + duration_text(least) + "\"");
  };
  if (config.worker.lock_duration < least) return too_short("workers.lock_duration", config.worker.lock_duration);
  if (config.worker.claim_ttl < least) return too_short("workers.claim_ttl", config.worker.claim_ttl);
  return ok_status();
}

// An http(s) URL with a host: "not a url" must not wait for the first alert to fail. The URL is
// never quoted back (it may carry a token).
static Status validate_webhook_url(const std::string& url) {
  if (url.empty()) return ok_status();
  const auto refuse = [](std::string_view what) {
    return config_error("alerts.webhook", what, "write an http:// or https:// URL with a host, e.g. \"https://alerts.example.com/hadr\"");
  };
  const bool secure = url.rfind("https://", 0) == 0;
  if (!secure && url.rfind("http://", 0) != 0) return refuse("must start with http:// or https://");
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return refuse("holds a space or a control character");
  }
  const std::string_view rest = std::string_view(url).substr(secure ? 8 : 7);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return refuse("has an unclosed [ in its host");
    host = authority.substr(0, close + 1);
    port = authority.substr(close + 1);
  } else if (const std::size_t colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon);
  }
  const auto host_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
  };
  const bool bracketed = host.starts_with('[');
  if (host.empty() || (!bracketed && !std::all_of(host.begin(), host.end(), host_char))) return refuse("has no valid host");
  if (!port.empty()) {
    std::uint32_t number = 0;
    const auto [end, error] = std::from_chars(port.data() + 1, port.data() + port.size(), number);
    if (port.front() != ':' || error != std::errc() || end != port.data() + port.size() || number < 1 || number > 65535) {
      return refuse("has a port that is not 1..65535");
    }
  }
  return ok_status();
}

// A child's environment lists (core/child_environment.h) may not name a variable that one of
// the *_env keys names: that variable holds hadr's secret, which a child must never get.
static Status validate_child_environments(const RegionConfig& config) {
  const std::vector<std::pair<std::string_view, const std::string*>> secrets = {
      {"redis.password_env", &config.real.redis.password_env}, {"amqp.password_env", &config.real.bus_password_env},
      {"azure.key_env", &config.real.blob_key_env},            {"azure.sas_env", &config.real.blob_sas_env},
      {"source.password_env", &config.source.amqp_password_env}};
  const std::vector<std::pair<std::string_view, const std::vector<std::string>*>> lists = {
      {"handler.exec_environment", &config.handler.exec_environment},
      {"alerts.environment", &config.alerts.environment},
      {"hook.environment", &config.hook.environment}};
  for (const auto& [list_key, names] : lists) {
    for (const std::string& name : *names) {
      for (const auto& [secret_key, secret_name] : secrets) {
        if (name != *secret_name) continue;
        return config_error(list_key, "names " + name + ", which holds a secret (" + std::string(secret_key) + " names it)",
                            "remove it: a child never gets hadr's own credentials; give the program a credential of "
                            "its own in another variable");
      }
    }
  }
  return ok_status();
}

Status RegionConfig::validate() const {
  HADR_ASSERT(!region.empty());
  HADR_ASSERT(!data_dir.empty());
  if (worker_count > kMaxWorkers) {
    return config_error("workers.count", std::to_string(worker_count) + " is too many",
                        "write at most " + std::to_string(kMaxWorkers));
  }
  if (source_visibility_timeout < Milliseconds(1) || source_visibility_timeout > std::chrono::hours(24)) {
    return config_error("source.visibility_timeout", duration_text(source_visibility_timeout) + " is out of range",
                        "write between \"1ms\" and \"1d\"");
  }
  HADR_TRY(in_section("relay", {"batch_max", "in_flight_max", "recovery_chunk_max", "retention_interval", "backoff_initial", "backoff_max", "backoff"},
                      relay.validate()));
  HADR_TRY(in_section("promoter", {"batch_max", "lock_duration", "backoff_initial", "backoff_max", "backoff"}, promoter.validate()));
  HADR_TRY(in_section("workers", {"batch_max", "lock_duration", "claim_ttl", "max_delivery_count", "backoff_initial", "backoff_max", "backoff"},
                      worker.validate()));
  HADR_TRY(in_section("checkpointer", {"interval", "chunk_max", "backoff_initial", "backoff_max", "backoff"}, checkpointer.validate()));
  HADR_TRY(in_section("wal", {"segment_bytes_max", "record_bytes_max"}, wal.validate()));
  HADR_TRY(handler.validate());
  HADR_TRY(validate_handler_keep_alive(*this));
  // A copy redelivered after its lock lapsed (a worker paused, a renewal lost) must still find
  // the first worker's claim, or a second worker runs the effect beside the first. Both are
  // taken together, so the claim must last at least as long as the lock.
  if (worker.claim_ttl < worker.lock_duration) {
    return config_error("workers.claim_ttl",
                        duration_text(worker.claim_ttl) + " is shorter than workers.lock_duration (" +
                            duration_text(worker.lock_duration) +
                            "): a copy redelivered when the lock lapses would find the claim gone and run the effect "
                            "a second time",
                        "set workers.claim_ttl to at least \"" + duration_text(worker.lock_duration) +
                            "\" (e.g. twice the lock) or lower workers.lock_duration");
  }
  HADR_TRY(validate_child_environments(*this));
  if (backend == BackendKind::kReal) HADR_TRY(validate_real_backends(real));
  if (source.kind == SourceKind::kAmqp) {
    HADR_TRY(validate_amqp_connection("source", source.amqp, source.amqp_password_env));
    const Status queue_status = validate_queue_name(source.queue, QueueNameUse::kCreateOrSend);
    if (!queue_status.ok()) {
      return config_error("source.queue", queue_status.error().detail, "write a name of letters, digits, '.', '_', '-'");
    }
  }
  const Milliseconds needed = record_ttl_minimum();
  if (worker.record_ttl <= needed) {
    return invalid_argument("dedupe.record_ttl: " + duration_text(worker.record_ttl) +
                            " must exceed workers.claim_ttl + checkpointer.interval + the floor refresh (1s)" +
                            std::string(two_regions() ? " + lease.ttl + the replay settle interval (1s)" : "") + " = " +
                            duration_text(needed) +
                            ": a done mark must outlive the time until the settled floor passes its record; raise "
                            "dedupe.record_ttl (e.g. \"7d\") or lower workers.claim_ttl");
  }
  if (runtime.idle_wait < Milliseconds(1) || runtime.idle_wait > Milliseconds(1000)) {
    return config_error("runtime.idle_wait", duration_text(runtime.idle_wait) + " is out of range", "write between \"1ms\" and \"1s\"");
  }
  if (runtime.drain_timeout > std::chrono::minutes(10)) {
    return config_error("runtime.drain_timeout", duration_text(runtime.drain_timeout) + " is too long", "write at most \"10m\"");
  }
  if (runtime.stats_interval < Milliseconds(100) || runtime.stats_interval > std::chrono::hours(1)) {
    return config_error("runtime.stats_interval", duration_text(runtime.stats_interval) + " is out of range",
                        "write between \"100ms\" and \"1h\"");
  }
  return validate_failover();
}

Status RegionConfig::validate_failover() const {
  if (!two_regions()) return ok_status();
  if (peer == region) {
    return config_error("region.peer", "names this region (" + region.str() + ")", "set it to the other region's name");
  }
  if (backup_mode == BackupMode::kOff) {
    return config_error("backup.mode",
                        "\"off\" leaves region " + peer.str() + " nothing to replay: every message this region "
                        "acknowledged but had not yet processed is lost when it fails over",
                        "write \"sync\" (RPO 0) or \"async\" (RPO backup.lag_max records)");
  }
  HADR_TRY(in_section("lease", {"name", "ttl"}, lease.validate()));
  HADR_TRY(in_section("watchdog", {"check_interval", "min_failover_interval", "unhealthy_grace", "drain_timeout", "handoff_timeout"},
                      watchdog.validate()));
  HADR_TRY(in_section("heartbeat", {"interval"}, heartbeat.validate()));
  if (watchdog.check_interval * 2 > lease.ttl) {
    return config_error("watchdog.check_interval",
                        duration_text(watchdog.check_interval) + " is more than half of lease.ttl (" +
                            duration_text(lease.ttl) + "), so a free lease is noticed too late",
                        "write at most \"" + duration_text(lease.ttl / 2) + "\" or raise lease.ttl");
  }
  if (heartbeat.interval * 3 > watchdog.unhealthy_grace + lease.ttl * 2) {
    return config_error("heartbeat.interval",
                        duration_text(heartbeat.interval) + " is too long for lease.ttl and watchdog.unhealthy_grace",
                        "use at most a third of (2 × lease.ttl + watchdog.unhealthy_grace)");
  }
  if (replay_quiet_period < Milliseconds(1) || replay_quiet_period > std::chrono::hours(1)) {
    return config_error("replay.quiet_period", duration_text(replay_quiet_period) + " is out of range",
                        "write between \"1ms\" and \"1h\"");
  }
  if (!hook.command.empty() && (hook.timeout < Milliseconds(1'000) || hook.timeout > std::chrono::minutes(10))) {
    return config_error("hook.timeout", duration_text(hook.timeout) + " is out of range", "write between \"1s\" and \"10m\"");
  }
  return validate_webhook_url(alerts.webhook_url);
}

std::string_view backup_mode_name(BackupMode mode) {
  switch (mode) {
    case BackupMode::kOff: return "off";
    case BackupMode::kSync: return "sync";
    case BackupMode::kAsync: return "async";
  }
  return "unknown";
}

Result<RegionConfig> parse_region_config(std::string_view toml_text, const std::string& base_dir) {
  toml::parse_result parsed = toml::parse(toml_text);
  if (!parsed) {
    const auto& error = parsed.error();
    return invalid_argument("not valid TOML at line " + std::to_string(error.source().begin.line) + ", column " +
                            std::to_string(error.source().begin.column) + ": " + std::string(error.description()));
  }
  const toml::table& root = parsed.table();
  HADR_TRY(reject_unknown_sections(root));
  RegionConfig config;
  SectionReader region(root["region"].as_table(), "region");
  HADR_TRY(read_region(region, config, base_dir));
  HADR_TRY(region.reject_unknown());
  SectionReader backends(root["backends"].as_table(), "backends");
  HADR_TRY(read_backends(backends, config, base_dir));
  HADR_TRY(backends.reject_unknown());
  HADR_TRY(read_real_backends(root, config, base_dir));
  config.relay.region = config.region;
  config.checkpointer.region = config.region;
  config.lease.holder = config.region.str();
  config.watchdog.region = config.region;
  config.watchdog.peer = config.peer;
  config.watchdog.bus_namespace = config.bus_namespace;
  config.heartbeat.region = config.region;
  // Validation needs an owner; the runtime gives each worker its own ("<region>/worker-<n>").
  config.worker.owner = config.region.str() + "/worker-1";
  HADR_TRY(read_roles(root, config, base_dir));
  HADR_TRY(read_storage(root, config));
  HADR_TRY(read_handler(root, config));
  HADR_TRY(read_failover(root, config));
  HADR_TRY(config.validate());
  return config;
}

Result<RegionConfig> load_region_config(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return not_found("config file " + path + " cannot be read; check the path given to --config");
  std::string text(kConfigBytesMax + 1, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(file.gcount()));
  if (text.size() > kConfigBytesMax) return invalid_argument("config file " + path + " is larger than 1 MiB; is it the right file?");
  const std::size_t slash = path.rfind('/');
  const std::string base_dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  auto config = parse_region_config(text, base_dir);
  if (!config.ok()) return invalid_argument(path + ": " + config.error().detail);
  config->source_file = path;
  return config;
}

namespace {

// "broker queues: P-staging, P-main"; a prefix that does not end in a separator gets a note,
// since it is joined as is ("hadr-example" + "main" = "hadr-examplemain").
void describe_broker_queues(std::ostream& out, std::string_view section, const amqp::AmqpOptions& options,
                            const std::vector<std::string>& queues) {
  out << section << " broker queues:";
  for (std::size_t i = 0; i < queues.size(); ++i) {
    out << (i == 0 ? " " : ", ") << amqp::broker_queue_name(options, queues[i]);
  }
  out << " (and their $deadletterqueue)\n";
  const std::string& prefix = options.queue_prefix;
  if (!prefix.empty() && std::string_view("-._").find(prefix.back()) == std::string_view::npos) {
    out << "note: " << section << ".queue_prefix \"" << prefix << "\" is joined to each queue name as is; end it with "
        << "'-' or '.' (\"" << prefix << "-\") for readable names\n";
  }
}

}  // namespace

std::string describe(const RegionConfig& config) {
  std::ostringstream out;
  out << "region " << config.region.str() << ": data_dir " << config.data_dir;
  if (config.backend == BackendKind::kEmbedded) {
    out << ", embedded backends in " << config.embedded.dir << " (bus namespace " << config.bus_namespace << ")\n";
  } else {
    out << ", real backends: redis " << config.real.redis.address() << " (lease, dedupe, coord, ledger), bus namespace "
        << config.bus_namespace << " at " << config.real.bus.url << ", backup " << config.real.blob.endpoint << "/"
        << config.real.blob.container << "\n";
  }
  if (config.backend == BackendKind::kReal) describe_broker_queues(out, "amqp", config.real.bus,
                                                                   {config.promoter.staging_queue, config.worker.main_queue});
  if (config.source.kind == SourceKind::kAmqp) {
    out << "source: queue " << config.source.queue << " at " << config.source.amqp.url << "\n";
    describe_broker_queues(out, "source", config.source.amqp, {config.source.queue});
  }
  out
      << "workers " << config.worker_count << ", handler " << config.handler.kind << ", dedupe.record_ttl "
      << duration_text(config.worker.record_ttl) << " > " << duration_text(config.record_ttl_minimum())
      << " (claim, checkpoint, floor refresh" << (config.two_regions() ? ", lease, settle" : "") << ")\n";
  if (config.two_regions()) {
    out << "two regions: peer " << config.peer.str() << ", lease " << config.lease.name << " ttl "
        << duration_text(config.lease.ttl) << ", backup " << backup_mode_name(config.backup_mode)
        << (config.hook.command.empty() ? ", no alias hook" : ", alias hook configured")
        << (config.alerts.webhook_url.empty() ? "" : ", alert webhook configured") << "\n";
  } else {
    out << "single region (no [region] peer): always active at epoch 1\n";
  }
  if (config.http_listen) {
    out << "http: hadr node serves /metrics, /healthz, /readyz and /status on " << config.http_listen->to_string() << "\n";
  }
  return out.str();
}

}  // namespace hadr
