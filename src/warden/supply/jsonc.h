// A JSON-with-comments reader that keeps byte positions, so a config file can be edited in place:
// comments, formatting and unknown keys stay exactly as the user wrote them.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "warden/util/result.h"

namespace warden::supply {

struct JsoncValue {
  enum class Type { object, array, string, number, boolean, null };
  Type type = Type::null;
  size_t begin = 0, end = 0;  // the value's bytes in the text: [begin, end)
  std::string string;         // decoded, for strings
  std::vector<std::pair<std::string, std::unique_ptr<JsoncValue>>> members;  // objects, in order
  std::vector<std::unique_ptr<JsoncValue>> items;                            // arrays
  const JsoncValue* get(std::string_view key) const;
};

// Parses JSON with // and /* */ comments and trailing commas. Errors say line and column.
Result<std::unique_ptr<JsoncValue>> parse_jsonc(std::string_view text);

}  // namespace warden::supply
