#include "warden/util/strings.h"
#include "warden/supply/typosquat.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "warden/util/embedded.h"

namespace warden::supply {

namespace {

std::string lower(std::string_view s) { return util::to_lower(s); }

std::string base_name(std::string_view name) {
  if (!name.empty() && name[0] == '@') {
    auto slash = name.find('/');
    if (slash != std::string_view::npos) name = name.substr(slash + 1);
  }
  return lower(name);
}

std::string_view scope_of(std::string_view name) {
  if (name.empty() || name[0] != '@') return {};
  return name.substr(0, name.find('/'));
}

}  // namespace

size_t edit_distance(std::string_view a, std::string_view b) {
  const size_t n = a.size(), m = b.size();
  std::vector<size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (size_t j = 0; j <= m; ++j) prev[j] = j;
  for (size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[m];
}

std::string name_skeleton(std::string_view name) {
  std::string s = lower(name);
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '-' || c == '_' || c == '.') continue;
    if (c == 'r' && i + 1 < s.size() && s[i + 1] == 'n') {
      out += 'm';
      ++i;
      continue;
    }
    if (c == 'v' && i + 1 < s.size() && s[i + 1] == 'v') {
      out += 'w';
      ++i;
      continue;
    }
    switch (c) {
    case '0': out += 'o'; break;
    case '1': case 'i': case '|': out += 'l'; break;
    case '5': out += 's'; break;
    case '3': out += 'e'; break;
    default: out += c;
    }
  }
  return out;
}

Status PopularPackages::add_list(std::string_view text, const std::string& source) {
  size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (line.empty() || line[0] == '#') continue;
    auto colon = line.find(':');
    auto eco = colon == std::string_view::npos ? std::nullopt : parse_ecosystem(line.substr(0, colon));
    if (!eco || colon + 1 >= line.size())
      return Error{2, fmt::format("{}:{}: expected 'npm:NAME' or 'pypi:NAME', found '{}'", source,
                                  line_no, line)};
    std::string name(line.substr(colon + 1));
    m_names.push_back({*eco, name, lower(name), base_name(name), name_skeleton(base_name(name))});
  }
  return Ok{};
}

Status PopularPackages::add_bundled() {
  return add_list(util::embedded_file("intel/popular_mcp_packages.txt"),
                  "bundled:intel/popular_mcp_packages.txt");
}

bool PopularPackages::contains(Ecosystem eco, std::string_view name) const {
  std::string l = lower(name);
  return std::any_of(m_names.begin(), m_names.end(),
                     [&](const Entry& e) { return e.eco == eco && e.lower_name == l; });
}

std::vector<NameFinding> PopularPackages::check(Ecosystem eco, std::string_view name) const {
  std::vector<NameFinding> out;
  if (contains(eco, name)) return out;
  std::string base = base_name(name);
  std::string skel = name_skeleton(base);
  std::string_view scope = scope_of(name);
  for (const auto& e : m_names) {
    if (e.eco != eco) continue;
    std::string_view e_scope = scope_of(e.name);
    if (base == e.base) {
      // Same package name under another (or no) scope: postmark-mcp vs @activecampaign/postmark-mcp.
      out.push_back({"supply.scope_confusion", core::Severity::high, e.name,
                     fmt::format("'{}' has the name of '{}' but {}", name, e.name,
                                 scope.empty() ? fmt::format("not its scope {}", e_scope)
                                               : fmt::format("scope {} instead of {}", scope,
                                                             e_scope.empty() ? "none" : e_scope))});
      continue;
    }
    if (skel == e.skeleton) {
      out.push_back({"supply.confusable_name", core::Severity::high, e.name,
                     fmt::format("'{}' looks like '{}' (look-alike characters or separators)", name,
                                 e.name)});
      continue;
    }
    // Names whose lengths differ by more than two are more than two edits apart: the distance
    // is not worth computing (scan checks every installed package against every popular name).
    size_t shorter = std::min(base.size(), e.base.size());
    if (std::max(base.size(), e.base.size()) - shorter > 2) continue;
    size_t d = edit_distance(base, e.base);
    size_t longest = std::max(base.size(), e.base.size());
    // One edit on names of 5+ characters, two on names of 10+: the typo window of real squats.
    if ((d == 1 && longest >= 5) || (d == 2 && longest >= 10)) {
      out.push_back({"supply.typosquat", d == 1 ? core::Severity::high : core::Severity::medium,
                     e.name,
                     fmt::format("'{}' is {} edit{} away from '{}'", name, d, d == 1 ? "" : "s",
                                 e.name)});
    }
  }
  return out;
}

}  // namespace warden::supply
