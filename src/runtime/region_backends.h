// RegionBackends: the one place that turns a region's config into store connections, on the
// engines it names (docs/operations.md, "Backends"):
//
//   store        backends.kind = "embedded"            backends.kind = "real"
//   source       SQLite queue (source.kind embedded)   the same, or an AMQP queue (source.kind amqp)
//   bus          SQLite file per namespace             AMQP 1.0 broker of this region's namespace
//   dedupe       SQLite (+ the ledger table)           Redis (+ the ledger list)
//   coord        SQLite                                Redis
//   lease        SQLite                                Redis (SET NX PX, fencing epochs)
//   blob backup  a directory                           Azure Blob Storage container
//
// Every role, command and drill opens its connections here, so that no caller knows which
// engine it talks to, and each thread gets connections of its own (a connection is used by one
// thread at a time; RegionNode opens one set per thread).
//
// Secrets (Redis password, AMQP password, Azure key or SAS) are resolved once, in resolve(),
// from the environment variables (or the Redis password file) the config names; an error names
// the variable, never the value.
//
// Ownership: a value holding resolved options; every open_*() returns an owned connection.
// Thread-safety: the const methods may be called from any thread.
#pragma once

#include <memory>
#include <string>

#include "config/region_config.h"
#include "contracts/blob_store.h"
#include "contracts/bus.h"
#include "contracts/coord.h"
#include "contracts/dedupe_store.h"
#include "contracts/lease_store.h"
#include "contracts/source.h"
#include "core/secret.h"
#include "contracts/effect_ledger.h"
#include "handlers/handler_factory.h"

namespace hadr {

// A dedupe store connection and, on the same engine, the ledger through which the built-in
// `ledger` handler commits its effect atomically with the done mark.
// Invariant: `ledger` points to `ledger_adapter`, which borrows `store` (declared first, so
// destroyed last).
struct DedupeConnection {
  std::unique_ptr<DedupeStore> store;
  std::unique_ptr<EffectLedger> ledger_adapter;
  EffectLedger* ledger = nullptr;
};

// For the read-only commands (`hadr status`, `hadr verify`), which must not create what they
// read: ok when `path` exists; otherwise kFailedPrecondition naming `what`, the path, the config
// key that placed it and the fix (a mistyped path, or no `hadr node` has run with this config).
// Called before opening an embedded store, since opening one creates it.
Status require_existing_path(const RegionConfig& config, const std::string& path, std::string_view what,
                             std::string_view key);

class RegionBackends {
 public:
  static Result<RegionBackends> resolve(const RegionConfig& config, const EnvironmentLookup& environment);

  BackendKind kind() const { return config_.backend; }
  // "embedded (SQLite in DIR)" or "real (redis H:P, amqp URL, azure ENDPOINT/CONTAINER)".
  std::string describe() const;

  Result<std::unique_ptr<Source>> open_source(const std::string& consumer) const;
  // This region's bus namespace (config.bus_namespace).
  Result<std::unique_ptr<Bus>> open_bus() const;
  Result<DedupeConnection> open_dedupe() const;
  Result<std::unique_ptr<Coord>> open_coord() const;
  Result<std::unique_ptr<LeaseStore>> open_lease_store() const;
  Result<std::unique_ptr<BlobStore>> open_blob_store() const;
  Result<std::unique_ptr<EffectLedgerReader>> open_ledger_reader() const;

 private:
  explicit RegionBackends(const RegionConfig& config) : config_(config) {}

  RegionConfig config_;
  // With the secrets filled in (config_ holds only the variables' names).
  redis::RedisOptions redis_;
  amqp::AmqpOptions bus_;
  amqp::AmqpOptions source_amqp_;
  azure::AzureBlobOptions blob_;
};

}  // namespace hadr
