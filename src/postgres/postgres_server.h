// PostgresServer: starts and stops a private PostgreSQL server on a free loopback port — for
// the tests of the `sql` handler (whose fixture, testing/postgres_test_environment.h, uses it)
// and later `hadr demo --effects postgres`, so that plain `ctest` works with no server set up.
//
//   - finds initdb and postgres: $HADR_POSTGRES_BIN, then PATH, then the newest
//     /usr/lib/postgresql/<major>/bin (where Debian's `postgresql` package puts them, off PATH);
//   - runs initdb into <directory>/data (superuser `hadr`, UTF-8, locale C, --no-sync; with a
//     password: scram-sha-256 on TCP, the password passed in a 0600 file removed afterwards),
//     or copies a cached template of that (options.template_cache: the test fixture's choice);
//   - starts `postgres` itself with fork + exec (not pg_ctl, so that this object owns the
//     postmaster's pid): listen on 127.0.0.1 only, no Unix socket, log to <directory>/postgres.log;
//     the child gets PR_SET_PDEATHSIG = SIGKILL, so a test process that dies takes its server
//     with it (the backends exit when their postmaster is gone);
//   - waits until PQping answers, up to a deadline; retries another port if the one picked was
//     taken in between;
//   - stop() is a fast shutdown (SIGINT), then SIGKILL after a deadline; kill() is SIGKILL.
//
// Running as root: initdb and postgres refuse to run as root. When this process's effective
// uid is 0, the children switch to an unprivileged account before exec — `postgres` (created
// by Debian's postgresql package), else `nobody` (RunAs below) — and the directory is chowned
// to it. As any other user they run as that user. Either way nothing outside the directory is
// written, and only the pid this object started is ever signalled.
//
// Ownership: owns the child process and the directory (removed by the destructor unless
// keep_directory). Thread-safety: not thread-safe; one owner, created and destroyed on the same
// thread (PR_SET_PDEATHSIG follows the creating thread).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "core/secret.h"
#include "postgres/pg_connection.h"

namespace hadr::postgres {

struct PostgresServerOptions {
  Secret password;  // set: TCP logins need it (scram-sha-256); empty: trust on 127.0.0.1
  // false (tests): fsync, synchronous_commit and full_page_writes off — a crash of the machine
  // may lose commits, a crash of the server alone does not. true: PostgreSQL's durable defaults.
  bool durable = false;
  Milliseconds ready_timeout{60'000};
  // Empty: a fresh "$TMPDIR/hadr-postgres-XXXXXX", removed by the destructor. Set: this
  // directory (created if missing, kept afterwards; an existing data/ is reused).
  std::string directory;
  // Set: a cache of pristine initdb results ("<template_cache>/<key>/data"); a start copies one
  // (about a tenth of initdb's time) and makes it first if missing. For test fixtures, where
  // every test process starts its own server. A cache that fails falls back to initdb.
  std::string template_cache;
};

// The account a server started by root runs as, and why.
struct RunAs {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;  // empty: run as the current user (not root)
};

// Where initdb and postgres are: the directory holding both, or kFailedPrecondition telling how
// to install them.
Result<std::string> find_postgres_bin_directory();
// The account to run as (above): the current user unless root.
Result<RunAs> postgres_run_as();

class PostgresServer {
 public:
  static constexpr int kMaxPortAttempts = 8;
  static constexpr const char* kSuperuser = "hadr";

  static Result<std::unique_ptr<PostgresServer>> start(PostgresServerOptions options);
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  const std::string& directory() const { return directory_; }
  const RunAs& run_as() const { return run_as_; }
  Milliseconds initdb_time() const { return initdb_time_; }  // initdb, or the template copy
  Milliseconds start_time() const { return start_time_; }

  // "postgresql://hadr@127.0.0.1:<port>/<database>" (no password in it).
  std::string url(std::string_view database = "postgres") const;
  // Connection options for `database` as the superuser, with this server's password.
  PgConnectionOptions connection_options(std::string_view database = "postgres") const;

  Status stop();
  Status kill();
  Status restart();

 private:
  PostgresServer(PostgresServerOptions options, std::string bin_directory, std::string directory, RunAs run_as);

  Status prepare_directory();
  Status initialize_data();
  Status run_initdb(const std::string& data, const std::string& work) const;
  Status copy_from_template(const std::string& data) const;
  Status spawn();
  Status wait_until_ready();
  Status wait_for_exit(Milliseconds timeout);
  std::string log_tail() const;

  PostgresServerOptions options_;
  std::string bin_directory_;
  std::string directory_;
  RunAs run_as_;
  bool owns_directory_ = true;
  int port_ = 0;
  pid_t pid_ = -1;
  Milliseconds initdb_time_{0};
  Milliseconds start_time_{0};
};

}  // namespace hadr::postgres
