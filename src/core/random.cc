#include "core/random.h"

#include "core/assert.h"

namespace hadr {
namespace {

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t rotate_left(std::uint64_t value, int shift) { return (value << shift) | (value >> (64 - shift)); }

}  // namespace

Random::Random(std::uint64_t seed) {
  for (auto& word : state_) word = splitmix64(seed);
}

std::uint64_t Random::next_u64() {
  const std::uint64_t result = rotate_left(state_[1] * 5, 7) * 9;
  const std::uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotate_left(state_[3], 45);
  return result;
}

std::uint64_t Random::uniform(std::uint64_t bound) {
  HADR_ASSERT(bound > 0);
  // Lemire's multiply-shift with rejection: unbiased.
  while (true) {
    const unsigned __int128 product = static_cast<unsigned __int128>(next_u64()) * bound;
    const auto low = static_cast<std::uint64_t>(product);
    if (low >= bound || low >= (-bound) % bound) return static_cast<std::uint64_t>(product >> 64);
  }
}

std::uint64_t Random::between(std::uint64_t low, std::uint64_t high) {
  HADR_ASSERT(low <= high);
  if (high - low == UINT64_MAX) return next_u64();
  return low + uniform(high - low + 1);
}

bool Random::chance(double probability) {
  if (probability <= 0) return false;
  if (probability >= 1) return true;
  return static_cast<double>(next_u64() >> 11) * 0x1.0p-53 < probability;
}

Random Random::fork() { return Random(next_u64()); }

}  // namespace hadr
