#include "memory/memory_client.h"

namespace hadr {

bool is_server_name(std::string_view name) {
  constexpr std::size_t kMaxServerNameBytes = 64;
  if (name.empty() || name.size() > kMaxServerNameBytes) return false;
  for (char c : name) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                         c == '_' || c == '-';
    if (!allowed) return false;
  }
  return true;
}

Status MemoryClient::admit(std::string_view operation) {
  // Connection first, with no draw from the injector: a partition is the simulator's decision,
  // and a cut-off client must not shift the random stream of the faults.
  if (!connected()) {
    return unavailable("memory " + std::string(operation) +
                       ": client is disconnected from its store (simulated partition); retry after it heals");
  }
  if (fire(FaultSite::kUnavailable)) {
    return unavailable("memory " + std::string(operation) + ": store unreachable (injected fault unavailable)");
  }
  return ok_status();
}

bool MemoryClient::fire(FaultSite site) { return faults_ != nullptr && faults_->fire(site); }

}  // namespace hadr
