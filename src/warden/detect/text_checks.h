// Character-level checks that need no rule file: hidden Unicode, ANSI and control sequences,
// encoded payloads, and look-alike names. Used by MetadataScanner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "warden/core/verdict.h"

namespace warden::detect {

// Decodes the code point at `i` (`len` >= 1 always; invalid UTF-8 yields U+FFFD with length 1).
uint32_t decode_utf8(std::string_view s, size_t i, size_t& len);
void append_utf8(std::string& out, uint32_t cp);

// One kind of suspicious character found in a text, with its first span and how often it occurs.
struct CharIssue {
  const char* rule;
  core::Severity severity;
  const char* what;
  size_t begin = 0, end = 0;  // first occurrence (a whole run for tag characters / ANSI sequences)
  size_t count = 0;
};

struct CharScan {
  std::vector<CharIssue> issues;
  // The text with invisible characters removed (what a reader sees), for rule matching; empty when
  // nothing was removed. `offsets[i]` is the byte offset in the original of stripped[i].
  std::string stripped;
  std::vector<uint32_t> offsets;
  // The text without anything flagged above (tag characters, bidi controls, zero-width characters
  // outside legitimate joins, whole ANSI sequences, other control characters, supplementary
  // variation selectors): what the result filter forwards. Set only when `cut`.
  std::string cleaned;
  bool cut = false;
  // Unicode tag characters (U+E0020..U+E007E) decoded to ASCII: text the model reads, people don't.
  std::string tag_text;
  size_t tag_begin = 0, tag_end = 0;
};

CharScan scan_characters(std::string_view text);

// A run of base64 or hex that decodes to readable text.
struct Payload {
  const char* kind;  // "base64" | "hex"
  size_t begin = 0, end = 0;
  std::string decoded;
};
std::vector<Payload> find_payloads(std::string_view text);

// Names: the scripts a name mixes, and a skeleton under which look-alikes compare equal
// (Cyrillic/Greek homoglyphs and fullwidth forms mapped to ASCII, case and separators folded,
// 0->o, 1->l, rn->m).
struct NameShape {
  bool non_ascii = false;
  bool mixed_script = false;  // Latin with Cyrillic, Greek or another letter script
  bool invalid_chars = false; // outside [A-Za-z0-9_.-/] (MCP tool-name charset, '/' for namespacing)
  std::string skeleton;
};
NameShape name_shape(std::string_view name);

}  // namespace warden::detect
