#include "warden/supply/version.h"

#include <gtest/gtest.h>

namespace warden::supply {
namespace {

bool lt(Ecosystem e, const char* a, const char* b) {
  auto x = Version::parse(e, a), y = Version::parse(e, b);
  EXPECT_TRUE(x && y) << a << " / " << b;
  return x && y && *x < *y && !(*y < *x);
}

TEST(Version, NpmSemverPrecedence) {
  // The SemVer 2.0.0 spec's own example chain.
  const char* chain[] = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
                         "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"};
  for (size_t i = 0; i + 1 < std::size(chain); ++i) EXPECT_TRUE(lt(Ecosystem::npm, chain[i], chain[i + 1])) << chain[i];
  EXPECT_TRUE(lt(Ecosystem::npm, "1.0.15", "1.0.16"));
  EXPECT_TRUE(lt(Ecosystem::npm, "1.9.0", "1.10.0"));
  EXPECT_EQ(*Version::parse(Ecosystem::npm, "v1.2.3+build.5"), *Version::parse(Ecosystem::npm, "1.2.3"));
  for (const char* bad : {"1.2", "1.2.3.4", "01.2.3", "1.2.x", "", "1.2.3-", "latest"})
    EXPECT_FALSE(Version::parse(Ecosystem::npm, bad)) << bad;
  EXPECT_TRUE(Version::zero(Ecosystem::npm) < *Version::parse(Ecosystem::npm, "0.0.0-alpha"));
}

TEST(Version, PypiPep440Order) {
  const char* chain[] = {"1.0.dev1", "1.0a1", "1.0a2.dev1", "1.0a2", "1.0b1", "1.0rc1", "1.0",
                         "1.0.post1.dev1", "1.0.post1", "1.1", "1!0.1"};
  for (size_t i = 0; i + 1 < std::size(chain); ++i) EXPECT_TRUE(lt(Ecosystem::pypi, chain[i], chain[i + 1])) << chain[i];
  EXPECT_EQ(*Version::parse(Ecosystem::pypi, "1.0"), *Version::parse(Ecosystem::pypi, "1.0.0"));
  EXPECT_EQ(*Version::parse(Ecosystem::pypi, "1.0-alpha-1"), *Version::parse(Ecosystem::pypi, "1.0a1"));
  EXPECT_EQ(*Version::parse(Ecosystem::pypi, "V2.0RC3"), *Version::parse(Ecosystem::pypi, "2.0rc3"));
  EXPECT_EQ(*Version::parse(Ecosystem::pypi, "1.0-1"), *Version::parse(Ecosystem::pypi, "1.0.post1"));
  for (const char* bad : {"", "abc", "1.0x", "1..0"}) EXPECT_FALSE(Version::parse(Ecosystem::pypi, bad)) << bad;
}

}  // namespace
}  // namespace warden::supply
