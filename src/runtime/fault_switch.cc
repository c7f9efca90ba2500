#include "runtime/fault_switch.h"

#include <sys/stat.h>

namespace hadr {

std::string lease_partition_switch_path(const std::string& data_dir) { return data_dir + "/faults/lease-partition"; }

Status FaultSwitchLeaseStore::check() const {
  struct stat info;
  if (::stat(switch_path_.c_str(), &info) == 0) {
    return unavailable("lease store unreachable (fault switch " + switch_path_ + " is on; remove the file to heal)");
  }
  return ok_status();
}

Result<LeaseAcquireOutcome> FaultSwitchLeaseStore::acquire(std::string_view name, std::string_view holder,
                                                           Milliseconds ttl) {
  HADR_TRY(check());
  return store_->acquire(name, holder, ttl);
}

Status FaultSwitchLeaseStore::renew(std::string_view name, std::string_view holder, Epoch epoch, Milliseconds ttl) {
  HADR_TRY(check());
  return store_->renew(name, holder, epoch, ttl);
}

Status FaultSwitchLeaseStore::release(std::string_view name, std::string_view holder, Epoch epoch) {
  HADR_TRY(check());
  return store_->release(name, holder, epoch);
}

Result<LeaseState> FaultSwitchLeaseStore::read(std::string_view name) {
  HADR_TRY(check());
  return store_->read(name);
}

}  // namespace hadr
