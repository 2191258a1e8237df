// `mcp-warden diff OLD NEW [--format table|json|sarif] [--fail-on SEVERITY]`
#include <iostream>

#include <fmt/format.h>

#include "warden/cli/cli.h"
#include "warden/cli/commands.h"
#include "warden/cli/sarif.h"
#include "warden/supply/diff.h"
#include "warden/util/json_writer.h"

namespace warden::cli {

namespace {

struct DiffOptions {
  std::string old_spec, new_spec;
  std::string format = "table";
  std::string fail_on = "high";
};

std::string render_json(const DiffOptions& o, const supply::DiffReport& r) {
  std::string out;
  util::JsonWriter w(out);
  w.begin_object();
  w.key("old").string(o.old_spec);
  w.key("new").string(o.new_spec);
  w.key("files").begin_object();
  w.key("added").integer(static_cast<int64_t>(r.files_added));
  w.key("removed").integer(static_cast<int64_t>(r.files_removed));
  w.key("changed").integer(static_cast<int64_t>(r.files_changed));
  w.end_object();
  w.key("findings").begin_array();
  for (const auto& f : r.findings) {
    w.begin_object();
    w.key("rule").string(f.rule);
    w.key("severity").string(core::severity_name(f.severity));
    w.key("file").string(f.file);
    w.key("line").integer(f.line);
    w.key("message").string(f.message);
    w.key("evidence").string(f.evidence);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return out;
}

std::string render_diff_sarif(const supply::DiffReport& r) {
  std::vector<SarifResult> results;
  for (const auto& f : r.findings)
    results.push_back({f.rule, f.severity, f.message + (f.evidence.empty() ? "" : ": " + f.evidence), f.file, f.line});
  return render_sarif(results);
}

int run_diff(const DiffOptions& o) {
  auto fail_on = core::parse_severity(o.fail_on);
  if (!fail_on) {
    std::cerr << "mcp-warden: --fail-on takes info, low, medium, high or critical\n";
    return k_exit_usage;
  }
  auto old_tree = supply::load_package(o.old_spec);
  if (!old_tree) {
    std::cerr << "mcp-warden: " << old_tree.error().message << "\n";
    return k_exit_usage;
  }
  auto new_tree = supply::load_package(o.new_spec);
  if (!new_tree) {
    std::cerr << "mcp-warden: " << new_tree.error().message << "\n";
    return k_exit_usage;
  }
  auto report = supply::diff_packages(*old_tree, *new_tree);
  if (o.format == "json") {
    std::cout << render_json(o, report) << "\n";
  } else if (o.format == "sarif") {
    std::cout << render_diff_sarif(report) << "\n";
  } else {
    std::cout << fmt::format("{} -> {}: {} files changed, {} added, {} removed; {} finding(s)\n",
                             o.old_spec, o.new_spec, report.files_changed, report.files_added,
                             report.files_removed, report.findings.size());
    for (const auto& f : report.findings) {
      std::cout << fmt::format("{:<8} {:<32} {}{}: {}\n", core::severity_name(f.severity), f.rule,
                               f.file, f.line ? fmt::format(":{}", f.line) : "", f.message);
      if (!f.evidence.empty()) std::cout << "         > " << f.evidence << "\n";
    }
  }
  for (const auto& f : report.findings)
    if (f.severity >= *fail_on) return k_exit_findings;
  return k_exit_ok;
}

}  // namespace

Command add_diff_command(CLI::App& root) {
  auto o = std::make_shared<DiffOptions>();
  auto* app = root.add_subcommand("diff", "Risk-ranked differences between two versions of a server package");
  app->add_option("old", o->old_spec, "Directory, .tgz, or NAME@VERSION (npm pack)")->required();
  app->add_option("new", o->new_spec, "Directory, .tgz, or NAME@VERSION (npm pack)")->required();
  app->add_option("--format", o->format, "table | json | sarif")->check(CLI::IsMember({"table", "json", "sarif"}));
  app->add_option("--fail-on", o->fail_on, "Exit 1 at or above this severity (default high)");
  return {app, [o](const std::vector<std::string>&) { return run_diff(*o); }};
}

}  // namespace warden::cli
