// Fault switches for real-process drills (RELIABILITY.md F13, F14): a file in the region's
// data dir turns a fault on while it exists, so a test or an operator running a game day can
// cut a live `hadr node` off from a store without a network proxy:
//   <data_dir>/faults/lease-partition   every lease store call fails with kUnavailable, as if
//                                       the link to the store were cut (renewals included).
// Checking costs one stat() per call. Documented in docs/operations.md ("Chaos switches").
//
// Ownership: FaultSwitchLeaseStore owns the store it wraps. Thread-safety: as the wrapped store.
#pragma once

#include <memory>
#include <string>

#include "contracts/lease_store.h"

namespace hadr {

std::string lease_partition_switch_path(const std::string& data_dir);

class FaultSwitchLeaseStore final : public LeaseStore {
 public:
  FaultSwitchLeaseStore(std::unique_ptr<LeaseStore> store, std::string switch_path)
      : store_(std::move(store)), switch_path_(std::move(switch_path)) {}

  Result<LeaseAcquireOutcome> acquire(std::string_view name, std::string_view holder, Milliseconds ttl) override;
  Status renew(std::string_view name, std::string_view holder, Epoch epoch, Milliseconds ttl) override;
  Status release(std::string_view name, std::string_view holder, Epoch epoch) override;
  Result<LeaseState> read(std::string_view name) override;

 private:
  Status check() const;

  std::unique_ptr<LeaseStore> store_;
  const std::string switch_path_;
};

}  // namespace hadr
