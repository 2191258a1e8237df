// `mcp-warden probe [--policy FILE] [--format F] -- CMD [ARGS...]`: active canary testing.
// The server runs in the sandbox with every egress captured by the guard in sink mode (every name
// resolves, every request is inspected and answered with a plausible 200, nothing leaves). Each
// tool is called with canary arguments made from its input schema (unique strings, addresses and
// URLs at a canary domain); the report says where each canary went, every host and DNS name the
// server contacted, identifiers it sent that no argument carried (the extra recipient), accesses
// the sandbox denied as the results reported them, and what the metadata detectors find in its
// tool list and results.
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <map>
#include <random>
#include <set>

#include <fmt/format.h>
#include <simdjson.h>

#include "warden/cli/cli.h"
#include "warden/cli/commands.h"
#include "warden/cli/sarif.h"
#include "warden/codec/codec.h"
#include "warden/detect/metadata_scanner.h"
#include "warden/egress/identifiers.h"
#include "warden/gateway/upstream.h"
#include "warden/policy/policy.h"
#include "warden/supply/rpc_client.h"
#include "warden/util/clock.h"
#include "warden/util/json_writer.h"
#include "warden/util/strings.h"

namespace warden::cli {

namespace {

constexpr std::string_view k_canary_domain = "canary.mcp-warden.test";

struct ProbeOptions {
  std::string policy_path, format = "table", fail_on = "medium";
  int timeout_ms = 15000;
};

struct ProbeFinding {
  std::string rule;
  core::Severity severity;
  std::string tool;  // or "" for the server as a whole
  std::string message;
};

using supply::RpcClient;

// Canary arguments for one tool's input schema. Every value is unique to (tool, property).
struct Canaries {
  std::string args_json;
  std::map<std::string, std::string> values;  // canary value -> "tool.property"
};

class CanaryMaker {
public:
  explicit CanaryMaker(std::string tag) : m_tag(std::move(tag)) {}

  Canaries make(const std::string& tool, simdjson::dom::element schema) {
    Canaries c;
    util::JsonWriter w(c.args_json);
    value(tool, "", schema, w, c, 0);
    if (c.args_json.empty() || c.args_json[0] != '{') c.args_json = "{}";
    return c;
  }

private:
  std::string unique(const std::string& tool, const std::string& prop) {
    return fmt::format("{}{}-{}", util::to_lower(tool).substr(0, 12), prop.empty() ? "" : "-" + util::to_lower(prop).substr(0, 12),
                       ++m_n);
  }

  void value(const std::string& tool, const std::string& prop, simdjson::dom::element s, util::JsonWriter& w,
             Canaries& c, int depth) {
    std::string_view type;
    if (s["type"].get_string().get(type) != simdjson::SUCCESS) type = s["properties"].error() == simdjson::SUCCESS ? "object" : "string";
    simdjson::dom::array en;
    if (s["enum"].get_array().get(en) == simdjson::SUCCESS && en.size() > 0) {
      w.raw(codec::serialize(en.at(0).value_unsafe()));
      return;
    }
    if (type == "object" && depth < 4) {
      w.begin_object();
      simdjson::dom::object props;
      if (s["properties"].get_object().get(props) == simdjson::SUCCESS)
        for (auto f : props) {
          w.key(f.key);
          value(tool, std::string(f.key), f.value, w, c, depth + 1);
        }
      w.end_object();
    } else if (type == "array" && depth < 4) {
      w.begin_array();
      simdjson::dom::element items;
      if (s["items"].get(items) == simdjson::SUCCESS) value(tool, prop, items, w, c, depth + 1);
      w.end_array();
    } else if (type == "integer" || type == "number") {
      int64_t min = 1;
      (void)!s["minimum"].get_int64().get(min);
      w.integer(min);
    } else if (type == "boolean") {
      w.boolean(true);
    } else {
      std::string_view format, desc;
      (void)!s["format"].get_string().get(format);
      (void)!s["description"].get_string().get(desc);
      std::string hint = util::to_lower(prop + " " + std::string(format) + " " + std::string(desc));
      std::string v;
      std::string id = unique(tool, prop);
      if (hint.find("email") != std::string::npos || prop == "to" || prop == "cc" || prop == "from" ||
          hint.find("recipient") != std::string::npos)
        v = fmt::format("{}@{}.{}", id, m_tag, k_canary_domain);
      else if (hint.find("url") != std::string::npos || hint.find("uri") != std::string::npos)
        v = fmt::format("https://{}.{}.{}/{}", id, m_tag, k_canary_domain, id);
      else
        v = fmt::format("CANARY-{}-{}", m_tag, id);
      c.values[util::to_lower(v)] = prop.empty() ? tool : tool + "." + prop;
      w.string(v);
    }
  }

  std::string m_tag;
  int m_n = 0;
};

std::string random_tag() {
  std::random_device rd;
  return fmt::format("{:06x}", rd() & 0xffffff);
}

int probe(const ProbeOptions& o, const std::vector<std::string>& command) {
  if (command.empty()) {
    std::cerr << "mcp-warden: probe needs the server command after --, e.g. mcp-warden probe -- npx -y some-mcp\n";
    return k_exit_usage;
  }
  auto fail_on = core::parse_severity(o.fail_on);
  if (!fail_on) {
    std::cerr << "mcp-warden: --fail-on must be info, low, medium, high or critical\n";
    return k_exit_usage;
  }
  std::shared_ptr<const policy::Policy> pol;
  try {
    pol = o.policy_path.empty() ? policy::Policy::default_policy() : policy::load_policy_file(o.policy_path);
  } catch (const policy::LoadError& e) {
    std::cerr << "mcp-warden: " << e.what() << "\n";
    return k_exit_usage;
  }
  const policy::ServerPolicy* selected = pol->select_server("", command);
  policy::ServerPolicy server = selected ? *selected : policy::ServerPolicy{};
  if (server.name.empty()) server.name = "probe";
  policy::SandboxConfig sb = server.sandbox.value_or(policy::SandboxConfig{});
  sb.network = policy::NetworkMode::transparent;  // the sink needs the server's DNS and sockets
  server.sandbox = sb;
  for (const auto& [name, ref] : server.secrets) ::setenv(ref.from_env.c_str(), ("probe-secret-" + name).c_str(), 0);

  const auto& clock = util::SystemClock::instance();
  gateway::UpstreamOptions uo;
  uo.session = "probe";
  uo.sink = true;
  uo.clock = &clock;
  auto up = gateway::Upstream::start(server, command, uo);
  if (!up) {
    std::cerr << "mcp-warden: " << up.error().message << "\n";
    return k_exit_usage;
  }
  auto& u = **up;
  for (const auto& w : u.warnings()) std::cerr << "mcp-warden: WARNING: " << w << "\n";
  RpcClient rpc(u.child().stdin_fd().get(), u.child().stdout_fd().get(), u.child().stderr_fd().get(),
                o.timeout_ms);

  std::vector<ProbeFinding> findings;
  auto add = [&](std::string rule, core::Severity sev, std::string tool, std::string msg) {
    findings.push_back({std::move(rule), sev, std::move(tool), std::move(msg)});
  };
  auto init = rpc.call(1, "initialize",
                       R"({"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"mcp-warden-probe","version":"1"}})");
  if (!init) {
    std::cerr << "mcp-warden: probe: the server did not answer initialize within " << o.timeout_ms << " ms\n";
    return k_exit_usage;
  }
  rpc.send(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  auto listed = rpc.call(2, "tools/list", "{}");
  if (!listed) {
    std::cerr << "mcp-warden: probe: the server did not answer tools/list\n";
    return k_exit_usage;
  }

  auto scanner = detect::MetadataScanner::with_default_rules();
  simdjson::dom::parser parser;
  simdjson::dom::element list_doc;
  std::vector<std::pair<std::string, std::string>> tools;  // name, inputSchema JSON
  if (parser.parse(*listed).get(list_doc) == simdjson::SUCCESS) {
    simdjson::dom::array arr;
    if (list_doc["result"]["tools"].get_array().get(arr) == simdjson::SUCCESS)
      for (auto t : arr) {
        std::string_view name;
        simdjson::dom::element schema;
        if (t["name"].get_string().get(name) != simdjson::SUCCESS) continue;
        tools.emplace_back(std::string(name), t["inputSchema"].get(schema) == simdjson::SUCCESS ? codec::serialize(schema) : "{}");
      }
    if (scanner) {
      simdjson::dom::element result;
      if (list_doc["result"].get(result) == simdjson::SUCCESS)
        if (auto rep = scanner->scan(result))
          for (const auto& item : rep->items)
            for (const auto& f : item.findings)
              add(f.rule, f.severity, item.name, fmt::format("tools/list {}: {} ({})", f.path, f.reason, f.text));
    }
  }

  // Call each tool with canaries.
  const std::string tag = random_tag();
  CanaryMaker maker(tag);
  std::map<std::string, std::string> canaries;  // value -> tool.property
  int64_t id = 10;
  for (const auto& [name, schema_json] : tools) {
    simdjson::dom::parser sp;
    simdjson::dom::element schema;
    Canaries c = sp.parse(schema_json).get(schema) == simdjson::SUCCESS ? maker.make(name, schema) : Canaries{"{}", {}};
    canaries.insert(c.values.begin(), c.values.end());
    std::string params;
    util::JsonWriter w(params);
    w.begin_object().key("name").string(name).key("arguments").raw(c.args_json).end_object();
    std::string key = codec::Id{codec::Id::Type::integer, id, {}}.key();
    u.board().begin_call(key, name, c.args_json);
    auto r = rpc.call(id, "tools/call", params);
    // Give late requests (fire-and-forget exfiltration) a moment while the call is still "in flight".
    ::usleep(200 * 1000);
    u.board().end_call(key);
    ++id;
    if (!r) {
      add("probe.no_answer", core::Severity::low, name, "the tool did not answer within the timeout");
      continue;
    }
    std::string lower = util::to_lower(*r);
    if (lower.find("eacces") != std::string::npos || lower.find("permission denied") != std::string::npos)
      add("probe.access_denied", core::Severity::medium, name,
          "the sandbox denied a file access during this call (the result reports EACCES / permission denied)");
    simdjson::dom::element rd;
    simdjson::dom::array content;
    if (scanner && parser.parse(*r).get(rd) == simdjson::SUCCESS &&
        rd["result"]["content"].get_array().get(content) == simdjson::SUCCESS) {
      size_t i = 0;
      for (auto part : content) {
        std::string_view text;
        if (part["text"].get_string().get(text) == simdjson::SUCCESS) {
          std::vector<detect::Finding> fs;
          scanner->scan_text(text, detect::Field::instructions, fmt::format("result.content[{}].text", i), fs);
          for (const auto& f : fs)
            add(f.rule, f.severity, name, fmt::format("result {}: {} ({})", f.path, f.reason, f.text));
        }
        ++i;
      }
    }
  }
  u.child().stdin_fd().reset();

  // What left.
  std::set<std::string> hosts, names;
  for (const auto& c : u.guard() ? u.guard()->captured() : std::vector<egress::CapturedRequest>{}) {
    if (c.dns) {
      names.insert(c.host);
      continue;
    }
    hosts.insert(fmt::format("{}:{}", c.host, c.port));
    std::string where = fmt::format("{} {}:{}{}", c.method, c.host, c.port, c.target);
    std::string blob = util::to_lower(c.target + "\n" + c.headers + "\n" + c.body);
    for (const auto& [value, origin] : canaries)
      if (blob.find(value) != std::string::npos)
        add("probe.canary_sent", core::Severity::low, origin.substr(0, origin.find('.')),
            fmt::format("the canary for {} went to {}", origin, where));
    for (const auto& f : c.findings) {
      std::string tools_in_flight = c.calls_in_flight.empty() ? "no call in flight" : fmt::format("during {}", fmt::join(c.calls_in_flight, ", "));
      add(c.calls_in_flight.empty() ? "probe.identifier_without_call" : "probe.unrequested_identifier",
          core::Severity::critical, c.calls_in_flight.empty() ? "" : c.calls_in_flight[0],
          fmt::format("{} ({}) carried identifiers no argument gave: {}", where, tools_in_flight, f.evidence));
    }
  }
  for (const auto& h : hosts) add("probe.egress_host", core::Severity::info, "", "contacted " + h);
  for (const auto& n : names) add("probe.dns_name", core::Severity::info, "", "looked up " + n);

  std::stable_sort(findings.begin(), findings.end(),
                   [](const ProbeFinding& a, const ProbeFinding& b) { return a.severity > b.severity; });
  bool failing = std::any_of(findings.begin(), findings.end(),
                             [&](const ProbeFinding& f) { return f.severity >= *fail_on; });
  if (o.format == "json") {
    std::string out;
    util::JsonWriter w(out);
    w.begin_object().key("command").begin_array();
    for (const auto& a : command) w.string(a);
    w.end_array().key("sandbox").raw(u.describe_json());
    w.key("tools").begin_array();
    for (const auto& t : tools) w.string(t.first);
    w.end_array().key("findings").begin_array();
    for (const auto& f : findings)
      w.begin_object().key("rule").string(f.rule).key("severity").string(core::severity_name(f.severity))
          .key("tool").string(f.tool).key("message").string(f.message).end_object();
    w.end_array().end_object();
    std::cout << out << "\n";
  } else if (o.format == "sarif") {
    std::vector<SarifResult> results;
    for (const auto& f : findings)
      results.push_back({f.rule, f.severity, (f.tool.empty() ? "" : f.tool + ": ") + f.message, "", 0});
    std::cout << render_sarif(results) << "\n";
  } else {
    std::cout << fmt::format("probe of `{}` ({} tools, canary tag {})\n", fmt::join(command, " "), tools.size(), tag);
    for (const auto& f : findings)
      std::cout << fmt::format("{:<8} {:<32} {:<16} {}\n", core::severity_name(f.severity), f.rule,
                               f.tool.empty() ? "-" : f.tool, f.message);
    if (findings.empty()) std::cout << "no findings: the server contacted nothing and its metadata and results are clean\n";
  }
  return failing ? k_exit_findings : k_exit_ok;
}

}  // namespace

Command add_probe_command(CLI::App& root) {
  auto opts = std::make_shared<ProbeOptions>();
  auto* app = root.add_subcommand(
      "probe", "Run a server in the sandbox with canary arguments and report where its data goes: mcp-warden probe -- CMD [ARGS...]");
  app->add_option("--policy", opts->policy_path, "Policy whose server entry gives the sandbox's fs rules and env")
      ->check(CLI::ExistingFile);
  app->add_option("--format", opts->format, "table | json | sarif")->check(CLI::IsMember({"table", "json", "sarif"}));
  app->add_option("--fail-on", opts->fail_on, "Exit 1 when a finding is at or above this severity (default medium)");
  app->add_option("--timeout-ms", opts->timeout_ms, "How long to wait for each answer (default 15000)")
      ->check(CLI::Range(100, 600000));
  return {app, [opts](const std::vector<std::string>& rest) { return probe(*opts, rest); }};
}

}  // namespace warden::cli
