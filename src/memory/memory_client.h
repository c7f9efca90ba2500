// MemoryClient: what every in-memory client (MemoryLeaseStore, MemoryBus, ...) shares — the
// "network" between a client and its server: a connection that can be cut, and fault sites.
//
// A client object implements a contract interface and forwards each call to a server object
// that holds the state (as a real client talks to Redis or Service Bus). Around the forward:
//   admit()    before the server is touched: a disconnected client, or a fired kUnavailable,
//              answers kUnavailable and the server never sees the call;
//   confirm()  after a write was applied: a fired kTimeoutAfterApply turns the ok answer into
//              kDeadlineExceeded (the confirm was lost, the effect stands).
//
// Ownership: the injector (optional) is borrowed and must outlive the client.
// Thread-safety: set_connected() may be called from any thread; the injector is asked from the
// calling thread, so a client with an injector belongs to one thread (see fault_injector.h).
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include "core/result.h"
#include "memory/fault_injector.h"

namespace hadr {

// A server's own name (bus namespace, source name) as it appears in tokens and handles:
// 1..64 bytes of [A-Za-z0-9._-].
bool is_server_name(std::string_view name);

class MemoryClient {
 public:
  // false: every later call answers kUnavailable without touching the server (a partition:
  // the simulator cuts a region off from a store with it). true heals it.
  void set_connected(bool connected) { connected_.store(connected); }
  bool connected() const { return connected_.load(); }

 protected:
  explicit MemoryClient(FaultInjector* faults) : faults_(faults) {}
  ~MemoryClient() = default;

  Status admit(std::string_view operation);
  // Asks the injector; false without one.
  bool fire(FaultSite site);

  template <typename T>
  Result<T> confirm(std::string_view operation, Result<T> applied) {
    if (applied.ok() && fire(FaultSite::kTimeoutAfterApply)) {
      return deadline_exceeded("memory " + std::string(operation) +
                               ": applied, but the confirm was lost (injected fault timeout_after_apply)");
    }
    return applied;
  }

 private:
  FaultInjector* faults_;
  std::atomic<bool> connected_{true};
};

}  // namespace hadr
