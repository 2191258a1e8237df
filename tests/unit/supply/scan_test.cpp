#include "warden/supply/scan.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace warden::supply {
namespace {

const std::string k_dir = std::string(WARDEN_SOURCE_DIR) + "/tests/fixtures/scan/";

struct ScanTest : ::testing::Test {
  void SetUp() override {
    ASSERT_TRUE(intel.add_bundled().ok());
    ASSERT_TRUE(popular.add_bundled().ok());
  }
  IntelDb intel;
  PopularPackages popular;
};

TEST_F(ScanTest, ClientConfigInventoryAndFindings) {
  Scanner s(intel, popular);
  ScanReport r;
  s.scan_home(k_dir + "home", r);
  ASSERT_EQ(r.servers.size(), 3u);  // the remote url entry is not a process to inventory
  EXPECT_EQ(r.servers[0].name, "postmark");
  EXPECT_EQ(r.servers[0].package, "postmark-mcp");
  EXPECT_EQ(r.servers[0].version, "");
  EXPECT_EQ(r.servers[0].line, 4);
  EXPECT_TRUE(r.servers[2].guarded);
  EXPECT_EQ(r.servers[2].package, "@modelcontextprotocol/server-filesystem");  // seen through the warden
  sort_findings(r);
  std::vector<std::string> got;
  for (const auto& f : r.findings) got.push_back(f.rule + ":" + std::to_string(f.line));
  EXPECT_EQ(got, (std::vector<std::string>{
                     "supply.scan.malicious_version:9", "supply.scan.unpinned_package:4",
                     "supply.scope_confusion:4", "supply.scan.plaintext_secret:7",
                     "supply.scope_confusion:9", "supply.scan.not_guarded:4", "supply.scan.not_guarded:9"}));
}

TEST_F(ScanTest, LockfilesAndBrokenFilesAreReportedAndTheScanGoesOn) {
  Scanner s(intel, popular);
  ScanReport r;
  s.scan_path(k_dir + "project", r);
  EXPECT_EQ(r.packages, 3u);
  ASSERT_EQ(r.warnings.size(), 1u);  // the truncated .mcp.json
  EXPECT_NE(r.warnings[0].find(".mcp.json"), std::string::npos);
  sort_findings(r);
  std::vector<std::string> got;
  for (const auto& f : r.findings) got.push_back(f.rule);
  EXPECT_EQ(got, (std::vector<std::string>{"supply.scan.malicious_version", "supply.scan.malicious_version",
                                           "supply.scope_confusion", "supply.typosquat"}));
  ScanReport missing;
  s.scan_path(k_dir + "nope", missing);
  EXPECT_EQ(missing.warnings.size(), 1u);
}

}  // namespace
}  // namespace warden::supply
