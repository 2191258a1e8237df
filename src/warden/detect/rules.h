// Tool-metadata detector rules: loaded from YAML (rules/detect/*.yaml, compiled into the binary,
// plus any files the user adds) and compiled into one RE2::Set per field kind, so each text is
// matched against every applicable pattern in a single pass. See docs/detectors.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "warden/core/verdict.h"
#include "warden/util/result.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace warden::detect {

// What part of a server's self-description a text came from. Rules choose the kinds they apply to.
enum class Field : uint8_t {
  name,               // tool, prompt, resource names
  title,              // human-readable titles (item, annotations)
  description,        // item descriptions
  param_name,         // input-schema property names, prompt argument names
  param_description,  // their descriptions and titles
  value,              // enums, defaults, examples, const, other strings in schemas and annotations
  uri,                // resource URIs and URI templates
  instructions,       // the initialize result's `instructions`
};
inline constexpr size_t k_field_count = 8;
inline constexpr uint32_t k_all_fields = (1u << k_field_count) - 1;
const char* field_name(Field f);

struct Rule {
  std::string id;                   // stable, dotted: "instruction.hidden_from_user"
  core::Severity severity = core::Severity::medium;
  std::string reason;               // one line shown with every finding
  std::vector<std::string> all;     // every pattern must match the text (the first gives the span)
  std::vector<std::string> unless;  // any of these matching suppresses the rule
  uint32_t fields = k_all_fields;   // bit i set: applies to Field(i)
  bool decoded = true;              // also applies to text decoded from base64/hex/tag characters
  std::string origin;               // "file:line" where the rule was defined
};

// Parses a rule file (YAML, `version: 1`, `rules: [...]`). Errors name the file, line and column.
Result<std::vector<Rule>> parse_rules(std::string_view yaml, std::string_view source);
// Reads and parses a user rule file.
Result<std::vector<Rule>> load_rules_file(const std::string& path);
// The rules compiled into the binary (rules/detect/*.yaml).
Result<std::vector<Rule>> default_rules();

// One rule that fired on a text: the span [begin, end) of its first pattern's leftmost match.
struct RuleHit {
  uint32_t rule = 0;  // index into RuleSet::rules()
  size_t begin = 0, end = 0;
};

// The compiled, immutable rule set. Thread-safe for concurrent matching.
class RuleSet {
public:
  // Duplicate ids, bad patterns and empty rules are errors naming the rule's origin.
  static Result<std::shared_ptr<const RuleSet>> compile(std::vector<Rule> rules);
  ~RuleSet();
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  // Appends the rules that fire on `text` in a field of kind `field`. `decoded`: the text was
  // decoded from an encoded payload (rules with `decoded: false` are skipped).
  void match(std::string_view text, Field field, bool decoded, std::vector<RuleHit>& out) const;
  const std::vector<Rule>& rules() const { return m_rules; }

private:
  struct Compiled;
  RuleSet() = default;
  std::vector<Rule> m_rules;
  std::unique_ptr<Compiled> m_c;
};

}  // namespace warden::detect
