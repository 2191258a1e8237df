// The 2026-07-28 protocol era over Streamable HTTP ("modern", sessionless): every POST carries one
// request whose `_meta` declares the protocol version and the client's capabilities, mirrored in
// the MCP-Protocol-Version, Mcp-Method and Mcp-Name headers. There is no initialize and no session.
//
// The gateway serves such requests from one shared, gateway-initialized (2025-11-25) session per
// agent (transport/http_gateway.cpp); this file holds the transport-free parts: telling the eras
// apart, checking a request against its headers in the order the specification and the official
// conformance suite expect, and completing legacy results the way 2026-07-28 clients need them
// (`resultType`, caching hints, serverInfo in `_meta`, `server/discover`).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

#include "warden/codec/message.h"

namespace warden::gateway::modern {

inline constexpr std::string_view k_version = "2026-07-28";
inline constexpr int k_header_mismatch = -32020;
inline constexpr int k_missing_client_capability = -32021;
inline constexpr int k_unsupported_version = -32022;

// A POST belongs to the modern era when its MCP-Protocol-Version header names 2026-07-28 or a
// version no legacy client sends (checked then as unsupported), or when it has no header and no
// session and its body declares a `_meta` protocol version. A session id or a legacy version
// keeps the legacy rules; so does a header-less initialize.
bool is_modern(std::string_view header_version, bool has_session_id, std::string_view body);

// The mirrored headers as the request carried them (trimmed of surrounding whitespace), absent
// when missing.
struct Headers {
  std::optional<std::string> protocol_version, method, name;
};

struct Refusal {
  int http_status = 400;
  int code = 0;
  std::string message;
  std::string data_json;  // error.data, or empty
};

// Checks one decoded message of a modern POST: one request (no batch, no response), `_meta` with
// protocolVersion and clientCapabilities (-32602), the version header equal to it (-32020) and
// supported (-32022), Mcp-Method and, for tools/call, prompts/get and resources/read, Mcp-Name
// equal to the body (-32020; `=?base64?...?=` values decoded strictly), and a method this era has
// (404, -32601). nullopt: serve it.
std::optional<Refusal> check(const Headers& headers, const codec::Message& m);

// One of the methods a 2026-07-28 client may call here (server/discover, the tools, prompts and
// resources methods, completion/complete).
bool known_method(std::string_view method);

// The client's declared capabilities (`_meta` clientCapabilities) as compact JSON, "{}" if none.
std::string client_capabilities(const codec::Message& m);

// The methods a modern client may call that the upstream's capabilities (the legacy initialize
// result's `capabilities`) serve; false means 404 -32601 for it.
bool served(std::string_view method, simdjson::dom::element capabilities);

// A legacy response line completed for a modern client: `resultType: "complete"`, the caching
// hints on cacheable results (`ttlMs` 0, `cacheScope` "private": the gateway's answers depend on
// the agent), and `_meta` io.modelcontextprotocol/serverInfo. Error responses pass unchanged.
std::string complete_response(std::string_view line, std::string_view method, std::string_view server_info_json,
                              simdjson::dom::parser& parser);

// The server/discover result from the upstream's initialize result, or from its own discover
// result (a 2026-07-28 upstream): capabilities without the list_changed and subscribe features
// this gateway does not carry to sessionless clients (no subscriptions/listen).
std::string discover_result(simdjson::dom::element initialize_result);

// Tool arguments a tool's inputSchema marks `"x-mcp-header": "Name"`: the client mirrors their
// values in `Mcp-Param-Name` headers, which whoever reads the body must check (SEP-2243).
// tool name -> (header name in lower case, argument name)
using ParamHeaders = std::map<std::string, std::vector<std::pair<std::string, std::string>>, std::less<>>;
// Adds the tools of a tools/list result.
void collect_param_headers(simdjson::dom::element tools_list_result, ParamHeaders& out);
// A tools/call's Mcp-Param-* headers against its arguments: a value in the body needs its header,
// equal after base64 decoding (numbers compared as numbers, booleans as true/false); 400 -32020
// otherwise. `header` looks a request header up by name (any case).
std::optional<Refusal> check_param_headers(const ParamHeaders& known, const codec::Message& m,
                                           const std::function<std::optional<std::string>(std::string_view)>& header);

// The HTTP status a 2026-07-28 error response travels with: 400 for the errors this era defines
// (-32020, -32021, -32022), 404 for -32601, else 200.
int status_of_error(int code);

// 2026-07-28 clients of a 2025-era server: what the server asks during a call (sampling,
// elicitation, roots: requests to the client, which this era has no channel for) becomes an
// `input_required` result (MRTR); the client's retry with `inputResponses` and the
// `requestState` is answered to the server and the call goes on. The state is an HMAC-signed
// handle bound to the agent and the request (method and name), so a client cannot steer another's
// call or a forged state; rounds expire with the call.
class InputRounds {
public:
  InputRounds();
  struct Ask {
    std::string key;        // the inputRequests key the client answers under
    std::string server_id;  // the server request's id (JSON)
    std::string method, params;  // its method and params (JSON)
  };
  struct Held {
    std::string call_key;  // the upstream call's gateway id key
    std::string agent, method, target;
    std::vector<Ask> asks;
  };
  // Holds a call; returns the requestState for it.
  std::string hold(Held held);
  // The held call a requestState names, if it verifies and was made for this agent and request;
  // nullptr otherwise (tampered, expired, another agent's or another request's).
  Held* find(std::string_view state, std::string_view agent, std::string_view method, std::string_view target);
  void forget(std::string_view state);
  void forget_call(std::string_view call_key);  // the call ended: its rounds with it
  // The result of an input_required round for `asks`.
  static std::string result(const std::vector<Ask>& asks, const std::string& state);
  // The client capability a server request needs ("elicitation", "sampling", "roots"), or null.
  static const char* capability_for(std::string_view method);

private:
  std::string sign(std::string_view id, const Held& h) const;
  std::string m_key;  // random, per gateway process
  uint64_t m_next = 0;
  std::map<std::string, Held, std::less<>> m_held;  // by state id
};

// JSON-RPC error response with `data`.
std::string error_response(const codec::Id& id, const Refusal& r);

}  // namespace warden::gateway::modern
