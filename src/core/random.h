// Random: a small deterministic generator (xoshiro256**, seeded through splitmix64).
// Every random choice in role logic, tests and the simulator comes from an instance of this,
// seeded explicitly, so that a run replays exactly from its seed. Never global, never
// seeded from the time. Not thread-safe: one instance per thread of control.
#pragma once

#include <cstdint>

namespace hadr {

class Random {
 public:
  explicit Random(std::uint64_t seed);

  std::uint64_t next_u64();
  // Uniform in [0, bound). bound must be > 0.
  std::uint64_t uniform(std::uint64_t bound);
  // Uniform in [low, high]. low <= high.
  std::uint64_t between(std::uint64_t low, std::uint64_t high);
  // True with probability `probability` (0..1).
  bool chance(double probability);
  // A new generator whose stream is independent of this one's later draws.
  Random fork();

 private:
  std::uint64_t state_[4];
};

}  // namespace hadr
