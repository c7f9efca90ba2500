// RegionFence: whether this region may write now, and under which epoch.
//
// Every write path (WAL append and source ack, publish, promote, replay, checkpoint, alias,
// and the taking of new dedupe claims) asks the fence first and stamps the epoch it got. A
// region that holds no lease, or is past its renew deadline, gets std::nullopt and must not
// write (self-fencing, DESIGN.md "Failover" step 1). The lease manager role implements it for
// two regions; StaticFence serves one region that is always active (tests, single region).
//
// Two questions, because a region can be writable but closed to new work (GatedFence):
//   writable_epoch()  may the caller take NEW work (the relay's source receive and append)?
//   drain_epoch()     may the caller finish work it already took (publish records already in
//                     the WAL, ship and ack a batch already appended)? Only the lease decides:
//                     a switchover closes intake and must still drain (issue 12, hole 8).
// Without a gate both answers are the same.
// Thread-safety: implementations are safe to read from any thread.
#pragma once

#include <atomic>
#include <optional>

#include "core/ids.h"

namespace hadr {

class RegionFence {
 public:
  virtual ~RegionFence() = default;
  virtual std::optional<Epoch> writable_epoch() const = 0;
  virtual std::optional<Epoch> drain_epoch() const { return writable_epoch(); }
};

class StaticFence final : public RegionFence {
 public:
  explicit StaticFence(Epoch epoch) : epoch_(epoch.value) {}
  std::optional<Epoch> writable_epoch() const override {
    const auto value = epoch_.load();
    if (value == 0) return std::nullopt;
    return Epoch{value};
  }
  // Epoch{0} fences the region off.
  void set(Epoch epoch) { epoch_ = epoch.value; }

 private:
  std::atomic<std::uint64_t> epoch_;
};

// GatedFence: another fence behind a gate. The watchdog closes the relay's gate (intake) while
// the region is not fully active — before a takeover completes, during a switchover's drain —
// while the promoter and the workers keep the plain lease fence and go on draining. The gate
// closes writable_epoch() only: drain_epoch() is the inner (lease) fence's, so the relay keeps
// publishing what it already appended while intake is closed.
class GatedFence final : public RegionFence {
 public:
  explicit GatedFence(const RegionFence& inner, bool open) : inner_(inner), open_(open) {}
  std::optional<Epoch> writable_epoch() const override {
    if (!open_.load()) return std::nullopt;
    return inner_.writable_epoch();
  }
  std::optional<Epoch> drain_epoch() const override { return inner_.drain_epoch(); }
  void set_open(bool open) { open_ = open; }
  bool open() const { return open_.load(); }

 private:
  const RegionFence& inner_;
  std::atomic<bool> open_;
};

}  // namespace hadr
