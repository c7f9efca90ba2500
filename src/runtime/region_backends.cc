#include "runtime/region_backends.h"

#include <sys/stat.h>

#include <sstream>

#include "amqp/amqp_bus.h"
#include "amqp/amqp_source.h"
#include "azure/azure_blob_store.h"
#include "core/env.h"
#include "embedded/directory_blob_store.h"
#include "embedded/sqlite_bus.h"
#include "embedded/sqlite_coord.h"
#include "embedded/sqlite_dedupe_store.h"
#include "embedded/sqlite_lease_store.h"
#include "embedded/sqlite_source.h"
#include "embedded/sqlite_ledger.h"
#include "redis/redis_coord.h"
#include "redis/redis_dedupe_store.h"
#include "redis/redis_lease_store.h"
#include "redis/redis_ledger.h"

namespace hadr {

namespace {

// The value of the environment variable `name` as a Secret; `key` is the config key that named
// it, for the error.
Result<Secret> secret_from_environment(const EnvironmentLookup& environment, std::string_view key,
                                       const std::string& name) {
  if (name.empty()) return Secret();
  const std::optional<std::string> value = environment(name);
  if (!value || value->empty()) {
    return invalid_argument(std::string(key) + " names environment variable '" + name +
                            "', which is unset or empty; export it before starting hadr");
  }
  return Secret(*value);
}

}  // namespace

Status require_existing_path(const RegionConfig& config, const std::string& path, std::string_view what,
                             std::string_view key) {
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0) return ok_status();
  const std::string file = config.source_file.empty() ? std::string("the config") : config.source_file;
  return failed_precondition(std::string(what) + " " + path + " does not exist (nothing was created): no hadr process "
                             "has run with " + file + ", or " + std::string(key) + " in it is mistyped (a relative "
                             "path is resolved against the config file's directory). Fix " + std::string(key) +
                             ", or start `hadr node --config " + file + "` first");
}

Result<RegionBackends> RegionBackends::resolve(const RegionConfig& config, const EnvironmentLookup& environment) {
  RegionBackends backends(config);
  if (config.backend == BackendKind::kReal) {
    const RealBackendsConfig& real = config.real;
    HADR_ASSIGN_OR_RETURN(backends.redis_, redis::resolve_password(real.redis, posix_env(), environment));
    backends.bus_ = real.bus;
    HADR_ASSIGN_OR_RETURN(backends.bus_.password,
                          secret_from_environment(environment, "amqp.password_env", real.bus_password_env));
    backends.blob_ = real.blob;
    HADR_ASSIGN_OR_RETURN(backends.blob_.key, secret_from_environment(environment, "azure.key_env", real.blob_key_env));
    HADR_ASSIGN_OR_RETURN(backends.blob_.sas, secret_from_environment(environment, "azure.sas_env", real.blob_sas_env));
    HADR_TRY(backends.bus_.validate());
    HADR_TRY(backends.blob_.validate());
  }
  if (config.source.kind == SourceKind::kAmqp) {
    backends.source_amqp_ = config.source.amqp;
    HADR_ASSIGN_OR_RETURN(backends.source_amqp_.password, secret_from_environment(environment, "source.password_env",
                                                                                  config.source.amqp_password_env));
    HADR_TRY(backends.source_amqp_.validate());
  }
  return backends;
}

std::string RegionBackends::describe() const {
  std::ostringstream out;
  if (config_.backend == BackendKind::kEmbedded) {
    out << "embedded (SQLite in " << config_.embedded.dir << ")";
  } else {
    out << "real (redis " << redis_.address() << ", bus " << bus_.describe() << ", backup " << blob_.describe() << ")";
  }
  if (config_.source.kind == SourceKind::kAmqp) out << ", source queue " << config_.source.queue << " at " << source_amqp_.url;
  return out.str();
}

Result<std::unique_ptr<Source>> RegionBackends::open_source(const std::string& consumer) const {
  if (config_.source.kind == SourceKind::kAmqp) {
    HADR_ASSIGN_OR_RETURN(auto source, amqp::AmqpSource::open(source_amqp_, config_.source.queue, consumer,
                                                              config_.source_visibility_timeout));
    return std::unique_ptr<Source>(std::move(source));
  }
  HADR_TRY(posix_env().create_dirs(config_.embedded.dir));
  HADR_ASSIGN_OR_RETURN(auto source, SqliteSource::open(config_.embedded.source_path(), consumer,
                                                        config_.source_visibility_timeout, RealClock::instance()));
  return std::unique_ptr<Source>(std::move(source));
}

Result<std::unique_ptr<Bus>> RegionBackends::open_bus() const {
  if (config_.backend == BackendKind::kReal) {
    HADR_ASSIGN_OR_RETURN(auto bus, amqp::AmqpBus::open(bus_, RealClock::instance()));
    return std::unique_ptr<Bus>(std::move(bus));
  }
  HADR_TRY(posix_env().create_dirs(config_.embedded.dir));
  HADR_ASSIGN_OR_RETURN(auto bus, SqliteBus::open(config_.embedded.bus_path(config_.bus_namespace), RealClock::instance()));
  return std::unique_ptr<Bus>(std::move(bus));
}

Result<DedupeConnection> RegionBackends::open_dedupe() const {
  DedupeConnection connection;
  if (config_.backend == BackendKind::kReal) {
    HADR_ASSIGN_OR_RETURN(auto store, redis::RedisDedupeStore::open(redis_));
    connection.ledger_adapter = std::make_unique<redis::RedisEffectLedger>(*store);
    connection.ledger = connection.ledger_adapter.get();
    connection.store = std::move(store);
    return connection;
  }
  HADR_TRY(posix_env().create_dirs(config_.embedded.dir));
  HADR_ASSIGN_OR_RETURN(auto store, SqliteDedupeStore::open(config_.embedded.dedupe_path(), RealClock::instance()));
  connection.ledger_adapter = std::make_unique<SqliteEffectLedger>(*store);
  connection.ledger = connection.ledger_adapter.get();
  connection.store = std::move(store);
  return connection;
}

Result<std::unique_ptr<Coord>> RegionBackends::open_coord() const {
  if (config_.backend == BackendKind::kReal) {
    HADR_ASSIGN_OR_RETURN(auto coord, redis::RedisCoord::open(redis_));
    return std::unique_ptr<Coord>(std::move(coord));
  }
  HADR_TRY(posix_env().create_dirs(config_.embedded.dir));
  HADR_ASSIGN_OR_RETURN(auto coord, SqliteCoord::open(config_.embedded.coord_path(), RealClock::instance()));
  return std::unique_ptr<Coord>(std::move(coord));
}

Result<std::unique_ptr<LeaseStore>> RegionBackends::open_lease_store() const {
  if (config_.backend == BackendKind::kReal) {
    HADR_ASSIGN_OR_RETURN(auto lease, redis::RedisLeaseStore::open(redis_));
    return std::unique_ptr<LeaseStore>(std::move(lease));
  }
  HADR_TRY(posix_env().create_dirs(config_.embedded.dir));
  HADR_ASSIGN_OR_RETURN(auto lease, SqliteLeaseStore::open(config_.embedded.lease_path(), RealClock::instance()));
  return std::unique_ptr<LeaseStore>(std::move(lease));
}

Result<std::unique_ptr<BlobStore>> RegionBackends::open_blob_store() const {
  if (config_.backend == BackendKind::kReal) {
    HADR_ASSIGN_OR_RETURN(auto blobs, azure::AzureBlobStore::open(blob_));
    return std::unique_ptr<BlobStore>(std::move(blobs));
  }
  HADR_ASSIGN_OR_RETURN(auto blobs, DirectoryBlobStore::open(posix_env(), config_.embedded.blobs_dir()));
  return std::unique_ptr<BlobStore>(std::move(blobs));
}

Result<std::unique_ptr<EffectLedgerReader>> RegionBackends::open_ledger_reader() const {
  if (config_.backend == BackendKind::kReal) {
    HADR_ASSIGN_OR_RETURN(auto reader, redis::RedisLedgerReader::open(redis_));
    return std::unique_ptr<EffectLedgerReader>(std::move(reader));
  }
  HADR_ASSIGN_OR_RETURN(auto reader, LedgerReader::open(config_.embedded.dedupe_path()));
  return std::unique_ptr<EffectLedgerReader>(std::move(reader));
}

}  // namespace hadr
