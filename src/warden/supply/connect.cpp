#include "warden/supply/connect.h"

#include <map>

#include <fmt/format.h>
#include <simdjson.h>

#include "warden/codec/codec.h"
#include "warden/detect/metadata_scanner.h"
#include "warden/detect/shadowing.h"
#include "warden/gateway/upstream.h"
#include "warden/policy/model.h"
#include "warden/supply/rpc_client.h"
#include "warden/util/clock.h"
#include "warden/util/json_writer.h"

namespace warden::supply {

namespace {

constexpr int k_max_pages = 50;  // of one list, following nextCursor
constexpr std::string_view k_placeholder = "mcp-warden-scan-placeholder";

// The last non-empty line of a server's log, for a warning.
std::string last_line(const std::string& log) {
  size_t end = log.find_last_not_of(" \t\r\n");
  if (end == std::string::npos) return "";
  size_t begin = log.rfind('\n', end);
  std::string line = log.substr(begin == std::string::npos ? 0 : begin + 1, end - (begin == std::string::npos ? 0 : begin + 1) + 1);
  return detect::printable(line, 200);
}

Error failed(const RpcClient& rpc, std::string_view what) {
  std::string tail = last_line(rpc.stderr_tail());
  return Error{2, fmt::format("{} {}{}", what, rpc.failure_text(), tail.empty() ? "" : "; its last output: " + tail)};
}

// Every page of one list method, the items appended to `w` (an open array). Returns how many.
Result<size_t> list_all(RpcClient& rpc, int64_t& id, const std::string& method, const char* field,
                        util::JsonWriter& w, std::vector<std::string>& notes) {
  simdjson::dom::parser parser;
  std::string cursor;
  size_t n = 0;
  for (int page = 0; page < k_max_pages; ++page) {
    std::string params = "{}";
    if (!cursor.empty()) {
      params.clear();
      util::JsonWriter pw(params);
      pw.begin_object().key("cursor").string(cursor).end_object();
    }
    auto answer = rpc.call(++id, method, params);
    if (!answer) return failed(rpc, method + ":");
    simdjson::dom::element doc;
    if (parser.parse(*answer).get(doc) != simdjson::SUCCESS) return Error{2, method + ": the answer is not JSON"};
    if (doc["error"].error() == simdjson::SUCCESS) {
      std::string_view msg;
      (void)!doc["error"]["message"].get_string().get(msg);
      notes.push_back(fmt::format("{} answered an error: {}", method, msg));
      return n;
    }
    simdjson::dom::array items;
    if (doc["result"][field].get_array().get(items) == simdjson::SUCCESS)
      for (auto item : items) {
        w.raw(codec::serialize(item));
        ++n;
      }
    std::string_view next;
    if (doc["result"]["nextCursor"].get_string().get(next) != simdjson::SUCCESS || next.empty() || next == cursor)
      return n;
    cursor = std::string(next);
  }
  notes.push_back(fmt::format("{}: stopped after {} pages", method, k_max_pages));
  return n;
}

// Two entries with the same command line and env start the same server.
std::string server_key(const ScanServer& s) {
  std::string key = fmt::format("{}", fmt::join(s.launch, "\x1f"));
  for (const auto& e : s.env) key += "\x1e" + e.key + "=" + e.value;
  return key;
}

}  // namespace

std::string connect_env_value(const ConfigEnv& e) {
  return looks_like_secret(e.key, e.value) ? std::string(k_placeholder) : e.value;
}

Result<ServerListing> list_server(const std::string& name, const std::vector<std::string>& command,
                                  const std::vector<ConfigEnv>& env, const ConnectOptions& o) {
  if (command.empty()) return Error{2, "no command to start"};
  policy::ServerPolicy server;
  server.name = name;
  for (const auto& e : env) server.env.emplace_back(e.key, connect_env_value(e));
  policy::SandboxConfig sb;
  sb.network = policy::NetworkMode::none;  // listing needs no network: loopback only
  server.sandbox = sb;
  gateway::UpstreamOptions uo;
  uo.session = "scan";
  uo.state_dir = o.state_dir;
  uo.clock = &util::SystemClock::instance();
  auto up = gateway::Upstream::start(server, command, uo);
  if (!up) return Error{2, "could not start: " + up.error().message};
  auto& u = **up;
  ServerListing out;
  out.notes = u.warnings();
  RpcClient rpc(u.child().stdin_fd().get(), u.child().stdout_fd().get(), u.child().stderr_fd().get(), o.timeout_ms,
                /*forward_stderr=*/false);
  auto init = rpc.call(1, "initialize",
                       R"({"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"mcp-warden-scan","version":")" WARDEN_VERSION R"("}})");
  if (!init) return failed(rpc, "initialize:");
  simdjson::dom::parser parser;
  simdjson::dom::element doc, result;
  if (parser.parse(*init).get(doc) != simdjson::SUCCESS || doc["result"].get(result) != simdjson::SUCCESS ||
      !result.is_object()) {
    std::string_view msg;
    (void)!doc["error"]["message"].get_string().get(msg);
    return Error{2, fmt::format("initialize failed: {}", msg.empty() ? "no result" : msg)};
  }
  std::string_view sname, sversion, instructions;
  (void)!result["serverInfo"]["name"].get_string().get(sname);
  (void)!result["serverInfo"]["version"].get_string().get(sversion);
  bool has_instructions = result["instructions"].get_string().get(instructions) == simdjson::SUCCESS;
  out.server_name = std::string(sname);
  out.server_version = std::string(sversion);
  auto has = [&](const char* cap) { return result["capabilities"][cap].error() == simdjson::SUCCESS; };
  bool tools = has("tools"), prompts = has("prompts"), resources = has("resources");
  std::string instructions_copy(instructions);  // `result` is reused by the next parse
  if (!rpc.send(R"({"jsonrpc":"2.0","method":"notifications/initialized"})")) return failed(rpc, "initialized:");

  util::JsonWriter w(out.document);
  w.begin_object();
  int64_t id = 1;
  struct List {
    bool wanted;
    const char* method;
    const char* field;
    size_t* count;
  };
  for (const List& l : {List{tools, "tools/list", "tools", &out.tools}, List{prompts, "prompts/list", "prompts", &out.prompts},
                        List{resources, "resources/list", "resources", &out.resources},
                        List{resources, "resources/templates/list", "resourceTemplates", &out.templates}}) {
    if (!l.wanted) continue;
    w.key(l.field).begin_array();
    auto n = list_all(rpc, id, l.method, l.field, w, out.notes);
    if (!n) return n.error();
    *l.count = *n;
    w.end_array();
  }
  if (has_instructions) w.key("instructions").string(instructions_copy);
  w.end_object();
  return out;
}

Status connect_findings(const std::vector<ConnectedServer>& servers, std::vector<ScanFinding>& out) {
  auto scanner = detect::MetadataScanner::with_default_rules();
  if (!scanner) return scanner.error();
  simdjson::dom::parser parser;
  std::vector<detect::ServerTools> all;
  for (const auto& c : servers) {
    const ScanServer& s = *c.entry;
    simdjson::dom::element doc;
    if (parser.parse(c.listing.document).get(doc) != simdjson::SUCCESS) continue;
    auto rep = scanner->scan(doc);
    if (!rep) return rep.error();
    for (const auto& item : rep->items)
      for (const auto& f : item.findings)
        out.push_back({f.rule, f.severity, s.config, s.line,
                       fmt::format("server '{}' {} '{}' ({}): {}: \"{}\"", s.name,
                                   item.kind == "resource_template" ? "resource template" : item.kind, item.name,
                                   f.path, f.reason, detect::printable(f.text))});
    simdjson::dom::element tools;
    detect::ServerTools st{c.display, {}};
    if (doc["tools"].get(tools) == simdjson::SUCCESS) st.tools = detect::tool_refs(tools);
    all.push_back(std::move(st));
  }
  for (const auto& x : detect::cross_server_findings(all)) {
    const ScanServer* s = nullptr;
    for (const auto& c : servers)
      if (c.display == x.server) s = c.entry;
    if (!s) continue;
    out.push_back({x.finding.rule, x.finding.severity, s->config, s->line,
                   fmt::format("server '{}' tool '{}' ({}): shadowing across servers: {}", s->name, x.tool,
                               x.finding.path, x.finding.reason)});
  }
  return Ok{};
}

void connect_servers(ScanReport& r, const ConnectOptions& o) {
  // The same command line with the same env is one server, however many configs start it.
  std::map<std::string, size_t> first;  // key -> index in r.servers
  std::map<std::string, int> names;     // how many distinct servers use each name
  std::vector<size_t> distinct;
  for (size_t i = 0; i < r.servers.size(); ++i) {
    const auto& s = r.servers[i];
    if (s.launch.empty()) continue;
    if (first.emplace(server_key(s), i).second) {
      distinct.push_back(i);
      ++names[s.name];
    }
  }
  std::vector<ConnectedServer> connected;
  for (size_t i : distinct) {
    ScanServer& s = r.servers[i];
    s.connect.tried = true;
    auto listing = list_server(s.name, s.launch, s.env, o);
    if (!listing) {
      s.connect.problem = listing.error().message;
      r.warnings.push_back(fmt::format("{}:{}: --connect: server '{}' ({}): {} (skipped)", s.config, s.line, s.name,
                                       fmt::join(s.launch, " "), s.connect.problem));
      continue;
    }
    s.connect.ok = true;
    s.connect.tools = listing->tools;
    s.connect.prompts = listing->prompts;
    s.connect.resources = listing->resources;
    s.connect.templates = listing->templates;
    std::string display = names[s.name] > 1 ? s.config + ":" + s.name : s.name;
    connected.push_back({&s, display, std::move(*listing)});
  }
  // Entries that start a server already connected share its summary.
  for (auto& s : r.servers) {
    if (s.launch.empty() || s.connect.tried) continue;
    s.connect = r.servers[first[server_key(s)]].connect;
  }
  if (auto st = connect_findings(connected, r.findings); !st)
    r.warnings.push_back("--connect: the metadata detectors could not load: " + st.error().message);
}

}  // namespace warden::supply
