// A JSON-RPC message after the strict codec has checked it.
//
// The codec keeps the exact bytes it received (`raw`) next to the checked tree (`root`). A message
// that passes unchanged is forwarded as `raw`, byte for byte; a message the warden rewrites is
// re-serialized from the tree. Every string field here is already unescaped, so a method spelled
// "tools\u002fcall" on the wire is "tools/call" in `method`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <simdjson.h>

namespace warden::codec {

enum class Kind { request, notification, response, error_response };
const char* kind_name(Kind k);

// A JSON-RPC id: string or integer only (null appears only in error responses to unparsable input).
struct Id {
  enum class Type { none, null, integer, string };
  Type type = Type::none;
  int64_t integer = 0;
  std::string string;

  bool operator==(const Id& o) const = default;
  std::string to_json() const;  // the id as canonical JSON text: 7, "abc", null
  std::string key() const;      // a map key that keeps 7 and "7" apart
};

// The two protocol eras. `sessioned` covers 2024-11-05 .. 2025-11-25 (initialize, sessions);
// `sessionless` is 2026-07-28 (protocol fields in `_meta`, server/discover, no initialize).
enum class Era { unknown, sessioned, sessionless };

struct Message {
  std::string_view raw;  // the exact bytes of this message (one element for batch members)
  Kind kind = Kind::notification;
  Id id;
  std::string method;  // requests and notifications, unescaped
  // What policy rules are keyed on, unescaped: the tool name for tools/call, the prompt name for
  // prompts/get, the URI for resources/read and resources/subscribe. Empty otherwise.
  std::string target;
  // The protocol version this message declares, if any: params.protocolVersion of initialize,
  // result.protocolVersion of its response, or the 2026-07-28 `_meta` protocol version field.
  std::string protocol_version;
  simdjson::dom::element root;    // the checked tree; valid until its Decoder parses again
  simdjson::dom::element params;  // params object/array, or a null element when absent
  simdjson::dom::element result;  // result of a response, or a null element
  simdjson::dom::element error;   // error object of an error response, or a null element
  bool has_params = false;
  bool has_result = false;
  bool has_error = false;
};

}  // namespace warden::codec
