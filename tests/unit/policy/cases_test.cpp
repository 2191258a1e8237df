// Data-driven policy cases (tests/cases/*.yaml, format in tests/cases/README.md), one GoogleTest
// per file: Cases/CaseFile.Run/<file>. Each file is one session: a policy, then its cases in order,
// each a JSON-RPC line decoded by the real codec and decided by one Evaluator on a ManualClock.
// The runner is strict about the case files themselves, so a typo cannot make a case vacuous.
#include <algorithm>
#include <filesystem>
#include <set>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "warden/codec/codec.h"
#include "warden/policy/policy.h"
#include "warden/util/clock.h"

namespace warden::policy {
namespace {

namespace fs = std::filesystem;

fs::path cases_dir() {
  return fs::path(WARDEN_SOURCE_DIR) / "tests" / "cases";
}

std::vector<std::string> case_files() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(cases_dir(), ec))
    if (e.path().extension() == ".yaml") out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string where(const YAML::Node& n) {
  return "line " + std::to_string(n.Mark().line + 1);
}

// Fails the test for keys of `n` that are not in `allowed`.
void expect_keys(const YAML::Node& n, std::initializer_list<std::string_view> allowed,
                 const std::string& ctx) {
  ASSERT_TRUE(n.IsMap()) << ctx << " must be a mapping (" << where(n) << ")";
  for (auto it = n.begin(); it != n.end(); ++it) {
    std::string k = YAML::Node(it->first).Scalar();
    EXPECT_TRUE(std::find(allowed.begin(), allowed.end(), k) != allowed.end())
        << "unknown key '" << k << "' in " << ctx << " (" << where(YAML::Node(it->first)) << ")";
  }
}

// "250ms", "20s", "1min", "2h", or a plain number of microseconds.
int64_t parse_duration_us(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && isdigit(static_cast<unsigned char>(s[i])))
    ++i;
  int64_t n = std::stoll(s.substr(0, i));
  std::string unit = s.substr(i);
  if (unit.empty() || unit == "us") return n;
  if (unit == "ms") return n * 1'000;
  if (unit == "s") return n * 1'000'000;
  if (unit == "min") return n * 60'000'000;
  if (unit == "h") return n * 3'600'000'000;
  ADD_FAILURE() << "bad duration '" << s << "' (use us, ms, s, min or h)";
  return 0;
}

size_t count_cases(const YAML::Node& doc) {
  size_t n = 0;
  if (doc["cases"]) n += doc["cases"].size();
  if (doc["load_errors"]) n += doc["load_errors"].size();
  return n;
}

void run_load_errors(const YAML::Node& list) {
  ASSERT_TRUE(list.IsSequence()) << "load_errors must be a list";
  for (auto it = list.begin(); it != list.end(); ++it) {
    YAML::Node c = *it;
    expect_keys(c, {"name", "policy", "error"}, "a load_errors entry");
    auto name = c["name"].as<std::string>("(unnamed, " + where(c) + ")");
    SCOPED_TRACE("load error case: " + name);
    ASSERT_TRUE(c["policy"] && c["error"]) << name << ": needs policy and error";
    std::string got;
    try {
      load_policy_string(c["policy"].as<std::string>(), "p.yaml");
    } catch (const LoadError& e) {
      got = e.what();
    }
    EXPECT_EQ(got, c["error"].as<std::string>()) << "case '" << name << "'";
  }
}

void run_cases(const YAML::Node& doc) {
  std::shared_ptr<const Policy> policy;
  auto policy_text = doc["policy"].as<std::string>();
  if (policy_text == "default") {
    policy = Policy::default_policy();
  } else {
    try {
      policy = load_policy_string(policy_text, "policy");
    } catch (const LoadError& e) {
      FAIL() << "the case file's policy does not load:\n" << e.what();
    }
  }
  std::optional<Mode> mode;
  std::string server_name, cwd = "/home/user/project";
  std::vector<std::string> argv;
  if (YAML::Node o = doc["session"]) {
    expect_keys(o, {"server", "command", "mode", "cwd"}, "session");
    if (o["server"]) server_name = o["server"].as<std::string>();
    if (o["command"]) argv = o["command"].as<std::vector<std::string>>();
    if (o["mode"]) mode = o["mode"].as<std::string>() == "monitor" ? Mode::monitor : Mode::enforce;
    if (o["cwd"]) cwd = o["cwd"].as<std::string>();
  }
  const ServerPolicy* server = policy->select_server(server_name, argv);
  ASSERT_NE(server, nullptr) << "no server entry '" << server_name << "'";

  util::ManualClock clock;
  Evaluator evaluator(policy, server, clock, mode, cwd);
  codec::Decoder decoder;
  std::set<std::string> names;

  for (auto it = doc["cases"].begin(); it != doc["cases"].end(); ++it) {
    YAML::Node c = *it;
    expect_keys(c, {"name", "message", "expect", "advance", "repeat"}, "a case");
    ASSERT_TRUE(c["name"]) << "a case without a name at " << where(c);
    auto name = c["name"].as<std::string>();
    EXPECT_TRUE(names.insert(name).second) << "duplicate case name '" << name << "'";
    SCOPED_TRACE("case '" + name + "' (" + where(c) + ")");
    ASSERT_TRUE(c["message"]) << "case '" << name << "' has no message";
    ASSERT_TRUE(c["expect"]) << "case '" << name << "' has no expect";
    YAML::Node e = c["expect"];
    expect_keys(e,
                {"decision", "findings", "reason_contains", "reason", "rule", "would_block",
                 "rpc_code", "evidence"},
                "expect");
    ASSERT_TRUE(e["decision"] && e["findings"])
        << "case '" << name << "': expect needs decision and findings";

    if (c["advance"]) clock.advance_us(parse_duration_us(c["advance"].as<std::string>()));
    int repeat = c["repeat"] ? c["repeat"].as<int>() : 1;
    auto line = c["message"].as<std::string>();
    Verdict v;
    for (int i = 0; i < repeat; ++i) {
      auto decoded = decoder.decode(line);
      ASSERT_TRUE(decoded.ok()) << "the codec refused the message of case '" << name
                                << "': " << decoded.error().message;
      ASSERT_EQ(decoded->messages.size(), 1u);
      v = evaluator.evaluate(decoded->messages.front());
    }

    EXPECT_EQ(core::decision_name(v.decision), e["decision"].as<std::string>())
        << "case '" << name << "': reason: " << v.reason;
    std::vector<std::string> detectors;
    for (const auto& f : v.findings)
      detectors.push_back(f.detector);
    EXPECT_EQ(detectors, e["findings"].as<std::vector<std::string>>()) << "case '" << name << "'";
    if (e["reason_contains"]) {
      auto want = e["reason_contains"].as<std::string>();
      EXPECT_NE(v.reason.find(want), std::string::npos)
          << "case '" << name << "': reason '" << v.reason << "' lacks '" << want << "'";
    }
    if (e["reason"]) {
      EXPECT_EQ(v.reason, e["reason"].as<std::string>()) << "case '" << name << "'";
    }
    if (e["rule"]) {
      EXPECT_EQ(v.rule, e["rule"].as<std::string>()) << "case '" << name << "'";
    }
    if (e["would_block"]) {
      EXPECT_EQ(v.would_block, e["would_block"].as<bool>()) << "case '" << name << "'";
    }
    if (e["rpc_code"]) {
      EXPECT_EQ(v.rpc_code, e["rpc_code"].as<int>()) << "case '" << name << "'";
    }
    if (e["evidence"]) {
      ASSERT_FALSE(v.findings.empty()) << "case '" << name << "'";
      EXPECT_EQ(v.findings.front().evidence, e["evidence"].as<std::string>())
          << "case '" << name << "'";
    }
    // Invariants of every verdict.
    if (v.decision == core::Decision::allow && !v.would_block) {
      EXPECT_EQ(v.rpc_code, 0) << "case '" << name << "'";
    }
    if (v.decision == core::Decision::block || v.decision == core::Decision::approve) {
      EXPECT_EQ(v.rpc_code, -32001) << "case '" << name << "'";
      EXPECT_FALSE(v.reason.empty()) << "case '" << name << "'";
      EXPECT_FALSE(v.findings.empty()) << "case '" << name << "'";
    }
  }
}

class CaseFile : public ::testing::TestWithParam<std::string> {};

TEST_P(CaseFile, Run) {
  fs::path path = cases_dir() / (GetParam() + ".yaml");
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(path.string());
  } catch (const YAML::Exception& e) {
    FAIL() << path << ": " << e.what();
  }
  expect_keys(doc, {"description", "policy", "session", "cases", "load_errors"}, "the case file");
  ASSERT_TRUE(doc["description"]) << path << ": say what the file covers in description:";
  ASSERT_GT(count_cases(doc), 0u) << path << " has no cases";
  if (doc["load_errors"]) run_load_errors(doc["load_errors"]);
  if (doc["cases"]) {
    ASSERT_TRUE(doc["policy"]) << path << ": cases need a policy";
    run_cases(doc);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, CaseFile, ::testing::ValuesIn(case_files()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           for (char& ch : n)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

// The corpus itself: a missing directory or an emptied file must fail, not pass quietly.
TEST(CasesCorpus, HasEnoughCasesCoveringEveryMatcherAndAction) {
  std::vector<std::string> files = case_files();
  ASSERT_GE(files.size(), 3u) << "expected case files in " << cases_dir();
  size_t total = 0;
  std::string all_text;
  for (const auto& f : files) {
    YAML::Node doc = YAML::LoadFile((cases_dir() / (f + ".yaml")).string());
    total += count_cases(doc);
    if (doc["policy"]) all_text += doc["policy"].as<std::string>();
  }
  EXPECT_GE(total, 30u);
  for (const char* word : {"equals", "one_of", "regex", "max_length", "email_domain", "path_under",
                           "url_host", "optional", "action: deny", "action: approve", "rate:"})
    EXPECT_NE(all_text.find(word), std::string::npos) << "no case file policy uses " << word;
}

} // namespace
} // namespace warden::policy
