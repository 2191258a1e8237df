// Offline, explainable detectors over everything an MCP server says about itself: tools (names,
// titles, descriptions, input and output schemas, annotations), prompts and their arguments,
// resources and resource templates, and the initialize result's `instructions`.
//
// Every text is checked once by the rule set (one RE2::Set pass per text), by the character
// checks (hidden Unicode, ANSI and control sequences), and by the payload decoder (base64, hex and
// Unicode tag characters are decoded and the rules run again on the result). Names are also
// checked for mixed scripts and look-alikes of other names in the same document.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "warden/core/verdict.h"
#include "warden/detect/rules.h"
#include "warden/util/result.h"

namespace warden::detect {

struct Finding {
  std::string rule;  // rule id: "instruction.hidden_from_user", "unicode.tag_chars", ...
  core::Severity severity = core::Severity::info;
  std::string reason;  // one line: why this is a problem
  std::string path;    // field path: tools[3].inputSchema.properties.path.description
  size_t begin = 0;    // byte offsets of the matched span in that field's (unescaped) string
  size_t end = 0;
  std::string text;  // the matched text (for decoded payloads: the decoded text)

  core::Finding to_core() const;  // detector = rule, message = reason at path, evidence = text
};

struct ItemReport {
  std::string kind;  // tool | prompt | resource | resource_template | instructions
  std::string name;
  std::string path;  // tools[3], prompts[0], instructions
  std::vector<Finding> findings;
  core::Severity max_severity() const;  // info when there is no finding
};

struct Report {
  std::vector<ItemReport> items;
  size_t texts = 0;  // strings examined
  size_t finding_count() const;
};

class MetadataScanner {
public:
  explicit MetadataScanner(std::shared_ptr<const RuleSet> rules);
  // A scanner with the rules compiled into the binary plus `extra_rule_files`.
  static Result<MetadataScanner> with_default_rules(const std::vector<std::string>& extra_rule_files = {});

  // Accepts a tools/list (or prompts/list, resources/list, initialize) result, a JSON-RPC response
  // carrying one, an array of tools, a single tool, or {"tools":[...],"prompts":[...],
  // "resources":[...],"resourceTemplates":[...],"instructions":"..."}.
  Result<Report> scan(simdjson::dom::element doc) const;
  Result<Report> scan_json(std::string_view json) const;
  // The checks for one text, exposed for the runtime filters and the tests.
  void scan_text(std::string_view text, Field field, const std::string& path, std::vector<Finding>& out) const;

  const RuleSet& rules() const { return *m_rules; }

private:
  void scan_decoded(std::string_view text, Field field, const std::string& path, std::string_view kind,
                    size_t begin, size_t end, int depth, std::vector<Finding>& out) const;
  std::shared_ptr<const RuleSet> m_rules;
};

// Shows a matched text on one line: control, invisible and bidi characters as \u{XXXX}, cut at
// `max_bytes`.
std::string printable(std::string_view text, size_t max_bytes = 160);

}  // namespace warden::detect
