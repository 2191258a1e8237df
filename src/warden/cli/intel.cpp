// `mcp-warden intel update --osv DIR` and `mcp-warden intel check NAME@VERSION`.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <iostream>

#include <fmt/format.h>

#include "warden/cli/cli.h"
#include "warden/cli/commands.h"
#include "warden/supply/intel.h"
#include "warden/supply/typosquat.h"
#include "warden/util/json_writer.h"

namespace warden::cli {

namespace fs = std::filesystem;

namespace {

struct IntelOptions {
  std::string osv_dir;
  std::string intel_dir;
  std::string spec;
  std::string ecosystem = "npm";
  std::string format = "table";
  std::string popular_file;
};

int update(const IntelOptions& o) {
  std::string dest = o.intel_dir.empty() ? supply::default_intel_dir() : o.intel_dir;
  std::error_code ec;
  if (!fs::is_directory(o.osv_dir, ec)) {
    std::cerr << "mcp-warden: " << o.osv_dir << " is not a directory of OSV JSON files\n";
    return k_exit_usage;
  }
  // Validate everything first: a bad file imports nothing.
  supply::IntelDb check;
  auto st = check.add_directory(o.osv_dir);
  if (!st.ok()) {
    std::cerr << "mcp-warden: " << st.error().message << " (nothing imported)\n";
    return k_exit_usage;
  }
  fs::path target = fs::path(dest) / "osv";
  fs::create_directories(target, ec);
  if (ec) {
    std::cerr << "mcp-warden: cannot create " << target.string() << ": " << ec.message() << "\n";
    return k_exit_usage;
  }
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(o.osv_dir, ec)) {
    if (!e.is_regular_file() || e.path().extension() != ".json") continue;
    fs::path rel = fs::relative(e.path(), o.osv_dir, ec);
    fs::path out = target / rel;
    fs::create_directories(out.parent_path(), ec);
    fs::copy_file(e.path(), out, fs::copy_options::overwrite_existing, ec);
    if (ec) {
      std::cerr << "mcp-warden: cannot copy " << e.path().string() << ": " << ec.message() << "\n";
      return k_exit_usage;
    }
    ++files;
  }
  std::cout << fmt::format("imported {} OSV files ({} affected npm/PyPI packages) into {}\n",
                           files, check.size(), target.string());
  return k_exit_ok;
}

int check_spec(const IntelOptions& o) {
  auto eco = supply::parse_ecosystem(o.ecosystem);
  if (!eco) {
    std::cerr << "mcp-warden: unknown ecosystem '" << o.ecosystem << "' (npm or PyPI)\n";
    return k_exit_usage;
  }
  std::string name, version_text;
  if (!supply::split_package_spec(o.spec, name, version_text)) {
    std::cerr << "mcp-warden: '" << o.spec << "' is not NAME@VERSION (e.g. postmark-mcp@1.0.16)\n";
    return k_exit_usage;
  }
  auto version = supply::Version::parse(*eco, version_text);
  if (!version) {
    std::cerr << fmt::format("mcp-warden: '{}' is not a valid {} version\n", version_text,
                             supply::ecosystem_name(*eco));
    return k_exit_usage;
  }
  supply::IntelDb db;
  for (auto st : {db.add_bundled(),
                  db.add_directory(o.intel_dir.empty() ? supply::default_intel_dir() : o.intel_dir)}) {
    if (!st.ok()) {
      std::cerr << "mcp-warden: " << st.error().message << "\n";
      return k_exit_usage;
    }
  }
  auto hits = db.check(*eco, name, *version);
  supply::PopularPackages popular;
  auto pst = popular.add_bundled();
  if (pst.ok() && !o.popular_file.empty()) {
    std::ifstream in(o.popular_file);
    if (!in) {
      std::cerr << "mcp-warden: cannot read " << o.popular_file << "\n";
      return k_exit_usage;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    pst = popular.add_list(ss.str(), o.popular_file);
  }
  if (!pst.ok()) {
    std::cerr << "mcp-warden: " << pst.error().message << "\n";
    return k_exit_usage;
  }
  auto names = popular.check(*eco, name);
  if (o.format == "json") {
    std::string out;
    util::JsonWriter w(out);
    w.begin_object();
    w.key("package").string(name);
    w.key("version").string(version_text);
    w.key("ecosystem").string(supply::ecosystem_name(*eco));
    w.key("findings").begin_array();
    for (const auto* a : hits) {
      w.begin_object();
      w.key("id").string(a->id);
      w.key("severity").string(a->malicious ? "critical" : "high");
      w.key("malicious").boolean(a->malicious);
      w.key("summary").string(a->summary);
      w.key("source").string(a->source);
      w.end_object();
    }
    for (const auto& f : names) {
      w.begin_object();
      w.key("id").string(f.rule);
      w.key("severity").string(core::severity_name(f.severity));
      w.key("imitates").string(f.imitated);
      w.key("summary").string(f.reason);
      w.end_object();
    }
    w.end_array();
    w.end_object();
    std::cout << out << "\n";
  } else if (hits.empty() && names.empty()) {
    auto others = db.advisories_for(*eco, name);
    std::cout << fmt::format("{}@{}: no known advisory for this version", name, version_text);
    if (!others.empty()) std::cout << fmt::format(" ({} advisory(ies) for other versions)", others.size());
    std::cout << "\n";
  } else {
    for (const auto* a : hits)
      std::cout << fmt::format("{}@{}: {} {} {}\n", name, version_text,
                               a->malicious ? "CRITICAL malicious" : "HIGH vulnerable", a->id,
                               a->summary);
    for (const auto& f : names)
      std::cout << fmt::format("{}: {} {}: {}\n", name, core::severity_name(f.severity), f.rule,
                               f.reason);
  }
  bool fail = !hits.empty() || std::any_of(names.begin(), names.end(), [](const auto& f) {
    return f.severity >= core::Severity::high;
  });
  return fail ? k_exit_findings : k_exit_ok;
}

}  // namespace

Command add_intel_command(CLI::App& root) {
  auto o = std::make_shared<IntelOptions>();
  auto* app = root.add_subcommand("intel", "Threat intel: import OSV records, check a package version");
  app->require_subcommand(1);
  auto* up = app->add_subcommand("update", "Import OSV JSON records (e.g. a checkout of ossf/malicious-packages)");
  up->add_option("--osv", o->osv_dir, "Directory of OSV *.json files (searched recursively)")->required();
  up->add_option("--dir", o->intel_dir, "Intel directory (default: $XDG_STATE_HOME/mcp-warden/intel)");
  auto* chk = app->add_subcommand("check", "Is NAME@VERSION known malicious or vulnerable? Exit 1 if so");
  chk->add_option("spec", o->spec, "NAME@VERSION (npm) or NAME==VERSION (PyPI)")->required();
  chk->add_option("--ecosystem", o->ecosystem, "npm | PyPI (default npm)");
  chk->add_option("--intel", o->intel_dir, "Intel directory (default: $XDG_STATE_HOME/mcp-warden/intel)");
  chk->add_option("--popular", o->popular_file, "Extra list of popular packages (lines npm:NAME / pypi:NAME) for typosquat checks");
  chk->add_option("--format", o->format, "table | json")->check(CLI::IsMember({"table", "json"}));
  return {app, [o, up](const std::vector<std::string>&) { return up->parsed() ? update(*o) : check_spec(*o); }};
}

}  // namespace warden::cli
