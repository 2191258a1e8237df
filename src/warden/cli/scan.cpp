// `mcp-warden scan [PATH...] [--home DIR] [--image TAR]... [--connect] [--format table|json|sarif] [--intel DIR] [--fail-on S]`
#include <cstdlib>
#include <iostream>

#include <fmt/format.h>

#include "warden/cli/cli.h"
#include "warden/cli/commands.h"
#include "warden/cli/sarif.h"
#include "warden/supply/connect.h"
#include "warden/supply/scan.h"
#include "warden/util/json_writer.h"

namespace warden::cli {

namespace {

struct ScanOptions {
  std::vector<std::string> paths, images;
  std::string home, intel_dir, format = "table", fail_on = "high";
  bool connect = false;
  int connect_timeout_ms = 10000;
};

// "12 tools, 3 prompts, 7 resources, 2 templates" or "not listed: why".
std::string connect_summary(const supply::ScanServer& s) {
  if (!s.connect.tried) return "";
  if (!s.connect.ok) return "not listed: " + s.connect.problem;
  return fmt::format("{} tools, {} prompts, {} resources, {} templates", s.connect.tools, s.connect.prompts,
                     s.connect.resources, s.connect.templates);
}

int run_scan(const ScanOptions& o) {
  auto fail_on = core::parse_severity(o.fail_on);
  if (!fail_on) {
    std::cerr << "mcp-warden: --fail-on takes info, low, medium, high or critical\n";
    return k_exit_usage;
  }
  supply::IntelDb intel;
  for (auto st : {intel.add_bundled(), intel.add_directory(o.intel_dir.empty() ? supply::default_intel_dir() : o.intel_dir)})
    if (!st.ok()) {
      std::cerr << "mcp-warden: " << st.error().message << "\n";
      return k_exit_usage;
    }
  supply::PopularPackages popular;
  if (auto st = popular.add_bundled(); !st.ok()) {
    std::cerr << "mcp-warden: " << st.error().message << "\n";
    return k_exit_usage;
  }
  supply::Scanner scanner(intel, popular);
  supply::ScanReport report;
  const char* env_home = std::getenv("HOME");
  std::string home = !o.home.empty() ? o.home : (o.paths.empty() && o.images.empty() && env_home ? env_home : "");
  if (!home.empty()) scanner.set_home(home);
  if (!home.empty()) scanner.scan_home(home, report);
  for (const auto& p : o.paths) scanner.scan_path(p, report);
  for (const auto& i : o.images) scanner.scan_image(i, report);
  if (o.connect) {
    supply::ConnectOptions co;
    co.timeout_ms = o.connect_timeout_ms;
    supply::connect_servers(report, co);
  }
  supply::sort_findings(report);
  for (const auto& w : report.warnings) std::cerr << "mcp-warden: warning: " << w << "\n";

  std::string out;
  util::JsonWriter w(out);
  if (o.format == "json") {
    w.begin_object().key("servers").begin_array();
    for (const auto& s : report.servers) {
      w.begin_object().key("config").string(s.config).key("line").integer(s.line).key("name").string(s.name);
      w.key("command").begin_array();
      for (const auto& a : s.command) w.string(a);
      w.end_array().key("package").string(s.package).key("version").string(s.version);
      w.key("guarded").boolean(s.guarded);
      if (s.connect.tried) {
        w.key("connect").begin_object().key("ok").boolean(s.connect.ok);
        if (s.connect.ok)
          w.key("tools").integer(static_cast<int64_t>(s.connect.tools))
              .key("prompts").integer(static_cast<int64_t>(s.connect.prompts))
              .key("resources").integer(static_cast<int64_t>(s.connect.resources))
              .key("resource_templates").integer(static_cast<int64_t>(s.connect.templates));
        else
          w.key("problem").string(s.connect.problem);
        w.end_object();
      }
      w.end_object();
    }
    w.end_array().key("packages").integer(static_cast<int64_t>(report.packages));
    w.key("findings").begin_array();
    for (const auto& f : report.findings)
      w.begin_object().key("rule").string(f.rule).key("severity").string(core::severity_name(f.severity))
          .key("file").string(f.file).key("line").integer(f.line).key("message").string(f.message).end_object();
    w.end_array().key("warnings").begin_array();
    for (const auto& x : report.warnings) w.string(x);
    w.end_array().end_object();
    std::cout << out << "\n";
  } else if (o.format == "sarif") {
    std::vector<SarifResult> results;
    for (const auto& f : report.findings) results.push_back({f.rule, f.severity, f.message, f.file, f.line});
    std::cout << render_sarif(results) << "\n";
  } else {
    std::cout << fmt::format("{} MCP server(s) in client configs, {} package(s) in lockfiles, manifests and installed trees\n",
                             report.servers.size(), report.packages);
    for (const auto& s : report.servers)
      std::cout << fmt::format("  {:<20} {}{}  {}:{}{}\n", s.name,
                               s.package.empty() ? fmt::format("{}", s.command.empty() ? "" : s.command[0]) : s.package,
                               s.version.empty() ? "" : "@" + s.version, s.config, s.line,
                               s.connect.tried ? "  [" + connect_summary(s) + "]" : "");
    for (const auto& f : report.findings)
      std::cout << fmt::format("{:<8} {:<30} {}{}: {}\n", core::severity_name(f.severity), f.rule, f.file,
                               f.line ? fmt::format(":{}", f.line) : "", f.message);
  }
  for (const auto& f : report.findings)
    if (f.severity >= *fail_on) return k_exit_findings;
  return k_exit_ok;
}

}  // namespace

Command add_scan_command(CLI::App& root) {
  auto o = std::make_shared<ScanOptions>();
  auto* app = root.add_subcommand("scan", "Inventory MCP servers and packages, with supply-chain findings");
  app->add_option("paths", o->paths, "Directories or files (configs, lockfiles, node_modules trees)");
  app->add_option("--home", o->home, "Home directory whose client configs to read (default: $HOME when no PATH)");
  app->add_option("--image", o->images, "A container image tarball (docker save or OCI layout; repeatable)");
  app->add_option("--intel", o->intel_dir, "Intel directory (default: $XDG_STATE_HOME/mcp-warden/intel)");
  app->add_option("--format", o->format, "table | json | sarif")->check(CLI::IsMember({"table", "json", "sarif"}));
  app->add_option("--fail-on", o->fail_on, "Exit 1 at or above this severity (default high)");
  app->add_flag("--connect", o->connect,
                "Start each stdio server in the sandbox, list its tools, prompts and resources, and run the "
                "metadata and cross-server shadowing detectors on them");
  app->add_option("--connect-timeout-ms", o->connect_timeout_ms, "With --connect: how long to wait for each answer (default 10000)")
      ->check(CLI::Range(100, 600000));
  return {app, [o](const std::vector<std::string>&) { return run_scan(*o); }};
}

}  // namespace warden::cli
