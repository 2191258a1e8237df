#include "warden/gateway/aggregator.h"

#include <algorithm>

#include <fmt/format.h>

#include "warden/util/json_writer.h"

namespace warden::gateway {

namespace {

using simdjson::dom::element;

std::string json_string(std::string_view s) {
  std::string out;
  util::append_json_string(out, s);
  return out;
}

// A JSON-RPC id value (string or integer; anything else is Type::null).
codec::Id id_value(element v) {
  codec::Id id;
  id.type = codec::Id::Type::null;
  if (int64_t i; v.get_int64().get(i) == simdjson::SUCCESS) {
    id.type = codec::Id::Type::integer;
    id.integer = i;
  } else if (std::string_view s; v.get_string().get(s) == simdjson::SUCCESS) {
    id.type = codec::Id::Type::string;
    id.string = std::string(s);
  }
  return id;
}

// The id of a message a leg sent (already checked by its Processor): none if it has none.
codec::Id id_of(element root) {
  element v;
  if (root["id"].get(v) != simdjson::SUCCESS) return {};
  return id_value(v);
}

std::string_view str_at(element el, std::string_view key) {
  std::string_view s;
  if (el.is_object() && el[key].get_string().get(s) == simdjson::SUCCESS) return s;
  return {};
}

bool is_fan_out_list(std::string_view method) {
  return method == "tools/list" || method == "prompts/list" || method == "resources/list" ||
         method == "resources/templates/list";
}

}  // namespace

std::string replace_at(element el, const std::vector<std::string_view>& path, std::string_view replacement) {
  if (path.empty()) return std::string(replacement);
  if (!el.is_object()) return simdjson::minify(el);
  std::string out = "{";
  bool first = true;
  std::vector<std::string_view> rest(path.begin() + 1, path.end());
  for (auto field : el.get_object()) {
    if (!first) out += ',';
    first = false;
    util::append_json_string(out, field.key);
    out += ':';
    out += field.key == path.front() ? replace_at(field.value, rest, replacement) : simdjson::minify(field.value);
  }
  return out + "}";
}

Aggregator::Aggregator(std::vector<std::string> servers, bool prefix, std::string version)
    : m_servers(std::move(servers)), m_prefix(prefix), m_version(std::move(version)),
      m_up(m_servers.size(), true), m_down_reason(m_servers.size()), m_tools(m_servers.size()) {}

// ---- client -> servers ---------------------------------------------------------------------------

void Aggregator::from_client(std::string_view body, Out& out) {
  auto decoded = m_decoder.decode(body, false);
  if (!decoded) {
    // The first leg's Processor refuses it, with the audit record and the right error.
    out.to_leg.emplace_back(0, std::string(body));
    return;
  }
  for (const auto& m : decoded->messages) client_message(m, out);
}

void Aggregator::refuse(const codec::Id& id, int code, const std::string& why, Out& out) {
  if (id.type == codec::Id::Type::none) return;  // a notification gets no answer
  out.to_client.push_back(codec::make_error_response(id, code, "mcp-warden gateway: " + why));
}

void Aggregator::route_to(size_t leg, const codec::Message& m, std::string line, Out& out) {
  if (!m_up[leg]) {
    refuse(m.id, codec::k_server_exited,
           fmt::format("server '{}' is down ({})", m_servers[leg], m_down_reason[leg]), out);
    return;
  }
  if (m.kind == codec::Kind::request) m_routed[m.id.key()] = Routed{leg};
  out.to_leg.emplace_back(leg, std::move(line));
}

void Aggregator::client_message(const codec::Message& m, Out& out) {
  const std::string& method = m.method;
  if (m.kind == codec::Kind::response || m.kind == codec::Kind::error_response) {
    // The answer to a server's request: back to that server with its own id.
    auto it = m_server_requests.find(m.id.key());
    if (it == m_server_requests.end()) {
      out.to_leg.emplace_back(0, std::string(m.raw));  // unmatched: leg 0's Processor refuses it
      return;
    }
    ServerRequest sr = it->second;
    m_server_requests.erase(it);
    m_gateway_id.erase(std::to_string(sr.leg) + '\n' + sr.original_key);
    out.to_leg.emplace_back(sr.leg, replace_at(m.root, {"id"}, sr.original_id));
    return;
  }
  if (m.kind == codec::Kind::notification) {
    if (method == "notifications/cancelled") {
      element rid;
      codec::Id target;
      if (m.has_params && m.params["requestId"].get(rid) == simdjson::SUCCESS) target = id_value(rid);
      std::string key = target.key();
      if (auto r = m_routed.find(key); r != m_routed.end()) {
        out.to_leg.emplace_back(r->second.leg, std::string(m.raw));
      } else if (auto f = m_fanouts.find(key); f != m_fanouts.end()) {
        for (size_t leg : f->second.waiting) out.to_leg.emplace_back(leg, std::string(m.raw));
      }
      return;  // a cancellation of nothing in flight is dropped, as the protocol allows
    }
    for (size_t leg = 0; leg < m_servers.size(); ++leg)
      if (m_up[leg]) out.to_leg.emplace_back(leg, std::string(m.raw));
    return;
  }

  // Requests.
  if (method == "initialize") return fan_out(m, Merge::initialize, out);
  if (is_fan_out_list(method)) return fan_out(m, Merge::list, out);
  if (method == "ping" || method == "logging/setLevel") return fan_out(m, Merge::empty, out);

  if (method == "tools/call" || method == "prompts/get") {
    size_t leg = 0;
    std::string local;
    const char* kind = method == "tools/call" ? "tool" : "prompt";
    if (!split_name(kind, m.target, leg, local))
      return refuse(m.id, codec::k_invalid_params,
                    fmt::format("no server offers the {} '{}'{}", kind, m.target,
                                m_prefix ? " (names here are SERVER__NAME)" : " (list them first)"),
                    out);
    return route_to(leg, m, replace_at(m.root, {"params", "name"}, json_string(local)), out);
  }
  if (method == "completion/complete") {
    element ref;
    if (m.has_params && m.params["ref"].get(ref) == simdjson::SUCCESS && ref.is_object()) {
      std::string_view type = str_at(ref, "type");
      size_t leg = 0;
      if (type == "ref/prompt") {
        std::string local;
        if (split_name("prompt", str_at(ref, "name"), leg, local))
          return route_to(leg, m, replace_at(m.root, {"params", "ref", "name"}, json_string(local)), out);
      } else if (type == "ref/resource") {
        if (leg_of_uri(str_at(ref, "uri"), leg)) return route_to(leg, m, std::string(m.raw), out);
      }
    }
    return refuse(m.id, codec::k_invalid_params, "completion/complete names no prompt or resource a server offers", out);
  }
  if (method == "resources/read" || method == "resources/subscribe" || method == "resources/unsubscribe") {
    size_t leg = 0;
    if (!leg_of_uri(m.target, leg))
      return refuse(m.id, codec::k_invalid_params,
                    fmt::format("no server listed the resource '{}' (list resources first)", m.target), out);
    return route_to(leg, m, std::string(m.raw), out);
  }
  refuse(m.id, codec::k_method_not_found,
         fmt::format("'{}' cannot be routed to one of several servers", method), out);
}

void Aggregator::fan_out(const codec::Message& m, Merge merge, Out& out) {
  Pending p;
  p.id = m.id;
  p.method = m.method;
  p.merge = merge;
  // A composite cursor names the legs that have more and each one's own cursor.
  std::map<size_t, std::string> cursors;
  if (merge == Merge::list && m.has_params) {
    std::string_view cursor = str_at(m.params, "cursor");
    if (!cursor.empty()) {
      p.first_page = false;
      element parsed;
      std::string inner(cursor.substr(std::min(cursor.size(), k_cursor_prefix.size())));
      if (cursor.substr(0, k_cursor_prefix.size()) != k_cursor_prefix ||
          m_parser.parse(inner).get(parsed) != simdjson::SUCCESS || !parsed.is_object())
        return refuse(m.id, codec::k_invalid_params, "this cursor did not come from this gateway", out);
      for (auto field : parsed.get_object()) {
        auto it = std::find(m_servers.begin(), m_servers.end(), field.key);
        std::string_view c;
        if (it == m_servers.end() || field.value.get_string().get(c) != simdjson::SUCCESS)
          return refuse(m.id, codec::k_invalid_params, "this cursor did not come from this gateway", out);
        cursors[static_cast<size_t>(it - m_servers.begin())] = std::string(c);
      }
    }
  }
  for (size_t leg = 0; leg < m_servers.size(); ++leg) {
    if (!m_up[leg]) continue;
    if (!p.first_page && !cursors.count(leg)) continue;
    std::string line = p.first_page ? std::string(m.raw)
                                    : replace_at(m.root, {"params", "cursor"}, json_string(cursors[leg]));
    p.waiting.insert(leg);
    p.asked.push_back(leg);
    out.to_leg.emplace_back(leg, std::move(line));
  }
  if (merge == Merge::list && p.first_page) {
    if (m.method == "tools/list")
      for (size_t leg : p.asked) m_tools[leg].clear();
  }
  if (p.asked.empty()) return refuse(m.id, codec::k_server_exited, "every server is down", out);
  m_fanouts[m.id.key()] = std::move(p);
}

// ---- servers -> client ---------------------------------------------------------------------------

void Aggregator::from_leg(size_t leg, std::string_view line, Out& out) {
  element root;
  if (m_parser.parse(line).get(root) != simdjson::SUCCESS || !root.is_object()) {
    out.to_client.emplace_back(line);
    return;
  }
  std::string_view method = str_at(root, "method");
  codec::Id id = id_of(root);
  if (method.empty()) {
    // A response (the Processor's own refusals included).
    std::string key = id.key();
    if (auto r = m_routed.find(key); r != m_routed.end() && r->second.leg == leg) {
      m_routed.erase(r);
      out.to_client.emplace_back(line);
      return;
    }
    auto f = m_fanouts.find(key);
    if (f == m_fanouts.end() || !f->second.waiting.count(leg)) {
      out.to_client.emplace_back(line);  // e.g. a refusal of an unparsable line (null id)
      return;
    }
    Pending& p = f->second;
    p.waiting.erase(leg);
    element v;
    if (root["result"].get(v) == simdjson::SUCCESS) p.results[leg] = simdjson::minify(v);
    else if (root["error"].get(v) == simdjson::SUCCESS) p.errors[leg] = simdjson::minify(v);
    if (p.waiting.empty()) {
      finish(p, out);
      m_fanouts.erase(f);
    }
    return;
  }
  if (id.type == codec::Id::Type::string || id.type == codec::Id::Type::integer) {
    // A request from the server: give it an id no other server can also be using.
    std::string gid = json_string(fmt::format("{}.{}", ++m_next_server_request, m_servers[leg]));
    codec::Id gateway_id;
    gateway_id.type = codec::Id::Type::string;
    gateway_id.string = fmt::format("{}.{}", m_next_server_request, m_servers[leg]);
    m_server_requests[gateway_id.key()] = ServerRequest{leg, id.to_json(), id.key()};
    m_gateway_id[std::to_string(leg) + '\n' + id.key()] = gid;
    out.to_client.push_back(replace_at(root, {"id"}, gid));
    return;
  }
  if (method == "notifications/cancelled") {
    // The server withdraws a request it sent: name it by the id the client knows.
    element rid, params;
    if (root["params"].get(params) == simdjson::SUCCESS && params["requestId"].get(rid) == simdjson::SUCCESS) {
      codec::Id orig = id_value(rid);
      auto g = m_gateway_id.find(std::to_string(leg) + '\n' + orig.key());
      if (g == m_gateway_id.end()) return;  // nothing the client knows of
      out.to_client.push_back(replace_at(root, {"params", "requestId"}, g->second));
      return;
    }
  }
  out.to_client.emplace_back(line);
}

void Aggregator::leg_down(size_t leg, const std::string& how, Out& out) {
  if (!m_up[leg]) return;
  m_up[leg] = false;
  m_down_reason[leg] = how;
  m_tools[leg].clear();
  m_tools_update = true;
  for (auto it = m_fanouts.begin(); it != m_fanouts.end();) {
    Pending& p = it->second;
    if (p.waiting.erase(leg) && p.waiting.empty()) {
      finish(p, out);
      it = m_fanouts.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = m_routed.begin(); it != m_routed.end();) {
    if (it->second.leg == leg) {
      // The key is Id::key(); the leg's Processor answers these itself on exit, so only forget.
      it = m_routed.erase(it);
    } else {
      ++it;
    }
  }
}

void Aggregator::finish(Pending& p, Out& out) {
  if (p.results.empty()) {
    // Nobody answered with a result: pass the first error on (or say every server is down).
    for (size_t leg : p.asked)
      if (auto e = p.errors.find(leg); e != p.errors.end()) {
        out.to_client.push_back(fmt::format(R"({{"jsonrpc":"2.0","id":{},"error":{}}})", p.id.to_json(), e->second));
        return;
      }
    return refuse(p.id, codec::k_server_exited, "every server is down", out);
  }
  std::string result;
  switch (p.merge) {
    case Merge::initialize: result = merge_initialize(p); break;
    case Merge::list: result = merge_list(p); break;
    case Merge::empty: result = "{}"; break;
  }
  out.to_client.push_back(fmt::format(R"({{"jsonrpc":"2.0","id":{},"result":{}}})", p.id.to_json(), result));
}

std::string Aggregator::merge_initialize(const Pending& p) {
  std::string version;
  std::vector<std::string> cap_order;
  std::map<std::string, std::vector<std::string>> member_order;
  std::map<std::string, std::map<std::string, std::string>> members;  // capability -> member -> JSON
  std::map<std::string, std::string> scalar_caps;                     // capability that is not an object
  std::string instructions;
  for (size_t leg : p.asked) {
    auto r = p.results.find(leg);
    if (r == p.results.end()) continue;
    element res;
    if (m_parser.parse(r->second).get(res) != simdjson::SUCCESS || !res.is_object()) continue;
    std::string_view v = str_at(res, "protocolVersion");
    // Every server answered the client's version or an older one: the oldest is what all speak.
    if (!v.empty() && (version.empty() || v < version)) version = std::string(v);
    element caps;
    if (res["capabilities"].get(caps) == simdjson::SUCCESS && caps.is_object()) {
      for (auto cap : caps.get_object()) {
        std::string name(cap.key);
        if (!members.count(name) && !scalar_caps.count(name)) cap_order.push_back(name);
        if (!cap.value.is_object()) {
          scalar_caps.emplace(name, simdjson::minify(cap.value));
          continue;
        }
        auto& mem = members[name];
        for (auto f : cap.value.get_object()) {
          std::string k(f.key);
          bool b = false;
          if (!mem.count(k)) {
            member_order[name].push_back(k);
            mem[k] = simdjson::minify(f.value);
          } else if (f.value.get_bool().get(b) == simdjson::SUCCESS && b) {
            mem[k] = "true";  // listChanged / subscribe: true if any server supports it
          }
        }
      }
    }
    std::string_view ins = str_at(res, "instructions");
    if (!ins.empty()) {
      if (!instructions.empty()) instructions += "\n\n";
      instructions += fmt::format("[{}] {}", m_servers[leg], ins);
    }
  }
  std::string caps = "{";
  for (size_t i = 0; i < cap_order.size(); ++i) {
    const std::string& name = cap_order[i];
    if (i) caps += ',';
    util::append_json_string(caps, name);
    caps += ':';
    if (auto s = scalar_caps.find(name); s != scalar_caps.end() && !members.count(name)) {
      caps += s->second;
      continue;
    }
    caps += '{';
    const auto& order = member_order[name];
    for (size_t j = 0; j < order.size(); ++j) {
      if (j) caps += ',';
      util::append_json_string(caps, order[j]);
      caps += ':';
      caps += members[name][order[j]];
    }
    caps += '}';
  }
  caps += '}';
  std::string result = fmt::format(R"({{"protocolVersion":{},"capabilities":{},"serverInfo":{{"name":"mcp-warden-gateway","version":{}}})",
                                   json_string(version), caps, json_string(m_version));
  if (!instructions.empty()) result += ",\"instructions\":" + json_string(instructions);
  return result + "}";
}

const char* Aggregator::list_key(std::string_view method) const {
  if (method == "tools/list") return "tools";
  if (method == "prompts/list") return "prompts";
  if (method == "resources/list") return "resources";
  return "resourceTemplates";
}

std::string Aggregator::prefixed(size_t leg, std::string_view name) const {
  return m_prefix ? fmt::format("{}{}{}", m_servers[leg], k_separator, name) : std::string(name);
}

std::string Aggregator::merge_list(Pending& p) {
  const char* key = list_key(p.method);
  std::string items;
  std::string next;  // composite cursor members
  for (size_t leg : p.asked) {
    auto r = p.results.find(leg);
    if (r == p.results.end()) continue;
    element res, arr;
    if (m_parser.parse(r->second).get(res) != simdjson::SUCCESS || !res.is_object()) continue;
    if (res[key].get(arr) == simdjson::SUCCESS && arr.is_array()) {
      for (auto item : arr.get_array()) {
        if (!items.empty()) items += ',';
        std::string_view name = str_at(item, "name");
        if (p.method == "tools/list" || p.method == "prompts/list") {
          if (p.method == "tools/list") {
            detect::ToolRef t;
            t.name = std::string(name);
            t.description = std::string(str_at(item, "description"));
            m_tools[leg].push_back(std::move(t));
            if (!m_prefix) m_tool_leg.emplace(std::string(name), leg);
          } else if (!m_prefix) {
            m_prompt_leg.emplace(std::string(name), leg);
          }
          items += m_prefix && item.is_object() && !name.empty()
                       ? replace_at(item, {"name"}, json_string(prefixed(leg, name)))
                       : simdjson::minify(item);
        } else {
          if (p.method == "resources/list") {
            std::string_view uri = str_at(item, "uri");
            if (!uri.empty()) m_uri_leg[std::string(uri)] = leg;
          } else {
            std::string_view tmpl = str_at(item, "uriTemplate");
            std::string prefix(tmpl.substr(0, tmpl.find('{')));
            if (!prefix.empty()) {
              auto same = std::find_if(m_template_prefixes.begin(), m_template_prefixes.end(),
                                       [&](const auto& e) { return e.first == prefix; });
              if (same == m_template_prefixes.end()) m_template_prefixes.emplace_back(prefix, leg);
            }
          }
          items += simdjson::minify(item);
        }
      }
    }
    std::string_view cursor = str_at(res, "nextCursor");
    if (!cursor.empty()) {
      if (!next.empty()) next += ',';
      util::append_json_string(next, m_servers[leg]);
      next += ':';
      util::append_json_string(next, cursor);
    }
  }
  if (p.method == "tools/list") m_tools_update = true;
  std::string result = fmt::format(R"({{"{}":[{}])", key, items);
  if (!next.empty()) result += ",\"nextCursor\":" + json_string(std::string(k_cursor_prefix) + "{" + next + "}");
  return result + "}";
}

bool Aggregator::split_name(std::string_view kind, std::string_view name, size_t& leg, std::string& local) const {
  if (!m_prefix) {
    const auto& where = kind == "tool" ? m_tool_leg : m_prompt_leg;
    auto it = where.find(std::string(name));
    if (it == where.end()) return false;
    leg = it->second;
    local = std::string(name);
    return true;
  }
  // The longest server name that prefixes it, so "a__b" and "a" never confuse "a__b__tool".
  size_t best = 0;
  bool found = false;
  for (size_t i = 0; i < m_servers.size(); ++i) {
    const std::string& s = m_servers[i];
    if (name.size() > s.size() + k_separator.size() && name.substr(0, s.size()) == s &&
        name.substr(s.size(), k_separator.size()) == k_separator && (!found || s.size() > m_servers[best].size())) {
      best = i;
      found = true;
    }
  }
  if (!found) return false;
  leg = best;
  local = std::string(name.substr(m_servers[best].size() + k_separator.size()));
  return true;
}

bool Aggregator::leg_of_uri(std::string_view uri, size_t& leg) const {
  if (auto it = m_uri_leg.find(std::string(uri)); it != m_uri_leg.end()) {
    leg = it->second;
    return true;
  }
  size_t best_len = 0;
  bool found = false;
  for (const auto& [prefix, l] : m_template_prefixes)
    if (uri.substr(0, prefix.size()) == prefix && prefix.size() > best_len) {
      best_len = prefix.size();
      leg = l;
      found = true;
    }
  return found;
}

bool Aggregator::take_tools_update() {
  bool u = m_tools_update;
  m_tools_update = false;
  return u;
}

std::vector<detect::ServerTools> Aggregator::tools() const {
  std::vector<detect::ServerTools> out;
  for (size_t leg = 0; leg < m_servers.size(); ++leg)
    if (m_up[leg]) out.push_back({m_servers[leg], m_tools[leg]});
  return out;
}

}  // namespace warden::gateway
