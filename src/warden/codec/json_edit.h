// Re-serializing a checked tree with edits: what the warden forwards when it rewrites a message
// (strips an item from a list, redacts a secret in a result), and the canonical form definitions
// are pinned by. The output is always built from the parsed tree, so it is valid JSON whatever the
// edits put in a string.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "warden/codec/message.h"

namespace warden::codec {

// Compact JSON with every object's keys sorted (byte order), numbers as simdjson prints them.
// Two definitions that differ only in key order or whitespace give the same text.
std::string canonical_json(simdjson::dom::element el);

// Called for every string value (not object keys) with the key of the member that holds it (empty
// inside arrays, the nearest member's key is kept) and the string. Returns the replacement, or
// nullopt to keep it.
using StringEdit = std::function<std::optional<std::string>(std::string_view key, std::string_view value)>;
// Compact JSON of `el` with `edit` applied to its strings, in the original member order.
std::string serialize_edited(simdjson::dom::element el, const StringEdit& edit);
// The same, but the text is built only when `edit` replaced a string: nullopt when it kept every
// one (the common case on the message path, which then forwards the original bytes). `edit` is
// called once per string, in the same order.
std::optional<std::string> serialize_if_edited(simdjson::dom::element el, const StringEdit& edit);

// The response `m` with its `result` replaced by `result_json` (valid JSON), other members as
// they were.
std::string with_result(const Message& m, std::string_view result_json);

}  // namespace warden::codec

namespace warden::codec {

// Indented JSON (two spaces, one member or element per line) for people reading a definition,
// e.g. `mcp-warden pins diff`. Member order as in `el`.
std::string pretty_json(simdjson::dom::element el);

}  // namespace warden::codec
