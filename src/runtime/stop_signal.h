// Stop requests from SIGTERM / SIGINT, for the long-running commands (`hadr node`, roles,
// `hadr send`). The handler only sets a lock-free flag (async-signal-safe); the runtime polls it
// between steps and drains. A process-wide flag is unavoidable: signals are process-wide.
// Thread-safety: stop_requested() from any thread.
#pragma once

namespace hadr {

// Installs the handlers for SIGTERM and SIGINT (idempotent).
void install_stop_signal_handlers();
bool stop_requested();
// Tests and drivers may ask for a stop without a signal.
void request_stop();

}  // namespace hadr
