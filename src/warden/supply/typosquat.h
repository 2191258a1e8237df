// Typosquat and scope-confusion checks of package names against a list of popular MCP packages
// (rules/intel/popular_mcp_packages.txt, compiled in; users can add their own list).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "warden/core/verdict.h"
#include "warden/supply/version.h"
#include "warden/util/result.h"

namespace warden::supply {

struct NameFinding {
  std::string rule;       // supply.scope_confusion | supply.typosquat | supply.confusable_name
  core::Severity severity;
  std::string imitated;   // the popular package it resembles
  std::string reason;     // one line
};

class PopularPackages {
public:
  // Lines "npm:NAME" or "pypi:NAME"; '#' comments and blank lines ignored.
  Status add_list(std::string_view text, const std::string& source);
  Status add_bundled();
  bool contains(Ecosystem eco, std::string_view name) const;
  // Findings for `name` (empty when it is itself a listed package or resembles none).
  std::vector<NameFinding> check(Ecosystem eco, std::string_view name) const;
  size_t size() const { return m_names.size(); }

private:
  struct Entry {
    Ecosystem eco;
    std::string name;  // as listed
    std::string lower_name;
    std::string base;  // without scope, lower case
    std::string skeleton;  // confusables folded, separators removed
  };
  std::vector<Entry> m_names;
};

// Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions).
size_t edit_distance(std::string_view a, std::string_view b);
// Lower case, separators (- _ .) removed, look-alikes folded (0->o, 1/i/|->l, rn->m, vv->w, 5->s).
std::string name_skeleton(std::string_view name);

}  // namespace warden::supply
