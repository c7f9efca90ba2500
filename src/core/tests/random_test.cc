// Proves Random is deterministic per seed (the basis of replaying a simulation from its seed)
// and that its bounded draws stay in range.
#include "core/random.h"

#include <gtest/gtest.h>

namespace hadr {
namespace {

TEST(RandomTest, SameSeedSameStream) {
  Random first(42);
  Random second(42);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(first.next_u64(), second.next_u64());
}

TEST(RandomTest, DifferentSeedsDiffer) {
  Random first(1);
  Random second(2);
  int equal = 0;
  for (int i = 0; i < 100; ++i) equal += first.next_u64() == second.next_u64();
  EXPECT_EQ(equal, 0);
}

TEST(RandomTest, BoundedDrawsStayInRange) {
  Random random(7);
  for (int i = 0; i < 10000; ++i) {
    ASSERT_LT(random.uniform(10), 10u);
    const auto value = random.between(5, 9);
    ASSERT_GE(value, 5u);
    ASSERT_LE(value, 9u);
  }
  EXPECT_EQ(random.between(3, 3), 3u);
}

TEST(RandomTest, ChanceExtremes) {
  Random random(9);
  int hits = 0;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_FALSE(random.chance(0));
    ASSERT_TRUE(random.chance(1));
    hits += random.chance(0.25);
  }
  EXPECT_GT(hits, 150);
  EXPECT_LT(hits, 350);
}

}  // namespace
}  // namespace hadr
