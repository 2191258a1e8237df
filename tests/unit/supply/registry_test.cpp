#include "warden/supply/registry.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace warden::supply {
namespace {

namespace fs = std::filesystem;

struct RegistryTest : ::testing::Test {
  fs::path dir = fs::temp_directory_path() / ("warden-registry-" + std::to_string(::getpid()));
  void SetUp() override { fs::create_directories(dir); }
  void TearDown() override { fs::remove_all(dir); }
};

TEST_F(RegistryTest, SriMatchesNpmsForm) {
  std::ofstream(dir / "f") << "abc";
  auto sri = sri_sha512_of_file((dir / "f").string());
  ASSERT_TRUE(sri.ok());
  // SHA-512("abc") in base64.
  EXPECT_EQ(*sri, "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw==");
}

TEST_F(RegistryTest, ApproveFindListPrevious) {
  auto reg = Registry::open((dir / "r.sqlite").string());
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  ASSERT_TRUE((*reg)->approve({"postmark-mcp", "1.0.15", "sha512-A", "alice", "2026-01-01T00:00:00Z", "first"}).ok());
  ASSERT_TRUE((*reg)->approve({"postmark-mcp", "1.0.14", "sha512-Z", "alice", "2025-12-01T00:00:00Z", "first"}).ok());
  EXPECT_EQ((*reg)->find("postmark-mcp", "1.0.15")->integrity, "sha512-A");
  EXPECT_FALSE((*reg)->find("postmark-mcp", "1.0.16"));
  EXPECT_EQ((*reg)->previous("postmark-mcp", "1.0.16")->version, "1.0.15");
  EXPECT_EQ((*reg)->list().size(), 2u);
  // Re-approval replaces, and the database survives reopening.
  ASSERT_TRUE((*reg)->approve({"postmark-mcp", "1.0.15", "sha512-B", "bob", "2026-01-02T00:00:00Z", "again"}).ok());
  reg->reset();
  auto again = Registry::open((dir / "r.sqlite").string());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->find("postmark-mcp", "1.0.15")->approved_by, "bob");
}

TEST_F(RegistryTest, VerifyFlagsUnapprovedVersionsAndIntegrityMismatches) {
  auto reg = Registry::open((dir / "r.sqlite").string());
  ASSERT_TRUE(reg.ok());
  ASSERT_TRUE((*reg)->approve({"postmark-mcp", "1.0.15", "sha512-GOOD", "alice", "2026-01-01T00:00:00Z", ""}).ok());
  ASSERT_TRUE((*reg)->approve({"left-pad", "1.3.0", "sha512-LP", "alice", "2026-01-01T00:00:00Z", ""}).ok());
  fs::create_directories(dir / "app" / "node_modules" / "postmark-mcp");
  std::ofstream(dir / "app" / "package-lock.json") << R"({"lockfileVersion":3,"packages":{
    "":{"name":"app"},
    "node_modules/postmark-mcp":{"version":"1.0.16","integrity":"sha512-EVIL"},
    "node_modules/left-pad":{"version":"1.3.0","integrity":"sha512-TAMPERED"},
    "node_modules/zod":{"version":"3.0.0","integrity":"sha512-whatever"}}})";
  std::ofstream(dir / "app" / "node_modules" / "postmark-mcp" / "package.json") << R"({"name":"postmark-mcp","version":"1.0.16"})";
  std::vector<VerifyIssue> issues;
  size_t checked = 0;
  ASSERT_TRUE((*reg)->verify((dir / "app").string(), issues, checked).ok());
  EXPECT_EQ(checked, 3u);  // zod was never reviewed: not judged
  ASSERT_EQ(issues.size(), 3u);
  std::sort(issues.begin(), issues.end(), [](auto& a, auto& b) { return a.file + a.name < b.file + b.name; });
  EXPECT_EQ(issues[0].rule, "supply.registry.unapproved_version");  // installed package.json
  EXPECT_EQ(issues[1].rule, "supply.registry.integrity_mismatch");  // left-pad in the lock
  EXPECT_EQ(issues[1].severity, "critical");
  EXPECT_EQ(issues[2].rule, "supply.registry.unapproved_version");  // postmark-mcp in the lock
  EXPECT_NE(issues[2].message.find("registry approve postmark-mcp@1.0.16"), std::string::npos);
  EXPECT_FALSE((*reg)->verify((dir / "missing").string(), issues, checked).ok());
}

#ifdef WARDEN_BINARY
int run(const std::string& args) {
  int rc = std::system((std::string(WARDEN_BINARY) + " " + args + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST_F(RegistryTest, CliRefusesToApproveACriticalChangeWithoutForce) {
  std::string fx = std::string(WARDEN_SOURCE_DIR) + "/tests/fixtures/diff/";
  for (const char* v : {"1.0.15", "1.0.16"}) {
    fs::create_directories(dir / v / "package");
    fs::copy(fx + "postmark-" + v, dir / v / "package", fs::copy_options::recursive);
    ASSERT_EQ(std::system(("tar -czf " + (dir / (std::string(v) + ".tgz")).string() + " -C " + (dir / v).string() + " package").c_str()), 0);
  }
  std::string db = " --db " + (dir / "r.sqlite").string() + " ";
  EXPECT_EQ(run("registry" + db + "approve postmark-mcp@1.0.15 --tarball " + (dir / "1.0.15.tgz").string()), 0);
  EXPECT_EQ(run("registry" + db + "approve postmark-mcp@1.0.16 --tarball " + (dir / "1.0.16.tgz").string()), 1);
  EXPECT_EQ(run("registry" + db + "approve postmark-mcp@1.0.16 --integrity sha512-wrong --tarball " + (dir / "1.0.16.tgz").string() + " --force"), 1);
  EXPECT_EQ(run("registry" + db + "approve postmark-mcp@1.0.16 --force --tarball " + (dir / "1.0.16.tgz").string()), 0);
  EXPECT_EQ(run("registry" + db + "approve not-a-spec"), 2);
}
#endif

}  // namespace
}  // namespace warden::supply
