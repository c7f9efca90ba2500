// `hadr demo`: the two-region failover drill, on the embedded backends, as real processes on
// this machine — the one command that shows a newcomer what hadr promises.
//
// In a temp dir (or --keep DIR) it writes a.toml and b.toml (regions a and b sharing the
// embedded stores in shared/: lease, dedupe + ledger, coord, source, blob backup; bus
// namespaces "primary" for a and "secondary" for b), starts `hadr node` for a, waits until a
// holds the lease, starts b as the standby, and sends the load with `hadr send` in parts (one
// before each event, one after the last, so that load keeps coming). Then:
//   failover    at --kill-at effects it SIGKILLs every process of region a; b's watchdog sees
//               the lease expire, acquires it, flips the alias, replays a's WAL from the blob
//               backup and opens intake;
//   switchover  at --kill-at effects it runs the planned switchover to b (drain, seal, hand
//               over): zero duplicate deliveries;
//   failback    a failover as above, then a restarts as the standby and, --kill-at effects into
//               the second part, a switchover brings the lease back to a.
// It finishes the load, waits until every sent message has its effect, stops the nodes with
// SIGTERM and verifies: 0 lost and 0 duplicate effects, failover_ms <= lease TTL + 1.5 s, and
// for a switchover 0 duplicate deliveries. failover_ms is kill -> first effect in the new
// region; for a switchover it is lease released by the drained old region -> first effect in
// the new one (effects never stop during the drain).
// --effects postgres: the handler is `sql` on a PostgreSQL the demo starts in DIR/postgres (a
// data directory that --keep DIR keeps, for psql): per message it inserts payments(message_id,
// amount = the id's number) and adds the amount to accounts.balance — not idempotent, so a
// duplicate shows as a wrong balance. The report adds effect_rows, distinct_effect_ids, balance
// and expected_balance (the sum of the sent ids' numbers); passing needs all four to agree.
// The drill's SIGKILL of region a kills its workers mid-transaction.
// A progress line goes to the callback every second.
//
// Ownership: owns its child processes (killed and reaped on every path). Thread-safety: one
// thread.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "runtime/local_services.h"
#include "runtime/send_verify.h"

namespace hadr {

struct DemoOptions {
  std::string scenario = "failover";  // failover | switchover | failback | broker-kill (backend real)
  // embedded: SQLite files in DIR/shared. real: Redis, three RabbitMQ nodes (the two bus
  // namespaces and the source MQ) and Azurite, started by the demo (runtime/local_services.h).
  std::string backend = "embedded";
  std::string effects = "ledger";     // ledger (hadr's own store) | postgres (the sql handler)
  std::uint64_t messages = 20'000;    // 100 .. 10,000,000
  std::uint64_t kill_at = 0;          // effects before the kill/switchover; 0 = 2/3 of the first part
  Milliseconds lease_ttl{2'000};      // 300 ms .. 1 min
  double rate = 1'000;                // messages per second the sender offers; 0 = as fast as it can
  std::string keep_dir;               // empty: a temp dir, removed after a passing run
  std::string hadr_binary;            // the `hadr` to start (default: this executable)
  std::chrono::seconds timeout{1'800};  // the whole drill

  Status validate() const;
  // The load goes in parts: one before each kill or switchover, one after the last.
  std::uint64_t parts() const { return scenario == "failback" ? 3 : 2; }
  std::uint64_t effective_kill_at() const { return kill_at != 0 ? kill_at : messages / parts() * 2 / 3; }
  // A dead region is noticed when its lease expires: TTL + 1.5 s. A dead broker is noticed by the
  // region's own watchdog, which steps down after watchdog.unhealthy_grace (kBrokerKillGrace).
  Milliseconds failover_bound() const {
    return lease_ttl + Milliseconds(1'500) + (scenario == "broker-kill" ? kBrokerKillGrace : Milliseconds(0));
  }
  static constexpr Milliseconds kBrokerKillGrace{3'000};
};

// Where the failover's time went, in ms after the kill (or the switchover request).
struct DemoTimeline {
  std::int64_t detection_ms = -1;    // the new region first saw the lease free
  std::int64_t acquired_ms = -1;     // it acquired the lease
  std::int64_t alias_ms = -1;        // the alias named its namespace
  std::int64_t intake_open_ms = -1;  // its takeover completed: replay begun, intake open
  std::int64_t first_effect_ms = -1;  // its first effect (= failover_ms)
};

// What --effects postgres found in the user's tables after the drill.
struct PostgresEffects {
  std::uint64_t effect_rows = 0;          // rows of payments
  std::uint64_t distinct_effect_ids = 0;  // distinct message ids in payments
  std::int64_t balance = 0;               // accounts.balance
  std::int64_t expected_balance = 0;      // the sum of the sent ids' numbers
  std::uint64_t sent = 0;
  bool consistent() const {
    return effect_rows == sent && distinct_effect_ids == sent && balance == expected_balance;
  }
};

struct DemoReport {
  std::string scenario;
  std::string backend;
  std::string effects = "ledger";
  std::optional<PostgresEffects> postgres;  // set with --effects postgres
  VerifyReport verify;  // duplicate_deliveries summed over both regions
  std::int64_t failover_ms = -1;
  DemoTimeline timeline;
  std::uint64_t replayed = 0;  // records the new region republished from the old one's backup
  std::vector<std::uint64_t> epochs;  // lease epochs seen, in order
  std::string dir;
  double elapsed_seconds = 0;
  Milliseconds failover_bound{0};
  bool failover_within_bound() const { return failover_ms >= 0 && Milliseconds(failover_ms) <= failover_bound; }
  bool passed() const;
  std::string to_json() const;
  std::string to_text() const;
};

Result<DemoReport> run_demo(const DemoOptions& options, const std::function<void(const std::string&)>& progress);

// Writes DIR/a.toml and DIR/b.toml, the two regions of the drill (also used by the e2e tests
// of the fault rows): stores in DIR/shared, data dirs DIR/a and DIR/b.
// With `services`, the regions use those servers (backends.kind = "real") instead of SQLite.
// `extra` is appended to both (the demo's [handler] section for --effects postgres).
Status write_demo_configs(const std::string& dir, Milliseconds lease_ttl, const LocalServices* services = nullptr,
                          const std::string& extra = "");

}  // namespace hadr
