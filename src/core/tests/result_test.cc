// Proves Result/Status carry values and errors, and that HADR_TRY / HADR_ASSIGN_OR_RETURN
// propagate errors unchanged; and that assertions stay on (death test) in every build.
#include "core/result.h"

#include <gtest/gtest.h>

namespace hadr {
namespace {

Result<int> parse_positive(int value) {
  if (value <= 0) return invalid_argument("value must be positive");
  return value;
}

Result<int> doubled(int value) {
  HADR_ASSIGN_OR_RETURN(const int checked, parse_positive(value));
  return checked * 2;
}

Status check_both(int a, int b) {
  HADR_TRY(parse_positive(a));
  HADR_TRY(parse_positive(b));
  return ok_status();
}

TEST(ResultTest, CarriesValue) {
  auto result = doubled(21);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, 42);
}

TEST(ResultTest, PropagatesErrorUnchanged) {
  auto result = doubled(-1);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(result.error().to_string(), "invalid_argument: value must be positive");
}

TEST(ResultTest, StatusPropagatesFirstError) {
  EXPECT_TRUE(check_both(1, 2).ok());
  Status status = check_both(1, 0);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
}

TEST(ResultTest, EveryCodeHasAName) {
  for (int code = 0; code <= static_cast<int>(ErrorCode::kInternal); ++code) {
    EXPECT_NE(error_code_name(static_cast<ErrorCode>(code)), "unknown");
  }
}

TEST(ResultDeathTest, ValueOfErrorAborts) {
  Result<int> result = data_loss("segment 3 offset 17");
  EXPECT_DEATH((void)result.value(), "value\\(\\) on an error Result: data_loss: segment 3 offset 17");
}

TEST(AssertDeathTest, AssertionsStayOnInRelease) {
  EXPECT_DEATH(HADR_ASSERT_MSG(1 + 1 == 3, "arithmetic is %s", "broken"), "arithmetic is broken");
}

}  // namespace
}  // namespace hadr
