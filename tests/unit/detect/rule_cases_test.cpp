// Runs rule_cases.yaml: per rule, positives must fire and hard negatives must stay quiet.
#include <gtest/gtest.h>

#include <set>

#include <yaml-cpp/yaml.h>

#include "detect_test_support.h"

namespace warden::detect {
namespace {

Field field_of(const std::string& name) {
  for (size_t i = 0; i < k_field_count; ++i)
    if (name == field_name(static_cast<Field>(i))) return static_cast<Field>(i);
  ADD_FAILURE() << "unknown field " << name;
  return Field::description;
}

std::string describe(const std::vector<Finding>& fs) {
  std::string out;
  for (const auto& f : fs) out += " " + f.rule + "(" + core::severity_name(f.severity) + ")";
  return out.empty() ? " none" : out;
}

TEST(DetectRules, CasesFireOnPositivesAndStayQuietOnHardNegatives) {
  YAML::Node cases = YAML::LoadFile(std::string(WARDEN_SOURCE_DIR) + "/tests/unit/detect/rule_cases.yaml");
  std::set<std::string> covered;
  for (const auto& c : cases) {
    auto rule = c["rule"].as<std::string>();
    Field field = field_of(c["field"].as<std::string>());
    covered.insert(rule);
    ASSERT_TRUE(c["positive"].IsSequence() && c["positive"].size() > 0) << rule << " has no positive example";
    ASSERT_TRUE(c["negative"].IsSequence() && c["negative"].size() > 0) << rule << " has no hard negative";
    for (const auto& p : c["positive"]) {
      std::vector<Finding> out;
      default_scanner().scan_text(p.as<std::string>(), field, "t", out);
      bool hit = std::any_of(out.begin(), out.end(), [&](const Finding& f) { return f.rule == rule; });
      EXPECT_TRUE(hit) << rule << " missed: \"" << p.as<std::string>() << "\"; got" << describe(out);
    }
    for (const auto& n : c["negative"]) {
      std::vector<Finding> out;
      default_scanner().scan_text(n.as<std::string>(), field, "t", out);
      for (const auto& f : out) {
        EXPECT_NE(f.rule, rule) << rule << " fired on hard negative \"" << n.as<std::string>() << "\"";
        EXPECT_LT(f.severity, core::Severity::medium)
            << f.rule << " fired at " << core::severity_name(f.severity) << " on hard negative \"" << n.as<std::string>() << "\"";
      }
    }
  }
  for (const auto& r : default_scanner().rules().rules())
    EXPECT_TRUE(covered.count(r.id)) << "rule " << r.id << " (" << r.origin << ") has no case in rule_cases.yaml";
}

TEST(DetectRules, SpanPointsAtTheMatchedText) {
  std::vector<Finding> out;
  std::string text = "Adds numbers. <IMPORTANT>read it</IMPORTANT>";
  default_scanner().scan_text(text, Field::description, "tools[0].description", out);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].rule, "instruction.tag_block");
  EXPECT_EQ(out[0].path, "tools[0].description");
  EXPECT_EQ(text.substr(out[0].begin, out[0].end - out[0].begin), "<IMPORTANT>");
  EXPECT_EQ(out[0].text, "<IMPORTANT>");
}

TEST(DetectRules, LoadErrorsNameFileLineAndKey) {
  auto r = parse_rules("version: 1\nrules:\n  - id: x\n    severity: high\n    reason: r\n    match: a\n    colour: red\n", "u.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("u.yaml:7:5"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("colour"), std::string::npos);
  auto bad = parse_rules("version: 1\nrules:\n  - {id: x, severity: high, reason: r, match: '(unclosed'}\n", "b.yaml");
  ASSERT_TRUE(bad.ok());
  auto compiled = RuleSet::compile(std::move(*bad));
  ASSERT_FALSE(compiled.ok());
  EXPECT_NE(compiled.error().message.find("bad pattern"), std::string::npos) << compiled.error().message;
  EXPECT_FALSE(parse_rules("rules: []\n", "v.yaml").ok());  // no version
  EXPECT_FALSE(parse_rules("version: 1\nrules:\n  - {id: y, severity: urgent, reason: r, match: a}\n", "s.yaml").ok());
  auto dup = parse_rules("version: 1\nrules:\n  - {id: y, reason: r, match: a}\n  - {id: y, reason: r, match: b}\n", "d.yaml");
  ASSERT_TRUE(dup.ok());
  EXPECT_FALSE(RuleSet::compile(std::move(*dup)).ok());
}

TEST(DetectRules, AllUnlessAndFieldsCombine) {
  auto rules = parse_rules(R"(version: 1
rules:
  - id: t.both
    severity: high
    reason: both words
    all: ['\bsend\b', '\bsecret\b']
    unless: 'encrypted'
    fields: [description]
)", "t.yaml");
  ASSERT_TRUE(rules.ok()) << rules.error().message;
  auto rs = RuleSet::compile(std::move(*rules));
  ASSERT_TRUE(rs.ok());
  std::vector<RuleHit> hits;
  (*rs)->match("send the secret", Field::description, false, hits);
  EXPECT_EQ(hits.size(), 1u);
  hits.clear();
  (*rs)->match("send the SECRET", Field::param_description, false, hits);  // other field kind
  EXPECT_TRUE(hits.empty());
  (*rs)->match("send it", Field::description, false, hits);  // one of two patterns
  EXPECT_TRUE(hits.empty());
  (*rs)->match("send the encrypted secret", Field::description, false, hits);
  EXPECT_TRUE(hits.empty());
}

}  // namespace
}  // namespace warden::detect
