// `mcp-warden hunt [--ioc VALUE|--ioc-file FILE]... [--format F] LOG...`
#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include "warden/cli/cli.h"
#include "warden/cli/commands.h"
#include "warden/cli/sarif.h"
#include "warden/supply/hunt.h"
#include "warden/util/json_writer.h"

namespace warden::cli {

namespace {

struct HuntOptions {
  std::vector<std::string> iocs, ioc_files, logs, org;
  std::string format = "table";
};

int run_hunt(const HuntOptions& o) {
  supply::Hunter hunter;
  for (const auto& i : o.iocs) hunter.add_ioc(i);
  for (const auto& d : o.org) hunter.add_org_domain(d);
  for (const auto& f : o.ioc_files) {
    auto st = hunter.add_ioc_file(f);
    if (!st.ok()) {
      std::cerr << "mcp-warden: " << st.error().message << "\n";
      return k_exit_usage;
    }
  }
  std::vector<supply::HuntHit> hits;
  for (const auto& log : o.logs) {
    auto st = hunter.hunt_file(log, hits);
    if (!st.ok()) {
      std::cerr << "mcp-warden: " << st.error().message << "\n";
      return k_exit_usage;
    }
  }
  if (o.format == "json" || o.format == "sarif") {
    std::string out;
    util::JsonWriter w(out);
    if (o.format == "json") {
      w.begin_object().key("iocs").integer(static_cast<int64_t>(hunter.ioc_count()));
      w.key("hits").begin_array();
      for (const auto& h : hits) {
        w.begin_object();
        w.key("rule").string(h.rule).key("severity").string(core::severity_name(h.severity));
        w.key("file").string(h.file).key("line").integer(static_cast<int64_t>(h.line));
        w.key("indicator").string(h.indicator).key("excerpt").string(h.excerpt);
        w.end_object();
      }
      w.end_array();
      w.key("recipients").begin_array();
      for (const auto& [addr, g] : hunter.recipients()) {
        w.begin_object().key("address").string(addr).key("field").string(g.field);
        w.key("count").integer(static_cast<int64_t>(g.count)).key("outside").boolean(g.outside);
        w.key("first_seen").string(g.first_seen).key("last_seen").string(g.last_seen).end_object();
      }
      w.end_array().end_object();
      std::cout << out << "\n";
    } else {
      std::vector<SarifResult> results;
      for (const auto& h : hits)
        results.push_back({h.rule, h.severity, h.indicator + ": " + h.excerpt, h.file, static_cast<int>(h.line)});
      std::cout << render_sarif(results) << "\n";
    }
  } else {
    for (const auto& h : hits)
      std::cout << fmt::format("{:<8} {:<28} {}:{}: {}\n         > {}\n", core::severity_name(h.severity),
                               h.rule, h.file, h.line, h.indicator, h.excerpt);
    if (!hunter.recipients().empty()) {
      std::cout << "hidden recipients (Bcc/Cc), grouped:\n";
      for (const auto& [addr, g] : hunter.recipients())
        std::cout << fmt::format("  {:<8} {:<36} {:>5}x as {}, first {}, last {}\n",
                                 g.outside ? (o.org.empty() ? "OUTSIDE-TO" : "EXTERNAL") : "internal", addr,
                                 g.count, g.field, g.first_seen, g.last_seen);
    }
    std::cout << fmt::format("{} hit(s) for {} indicator(s) in {} log(s)\n", hits.size(),
                             hunter.ioc_count(), o.logs.size());
  }
  bool outside = std::any_of(hunter.recipients().begin(), hunter.recipients().end(),
                             [](const auto& kv) { return kv.second.outside; });
  bool ioc_hit = std::any_of(hits.begin(), hits.end(), [](const auto& h) { return h.rule == "supply.hunt.ioc"; });
  return ioc_hit || outside ? k_exit_findings : k_exit_ok;
}

}  // namespace

Command add_hunt_command(CLI::App& root) {
  auto o = std::make_shared<HuntOptions>();
  auto* app = root.add_subcommand("hunt", "Search logs for indicators of compromise and hidden recipients");
  app->add_option("--ioc", o->iocs, "An indicator: domain, email, IP or string (repeatable)");
  app->add_option("--ioc-file", o->ioc_files, "A file of indicators, one per line (repeatable)");
  app->add_option("--org", o->org, "The organisation's mail domain(s): Bcc/Cc recipients outside them are flagged (default: outside the To domains)");
  app->add_option("--format", o->format, "table | json | sarif")->check(CLI::IsMember({"table", "json", "sarif"}));
  app->add_option("logs", o->logs, "Log files (audit logs, JSON Lines or text)")->required();
  return {app, [o](const std::vector<std::string>&) { return run_hunt(*o); }};
}

}  // namespace warden::cli
