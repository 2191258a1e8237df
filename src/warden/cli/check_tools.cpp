// `mcp-warden check-tools [--format table|json|sarif] [--rules FILE]... [--fail-on SEVERITY] [--stats] FILE|-`
//
// Offline check of what a server says about itself (saved tools/list output, an array of tools, a
// JSON-RPC response, or {"tools":[...],"prompts":[...],"resources":[...]}). One finding list per
// item. Exit 0: nothing at or above --fail-on (default medium); 1: findings at or above it;
// 2: usage or input error.
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include <fmt/format.h>

#include "warden/cli/cli.h"
#include "warden/cli/commands.h"
#include "warden/cli/sarif.h"
#include "warden/detect/metadata_scanner.h"
#include "warden/util/json_writer.h"

namespace warden::cli {

namespace {

constexpr size_t k_max_input_bytes = 256u << 20;

struct CheckToolsOptions {
  std::string input;
  std::string format = "table";
  std::vector<std::string> rule_files;
  std::string fail_on = "medium";
  bool stats = false;
};

Result<std::string> read_input(const std::string& path) {
  std::string data;
  if (path == "-") {
    data.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{0, fmt::format("cannot read {}", path)};
    std::ostringstream ss;
    ss << in.rdbuf();
    data = ss.str();
  }
  if (data.size() > k_max_input_bytes) return Error{0, fmt::format("{} is larger than 256 MiB", path)};
  return data;
}

std::string render_json(const CheckToolsOptions& o, const detect::Report& r) {
  std::string out;
  util::JsonWriter w(out);
  w.begin_object().key("input").string(o.input);
  w.key("items").begin_array();
  for (const auto& it : r.items) {
    w.begin_object().key("kind").string(it.kind).key("name").string(detect::printable(it.name));
    w.key("path").string(it.path).key("max_severity").string(it.findings.empty() ? "none" : core::severity_name(it.max_severity()));
    w.key("findings").begin_array();
    for (const auto& f : it.findings) {
      w.begin_object().key("rule").string(f.rule).key("severity").string(core::severity_name(f.severity));
      w.key("reason").string(f.reason).key("path").string(f.path);
      w.key("begin").integer(static_cast<int64_t>(f.begin)).key("end").integer(static_cast<int64_t>(f.end));
      w.key("text").string(detect::printable(f.text, 400)).end_object();
    }
    w.end_array().end_object();
  }
  w.end_array();
  w.key("summary").begin_object().key("items").integer(static_cast<int64_t>(r.items.size()));
  w.key("findings").integer(static_cast<int64_t>(r.finding_count())).key("texts").integer(static_cast<int64_t>(r.texts));
  w.end_object().end_object();
  return out;
}

std::string render_check_sarif(const CheckToolsOptions& o, const detect::Report& r) {
  std::vector<SarifResult> results;
  for (const auto& it : r.items)
    for (const auto& f : it.findings)
      results.push_back({f.rule, f.severity,
                         fmt::format("{}: {} [{}..{}]: {}", f.path, f.reason, f.begin, f.end, detect::printable(f.text)),
                         o.input == "-" ? "stdin" : o.input, 0});
  return render_sarif(results);
}

std::string render_table(const CheckToolsOptions& o, const detect::Report& r) {
  size_t flagged = 0;
  for (const auto& it : r.items) flagged += it.findings.empty() ? 0 : 1;
  std::string out = fmt::format("{}: {} item(s), {} with findings, {} finding(s)\n", o.input == "-" ? "stdin" : o.input,
                                r.items.size(), flagged, r.finding_count());
  for (const auto& it : r.items) {
    if (it.findings.empty()) continue;
    out += fmt::format("{} {} {}\n", it.path, it.kind, detect::printable(it.name, 80));
    for (const auto& f : it.findings) {
      out += fmt::format("  {:<8} {:<34} {} [{}..{}]\n", core::severity_name(f.severity), f.rule, f.path, f.begin, f.end);
      out += fmt::format("           {}\n           > {}\n", f.reason, detect::printable(f.text));
    }
  }
  return out;
}

int run_check_tools(const CheckToolsOptions& o) {
  auto fail_on = core::parse_severity(o.fail_on);
  if (!fail_on) {
    std::cerr << "mcp-warden: --fail-on takes info, low, medium, high or critical\n";
    return k_exit_usage;
  }
  auto scanner = detect::MetadataScanner::with_default_rules(o.rule_files);
  if (!scanner) {
    std::cerr << "mcp-warden: " << scanner.error().message << "\n";
    return k_exit_usage;
  }
  auto input = read_input(o.input);
  if (!input) {
    std::cerr << "mcp-warden: " << input.error().message << "\n";
    return k_exit_usage;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(*input).get(doc); err != simdjson::SUCCESS) {
    std::cerr << "mcp-warden: " << (o.input == "-" ? "stdin" : o.input) << " is not valid JSON: " << simdjson::error_message(err) << "\n";
    return k_exit_usage;
  }
  auto t0 = std::chrono::steady_clock::now();
  auto report = scanner->scan(doc);
  auto t1 = std::chrono::steady_clock::now();
  if (!report) {
    std::cerr << "mcp-warden: " << (o.input == "-" ? "stdin" : o.input) << ": " << report.error().message << "\n";
    return k_exit_usage;
  }
  if (o.stats) {
    double s = std::chrono::duration<double>(t1 - t0).count();
    std::cerr << fmt::format("mcp-warden: scanned {} item(s), {} text(s) in {:.3f} ms: {:.0f} items/s\n", report->items.size(),
                             report->texts, s * 1e3, s > 0 ? static_cast<double>(report->items.size()) / s : 0.0);
  }
  if (o.format == "json") std::cout << render_json(o, *report) << "\n";
  else if (o.format == "sarif") std::cout << render_check_sarif(o, *report) << "\n";
  else std::cout << render_table(o, *report);
  for (const auto& it : report->items)
    if (!it.findings.empty() && it.max_severity() >= *fail_on) return k_exit_findings;
  return k_exit_ok;
}

}  // namespace

Command add_check_tools_command(CLI::App& root) {
  auto o = std::make_shared<CheckToolsOptions>();
  auto* app = root.add_subcommand("check-tools", "Check saved tool, prompt and resource metadata for poisoning (offline)");
  app->add_option("input", o->input, "tools/list output, an array of tools, or {\"tools\",\"prompts\",\"resources\"} JSON; - for stdin")
      ->required();
  app->add_option("--format", o->format, "table | json | sarif")->check(CLI::IsMember({"table", "json", "sarif"}));
  app->add_option("--rules", o->rule_files, "Extra rule file (YAML, see docs/detectors.md); repeatable");
  app->add_option("--fail-on", o->fail_on, "Exit 1 at or above this severity (default medium)");
  app->add_flag("--stats", o->stats, "Print items scanned and items/s to stderr");
  return {app, [o](const std::vector<std::string>&) { return run_check_tools(*o); }};
}

}  // namespace warden::cli
