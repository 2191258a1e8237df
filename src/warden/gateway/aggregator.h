// Several servers behind one MCP session: what `mcp-warden gateway` does when the policy lists two
// or more servers (or `gateway.namespace: always`).
//
// The aggregator sits between the client and one "leg" per server; each leg has its own upstream,
// filter chain and Processor, so policy, detectors, pins and audit work per server exactly as with
// one server. The aggregator only routes and merges:
//   - initialize, tools/list, prompts/list, resources/list, resources/templates/list,
//     logging/setLevel and ping go to every leg that is up; the answers are merged (capabilities
//     united, lists concatenated in policy order, names prefixed `server__name`, pagination through
//     a composite cursor) and the client gets one response;
//   - tools/call, prompts/get, completion/complete go to the leg the (prefixed) name names, with the
//     prefix removed; resources/read|subscribe|unsubscribe to the leg that listed the URI (or whose
//     template prefix matches it);
//   - requests a server sends (sampling, elicitation, roots, ping) get a gateway id, so two servers'
//     ids never collide at the client, and the client's answer goes back with the original id;
//   - notifications/cancelled follows its request; other notifications go to every leg (client to
//     servers) or to the client (servers to client).
// Anything it cannot route it refuses with a JSON-RPC error that says why. It is transport-free:
// the HTTP gateway feeds it bodies and leg output and carries out what it returns.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

#include "warden/codec/codec.h"
#include "warden/detect/shadowing.h"

namespace warden::gateway {

class Aggregator {
public:
  static constexpr std::string_view k_separator = "__";
  static constexpr std::string_view k_cursor_prefix = "mcp-warden:";

  // `servers`: the legs' names in policy order. `prefix`: the client sees `server__name` for tools
  // and prompts (resource URIs are never rewritten).
  Aggregator(std::vector<std::string> servers, bool prefix, std::string version);

  struct Out {
    std::vector<std::pair<size_t, std::string>> to_leg;  // (leg, one JSON-RPC message)
    std::vector<std::string> to_client;                  // one JSON-RPC message each
  };

  // One message (or a batch) from the client.
  void from_client(std::string_view body, Out& out);
  // One message a leg's Processor sent towards the client.
  void from_leg(size_t leg, std::string_view line, Out& out);
  // A leg's server is gone for good: fan-outs stop waiting for it, calls to it are refused.
  void leg_down(size_t leg, const std::string& how, Out& out);
  bool leg_up(size_t leg) const { return m_up.at(leg); }
  size_t legs() const { return m_servers.size(); }

  // Each leg's latest complete tools list (for cross-server shadowing). `take_tools_update` is
  // true once after a tools/list answer changed what is known.
  bool take_tools_update();
  std::vector<detect::ServerTools> tools() const;

private:
  enum class Merge { initialize, list, empty };
  struct Pending {
    codec::Id id;
    std::string method;
    Merge merge = Merge::empty;
    std::set<size_t> waiting;
    std::vector<size_t> asked;               // in policy order
    std::map<size_t, std::string> results;   // leg -> result JSON
    std::map<size_t, std::string> errors;    // leg -> error JSON
    bool first_page = true;                  // tools/list etc. without cursor
  };
  struct Routed {
    size_t leg = 0;
  };
  struct ServerRequest {
    size_t leg = 0;
    std::string original_id;  // JSON text
    std::string original_key;
  };

  void client_message(const codec::Message& m, Out& out);
  void fan_out(const codec::Message& m, Merge merge, Out& out);
  void route_to(size_t leg, const codec::Message& m, std::string line, Out& out);
  void refuse(const codec::Id& id, int code, const std::string& why, Out& out);
  void finish(Pending& p, Out& out);
  std::string merge_initialize(const Pending& p);
  std::string merge_list(Pending& p);
  // The leg a prefixed (or, without prefixes, listed) name belongs to, and the name it has there.
  bool split_name(std::string_view kind, std::string_view name, size_t& leg, std::string& local) const;
  bool leg_of_uri(std::string_view uri, size_t& leg) const;
  std::string prefixed(size_t leg, std::string_view name) const;
  const char* list_key(std::string_view method) const;

  std::vector<std::string> m_servers;
  bool m_prefix;
  std::string m_version;
  std::vector<bool> m_up;
  std::vector<std::string> m_down_reason;
  codec::Decoder m_decoder;
  simdjson::dom::parser m_parser;
  std::map<std::string, Pending> m_fanouts;       // client id key -> merge in progress
  std::map<std::string, Routed> m_routed;         // client id key -> the leg it went to
  std::map<std::string, ServerRequest> m_server_requests;  // gateway id key -> origin
  std::map<std::string, std::string> m_gateway_id;         // leg + '\n' + original key -> gateway id JSON
  uint64_t m_next_server_request = 0;
  // Where names and URIs live (from the latest lists).
  std::map<std::string, size_t> m_tool_leg, m_prompt_leg, m_uri_leg;     // unprefixed mode: name -> leg
  std::vector<std::pair<std::string, size_t>> m_template_prefixes;       // URI prefix -> leg
  std::vector<std::vector<detect::ToolRef>> m_tools;  // per leg, being assembled / complete
  bool m_tools_update = false;
};

// Compact JSON of `el` with the value at `path` (object member names) replaced by `replacement`
// (JSON text). Members keep their order; a path that does not exist leaves `el` as it was.
std::string replace_at(simdjson::dom::element el, const std::vector<std::string_view>& path,
                       std::string_view replacement);

}  // namespace warden::gateway
