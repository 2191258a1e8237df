#include "warden/supply/intel.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace warden::supply {
namespace {

Version npm(const char* v) { return *Version::parse(Ecosystem::npm, v); }

TEST(Intel, BundledFeedFlagsPostmarkFrom1016) {
  IntelDb db;
  ASSERT_TRUE(db.add_bundled().ok());
  EXPECT_TRUE(db.check(Ecosystem::npm, "postmark-mcp", npm("1.0.15")).empty());
  auto hits = db.check(Ecosystem::npm, "postmark-mcp", npm("1.0.16"));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0]->id, "MAL-2025-47604");
  EXPECT_TRUE(hits[0]->malicious);
  EXPECT_EQ(db.check(Ecosystem::npm, "postmark-mcp", npm("2.0.0")).size(), 1u);
  // The real package under its scope is not the impostor.
  EXPECT_TRUE(db.check(Ecosystem::npm, "@activecampaign/postmark-mcp", npm("1.0.16")).empty());
  // introduced "0": every version, prereleases included.
  EXPECT_EQ(db.check(Ecosystem::npm, "claud-code", npm("0.0.1-alpha")).size(), 1u);
}

TEST(Intel, RangeEventsFollowOsvSemantics) {
  IntelDb db;
  auto st = db.add_osv_json(R"([
    {"id":"GHSA-1","affected":[{"package":{"ecosystem":"npm","name":"a"},
      "ranges":[{"type":"SEMVER","events":[{"introduced":"1.0.0"},{"fixed":"1.2.0"},{"introduced":"2.0.0"},{"last_affected":"2.1.0"}]}]}]},
    {"id":"GHSA-2","affected":[{"package":{"ecosystem":"npm","name":"b"},"versions":["3.0.0"],
      "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"limit":"0.5.0"}]}]}]},
    {"id":"PYSEC-3","affected":[{"package":{"ecosystem":"PyPI","name":"Mcp_Server.Fetch"},
      "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1.0rc1"},{"fixed":"1.0.post1"}]}]}]},
    {"id":"GO-4","affected":[{"package":{"ecosystem":"Go","name":"x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}
  ])", "test.json");
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(db.size(), 3u);  // Go is not ours to judge
  auto a = [&](const char* v) { return db.check(Ecosystem::npm, "a", npm(v)).size(); };
  EXPECT_EQ(a("0.9.9"), 0u);
  EXPECT_EQ(a("1.0.0"), 1u);
  EXPECT_EQ(a("1.1.9"), 1u);
  EXPECT_EQ(a("1.2.0"), 0u);
  EXPECT_EQ(a("1.2.0-rc.1"), 1u);
  EXPECT_EQ(a("2.1.0"), 1u);
  EXPECT_EQ(a("2.1.1"), 0u);
  auto b = [&](const char* v) { return db.check(Ecosystem::npm, "b", npm(v)).size(); };
  EXPECT_EQ(b("0.4.9"), 1u);
  EXPECT_EQ(b("0.5.0"), 0u);
  EXPECT_EQ(b("3.0.0"), 1u);
  auto p = [&](const char* name, const char* v) {
    return db.check(Ecosystem::pypi, name, *Version::parse(Ecosystem::pypi, v)).size();
  };
  EXPECT_EQ(p("mcp-server-fetch", "1.0"), 1u);  // PEP 503 name normalisation
  EXPECT_EQ(p("MCP_SERVER_FETCH", "1.0rc1"), 1u);
  EXPECT_EQ(p("mcp-server-fetch", "1.0b9"), 0u);
  EXPECT_EQ(p("mcp-server-fetch", "1.0.post1"), 0u);
}

TEST(Intel, TheSameAdvisoryFromTwoFeedsCountsOnce) {
  IntelDb db;
  ASSERT_TRUE(db.add_bundled().ok());
  ASSERT_TRUE(db.add_osv_json(R"({"id":"MAL-2025-47604","affected":[{"package":{"ecosystem":"npm","name":"postmark-mcp"},"ranges":[{"type":"SEMVER","events":[{"introduced":"1.0.16"}]}]}]})", "imported.json").ok());
  EXPECT_EQ(db.check(Ecosystem::npm, "postmark-mcp", npm("1.0.16")).size(), 1u);
}

TEST(Intel, MalformedRecordsAreErrorsNamingTheSource) {
  IntelDb db;
  auto bad_version = db.add_osv_json(R"({"id":"X-1","affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"SEMVER","events":[{"introduced":"one"}]}]}]})", "feed/x.json");
  ASSERT_FALSE(bad_version.ok());
  EXPECT_EQ(bad_version.error().message, "feed/x.json: X-1: 'one' is not a valid npm version");
  EXPECT_FALSE(db.add_osv_json("{", "y.json").ok());
  EXPECT_FALSE(db.add_osv_json(R"({"affected":[]})", "z.json").ok());
}

TEST(Intel, SplitsPackageSpecs) {
  std::string n, v;
  ASSERT_TRUE(split_package_spec("postmark-mcp@1.0.16", n, v));
  EXPECT_EQ(n, "postmark-mcp");
  EXPECT_EQ(v, "1.0.16");
  ASSERT_TRUE(split_package_spec("@scope/pkg@2.0.0-beta.1", n, v));
  EXPECT_EQ(n, "@scope/pkg");
  EXPECT_EQ(v, "2.0.0-beta.1");
  ASSERT_TRUE(split_package_spec("mcp-server-fetch==1.0", n, v));
  EXPECT_EQ(n, "mcp-server-fetch");
  EXPECT_FALSE(split_package_spec("@scope/pkg", n, v));
  EXPECT_FALSE(split_package_spec("pkg@", n, v));
}

#ifdef WARDEN_BINARY
int run(const std::string& args) {
  int rc = std::system((std::string(WARDEN_BINARY) + " " + args + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(IntelCli, CheckAndUpdateExitCodes) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("warden-intel-" + std::to_string(::getpid()));
  fs::create_directories(dir / "feed");
  std::string intel = " --intel " + (dir / "state").string();
  EXPECT_EQ(run("intel check postmark-mcp@1.0.16" + intel), 1);
  EXPECT_EQ(run("intel check postmark-mcp@1.0.15" + intel), 1);  // no advisory, but the impostor name
  EXPECT_EQ(run("intel check @activecampaign/postmark-mcp@1.0.15" + intel), 0);
  EXPECT_EQ(run("intel check postmark-mcp" + intel), 2);
  EXPECT_EQ(run("intel check evil-mcp@1.2.3" + intel), 0);
  EXPECT_EQ(run("intel check claud-code@9.9.9 --format json" + intel), 1);             // bundled MAL + typosquat
  EXPECT_EQ(run("intel check @activecampaign/postmark-mcp@1.0.16" + intel), 0);        // the real one
  EXPECT_EQ(run("intel check postrnark-mcp@1.0.0" + intel), 1);                        // look-alike
  std::ofstream(dir / "feed" / "evil.json") << R"({"id":"MAL-9","summary":"evil","affected":[{"package":{"ecosystem":"npm","name":"evil-mcp"},"ranges":[{"type":"SEMVER","events":[{"introduced":"1.2.0"}]}]}]})";
  EXPECT_EQ(run("intel update --osv " + (dir / "feed").string() + " --dir " + (dir / "state").string()), 0);
  EXPECT_EQ(run("intel check evil-mcp@1.2.3" + intel), 1);
  std::ofstream(dir / "feed" / "broken.json") << "{";
  EXPECT_EQ(run("intel update --osv " + (dir / "feed").string() + " --dir " + (dir / "state").string()), 2);
  fs::remove_all(dir);
}
#endif

}  // namespace
}  // namespace warden::supply
