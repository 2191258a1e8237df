// scan over lockfiles, manifests and Python environments (the packages of issue 5).
#include <gtest/gtest.h>

#include "test_util.h"
#include "warden/supply/scan.h"

namespace warden::supply {
namespace {

const std::string k_dir = std::string(WARDEN_SOURCE_DIR) + "/tests/fixtures/scan/packages/";

struct ScanPackages : ::testing::Test {
  void SetUp() override {
    ASSERT_TRUE(intel.add_bundled().ok());
    ASSERT_TRUE(intel.add_directory(k_dir + "intel").ok());  // a PyPI test record for mcp-server-fetch 2025.4.7
    ASSERT_TRUE(popular.add_bundled().ok());
  }
  std::vector<std::string> findings(const std::string& rel) {
    Scanner s(intel, popular);
    ScanReport r;
    s.scan_path(k_dir + rel, r);
    sort_findings(r);
    packages = r.packages;
    warnings = r.warnings;
    std::vector<std::string> out;
    for (const auto& f : r.findings)
      out.push_back(f.rule + " " + f.file.substr(k_dir.size()) + ":" + std::to_string(f.line));
    return out;
  }
  IntelDb intel;
  PopularPackages popular;
  size_t packages = 0;
  std::vector<std::string> warnings;
};

TEST_F(ScanPackages, YarnAndPnpmLockfilesPointAtTheEntry) {
  EXPECT_EQ(findings("yarn-v1"), (std::vector<std::string>{"supply.scan.malicious_version yarn-v1/yarn.lock:11",
                                                           "supply.scope_confusion yarn-v1/yarn.lock:11"}));
  EXPECT_EQ(packages, 3u);
  EXPECT_EQ(findings("yarn-berry"),
            (std::vector<std::string>{"supply.scan.malicious_version yarn-berry/yarn.lock:16",
                                      "supply.scope_confusion yarn-berry/yarn.lock:16",
                                      "supply.confusable_name yarn-berry/yarn.lock:23"}));
  EXPECT_EQ(findings("pnpm-v9"), (std::vector<std::string>{"supply.scan.malicious_version pnpm-v9/pnpm-lock.yaml:18",
                                                           "supply.scope_confusion pnpm-v9/pnpm-lock.yaml:18"}));
  EXPECT_TRUE(warnings.empty());
}

TEST_F(ScanPackages, PythonRequirementsPyprojectUvLockAndSitePackages) {
  auto got = findings("python");
  EXPECT_EQ(got, (std::vector<std::string>{
                     "supply.scan.malicious_version python/requirements.txt:3",
                     "supply.scan.malicious_version python/uv.lock:20",
                     "supply.typosquat python/pyproject.toml:10",
                     "supply.typosquat python/requirements.txt:8",
                     "supply.typosquat python/venv/lib/python3.12/site-packages/mcp_server_fecth-0.6.2.dist-info/METADATA:2"}));
  EXPECT_EQ(packages, 4u + 5u + 2u + 2u);  // requirements, pyproject, uv.lock, two dist-info
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("requirements.txt: line 9: not a requirement"), std::string::npos);
}

TEST_F(ScanPackages, BrokenFilesWarnWithTheirPlaceAndTheScanGoesOn) {
  findings("broken");
  ASSERT_EQ(warnings.size(), 3u);
  std::sort(warnings.begin(), warnings.end());
  EXPECT_NE(warnings[0].find("package-lock.json: not valid JSON"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find("pnpm-lock.yaml: line 4: expected a package key"), std::string::npos) << warnings[1];
  EXPECT_NE(warnings[2].find("pyproject.toml: not valid TOML: line 1, column 9"), std::string::npos) << warnings[2];
}

#ifdef WARDEN_BINARY
TEST_F(ScanPackages, CliExitCodesAndJson) {
  std::string out;
  EXPECT_EQ(testing::run_warden("scan " + k_dir + "python --intel " + k_dir + "intel --format json", &out), 1);
  EXPECT_NE(out.find("\"rule\":\"supply.scan.malicious_version\""), std::string::npos) << out;
  EXPECT_NE(out.find("requirements.txt\",\"line\":3"), std::string::npos) << out;
  // Without the test record only the medium/high name findings remain; --fail-on critical passes.
  EXPECT_EQ(testing::run_warden("scan " + k_dir + "python --fail-on critical"), 0);
  EXPECT_EQ(testing::run_warden("scan " + k_dir + "pnpm-v6 --format sarif", &out), 1);
  EXPECT_NE(out.find("\"startLine\":10"), std::string::npos) << out;
  EXPECT_EQ(testing::run_warden("scan " + k_dir + "broken"), 0);  // warnings only
}
#endif

}  // namespace
}  // namespace warden::supply
