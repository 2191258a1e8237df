#include "warden/detect/rules.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <re2/re2.h>
#include <re2/set.h>
#include <yaml-cpp/yaml.h>

#include "warden/util/embedded.h"

namespace warden::detect {

namespace {

constexpr std::array<const char*, k_field_count> k_field_names = {
    "name", "title", "description", "param_name", "param_description", "value", "uri", "instructions"};
constexpr size_t k_max_rule_file_bytes = 4u << 20;
constexpr int64_t k_set_max_mem = 64 << 20;

RE2::Options pattern_options() {
  RE2::Options o;
  o.set_case_sensitive(false);  // (?-i:...) inside a pattern restores case
  o.set_log_errors(false);
  o.set_max_mem(k_set_max_mem);
  return o;
}

std::string where(std::string_view source, const YAML::Mark& m) {
  return fmt::format("{}:{}:{}", source, m.line + 1, m.column + 1);
}

Error load_error(std::string_view source, const YAML::Mark& m, std::string_view what, std::string_view fix) {
  return Error{0, fmt::format("{}: {}{}{}", where(source, m), what, fix.empty() ? "" : "; ", fix)};
}

Result<std::vector<std::string>> string_list(const YAML::Node& n, std::string_view source, std::string_view key) {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(n.as<std::string>());
  } else if (n.IsSequence()) {
    for (const auto& x : n) {
      if (!x.IsScalar()) return load_error(source, x.Mark(), fmt::format("`{}` takes strings", key), "");
      out.push_back(x.as<std::string>());
    }
  } else {
    return load_error(source, n.Mark(), fmt::format("`{}` takes a string or a list of strings", key), "");
  }
  return out;
}

Result<Rule> parse_rule(const YAML::Node& n, std::string_view source) {
  if (!n.IsMap()) return load_error(source, n.Mark(), "a rule is a mapping", "see docs/detectors.md");
  Rule r;
  r.origin = where(source, n.Mark());
  bool has_match = false;
  for (const auto& kv : n) {
    auto key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "id") {
      r.id = v.as<std::string>();
    } else if (key == "severity") {
      auto s = core::parse_severity(v.as<std::string>());
      if (!s) return load_error(source, v.Mark(), "unknown severity", "use info, low, medium, high or critical");
      r.severity = *s;
    } else if (key == "reason") {
      r.reason = v.as<std::string>();
    } else if (key == "match" || key == "all") {
      auto l = string_list(v, source, key);
      if (!l) return l.error();
      r.all.insert(r.all.end(), l->begin(), l->end());
      has_match = true;
    } else if (key == "unless") {
      auto l = string_list(v, source, key);
      if (!l) return l.error();
      r.unless = std::move(*l);
    } else if (key == "fields") {
      auto l = string_list(v, source, key);
      if (!l) return l.error();
      r.fields = 0;
      for (const auto& f : *l) {
        auto it = std::find(k_field_names.begin(), k_field_names.end(), f);
        if (it == k_field_names.end())
          return load_error(source, v.Mark(), fmt::format("unknown field kind '{}'", f),
                            "use name, title, description, param_name, param_description, value, uri or instructions");
        r.fields |= 1u << (it - k_field_names.begin());
      }
    } else if (key == "decoded") {
      r.decoded = v.as<bool>();
    } else {
      return load_error(source, kv.first.Mark(), fmt::format("unknown key '{}' in a rule", key),
                        "known keys: id, severity, reason, match, all, unless, fields, decoded");
    }
  }
  if (r.id.empty()) return load_error(source, n.Mark(), "a rule needs an `id`", "");
  if (!has_match || r.all.empty())
    return load_error(source, n.Mark(), fmt::format("rule '{}' has no `match` or `all` pattern", r.id), "");
  if (r.reason.empty()) return load_error(source, n.Mark(), fmt::format("rule '{}' needs a one-line `reason`", r.id), "");
  if (r.fields == 0) return load_error(source, n.Mark(), fmt::format("rule '{}' applies to no field", r.id), "");
  return r;
}

}  // namespace

const char* field_name(Field f) { return k_field_names[static_cast<size_t>(f)]; }

Result<std::vector<Rule>> parse_rules(std::string_view yaml, std::string_view source) {
  try {
    YAML::Node doc = YAML::Load(std::string(yaml));
    if (!doc.IsMap()) return Error{0, fmt::format("{}: a rule file is a mapping with `version: 1` and `rules:`", source)};
    std::vector<Rule> out;
    bool versioned = false;
    for (const auto& kv : doc) {
      auto key = kv.first.as<std::string>();
      if (key == "version") {
        if (kv.second.as<std::string>() != "1")
          return load_error(source, kv.second.Mark(), "unsupported rule file version", "use `version: 1`");
        versioned = true;
      } else if (key == "rules") {
        if (!kv.second.IsSequence()) return load_error(source, kv.second.Mark(), "`rules` is a list", "");
        for (const auto& n : kv.second) {
          auto r = parse_rule(n, source);
          if (!r) return r.error();
          out.push_back(std::move(*r));
        }
      } else {
        return load_error(source, kv.first.Mark(), fmt::format("unknown key '{}'", key), "known keys: version, rules");
      }
    }
    if (!versioned) return Error{0, fmt::format("{}: missing `version: 1`", source)};
    return out;
  } catch (const YAML::Exception& e) {
    return load_error(source, e.mark, e.msg, "");
  }
}

Result<std::vector<Rule>> load_rules_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{0, fmt::format("cannot read rule file {}", path)};
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (text.size() > k_max_rule_file_bytes) return Error{0, fmt::format("{}: rule file larger than 4 MiB", path)};
  return parse_rules(text, path);
}

Result<std::vector<Rule>> default_rules() {
  std::vector<Rule> out;
  for (auto path : util::embedded_files("detect/")) {
    if (path.size() < 5 || path.substr(path.size() - 5) != ".yaml") continue;
    auto r = parse_rules(util::embedded_file(path), fmt::format("rules/{}", path));
    if (!r) return r.error();
    for (auto& x : *r) out.push_back(std::move(x));
  }
  return out;
}

// One RE2::Set per field kind; each set entry points back at its rule and pattern.
struct RuleSet::Compiled {
  struct Entry {
    uint32_t rule;
    bool unless;
  };
  struct PerField {
    std::unique_ptr<RE2::Set> set;
    std::vector<Entry> entries;
  };
  std::array<PerField, k_field_count> fields;
  std::vector<std::unique_ptr<RE2>> span;  // per rule: its first `all` pattern
  std::vector<std::vector<std::unique_ptr<RE2>>> each;  // per rule: every pattern, for the fallback
};

RuleSet::~RuleSet() = default;

Result<std::shared_ptr<const RuleSet>> RuleSet::compile(std::vector<Rule> rules) {
  std::shared_ptr<RuleSet> rs(new RuleSet());
  rs->m_c = std::make_unique<Compiled>();
  std::set<std::string> ids;
  auto opts = pattern_options();
  for (auto& pf : rs->m_c->fields) pf.set = std::make_unique<RE2::Set>(opts, RE2::UNANCHORED);
  for (uint32_t i = 0; i < rules.size(); ++i) {
    const Rule& r = rules[i];
    if (!ids.insert(r.id).second)
      return Error{0, fmt::format("{}: rule id '{}' is defined twice", r.origin, r.id)};
    auto add = [&](const std::string& pattern, bool unless) -> Status {
      auto re = std::make_unique<RE2>(pattern, opts);
      if (!re->ok())
        return Error{0, fmt::format("{}: rule '{}': bad pattern '{}': {}", r.origin, r.id, pattern, re->error())};
      for (size_t f = 0; f < k_field_count; ++f) {
        if (!(r.fields & (1u << f))) continue;
        std::string err;
        if (rs->m_c->fields[f].set->Add(pattern, &err) < 0)
          return Error{0, fmt::format("{}: rule '{}': bad pattern '{}': {}", r.origin, r.id, pattern, err)};
        rs->m_c->fields[f].entries.push_back({i, unless});
      }
      rs->m_c->each.back().push_back(std::move(re));
      return Ok{};
    };
    rs->m_c->each.emplace_back();
    for (const auto& p : r.all) WARDEN_TRY(add(p, false));
    for (const auto& p : r.unless) WARDEN_TRY(add(p, true));
    rs->m_c->span.push_back(std::make_unique<RE2>(r.all.front(), opts));
  }
  for (auto& pf : rs->m_c->fields)
    if (!pf.entries.empty() && !pf.set->Compile())
      return Error{0, "the detector rules are too large to compile; remove some user rules"};
  rs->m_rules = std::move(rules);
  return std::shared_ptr<const RuleSet>(std::move(rs));
}

void RuleSet::match(std::string_view text, Field field, bool decoded, std::vector<RuleHit>& out) const {
  const auto& pf = m_c->fields[static_cast<size_t>(field)];
  if (pf.entries.empty()) return;
  thread_local std::vector<int> hits;
  thread_local std::vector<uint8_t> count;  // per rule: all-patterns matched, 255 = suppressed
  hits.clear();
  RE2::Set::ErrorInfo info{RE2::Set::kNoError};
  bool any = pf.set->Match(re2::StringPiece(text.data(), text.size()), &hits, &info);
  if (!any && info.kind != RE2::Set::kNoError) {
    // The set's DFA ran out of memory on this text: fall back to one regex at a time (fail
    // closed: slower, never blind).
    hits.clear();
    size_t k = 0;
    std::vector<size_t> next(m_rules.size(), 0);
    for (const auto& e : pf.entries) {
      const auto& re = *m_c->each[e.rule][next[e.rule]++];
      if (RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), re)) hits.push_back(static_cast<int>(k));
      ++k;
    }
  }
  if (hits.empty()) return;
  count.assign(m_rules.size(), 0);
  for (int h : hits) {
    const auto& e = pf.entries[static_cast<size_t>(h)];
    if (e.unless) count[e.rule] = 255;
    else if (count[e.rule] != 255) ++count[e.rule];
  }
  for (uint32_t i = 0; i < m_rules.size(); ++i) {
    if (count[i] == 0 || count[i] == 255 || count[i] < m_rules[i].all.size()) continue;
    if (decoded && !m_rules[i].decoded) continue;
    re2::StringPiece sp;
    RuleHit hit{i, 0, 0};
    if (m_c->span[i]->Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), RE2::UNANCHORED, &sp, 1)) {
      hit.begin = static_cast<size_t>(sp.data() - text.data());
      hit.end = hit.begin + sp.size();
    }
    out.push_back(hit);
  }
}

}  // namespace warden::detect
