#include "warden/supply/scan.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <re2/re2.h>
#include <simdjson.h>

#include "warden/audit/redact.h"
#include "warden/policy/policy.h"
#include "warden/supply/escapes.h"
#include "warden/supply/image.h"
#include "warden/supply/lockfiles.h"
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


std::string_view base_name(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view parent_name(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : base_name(path.substr(0, slash));
}

// A client config, by its name and place: JSON ones by file name, Continue's YAML under
// .continue/, Codex's TOML under .codex/. Nothing inside node_modules.
bool looks_like_config(std::string_view path) {
  static const std::set<std::string, std::less<>> k{"claude_desktop_config.json", "mcp.json", ".mcp.json",
                                                    "mcp_config.json", "cline_mcp_settings.json", ".claude.json",
                                                    "settings.json"};
  if (path.find("node_modules/") != std::string_view::npos) return false;
  std::string_view file = base_name(path), parent = parent_name(path);
  if (k.count(file) > 0) return true;
  bool yaml = file.size() > 5 && (file.substr(file.size() - 5) == ".yaml" || file.substr(file.size() - 4) == ".yml");
  if (yaml && parent == ".continue" && file.rfind("config.", 0) == 0) return true;
  if (yaml && parent == "mcpServers" && path.find(".continue/mcpServers/") != std::string_view::npos) return true;
  return file == "config.toml" && parent == ".codex";
}

}  // namespace

bool looks_like_secret(const std::string& key, const std::string& value) {
  if (value.empty() || value.rfind("${", 0) == 0 || value.rfind("$", 0) == 0) return false;
  int n = 0;
  audit::redact_secrets(value, &n);
  if (n > 0) return true;
  static const re2::RE2 name_re(R"((?i)(token|secret|password|passwd|api_?key|private_?key|credential))");
  return re2::RE2::PartialMatch(key, name_re) && value.size() >= 12 &&
         value.find(' ') == std::string::npos && value != "placeholder";
}

void sort_findings(ScanReport& r) {
  std::stable_sort(r.findings.begin(), r.findings.end(), [](const ScanFinding& a, const ScanFinding& b) {
    if (a.severity != b.severity) return a.severity > b.severity;
    if (a.file != b.file) return a.file < b.file;
    return a.line < b.line;
  });
}

void Scanner::check_package(Ecosystem eco, const std::string& file, int line, const std::string& name,
                            const std::string& version, ScanReport& r) const {
  if (!version.empty()) {
    if (auto v = Version::parse(eco, version))
      for (const auto* a : m_intel.check(eco, name, *v))
        r.findings.push_back({a->malicious ? "supply.scan.malicious_version" : "supply.scan.vulnerable_version",
                              a->malicious ? Severity::critical : Severity::high, file, line,
                              fmt::format("{}{}{}: {} {}", name, eco == Ecosystem::pypi ? "==" : "@", version,
                                          a->id, a->summary)});
  }
  for (const auto& f : m_popular.check(eco, name)) r.findings.push_back({f.rule, f.severity, file, line, f.reason});
}

void Scanner::scan_config(const std::string& path, ScanReport& r) const {
  std::string text;
  if (!read_file(path, text)) {
    r.warnings.push_back(fmt::format("{}: unreadable, skipped", path));
    return;
  }
  scan_config_text(path, config_format_for(path), text, r);
}

void Scanner::scan_config_text(const std::string& path, ConfigFormat format, std::string_view text,
                               ScanReport& r) const {
  auto servers = read_config_servers(format, text);
  if (!servers) {
    r.warnings.push_back(fmt::format("{}: {} (skipped)", path, servers.error().message));
    return;
  }
  for (const auto& cs : *servers) {
    if (cs.command.empty()) continue;  // remote (url) servers
    ScanServer s;
    s.config = path;
    s.line = cs.line;
    s.name = cs.name;
    s.command.push_back(cs.command);
    s.command.insert(s.command.end(), cs.args.begin(), cs.args.end());
    s.guarded = fs::path(cs.command).filename() == "mcp-warden";
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
                                            "(like postmark-mcp 1.0.16) runs on the next start", cs.name, pkg->name)});
        check_package(Ecosystem::npm, path, s.line, pkg->name, pkg->version, r);
      }
    }
    if (!s.guarded)
      r.findings.push_back({"supply.scan.not_guarded", Severity::medium, path, s.line,
                            fmt::format("server '{}' does not run under mcp-warden (mcp-warden wrap fixes it)", cs.name)});
    check_escapes(s, inner, r);
    s.launch = inner;
    s.env = cs.env;
    for (const auto& e : cs.env)
      if (looks_like_secret(e.key, e.value))
        r.findings.push_back({"supply.scan.plaintext_secret", Severity::high, path, e.line,
                              fmt::format("server '{}' has a plaintext secret in env {} (use the policy's "
                                          "secrets broker or the OS keychain)", cs.name, e.key)});
    r.servers.push_back(std::move(s));
  }
}

std::string Scanner::home() const {
  if (!m_home.empty()) return m_home;
  const char* h = std::getenv("HOME");
  return h && *h ? h : "/root";
}

void Scanner::check_escapes(const ScanServer& s, const std::vector<std::string>& inner, ScanReport& r) const {
  for (const auto& e : command_escapes(inner))
    r.findings.push_back({e.rule, e.severity, s.config, s.line, fmt::format("server '{}': {}", s.name, e.message)});
  if (!s.guarded) return;
  WardenRunArgs run = warden_run_args(s.command);
  for (const auto& e : wrapper_escapes(run))
    r.findings.push_back({e.rule, e.severity, s.config, s.line, fmt::format("server '{}': {}", s.name, e.message)});
  if (run.policy.empty()) return;  // the built-in default policy is the safe one
  // The policy the wrapper names: ~/ under the home, relative paths beside the config, then as given.
  std::string path = run.policy;
  if (path.rfind("~/", 0) == 0) path = home() + path.substr(1);
  else if (fs::path(path).is_relative()) {
    std::error_code ec;
    fs::path beside = fs::path(s.config).parent_path() / path;
    if (fs::exists(beside, ec)) path = beside.string();
  }
  std::shared_ptr<const policy::Policy> pol;
  try {
    pol = policy::load_policy_file(path);
  } catch (const std::exception& e) {
    std::string why = e.what();
    if (auto nl = why.find('\n'); nl != std::string::npos) why.resize(nl);
    r.warnings.push_back(fmt::format("{}:{}: server '{}' names policy {}, which could not be read: {}", s.config, s.line,
                                     s.name, run.policy, why));
    return;
  }
  const policy::ServerPolicy* entry = pol->select_server(run.server, inner);
  if (!entry) {
    r.warnings.push_back(fmt::format("{}:{}: server '{}': policy {} has no server entry '{}'", s.config, s.line, s.name,
                                     path, run.server));
    return;
  }
  for (const auto& e : policy_escapes(*pol, *entry, home()))
    r.findings.push_back({e.rule, e.severity, path, entry->where.line,
                          fmt::format("server '{}' ({}:{}): {}", s.name, s.config, s.line, e.message)});
}

bool Scanner::wanted(std::string_view rel_path) {
  return package_file_kind(rel_path) != PackageFile::none || looks_like_config(rel_path);
}

void Scanner::scan_text(const std::string& display, std::string_view rel_path, std::string_view text,
                        ScanReport& r) const {
  if (auto kind = package_file_kind(rel_path); kind != PackageFile::none) {
    auto parsed = parse_package_file(kind, text);
    for (const auto& p : parsed.problems) r.warnings.push_back(fmt::format("{}: {}", display, p));
    for (const auto& p : parsed.packages) {
      ++r.packages;
      check_package(p.eco, display, p.line, p.name, p.version, r);
    }
    return;
  }
  if (looks_like_config(rel_path) && mentions_servers(text))
    scan_config_text(display, config_format_for(rel_path), text, r);
}

void Scanner::scan_path(const std::string& path, ScanReport& r) const {
  std::error_code ec;
  fs::path root(path);
  if (fs::is_regular_file(root, ec)) {
    std::string text;
    if (!read_file(root, text)) {
      r.warnings.push_back(fmt::format("{}: unreadable, skipped", path));
      return;
    }
    std::string rel = root.generic_string();
    if (package_file_kind(rel) != PackageFile::none) scan_text(path, rel, text, r);
    else scan_config_text(path, config_format_for(path), text, r);  // named on the command line: a config
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
    if (p.filename() == ".git") {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    std::string rel = p.generic_string();
    if (!wanted(rel)) continue;
    std::string text;
    if (!read_file(p, text)) {
      r.warnings.push_back(fmt::format("{}: unreadable, skipped", rel));
      continue;
    }
    scan_text(rel, rel, text, r);
  }
}

void Scanner::scan_home(const std::string& home, ScanReport& r) const {
  std::error_code ec;
  for (const auto& c : known_clients())
    for (const auto& rel : c.paths()) {
      fs::path p = fs::path(home) / rel;
      if (fs::is_regular_file(p, ec)) scan_config(p.string(), r);
    }
  // Continue also reads one YAML block per file from ~/.continue/mcpServers/.
  fs::path blocks = fs::path(home) / ".continue" / "mcpServers";
  if (fs::is_directory(blocks, ec))
    for (const auto& e : fs::directory_iterator(blocks, ec))
      if (e.is_regular_file(ec) && config_format_for(e.path().string()) == ConfigFormat::yaml)
        scan_config(e.path().string(), r);
}

void Scanner::scan_image(const std::string& tar, ScanReport& r) const {
  auto image = read_image(tar, [](std::string_view p) { return wanted(p); });
  if (!image) {
    r.warnings.push_back(image.error().message + " (skipped)");
    return;
  }
  r.warnings.insert(r.warnings.end(), image->warnings.begin(), image->warnings.end());
  for (const auto& [path, content] : image->files) scan_text(tar + "!/" + path, path, content, r);
}

}  // namespace warden::supply
