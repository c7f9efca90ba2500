// RegionConfig: the TOML file that describes one region (`hadr node --config region.toml`),
// parsed into the options structs of the roles, the WAL and the handler, with defaults and
// validation. Reference of every key: docs/operations.md, "Configuration".
//
// Parsing rules (one place, so every key behaves the same):
//   - durations are strings with a unit ("250ms", "30s", "5m", "2h", "7d") or integers in ms;
//   - unknown sections and keys are errors: a typo must never be silently ignored;
//   - every error names the key as `section.key`, the bad value and the fix;
//   - relative paths are resolved against the directory of the config file.
// Validation runs each options struct's own validate() and adds the cross-field rule of
// DESIGN.md: dedupe.record_ttl must exceed wal.retention + replay.horizon + workers.claim_ttl,
// so a done record never expires while its WAL record can still be replayed.
//
// Ownership: plain values. Thread-safety: none needed (immutable after parsing).
// Invariant: a RegionConfig returned by load_region_config()/parse_region_config() has passed
// validate().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "amqp/amqp_options.h"
#include "azure/azure_blob_options.h"
#include "core/ids.h"
#include "core/result.h"
#include "redis/redis_options.h"
#include "handlers/handler_factory.h"
#include "http/listen_address.h"
#include "roles/checkpointer.h"
#include "roles/heartbeat.h"
#include "roles/lease_manager.h"
#include "roles/watchdog.h"
#include "roles/promoter.h"
#include "roles/relay.h"
#include "roles/replayer.h"
#include "roles/worker.h"
#include "wal/wal_options.h"

namespace hadr {

// Which engines hold the region's state (docs/operations.md, "Backends").
enum class BackendKind {
  kEmbedded,  // SQLite files and a blob directory under backends.dir: nothing to install
  kReal,      // Redis (lease, dedupe, coord, ledger), AMQP 1.0 (the bus), Azure Blob (the WAL backup)
};
std::string_view backend_kind_name(BackendKind kind);

// The real engines (backends.kind = "real"). Secrets are never in the file: each is named by
// the environment variable (or, for Redis, the file) that holds it, and resolved when the
// runtime connects (runtime/region_backends.h).
struct RealBackendsConfig {
  redis::RedisOptions redis;     // [redis]: lease, dedupe records, coord records, the ledger
  amqp::AmqpOptions bus;         // [amqp]: this region's bus namespace (backends.bus_namespace)
  std::string bus_password_env;  // amqp.password_env
  azure::AzureBlobOptions blob;  // [azure]: the WAL backup container, shared by both regions
  std::string blob_key_env;      // azure.key_env: the account key (Shared Key auth), or
  std::string blob_sas_env;      // azure.sas_env: a SAS token
};

// Where the relay reads from ([source] kind).
enum class SourceKind {
  kEmbedded,  // the SQLite queue in backends.dir (`hadr send` fills it)
  kAmqp,      // a durable queue on an AMQP 1.0 broker (the plan's MQ)
};

struct SourceConfig {
  SourceKind kind = SourceKind::kEmbedded;
  amqp::AmqpOptions amqp;        // kind = "amqp": the broker (source.url, source.user, ...)
  std::string amqp_password_env;  // source.password_env
  std::string queue = "ingress";  // source.queue
};

// Where the embedded backends keep their files, all under one shared directory so that the
// processes of a region (and later both regions) open the same stores.
struct EmbeddedLayout {
  std::string dir;
  std::string dedupe_path() const { return dir + "/dedupe.db"; }  // dedupe records + the ledger
  std::string coord_path() const { return dir + "/coord.db"; }
  std::string lease_path() const { return dir + "/lease.db"; }
  std::string source_path() const { return dir + "/source.db"; }
  std::string bus_path(std::string_view bus_namespace) const {
    return dir + "/bus-" + std::string(bus_namespace) + ".db";
  }
  std::string blobs_dir() const { return dir + "/blobs"; }
};

// How the runtime drives the roles (src/runtime); the only section that is not a role's.
struct RuntimeOptions {
  Milliseconds idle_wait{5};          // wait when every role of a thread was idle: 1 ms .. 1 s
  Milliseconds drain_timeout{10'000};  // SIGTERM: time allowed to finish in-flight work: 0 .. 10 min
  Milliseconds stats_interval{2'000};  // progress line + stats.json: 100 ms .. 1 h
};

// WAL backup to the blob store (docs/failover.md, "Backup and replay").
enum class BackupMode {
  kOff,    // no backup: a lost region's unprocessed messages are lost with its disk (one region only)
  kSync,   // every batch is in the blob store before the source is acknowledged: RPO 0
  kAsync,  // shipped behind the WAL by at most backup.lag_max records: that is the RPO
};
std::string_view backup_mode_name(BackupMode mode);

// Where alerts go besides the structured log line (runtime/alerting.h).
struct AlertOptions {
  std::string webhook_url;            // POST JSON; empty = none
  std::vector<std::string> command;   // run per alert with HADR_ALERT_* in the environment; empty = none
  // Names of hadr's environment variables the command also gets; its environment is otherwise
  // clean (core/child_environment.h: PATH, HOME, LANG and hadr's own entries).
  std::vector<std::string> environment;
};

// The external alias-failover command run on takeover (e.g. `az servicebus georecovery-alias fail-over`).
struct HookOptions {
  std::vector<std::string> command;  // empty = none
  Milliseconds timeout{30'000};      // 1 s .. 10 min
  std::vector<std::string> environment;  // as AlertOptions::environment (e.g. AZURE_CONFIG_DIR for `az`)
};

struct RegionConfig {
  std::string source_file;  // the file it was loaded from ("" when parsed from text)

  RegionId region;
  std::string data_dir;  // this region's private files: wal/, sent.log, stats.json
  std::string wal_dir() const { return data_dir + "/wal"; }
  std::string sent_log_path() const { return data_dir + "/sent.log"; }
  std::string stats_path() const { return data_dir + "/stats.json"; }

  BackendKind backend = BackendKind::kEmbedded;
  EmbeddedLayout embedded;  // also with kReal: the source queue when source.kind = "embedded"
  RealBackendsConfig real;  // read only with kReal
  std::string bus_namespace = "primary";

  SourceConfig source;
  Milliseconds source_visibility_timeout{30'000};
  RelayOptions relay;
  PromoterOptions promoter;
  std::uint32_t staging_max_delivery_count = 10'000;  // staging must tolerate many retries (roles.md)
  std::size_t worker_count = 2;                        // 1 .. kMaxWorkers
  WorkerOptions worker;  // owner is set per worker by the runtime: "<region>/worker-<n>"
  CheckpointerOptions checkpointer;
  WalOptions wal;
  // Accepted for old configs; no longer part of any safety rule. A done mark now only has to
  // outlive the time until the settled floor passes its record (record_ttl_minimum), however
  // long WAL records are kept or replayed (roles/settled_floor.h).
  Milliseconds wal_retention{std::chrono::hours(24)};
  Milliseconds replay_horizon{std::chrono::hours(24)};
  HandlerConfig handler;
  RuntimeOptions runtime;
  // [http] listen: where `hadr node` serves /metrics, /healthz, /readyz and /status
  // (runtime/node_http.h); none: no listener. `hadr node --listen` wins over it.
  std::optional<ListenAddress> http_listen;

  // Two-region mode (set when [region] peer is given): the lease, the watchdog, heartbeats,
  // the WAL backup and the replayer. Without a peer the region is alone and always active
  // (StaticFence at epoch 1).
  RegionId peer;
  bool two_regions() const { return !peer.empty(); }
  LeaseOptions lease;          // holder = region
  WatchdogOptions watchdog;    // region, peer and bus_namespace filled from the sections above
  HeartbeatOptions heartbeat;  // region filled; process set by the runtime
  BackupMode backup_mode = BackupMode::kSync;
  std::size_t backup_lag_max = 4096;          // async mode: records the backup may lag (the RPO)
  Milliseconds replay_quiet_period{5'000};    // an unsealed WAL whose backup stopped growing this long is finished
  AlertOptions alerts;
  HookOptions hook;

  static constexpr std::size_t kMaxWorkers = 64;

  // kInvalidArgument naming `section.key`, the value and the fix.
  Status validate() const;
  // What dedupe.record_ttl must exceed: claim_ttl + checkpointer.interval + the workers' floor
  // refresh, and with a peer also the lease TTL and the replayer's settle interval.
  Milliseconds record_ttl_minimum() const;
  Status validate_failover() const;
};

// "250ms", "1.5s", "30s", "2m", "2h", "7d": a non-negative number (a fraction is fine if the
// result is whole milliseconds) and a unit. Errors name `key` and list the units.
inline constexpr std::string_view kDurationUnits = "a number and a unit: ms, s, m, h or d, e.g. 1.5s, 250ms, 2m";
Result<Milliseconds> parse_duration(std::string_view key, std::string_view text);

// Parses TOML text; `base_dir` resolves relative paths. Validated.
Result<RegionConfig> parse_region_config(std::string_view toml_text, const std::string& base_dir);
// Reads and parses FILE (relative paths resolve against its directory). Validated.
Result<RegionConfig> load_region_config(const std::string& path);

// A short human summary (`hadr config check` prints it); contains no secrets.
std::string describe(const RegionConfig& config);

}  // namespace hadr
