// A small TOML reader for what scan and wrap need from Codex configs, pyproject.toml and uv.lock:
// tables ([a.b], [[array.of.tables]]), dotted and quoted keys, strings (basic, literal and their
// multi-line forms), arrays (multi-line, trailing commas, comments) and inline tables. It keeps
// each value's byte range and line, so a config can be edited in place.
//
// Limits (documented in docs/supply.md): numbers, booleans and dates are kept as raw text, not
// checked; redefining a key or table is not an error (the later one is added too, and get()
// returns the first); \U escapes above the BMP and other rare escapes are passed through as text.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "warden/util/result.h"

namespace warden::supply {

struct TomlValue {
  enum class Type { table, array, string, other };
  Type type = Type::table;
  size_t begin = 0, end = 0;  // the value's bytes: [begin, end); for [headers], the header line
  int line = 0;               // 1-based line of the value (of the header for a [table])
  std::string string;         // decoded string, or the raw text of an `other`
  std::vector<std::pair<std::string, std::unique_ptr<TomlValue>>> members;  // tables, in order
  std::vector<std::unique_ptr<TomlValue>> items;                            // arrays
  const TomlValue* get(std::string_view key) const;
  // Strings of an array of strings (other items are skipped).
  std::vector<const TomlValue*> strings() const;
};

// Parses a document into its root table. Errors say "line L, column C: what".
Result<std::unique_ptr<TomlValue>> parse_toml(std::string_view text);

}  // namespace warden::supply
