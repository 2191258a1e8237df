// `mcp-warden approvals list|approve ID|deny ID`: the person's side of `action: approve`. A call the
// policy holds for a human waits in the running gateway; this command asks the gateway's admin API
// (GET /approvals, POST /approvals/ID/approve|deny) and the decision lands in the audit log.
#include <cstdlib>
#include <fstream>
#include <utility>
#include <iostream>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <simdjson.h>

#include "warden/cli/cli.h"
#include "warden/cli/commands.h"
#include "warden/supply/registry.h"
#include "warden/util/json_writer.h"

namespace warden::cli {

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;

struct ApprovalsOptions {
  std::string admin, token, state_dir, by, reason, format = "table";
  std::string id;
};

std::string admin_token(const ApprovalsOptions& o) {
  if (!o.token.empty()) return o.token;
  if (const char* t = std::getenv("MCP_WARDEN_ADMIN_TOKEN"); t && *t) return t;
  std::ifstream in((o.state_dir.empty() ? supply::default_state_dir() : o.state_dir) + "/admin-token");
  std::string t;
  std::getline(in, t);
  return t;
}

// One request to the admin API; the status and body, or an error saying what went wrong.
Result<std::pair<int, std::string>> call(const ApprovalsOptions& o, http::verb verb, const std::string& target,
                                         std::string body = {}) {
  const char* env = std::getenv("MCP_WARDEN_ADMIN");
  std::string admin = !o.admin.empty() ? o.admin : env ? env : "127.0.0.1:8081";
  // Also as printed by the gateway ("admin API on http://127.0.0.1:8081").
  if (admin.rfind("http://", 0) == 0) admin = admin.substr(7);
  while (!admin.empty() && admin.back() == '/') admin.pop_back();
  auto colon = admin.rfind(':');
  if (colon == std::string::npos) return Error{k_exit_usage, fmt::format("--admin '{}' must be HOST:PORT", admin)};
  std::string token = admin_token(o);
  if (token.empty())
    return Error{k_exit_usage, "no admin token: pass --token, set MCP_WARDEN_ADMIN_TOKEN, or use the gateway's --state-dir"};
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    boost::beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(resolver.resolve(admin.substr(0, colon), admin.substr(colon + 1)));
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, admin);
    req.set(http::field::authorization, "Bearer " + token);
    req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
    req.prepare_payload();
    http::write(stream, req);
    boost::beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(stream, buf, res);
    boost::system::error_code ec;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    return std::pair<int, std::string>{static_cast<int>(res.result_int()), res.body()};
  } catch (const std::exception& e) {
    return Error{k_exit_usage, fmt::format("cannot reach the gateway's admin API at {}: {}", admin, e.what())};
  }
}

int list(const ApprovalsOptions& o) {
  auto r = call(o, http::verb::get, "/approvals");
  if (!r) {
    std::cerr << "mcp-warden: " << r.error().message << "\n";
    return k_exit_usage;
  }
  if (r->first != 200) {
    std::cerr << fmt::format("mcp-warden: the admin API answered {}: {}\n", r->first, r->second);
    return k_exit_usage;
  }
  if (o.format == "json") {
    std::cout << r->second << "\n";
    return k_exit_ok;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element arr;
  if (parser.parse(r->second).get(arr) != simdjson::SUCCESS || !arr.is_array()) {
    std::cerr << "mcp-warden: the admin API's answer is not a JSON array\n";
    return k_exit_usage;
  }
  size_t n = 0;
  for (auto a : arr.get_array()) {
    auto str = [&](const char* k) {
      std::string_view v;
      return a[k].get_string().get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
    };
    int64_t left = 0;
    if (a["expires_in_s"].get_int64().get(left) != simdjson::SUCCESS) left = 0;
    std::cout << fmt::format("{}  {} '{}' on server '{}'{}  (session {}, {} s left)\n    arguments: {}\n", str("id"),
                             str("method"), str("tool"), str("server"),
                             str("agent").empty() ? "" : " for agent " + str("agent"), str("session"), left,
                             str("arguments").empty() ? "-" : str("arguments"));
    ++n;
  }
  std::cout << fmt::format("{} pending approval(s); decide with `mcp-warden approvals approve|deny ID`\n", n);
  return k_exit_ok;
}

int decide(const ApprovalsOptions& o, bool approve) {
  std::string body;
  util::JsonWriter w(body);
  w.begin_object();
  if (!o.by.empty()) w.key("by").string(o.by);
  else if (const char* user = std::getenv("USER"); user && *user) w.key("by").string(user);
  if (!o.reason.empty()) w.key("reason").string(o.reason);
  w.end_object();
  auto r = call(o, http::verb::post, fmt::format("/approvals/{}/{}", o.id, approve ? "approve" : "deny"), body);
  if (!r) {
    std::cerr << "mcp-warden: " << r.error().message << "\n";
    return k_exit_usage;
  }
  if (r->first == 404) {
    std::cerr << fmt::format("mcp-warden: no pending approval '{}' (already decided, timed out, or never held)\n", o.id);
    return k_exit_findings;
  }
  if (r->first != 200) {
    std::cerr << fmt::format("mcp-warden: the admin API answered {}: {}\n", r->first, r->second);
    return k_exit_usage;
  }
  std::cout << fmt::format("{} {}\n", approve ? "approved" : "denied", o.id);
  return k_exit_ok;
}

}  // namespace

Command add_approvals_command(CLI::App& root) {
  auto opts = std::make_shared<ApprovalsOptions>();
  auto* app = root.add_subcommand("approvals", "List and decide calls a running gateway holds for a person (action: approve)");
  app->require_subcommand(1);
  auto common = [&](CLI::App* sub) {
    sub->add_option("--admin", opts->admin, "The gateway's admin API HOST:PORT (default $MCP_WARDEN_ADMIN or 127.0.0.1:8081)");
    sub->add_option("--token", opts->token, "Admin token (default $MCP_WARDEN_ADMIN_TOKEN, else STATE_DIR/admin-token)");
    sub->add_option("--state-dir", opts->state_dir, "The gateway's state directory (where admin-token is)");
  };
  auto* ls = app->add_subcommand("list", "Calls waiting for a decision");
  common(ls);
  ls->add_option("--format", opts->format, "table | json")->check(CLI::IsMember({"table", "json"}));
  std::vector<CLI::App*> deciders;
  for (const char* verb : {"approve", "deny"}) {
    auto* sub = app->add_subcommand(verb, std::string(verb) == "approve" ? "Let the held call through" : "Refuse the held call");
    common(sub);
    sub->add_option("ID", opts->id, "Approval id (from `approvals list` or the gateway's stderr)")->required();
    sub->add_option("--by", opts->by, "Who decides (default $USER), recorded in the audit log");
    sub->add_option("--reason", opts->reason, "Why, recorded in the audit log");
    deciders.push_back(sub);
  }
  return {app, [opts, ls, deciders](const std::vector<std::string>&) {
            if (ls->parsed()) return list(*opts);
            return decide(*opts, deciders[0]->parsed());
          }};
}

}  // namespace warden::cli
