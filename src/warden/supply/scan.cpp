#include "warden/supply/scan.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <re2/re2.h>
#include <simdjson.h>

#include "warden/audit/redact.h"
#include "warden/supply/jsonc.h"
#include "warden/supply/resolve.h"
#include "warden/supply/wrap.h"

namespace warden::supply {

namespace fs = std::filesystem;
using core::Severity;

namespace {

bool read_file(const fs::path& p, std::string& out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

int line_at(std::string_view text, size_t offset) {
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(std::min(offset, text.size())), '\n'));
}

bool looks_like_config(const std::string& fname) {
  static const std::set<std::string> k{"claude_desktop_config.json", "mcp.json", ".mcp.json", "mcp_config.json",
                                       "cline_mcp_settings.json", ".claude.json", "settings.json"};
  return k.count(fname) > 0;
}

bool secret_like(const std::string& key, const std::string& value) {
  if (value.empty() || value.rfind("${", 0) == 0 || value.rfind("$", 0) == 0) return false;
  int n = 0;
  audit::redact_secrets(value, &n);
  if (n > 0) return true;
  static const re2::RE2 name_re(R"((?i)(token|secret|password|passwd|api_?key|private_?key|credential))");
  return re2::RE2::PartialMatch(key, name_re) && value.size() >= 12 &&
         value.find(' ') == std::string::npos && value != "placeholder";
}

}  // namespace

void sort_findings(ScanReport& r) {
  std::stable_sort(r.findings.begin(), r.findings.end(), [](const ScanFinding& a, const ScanFinding& b) {
    if (a.severity != b.severity) return a.severity > b.severity;
    if (a.file != b.file) return a.file < b.file;
    return a.line < b.line;
  });
}

void Scanner::check_package(const std::string& file, int line, const std::string& name,
                            const std::string& version, ScanReport& r) const {
  if (!version.empty()) {
    if (auto v = Version::parse(Ecosystem::npm, version))
      for (const auto* a : m_intel.check(Ecosystem::npm, name, *v))
        r.findings.push_back({a->malicious ? "supply.scan.malicious_version" : "supply.scan.vulnerable_version",
                              a->malicious ? Severity::critical : Severity::high, file, line,
                              fmt::format("{}@{}: {} {}", name, version, a->id, a->summary)});
  }
  for (const auto& f : m_popular.check(Ecosystem::npm, name))
    r.findings.push_back({f.rule, f.severity, file, line, f.reason});
}

void Scanner::scan_config(const std::string& path, ScanReport& r) const {
  std::string text;
  if (!read_file(path, text)) {
    r.warnings.push_back(fmt::format("{}: unreadable, skipped", path));
    return;
  }
  auto doc = parse_jsonc(text);
  if (!doc) {
    r.warnings.push_back(fmt::format("{}: {} (skipped)", path, doc.error().message));
    return;
  }
  if ((*doc)->type != JsoncValue::Type::object) return;
  std::vector<const JsoncValue*> maps;
  collect_server_maps(**doc, maps);
  for (const auto* map : maps) {
    for (const auto& [name, server] : map->members) {
      if (server->type != JsoncValue::Type::object) continue;
      ScanServer s;
      s.config = path;
      s.line = line_at(text, server->begin);
      s.name = name;
      const auto* cmd = server->get("command");
      if (cmd && cmd->type == JsoncValue::Type::object) cmd = cmd->get("path");  // Zed
      if (!cmd || cmd->type != JsoncValue::Type::string) continue;  // remote (url) servers
      s.command.push_back(cmd->string);
      if (const auto* args = server->get("args"); args && args->type == JsoncValue::Type::array)
        for (const auto& a : args->items)
          if (a->type == JsoncValue::Type::string) s.command.push_back(a->string);
      s.guarded = fs::path(cmd->string).filename() == "mcp-warden";
      std::vector<std::string> inner = s.command;
      if (s.guarded) {
        auto dd = std::find(inner.begin(), inner.end(), "--");
        inner = dd == inner.end() ? std::vector<std::string>{} : std::vector<std::string>(dd + 1, inner.end());
      }
      if (!inner.empty()) {
        if (auto pkg = resolve_package(inner)) {
          s.package = pkg->name;
          s.version = pkg->version;
          std::string tool = fs::path(inner[0]).filename().string();
          if (pkg->version.empty() && (tool == "npx" || tool == "bunx" || tool == "pnpx"))
            r.findings.push_back({"supply.scan.unpinned_package", Severity::high, path, s.line,
                                  fmt::format("server '{}' runs '{}' with no pinned version: every new release "
                                              "(like postmark-mcp 1.0.16) runs on the next start", name, pkg->name)});
          check_package(path, s.line, pkg->name, pkg->version, r);
        }
      }
      if (!s.guarded)
        r.findings.push_back({"supply.scan.not_guarded", Severity::medium, path, s.line,
                              fmt::format("server '{}' does not run under mcp-warden (mcp-warden wrap fixes it)", name)});
      if (const auto* env = server->get("env"); env && env->type == JsoncValue::Type::object)
        for (const auto& [k, v] : env->members)
          if (v->type == JsoncValue::Type::string && secret_like(k, v->string))
            r.findings.push_back({"supply.scan.plaintext_secret", Severity::high, path, line_at(text, v->begin),
                                  fmt::format("server '{}' has a plaintext secret in env {} (use the policy's "
                                              "secrets broker or the OS keychain)", name, k)});
      r.servers.push_back(std::move(s));
    }
  }
}

void Scanner::scan_path(const std::string& path, ScanReport& r) const {
  std::error_code ec;
  simdjson::dom::parser parser;
  auto scan_lock = [&](const fs::path& p) {
    std::string text;
    simdjson::dom::element root;
    if (!read_file(p, text) || parser.parse(text).get(root)) {
      r.warnings.push_back(fmt::format("{}: not readable JSON, skipped", p.string()));
      return;
    }
    simdjson::dom::object packages;
    if (root["packages"].get(packages)) return;
    for (auto f : packages) {
      std::string_view key = f.key;
      auto at = key.rfind("node_modules/");
      if (at == std::string_view::npos) continue;
      std::string_view version;
      if (f.value["version"].get(version)) continue;
      ++r.packages;
      check_package(p.string(), 0, std::string(key.substr(at + 13)), std::string(version), r);
    }
  };
  auto scan_installed = [&](const fs::path& p) {
    std::string text;
    simdjson::dom::element root;
    std::string_view name, version;
    if (!read_file(p, text) || parser.parse(text).get(root) || root["name"].get(name) || root["version"].get(version)) return;
    ++r.packages;
    check_package(p.string(), 0, std::string(name), std::string(version), r);
  };
  fs::path root(path);
  if (fs::is_regular_file(root, ec)) {
    std::string f = root.filename().string();
    if (f == "package-lock.json" || f == "npm-shrinkwrap.json") scan_lock(root);
    else scan_config(path, r);
    return;
  }
  if (!fs::is_directory(root, ec)) {
    r.warnings.push_back(fmt::format("{}: no such file or directory", path));
    return;
  }
  auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) {
      r.warnings.push_back(fmt::format("{}: {}", path, ec.message()));
      ec.clear();
      continue;
    }
    const fs::path& p = it->path();
    if (it->is_symlink(ec)) continue;  // no loops, no escapes
    std::string f = p.filename().string();
    if (f == ".git") {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    bool in_nm = p.string().find("/node_modules/") != std::string::npos;
    if ((f == "package-lock.json" || f == "npm-shrinkwrap.json") && !in_nm) scan_lock(p);
    else if (f == "package.json" && in_nm) {
      std::string parent = p.parent_path().parent_path().filename().string();
      std::string grand = p.parent_path().parent_path().parent_path().filename().string();
      if (parent == "node_modules" || grand == "node_modules") scan_installed(p);
    } else if (!in_nm && looks_like_config(f)) {
      std::string text;
      if (read_file(p, text) && (text.find("mcpServers") != std::string::npos ||
                                 text.find("\"servers\"") != std::string::npos ||
                                 text.find("context_servers") != std::string::npos))
        scan_config(p.string(), r);
    }
  }
}

void Scanner::scan_home(const std::string& home, ScanReport& r) const {
  std::error_code ec;
  for (const auto& c : known_clients()) {
    fs::path p = fs::path(home) / c.config_path;
    if (fs::is_regular_file(p, ec)) scan_config(p.string(), r);
  }
}

}  // namespace warden::supply
