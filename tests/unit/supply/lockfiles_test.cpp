#include "warden/supply/lockfiles.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "test_util.h"
#include "warden/supply/toml.h"

namespace warden::supply {
namespace {

const std::string k_dir = std::string(WARDEN_SOURCE_DIR) + "/tests/fixtures/scan/packages/";

std::vector<std::string> summary(const PackageParse& p) {
  std::vector<std::string> out;
  for (const auto& x : p.packages)
    out.push_back(fmt::format("{}:{}@{}:{}", x.eco == Ecosystem::pypi ? "pypi" : "npm", x.name, x.version, x.line));
  return out;
}

PackageParse parse_fixture(const std::string& rel) {
  return parse_package_file(package_file_kind(rel), testing::slurp_file(k_dir + rel));
}

TEST(Lockfiles, KindsByNameAndPlace) {
  EXPECT_EQ(package_file_kind("app/package-lock.json"), PackageFile::package_lock);
  EXPECT_EQ(package_file_kind("app/node_modules/x/package-lock.json"), PackageFile::none);
  EXPECT_EQ(package_file_kind("app/node_modules/x/package.json"), PackageFile::node_package);
  EXPECT_EQ(package_file_kind("node_modules/@scope/x/package.json"), PackageFile::node_package);
  EXPECT_EQ(package_file_kind("app/package.json"), PackageFile::none);
  EXPECT_EQ(package_file_kind("yarn.lock"), PackageFile::yarn_lock);
  EXPECT_EQ(package_file_kind("a/pnpm-lock.yaml"), PackageFile::pnpm_lock);
  EXPECT_EQ(package_file_kind("a/requirements-dev.txt"), PackageFile::requirements);
  EXPECT_EQ(package_file_kind("a/test_requirements.txt"), PackageFile::requirements);
  EXPECT_EQ(package_file_kind("a/notes.txt"), PackageFile::none);
  EXPECT_EQ(package_file_kind("a/pyproject.toml"), PackageFile::pyproject);
  EXPECT_EQ(package_file_kind("a/uv.lock"), PackageFile::uv_lock);
  EXPECT_EQ(package_file_kind("lib/site-packages/mcp-1.0.dist-info/METADATA"), PackageFile::dist_info);
  EXPECT_EQ(package_file_kind("lib/site-packages/x.egg-info/PKG-INFO"), PackageFile::dist_info);
  EXPECT_EQ(package_file_kind("lib/METADATA"), PackageFile::none);
}

TEST(Lockfiles, YarnV1AndBerry) {
  EXPECT_EQ(summary(parse_fixture("yarn-v1/yarn.lock")),
            (std::vector<std::string>{"npm:@modelcontextprotocol/sdk@1.17.5:5", "npm:postmark-mcp@1.0.16:11",
                                      "npm:zod@3.25.0:15"}));
  auto berry = parse_fixture("yarn-berry/yarn.lock");  // the workspace itself is not a package
  EXPECT_EQ(summary(berry), (std::vector<std::string>{"npm:postmark-mcp@1.0.16:16", "npm:server-fi1esystem@1.0.0:23"}));
  auto bad = parse_package_file(PackageFile::yarn_lock, "a@1:\n  version \"1\"\nnot a header\n");
  EXPECT_TRUE(bad.packages.empty());
  ASSERT_EQ(bad.problems.size(), 1u);
  EXPECT_EQ(bad.problems[0], "line 3: expected an entry header ending with ':'");
}

TEST(Lockfiles, PnpmV9V6AndV5) {
  EXPECT_EQ(summary(parse_fixture("pnpm-v9/pnpm-lock.yaml")),
            (std::vector<std::string>{"npm:@modelcontextprotocol/sdk@1.17.5:15", "npm:postmark-mcp@1.0.16:18",
                                      "npm:zod@3.25.0:21"}));
  EXPECT_EQ(summary(parse_fixture("pnpm-v6/pnpm-lock.yaml")),
            (std::vector<std::string>{"npm:postmark-mcp@1.0.16:10", "npm:@modelcontextprotocol/sdk@1.17.5:14"}));
  auto v5 = parse_package_file(PackageFile::pnpm_lock,
                               "lockfileVersion: 5.4\npackages:\n  /postmark-mcp/1.0.16_zod@3.25.0:\n    dev: false\n"
                               "  /@scope/x_y/2.0.0:\n    dev: false\n  /local/file:../x:\n");
  EXPECT_EQ(summary(v5), (std::vector<std::string>{"npm:postmark-mcp@1.0.16:3", "npm:@scope/x_y@2.0.0:5",
                                                   "npm:local@:7"}));
  auto broken = parse_fixture("broken/pnpm-lock.yaml");
  ASSERT_EQ(broken.problems.size(), 1u);
  EXPECT_EQ(broken.problems[0], "line 4: expected a package key ending with ':'");
}

TEST(Lockfiles, PackageLockHasLinesForV3AndV1) {
  auto v3 = parse_package_file(PackageFile::package_lock, testing::slurp_file(std::string(WARDEN_SOURCE_DIR) +
                                                                              "/tests/fixtures/scan/project/package-lock.json"));
  EXPECT_EQ(summary(v3), (std::vector<std::string>{"npm:postmark-mcp@1.0.16:6", "npm:claud-code@1.0.0:7",
                                                   "npm:zod@3.25.0:8"}));
  auto v1 = parse_package_file(PackageFile::package_lock,
                               "{\"lockfileVersion\": 1, \"dependencies\": {\n"
                               "  \"a\": {\"version\": \"1.0.0\", \"requires\": {\"b\": \"^2\"},\n"
                               "    \"dependencies\": {\n"
                               "      \"b\": {\"version\": \"2.0.0\"}}},\n"
                               "  \"b\": {\"version\": \"3.0.0\"}}}\n");
  EXPECT_EQ(summary(v1), (std::vector<std::string>{"npm:a@1.0.0:2", "npm:b@2.0.0:4", "npm:b@3.0.0:5"}));
  auto broken = parse_fixture("broken/package-lock.json");
  ASSERT_EQ(broken.problems.size(), 1u);
  EXPECT_NE(broken.problems[0].find("not valid JSON"), std::string::npos);
}

TEST(Lockfiles, RequirementsPinsAndProblems) {
  auto r = parse_fixture("python/requirements.txt");
  EXPECT_EQ(summary(r), (std::vector<std::string>{"pypi:mcp@1.12.0:2", "pypi:mcp-server-fetch@2025.4.7:3",
                                                  "pypi:fastmcp@:4", "pypi:mcp-server-tiem@0.1.0:8"}));
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0], "line 9: not a requirement: this is not a requirement");
  std::string name, version;
  ASSERT_TRUE(parse_requirement("Foo.Bar[x,y] (===1.0) ; sys_platform == 'linux'", name, version));
  EXPECT_EQ(name + "|" + version, "Foo.Bar|1.0");
  ASSERT_TRUE(parse_requirement("foo==1.*", name, version));
  EXPECT_EQ(version, "");
  ASSERT_TRUE(parse_requirement("foo @ https://x/foo.whl", name, version));
  EXPECT_EQ(name + "|" + version, "foo|");
  EXPECT_FALSE(parse_requirement("-foo", name, version));
}

TEST(Lockfiles, PyprojectUvLockAndDistInfo) {
  EXPECT_EQ(summary(parse_fixture("python/pyproject.toml")),
            (std::vector<std::string>{"pypi:mcp@1.12.0:5", "pypi:mcp-server-fetch@:6", "pypi:mcp-server-gti@0.6.2:10",
                                      "pypi:fastmcp@2.3.0:14", "pypi:mcp-server-sqlite@:15"}));
  EXPECT_EQ(summary(parse_fixture("python/uv.lock")),
            (std::vector<std::string>{"pypi:mcp@1.12.0:12", "pypi:mcp-server-fetch@2025.4.7:20"}));
  EXPECT_EQ(summary(parse_fixture("python/venv/lib/python3.12/site-packages/mcp_server_fecth-0.6.2.dist-info/METADATA")),
            (std::vector<std::string>{"pypi:mcp-server-fecth@0.6.2:2"}));
  auto broken = parse_fixture("broken/pyproject.toml");
  ASSERT_EQ(broken.problems.size(), 1u);
  EXPECT_EQ(broken.problems[0], "not valid TOML: line 1, column 9: expected ']' to close the table header");
}

TEST(Toml, TablesArraysInlineTablesAndStrings) {
  auto doc = parse_toml(
      "# c\n"
      "title = \"a \\\"q\\\" \\u00e9\"\n"
      "[a.\"b c\"]\n"
      "x = 'lit\\n'\n"
      "list = [\n  \"one\", # first\n  'two',\n]\n"
      "[[pkg]]\nname = \"p1\"\n[[pkg]]\nname = \"p2\"\n"
      "[pkg.sub]\nk = 1\n"
      "t = { u = \"v\", w.x = [1, 2] }\n"
      "m = \"\"\"\nline1\nline2\"\"\"\n");
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  const auto& r = **doc;
  EXPECT_EQ(r.get("title")->string, "a \"q\" \xc3\xa9");
  const auto* bc = r.get("a")->get("b c");
  ASSERT_NE(bc, nullptr);
  EXPECT_EQ(bc->get("x")->string, "lit\\n");
  ASSERT_EQ(bc->get("list")->strings().size(), 2u);
  EXPECT_EQ(bc->get("list")->strings()[1]->string, "two");
  EXPECT_EQ(bc->get("list")->strings()[1]->line, 7);
  const auto* pkg = r.get("pkg");
  ASSERT_EQ(pkg->items.size(), 2u);
  EXPECT_EQ(pkg->items[1]->get("name")->string, "p2");
  EXPECT_EQ(pkg->items[1]->line, 11);
  EXPECT_EQ(pkg->items[1]->get("sub")->get("k")->string, "1");
  EXPECT_EQ(pkg->items[1]->get("sub")->get("t")->get("w")->get("x")->items.size(), 2u);
  EXPECT_EQ(pkg->items[1]->get("sub")->get("m")->string, "line1\nline2");
}

TEST(Toml, ErrorsSayWhere) {
  auto check = [](const char* text, const char* want) {
    auto doc = parse_toml(text);
    ASSERT_FALSE(doc.ok()) << text;
    EXPECT_EQ(doc.error().message, want);
  };
  check("a = \"x\nb = 1\n", "line 1, column 7: newline in a single-line string");
  check("a = 1\nb = [1, 2\n", "line 3, column 1: unterminated array (expected ']')");
  check("a = 1 2\n", "line 1, column 7: unexpected text after the value (one key = value per line)");
  check("= 1\n", "line 1, column 1: expected a key (bare keys are A-Z a-z 0-9 - _; quote others)");
  check("t = {a = 1\n", "line 1, column 11: expected ',' or '}' in the inline table");
}

}  // namespace
}  // namespace warden::supply
