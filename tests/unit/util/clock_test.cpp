#include "warden/util/clock.h"

#include <gtest/gtest.h>

namespace warden::util {
namespace {

TEST(Clock, FormatsRfc3339Microseconds) {
  EXPECT_EQ(format_rfc3339_us(1'767'225'600'000'000), "2026-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_rfc3339_us(1'767'225'600'000'042), "2026-01-01T00:00:00.000042Z");
  EXPECT_EQ(format_rfc3339_us(1'767'225'661'123'456), "2026-01-01T00:01:01.123456Z");
  EXPECT_EQ(format_rfc3339_us(1'767'225'600'000'000), "2026-01-01T00:00:00.000000Z");  // cached
  EXPECT_EQ(format_rfc3339_us(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(Clock, ParsesRfc3339AndDates) {
  int64_t us = 0;
  ASSERT_TRUE(parse_rfc3339_us("2026-01-01T00:00:00.000042Z", us));
  EXPECT_EQ(us, 1'767'225'600'000'042);
  ASSERT_TRUE(parse_rfc3339_us("2026-01-01", us));
  EXPECT_EQ(us, 1'767'225'600'000'000);
  ASSERT_TRUE(parse_rfc3339_us("2026-01-01T02:00:00+02:00", us));
  EXPECT_EQ(us, 1'767'225'600'000'000);
  EXPECT_FALSE(parse_rfc3339_us("2026-13-01", us));
  EXPECT_FALSE(parse_rfc3339_us("yesterday", us));
  EXPECT_FALSE(parse_rfc3339_us("2026-01-01T00:00:00", us));
}

}  // namespace
}  // namespace warden::util
