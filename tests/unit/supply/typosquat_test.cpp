#include "warden/supply/typosquat.h"

#include <gtest/gtest.h>

namespace warden::supply {
namespace {

std::vector<std::string> rules_for(const PopularPackages& p, const char* name) {
  std::vector<std::string> out;
  for (const auto& f : p.check(Ecosystem::npm, name)) out.push_back(f.rule + " " + f.imitated);
  return out;
}

TEST(Typosquat, EditDistance) {
  EXPECT_EQ(edit_distance("claude-code", "claud-code"), 1u);
  EXPECT_EQ(edit_distance("postmark", "psotmark"), 1u);  // transposition
  EXPECT_EQ(edit_distance("abc", "abc"), 0u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(name_skeleton("Server_FiIesystem"), name_skeleton("server-filesystem"));
}

TEST(Typosquat, TheIncidentNamesAreCaught) {
  PopularPackages p;
  ASSERT_TRUE(p.add_bundled().ok());
  EXPECT_GT(p.size(), 30u);
  auto pm = p.check(Ecosystem::npm, "postmark-mcp");
  ASSERT_EQ(pm.size(), 1u);
  EXPECT_EQ(pm[0].rule, "supply.scope_confusion");
  EXPECT_EQ(pm[0].imitated, "@activecampaign/postmark-mcp");
  EXPECT_EQ(pm[0].severity, core::Severity::high);
  EXPECT_EQ(pm[0].reason, "'postmark-mcp' has the name of '@activecampaign/postmark-mcp' but not its scope @activecampaign");
  auto cc = rules_for(p, "claud-code");
  ASSERT_EQ(cc.size(), 1u);
  EXPECT_EQ(cc[0], "supply.typosquat @anthropic-ai/claude-code");
  EXPECT_EQ(rules_for(p, "@modeIcontextprotocol/server-fi1esystem"),
            std::vector<std::string>{"supply.confusable_name @modelcontextprotocol/server-filesystem"});
  EXPECT_EQ(rules_for(p, "@evil/server-filesystem"),
            std::vector<std::string>{"supply.scope_confusion @modelcontextprotocol/server-filesystem"});
}

TEST(Typosquat, RealPackagesAndUnrelatedNamesAreQuiet) {
  PopularPackages p;
  ASSERT_TRUE(p.add_bundled().ok());
  for (const char* ok : {"@activecampaign/postmark-mcp", "@modelcontextprotocol/sdk", "@playwright/mcp",
                         "express", "lodash", "my-company-mcp-server", "react", "zod"})
    EXPECT_TRUE(p.check(Ecosystem::npm, ok).empty()) << ok;
  EXPECT_TRUE(p.check(Ecosystem::pypi, "mcp-server-fetch").empty());
  EXPECT_EQ(p.check(Ecosystem::pypi, "mcp-server-fetc").size(), 1u);
}

TEST(Typosquat, ListErrorsNameTheLine) {
  PopularPackages p;
  auto st = p.add_list("npm:a\nbogus line\n", "mine.txt");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "mine.txt:2: expected 'npm:NAME' or 'pypi:NAME', found 'bogus line'");
}

}  // namespace
}  // namespace warden::supply
