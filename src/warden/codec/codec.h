// The strict JSON-RPC codec for both MCP protocol eras.
//
// Strict means: whatever two JSON parsers could read differently is refused before anything looks
// at it. Duplicate object keys (anywhere, compared after unescaping), invalid UTF-8, lone
// surrogates, nesting deeper than a limit, messages larger than a limit, numbers that do not fit
// 64 bits, ids that are neither string nor integer, control characters in method or target names.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "warden/codec/message.h"
#include "warden/util/result.h"

namespace warden::codec {

// JSON-RPC error codes used by the warden.
inline constexpr int k_parse_error = -32700;
inline constexpr int k_invalid_request = -32600;
inline constexpr int k_method_not_found = -32601;
inline constexpr int k_invalid_params = -32602;
inline constexpr int k_internal_error = -32603;
inline constexpr int k_policy_blocked = -32001;  // refused by policy or a detector
inline constexpr int k_server_exited = -32002;   // the upstream server exited before answering
inline constexpr int k_upstream_timeout = -32003; // the upstream did not answer within its timeout

struct Limits {
  size_t max_message_bytes = 16u << 20;  // 16 MiB
  size_t max_depth = 128;
};

// A decoded line: one message, or a JSON-RPC batch (a JSON array) of several.
struct Decoded {
  bool is_batch = false;
  std::vector<Message> messages;
};

class Decoder {
public:
  explicit Decoder(Limits limits = {});
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes one line (without its newline). On success the messages' trees and views stay valid
  // until the next call. If `padded` is true the caller guarantees simdjson::SIMDJSON_PADDING
  // readable bytes after `line`, which saves a copy.
  // On failure the error code is k_parse_error or k_invalid_request (or k_invalid_params) and
  // `failed_id()` holds the request's id when it could be read unambiguously, else a null id.
  Result<Decoded> decode(std::string_view line, bool padded = false);
  const Id& failed_id() const { return m_failed_id; }
  const Limits& limits() const { return m_limits; }

private:
  Result<Message> check_message(simdjson::dom::element el, std::string_view raw);
  Limits m_limits;
  simdjson::dom::parser m_parser;
  std::vector<std::string> m_member_raw;  // re-serialized batch members (their `raw`)
  Id m_failed_id;
};

// Protocol era of a version string: "2026-07-28" and later are sessionless.
Era era_of(std::string_view protocol_version);
// JSON-RPC batches exist only in protocol revision 2025-03-26.
bool batches_allowed(std::string_view protocol_version);

// Serializers for messages the warden writes itself.
std::string make_error_response(const Id& id, int code, std::string_view message,
                                std::string_view data_json = {});
// Re-serializes a checked tree compactly (used when a message is rewritten).
std::string serialize(simdjson::dom::element el);

}  // namespace warden::codec
