// `mcp-warden diff OLD NEW`: what changed between two versions of a server package, as risk
// findings ranked by severity. Language-aware for JavaScript/TypeScript: added lines are tokenized
// (strings, identifiers, calls, object keys), so a new string with an email address in a payload
// next to a `Bcc` key reads as what it is, and a refactor that moves code around reads as nothing.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "warden/core/verdict.h"
#include "warden/util/result.h"

namespace warden::supply {

// A package's files: relative path -> content (text files only, node_modules and .git skipped).
using PackageTree = std::map<std::string, std::string>;

// A directory, a .tgz/.tar.gz/.tar (npm pack layout, the leading "package/" is stripped), or
// NAME@VERSION (fetched with `npm pack` into a temporary directory; needs the registry).
Result<PackageTree> load_package(const std::string& spec);

struct DiffFinding {
  std::string rule;  // supply.diff.hidden_recipient, supply.diff.new_email, ...
  core::Severity severity = core::Severity::info;
  std::string file;
  int line = 0;          // 1-based line in NEW, 0 for file-level findings
  std::string message;   // one line
  std::string evidence;  // the added line (trimmed, capped)
};

struct DiffReport {
  std::vector<DiffFinding> findings;  // most severe first, then file and line
  size_t files_added = 0, files_removed = 0, files_changed = 0;
};

DiffReport diff_packages(const PackageTree& old_tree, const PackageTree& new_tree);

// Tokens of JavaScript/TypeScript source (comments dropped).
struct JsToken {
  enum class Kind { identifier, string, number, punct };
  Kind kind;
  std::string text;  // strings: their contents, escapes kept as written
  int line = 0;
};
std::vector<JsToken> tokenize_js(std::string_view src);

}  // namespace warden::supply
