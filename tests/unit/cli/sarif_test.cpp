#include "warden/cli/sarif.h"

#include <gtest/gtest.h>
#include <simdjson.h>

namespace warden::cli {
namespace {

TEST(Sarif, ResultsRulesAndLocations) {
  std::string doc = render_sarif({{"supply.diff.hidden_recipient", core::Severity::critical, "Bcc added", "index.js", 33},
                                  {"supply.scan.not_guarded", core::Severity::medium, "not guarded", "mcp.json", 0},
                                  {"supply.diff.hidden_recipient", core::Severity::critical, "again", "b.js", 2}});
  simdjson::dom::parser p;
  simdjson::dom::element root;
  ASSERT_FALSE(p.parse(doc).get(root)) << doc;
  EXPECT_EQ(std::string_view(root["version"]), "2.1.0");
  auto run = root["runs"].at(0);
  EXPECT_EQ(simdjson::dom::array(run["tool"]["driver"]["rules"]).size(), 2u);  // ids are unique
  auto results = simdjson::dom::array(run["results"]);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(std::string_view(results.at(0)["level"]), "error");
  EXPECT_EQ(int64_t(results.at(0)["locations"].at(0)["physicalLocation"]["region"]["startLine"]), 33);
  EXPECT_EQ(std::string_view(results.at(1)["level"]), "warning");
  EXPECT_TRUE(results.at(1)["locations"].at(0)["physicalLocation"]["region"].error());  // no line: no region
}

}  // namespace
}  // namespace warden::cli
