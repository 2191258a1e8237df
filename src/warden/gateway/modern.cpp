#include "warden/gateway/modern.h"

#include <algorithm>
#include <array>
#include <cstdlib>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "warden/codec/codec.h"
#include "warden/gateway/aggregator.h"
#include "warden/gateway/auth/base64url.h"
#include "warden/util/json_writer.h"
#include "warden/util/sha256.h"
#include "warden/util/strings.h"

namespace warden::gateway::modern {

namespace {

using element = simdjson::dom::element;

constexpr std::array<std::string_view, 4> k_legacy_versions = {"2024-11-05", "2025-03-26", "2025-06-18",
                                                              "2025-11-25"};
constexpr std::string_view k_meta_version = "io.modelcontextprotocol/protocolVersion";
constexpr std::string_view k_meta_capabilities = "io.modelcontextprotocol/clientCapabilities";
constexpr std::string_view k_meta_server_info = "io.modelcontextprotocol/serverInfo";

std::string quote(std::string_view s) {
  std::string out;
  util::append_json_string(out, s);
  return out;
}

std::optional<element> member(element obj, std::string_view key) {
  element v;
  if (!obj.is_object() || obj[key].get(v) != simdjson::SUCCESS) return std::nullopt;
  return v;
}

std::optional<std::string_view> string_member(element obj, std::string_view key) {
  auto v = member(obj, key);
  std::string_view s;
  if (!v || v->get_string().get(s) != simdjson::SUCCESS) return std::nullopt;
  return s;
}

Refusal mismatch(std::string message) { return {400, k_header_mismatch, "mcp-warden: " + std::move(message), {}}; }

// `=?base64?...?=` (exactly, lowercase) holds standard base64 with padding; anything else is the
// value itself. nullopt: the marker is there and what it wraps is not strict base64.
std::optional<std::string> header_value(const std::string& v) {
  constexpr std::string_view open = "=?base64?", close = "?=";
  if (v.size() < open.size() + close.size() || !v.starts_with(open) || !v.ends_with(close)) return v;
  std::string b = v.substr(open.size(), v.size() - open.size() - close.size());
  if (b.size() % 4 != 0) return std::nullopt;
  size_t pad = b.size() - b.find_last_not_of('=') - 1;
  if (b.empty() || pad > 2) return b.empty() ? std::optional<std::string>("") : std::nullopt;
  b.resize(b.size() - pad);
  for (char& c : b) {
    if (c == '-' || c == '_' || c == '=') return std::nullopt;  // not the standard alphabet
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  return auth::base64url_decode(b);
}

bool is_cacheable(std::string_view method) {
  return method == "tools/list" || method == "prompts/list" || method == "resources/list" ||
         method == "resources/templates/list" || method == "resources/read";
}

}  // namespace

bool is_modern(std::string_view header_version, bool has_session_id, std::string_view body) {
  if (has_session_id) return false;
  if (!header_version.empty())
    return std::find(k_legacy_versions.begin(), k_legacy_versions.end(), header_version) == k_legacy_versions.end();
  return body.find(k_meta_version) != std::string_view::npos &&
         body.find(R"("method":"initialize")") == std::string_view::npos;
}

std::optional<Refusal> check(const Headers& h, const codec::Message& m) {
  if (m.kind == codec::Kind::response || m.kind == codec::Kind::error_response)
    return Refusal{400, codec::k_invalid_request, "mcp-warden: clients send no responses in protocol 2026-07-28", {}};
  std::optional<element> meta = m.has_params ? member(m.params, "_meta") : std::nullopt;
  std::optional<std::string_view> version = meta ? string_member(*meta, k_meta_version) : std::nullopt;
  std::optional<element> caps = meta ? member(*meta, k_meta_capabilities) : std::nullopt;
  if (!version || !caps || !caps->is_object())
    return Refusal{400, codec::k_invalid_params,
                   fmt::format("mcp-warden: params._meta needs {} and {} (an object) in protocol {}", k_meta_version,
                               k_meta_capabilities, k_version),
                   {}};
  if (!h.protocol_version)
    return mismatch(fmt::format("the MCP-Protocol-Version header is missing (the body says {})", *version));
  if (*h.protocol_version != *version)
    return mismatch(fmt::format("MCP-Protocol-Version header '{}' does not match params._meta {} '{}'",
                                *h.protocol_version, k_meta_version, *version));
  if (*version != k_version)
    return Refusal{400, k_unsupported_version,
                   fmt::format("mcp-warden: unsupported protocol version '{}'", *version),
                   fmt::format(R"({{"supported":["{}"],"requested":{}}})", k_version, quote(*version))};
  if (!h.method) return mismatch(fmt::format("the Mcp-Method header is missing (the body's method is {})", m.method));
  if (*h.method != m.method)
    return mismatch(fmt::format("Mcp-Method header '{}' does not match the body's method '{}'", *h.method, m.method));
  if (m.method == "tools/call" || m.method == "prompts/get" || m.method == "resources/read") {
    const char* field = m.method == "resources/read" ? "uri" : "name";
    if (!h.name) return mismatch(fmt::format("the Mcp-Name header is missing ({} needs params.{})", m.method, field));
    auto decoded = header_value(*h.name);
    if (!decoded) return mismatch("the Mcp-Name header's =?base64?...?= value is not valid base64");
    auto body = string_member(m.params, field);
    if (!body || *decoded != *body)
      return mismatch(fmt::format("Mcp-Name header does not match params.{} of the body", field));
  }
  if (!known_method(m.method))
    return Refusal{404, codec::k_method_not_found,
                   fmt::format("mcp-warden: method '{}' is not served in protocol {}", m.method, k_version), {}};
  return std::nullopt;
}

bool known_method(std::string_view method) {
  static constexpr std::string_view k_methods[] = {
      "server/discover", "tools/list",    "tools/call", "prompts/list", "prompts/get", "resources/list",
      "resources/templates/list", "resources/read", "completion/complete"};
  return std::find(std::begin(k_methods), std::end(k_methods), method) != std::end(k_methods);
}

std::string client_capabilities(const codec::Message& m) {
  std::optional<element> meta = m.has_params ? member(m.params, "_meta") : std::nullopt;
  std::optional<element> caps = meta ? member(*meta, k_meta_capabilities) : std::nullopt;
  return caps && caps->is_object() ? simdjson::minify(*caps) : "{}";
}

bool served(std::string_view method, element capabilities) {
  auto has = [&](std::string_view cap) { return member(capabilities, cap).has_value(); };
  if (method.starts_with("tools/")) return has("tools");
  if (method.starts_with("prompts/")) return has("prompts");
  if (method.starts_with("resources/")) return has("resources");
  if (method == "completion/complete") return has("completions");
  return true;
}

std::string complete_response(std::string_view line, std::string_view method, std::string_view server_info_json,
                              simdjson::dom::parser& parser) {
  element root;
  if (parser.parse(line.data(), line.size()).get(root) != simdjson::SUCCESS) return std::string(line);
  auto result = member(root, "result");
  if (!result || !result->is_object()) return std::string(line);
  std::string out = "{";
  bool has_type = false, has_ttl = false, has_scope = false, has_meta = false;
  for (auto field : result->get_object()) {
    if (out.size() > 1) out += ',';
    util::append_json_string(out, field.key);
    out += ':';
    has_type |= field.key == "resultType";
    has_ttl |= field.key == "ttlMs";
    has_scope |= field.key == "cacheScope";
    if (field.key == "_meta" && field.value.is_object() && !server_info_json.empty()) {
      has_meta = true;
      std::string meta = simdjson::minify(field.value);
      bool empty = meta == "{}";
      if (!member(field.value, k_meta_server_info))
        meta = meta.substr(0, meta.size() - 1) + (empty ? "" : ",") + quote(k_meta_server_info) + ":" +
               std::string(server_info_json) + "}";
      out += meta;
    } else {
      out += simdjson::minify(field.value);
    }
  }
  auto add = [&](std::string_view kv) { out += (out.size() > 1 ? "," : "") + std::string(kv); };
  if (!has_type) add(R"("resultType":"complete")");
  if (is_cacheable(method)) {
    if (!has_ttl) add(R"("ttlMs":0)");
    if (!has_scope) add(R"("cacheScope":"private")");
  }
  if (!has_meta && !server_info_json.empty())
    add(fmt::format(R"("_meta":{{{}:{}}})", quote(k_meta_server_info), server_info_json));
  out += '}';
  return replace_at(root, {"result"}, out);
}

std::string discover_result(element init) {
  std::string caps = "{";
  if (auto c = member(init, "capabilities"); c && c->is_object())
    for (auto cap : c->get_object()) {
      // Nothing carries list_changed, resource updates or log messages to a sessionless client
      // here (no subscriptions/listen, no logLevel), so they are not advertised.
      if (cap.key == "logging") continue;
      if (caps.size() > 1) caps += ',';
      util::append_json_string(caps, cap.key);
      caps += ':';
      if (!cap.value.is_object()) {
        caps += simdjson::minify(cap.value);
        continue;
      }
      std::string inner = "{";
      for (auto f : cap.value.get_object()) {
        if (f.key == "listChanged" || f.key == "subscribe") continue;
        if (inner.size() > 1) inner += ',';
        util::append_json_string(inner, f.key);
        inner += ':';
        inner += simdjson::minify(f.value);
      }
      caps += inner + "}";
    }
  caps += '}';
  std::string out = fmt::format(R"({{"supportedVersions":["{}","2025-11-25","2025-06-18","2025-03-26"],"capabilities":{})",
                                k_version, caps);
  if (auto i = string_member(init, "instructions")) out += R"(,"instructions":)" + quote(*i);
  std::optional<element> si = member(init, "serverInfo");  // a legacy initialize result
  element modern_info;                                       // or a 2026-07-28 discover result
  if (!si && init.at_pointer("/_meta/io.modelcontextprotocol~1serverInfo").get(modern_info) == simdjson::SUCCESS)
    si = modern_info;
  if (si) out += fmt::format(R"(,"_meta":{{{}:{}}})", quote(k_meta_server_info), simdjson::minify(*si));
  return out + R"(,"ttlMs":0,"cacheScope":"private","resultType":"complete"})";
}

void collect_param_headers(element result, ParamHeaders& out) {
  simdjson::dom::array tools;
  if (result["tools"].get_array().get(tools) != simdjson::SUCCESS) return;
  for (element t : tools) {
    auto name = string_member(t, "name");
    element props;
    if (!name || t.at_pointer("/inputSchema/properties").get(props) != simdjson::SUCCESS || !props.is_object()) continue;
    std::vector<std::pair<std::string, std::string>> params;
    for (auto p : props.get_object())
      if (auto h = string_member(p.value, "x-mcp-header"); h && !h->empty())
        params.emplace_back("mcp-param-" + util::to_lower(*h), std::string(p.key));
    if (params.empty()) out.erase(std::string(*name));
    else out[std::string(*name)] = std::move(params);
  }
}

std::optional<Refusal> check_param_headers(const ParamHeaders& known, const codec::Message& m,
                                           const std::function<std::optional<std::string>(std::string_view)>& header) {
  auto it = known.find(m.target);
  if (it == known.end()) return std::nullopt;
  std::optional<element> args = m.has_params ? member(m.params, "arguments") : std::nullopt;
  for (const auto& [name, arg] : it->second) {
    std::optional<element> v = args ? member(*args, arg) : std::nullopt;
    if (!v || v->is_null()) continue;  // no value: no header expected
    std::optional<std::string> h = header(name);
    if (!h) return mismatch(fmt::format("the {} header is missing (argument '{}' is in the body)", name, arg));
    auto decoded = header_value(*h);
    if (!decoded) return mismatch(fmt::format("the {} header's =?base64?...?= value is not valid base64", name));
    bool same = false;
    std::string_view sv;
    double d = 0;
    bool b = false;
    if (v->get_string().get(sv) == simdjson::SUCCESS) {
      same = *decoded == sv;
    } else if (v->get_double().get(d) == simdjson::SUCCESS) {
      char* end = nullptr;
      double hd = std::strtod(decoded->c_str(), &end);
      same = !decoded->empty() && end == decoded->c_str() + decoded->size() && hd == d;
    } else if (v->get_bool().get(b) == simdjson::SUCCESS) {
      same = *decoded == (b ? "true" : "false");
    } else {
      continue;  // objects and arrays are not mirrored
    }
    if (!same) return mismatch(fmt::format("the {} header does not match argument '{}' of the body", name, arg));
  }
  return std::nullopt;
}

int status_of_error(int code) {
  if (code == k_header_mismatch || code == k_missing_client_capability || code == k_unsupported_version) return 400;
  if (code == codec::k_method_not_found) return 404;
  return 200;
}

InputRounds::InputRounds() {
  unsigned char key[32];
  if (RAND_bytes(key, sizeof key) != 1) std::abort();  // no randomness, no unforgeable state
  m_key.assign(reinterpret_cast<const char*>(key), sizeof key);
}

std::string InputRounds::sign(std::string_view id, const Held& h) const {
  std::string data = fmt::format("{}\n{}\n{}\n{}", id, h.agent, h.method, h.target);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), m_key.data(), static_cast<int>(m_key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac, &n);
  return util::to_hex(mac, n);
}

std::string InputRounds::hold(Held held) {
  std::string id = fmt::format("{:x}", ++m_next);
  std::string state = "mcp-warden." + id + "." + sign(id, held);
  m_held[id] = std::move(held);
  return state;
}

InputRounds::Held* InputRounds::find(std::string_view state, std::string_view agent, std::string_view method,
                                     std::string_view target) {
  constexpr std::string_view prefix = "mcp-warden.";
  if (!state.starts_with(prefix)) return nullptr;
  std::string_view rest = state.substr(prefix.size());
  size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return nullptr;
  auto it = m_held.find(rest.substr(0, dot));
  if (it == m_held.end()) return nullptr;
  std::string want = sign(it->first, it->second);
  std::string_view got = rest.substr(dot + 1);
  if (got.size() != want.size() || CRYPTO_memcmp(got.data(), want.data(), want.size()) != 0) return nullptr;
  const Held& h = it->second;
  if (h.agent != agent || h.method != method || h.target != target) return nullptr;
  return &it->second;
}

void InputRounds::forget(std::string_view state) {
  constexpr std::string_view prefix = "mcp-warden.";
  if (!state.starts_with(prefix)) return;
  std::string_view rest = state.substr(prefix.size());
  if (auto it = m_held.find(rest.substr(0, rest.find('.'))); it != m_held.end()) m_held.erase(it);
}

void InputRounds::forget_call(std::string_view call_key) {
  std::erase_if(m_held, [&](const auto& kv) { return kv.second.call_key == call_key; });
}

std::string InputRounds::result(const std::vector<Ask>& asks, const std::string& state) {
  std::string requests = "{";
  for (const auto& a : asks) {
    if (requests.size() > 1) requests += ',';
    requests += quote(a.key) + fmt::format(R"(:{{"method":{},"params":{}}})", quote(a.method), a.params);
  }
  return fmt::format(R"({{"resultType":"input_required","inputRequests":{}}},"requestState":{}}})", requests,
                     quote(state));
}

const char* InputRounds::capability_for(std::string_view method) {
  if (method == "elicitation/create") return "elicitation";
  if (method == "sampling/createMessage") return "sampling";
  if (method == "roots/list") return "roots";
  return nullptr;
}

std::string error_response(const codec::Id& id, const Refusal& r) {
  return codec::make_error_response(id, r.code, r.message, r.data_json);
}

}  // namespace warden::gateway::modern
