// `mcp-warden registry approve|verify|list`
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>

#include <fmt/format.h>

#include "warden/cli/cli.h"
#include "warden/cli/commands.h"
#include "warden/supply/diff.h"
#include "warden/supply/intel.h"
#include "warden/supply/registry.h"
#include "warden/util/clock.h"
#include "warden/util/json_writer.h"

namespace warden::cli {

namespace fs = std::filesystem;

namespace {

struct RegistryOptions {
  std::string db;
  std::string spec, tarball, integrity, by;
  std::vector<std::string> paths;
  std::string name;
  std::string format = "table";
  bool force = false;
};

std::string db_path(const RegistryOptions& o) {
  return o.db.empty() ? supply::default_state_dir() + "/registry.sqlite" : o.db;
}

std::string stored_tarball(const RegistryOptions& o, const std::string& name, const std::string& version) {
  std::string safe = name;
  for (char& c : safe)
    if (c == '/' || c == '@') c = '_';
  return (fs::path(db_path(o)).parent_path() / "registry-tarballs" / (safe + "-" + version + ".tgz")).string();
}

// npm pack NAME@VERSION into `dir`; returns the tarball path or empty.
std::string npm_pack(const std::string& spec, const std::string& dir) {
  setenv("WARDEN_PACK_SPEC", spec.c_str(), 1);
  int rc = std::system(("cd '" + dir + "' && npm pack --silent \"$WARDEN_PACK_SPEC\" >/dev/null 2>&1").c_str());
  unsetenv("WARDEN_PACK_SPEC");
  if (rc != 0) return {};
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".tgz") return e.path().string();
  return {};
}

std::string summarize(const supply::DiffReport& r, const std::string& base_version) {
  std::map<core::Severity, int, std::greater<>> counts;
  for (const auto& f : r.findings) ++counts[f.severity];
  std::string s = fmt::format("vs {}: {} files changed, {} added, {} removed; ", base_version,
                              r.files_changed, r.files_added, r.files_removed);
  if (r.findings.empty()) return s + "no risk findings";
  bool first = true;
  for (auto [sev, n] : counts) {
    s += fmt::format("{}{} {}", first ? "" : ", ", n, core::severity_name(sev));
    first = false;
  }
  const auto& top = r.findings.front();
  return s + fmt::format(" (top: {} {}:{})", top.rule, top.file, top.line);
}

int approve(const RegistryOptions& o) {
  std::string name, version;
  if (!supply::split_package_spec(o.spec, name, version)) {
    std::cerr << "mcp-warden: '" << o.spec << "' is not NAME@VERSION\n";
    return k_exit_usage;
  }
  auto reg = supply::Registry::open(db_path(o));
  if (!reg) {
    std::cerr << "mcp-warden: " << reg.error().message << "\n";
    return k_exit_usage;
  }
  std::string tarball = o.tarball;
  std::string tmpdir;
  if (tarball.empty() && o.integrity.empty()) {
    char tmpl[] = "/tmp/mcp-warden-approve-XXXXXX";
    if (mkdtemp(tmpl)) tmpdir = tmpl;
    tarball = tmpdir.empty() ? "" : npm_pack(o.spec, tmpdir);
    if (tarball.empty()) {
      std::cerr << "mcp-warden: could not fetch " << o.spec
                << " with npm pack; give --tarball FILE or --integrity sha512-...\n";
      return k_exit_usage;
    }
  }
  supply::Approval a;
  a.name = name;
  a.version = version;
  if (!tarball.empty()) {
    auto sri = supply::sri_sha512_of_file(tarball);
    if (!sri) {
      std::cerr << "mcp-warden: " << sri.error().message << "\n";
      return k_exit_usage;
    }
    if (!o.integrity.empty() && o.integrity != *sri) {
      std::cerr << fmt::format("mcp-warden: {} has integrity {}, not the {} you gave\n", tarball, *sri, o.integrity);
      return k_exit_findings;
    }
    a.integrity = *sri;
  } else {
    a.integrity = o.integrity;
  }
  const char* user = std::getenv("USER");
  a.approved_by = !o.by.empty() ? o.by : (user && *user ? user : "unknown");
  a.approved_at = util::format_rfc3339_us(util::SystemClock::instance().now_unix_us());
  a.diff_summary = "first approval of this package";
  if (auto prev = (*reg)->previous(name, version)) {
    std::string prev_tgz = stored_tarball(o, name, prev->version);
    std::error_code ec;
    if (!tarball.empty() && fs::exists(prev_tgz, ec)) {
      auto old_tree = supply::load_package(prev_tgz);
      auto new_tree = supply::load_package(tarball);
      if (old_tree && new_tree) {
        auto report = supply::diff_packages(*old_tree, *new_tree);
        a.diff_summary = summarize(report, prev->version);
        if (!report.findings.empty() && report.findings.front().severity == core::Severity::critical && !o.force) {
          const auto& f = report.findings.front();
          std::cerr << fmt::format("mcp-warden: not approved: {}@{} has a critical change since {}:\n  {} {}:{}: {}\n  > {}\n"
                                   "Review it (mcp-warden diff), then approve with --force if it is intended.\n",
                                   name, version, prev->version, f.rule, f.file, f.line, f.message, f.evidence);
          if (!tmpdir.empty()) fs::remove_all(tmpdir, ec);
          return k_exit_findings;
        }
      }
    } else {
      a.diff_summary = fmt::format("previous approval {} (no tarball kept to compare)", prev->version);
    }
  }
  if (!tarball.empty()) {
    std::error_code ec;
    std::string keep = stored_tarball(o, name, version);
    fs::create_directories(fs::path(keep).parent_path(), ec);
    fs::copy_file(tarball, keep, fs::copy_options::overwrite_existing, ec);
  }
  if (!tmpdir.empty()) {
    std::error_code ec;
    fs::remove_all(tmpdir, ec);
  }
  auto st = (*reg)->approve(a);
  if (!st.ok()) {
    std::cerr << "mcp-warden: " << st.error().message << "\n";
    return k_exit_usage;
  }
  std::cout << fmt::format("approved {}@{} ({}) by {} at {}\n  {}\n", name, version, a.integrity,
                           a.approved_by, a.approved_at, a.diff_summary);
  return k_exit_ok;
}

int verify(const RegistryOptions& o) {
  auto reg = supply::Registry::open(db_path(o));
  if (!reg) {
    std::cerr << "mcp-warden: " << reg.error().message << "\n";
    return k_exit_usage;
  }
  std::vector<supply::VerifyIssue> issues;
  size_t checked = 0;
  std::vector<std::string> paths = o.paths.empty() ? std::vector<std::string>{"."} : o.paths;
  for (const auto& p : paths) {
    auto st = (*reg)->verify(p, issues, checked);
    if (!st.ok()) {
      std::cerr << "mcp-warden: " << st.error().message << "\n";
      return k_exit_usage;
    }
  }
  if (o.format == "json") {
    std::string out;
    util::JsonWriter w(out);
    w.begin_object().key("checked").integer(static_cast<int64_t>(checked)).key("issues").begin_array();
    for (const auto& i : issues) {
      w.begin_object().key("rule").string(i.rule).key("severity").string(i.severity);
      w.key("file").string(i.file).key("package").string(i.name).key("version").string(i.version);
      w.key("message").string(i.message).end_object();
    }
    w.end_array().end_object();
    std::cout << out << "\n";
  } else {
    for (const auto& i : issues)
      std::cout << fmt::format("{:<8} {} {}: {}\n", i.severity, i.rule, i.file, i.message);
    std::cout << fmt::format("{} declared version(s) of approved packages checked, {} issue(s)\n",
                             checked, issues.size());
  }
  return issues.empty() ? k_exit_ok : k_exit_findings;
}

int list(const RegistryOptions& o) {
  auto reg = supply::Registry::open(db_path(o));
  if (!reg) {
    std::cerr << "mcp-warden: " << reg.error().message << "\n";
    return k_exit_usage;
  }
  for (const auto& a : (*reg)->list(o.name))
    std::cout << fmt::format("{}@{}  {}  by {} at {}\n  {}\n", a.name, a.version, a.integrity,
                             a.approved_by, a.approved_at, a.diff_summary);
  return k_exit_ok;
}

}  // namespace

Command add_registry_command(CLI::App& root) {
  auto o = std::make_shared<RegistryOptions>();
  auto* app = root.add_subcommand("registry", "Approval registry of reviewed package versions");
  app->add_option("--db", o->db, "Registry database (default: $XDG_STATE_HOME/mcp-warden/registry.sqlite)");
  app->require_subcommand(1);
  auto* ap = app->add_subcommand("approve", "Record NAME@VERSION as reviewed and approved");
  ap->add_option("spec", o->spec, "NAME@VERSION")->required();
  ap->add_option("--tarball", o->tarball, "The package tarball (else fetched with npm pack)");
  ap->add_option("--integrity", o->integrity, "Expected integrity (sha512-...), e.g. from package-lock.json");
  ap->add_option("--by", o->by, "Who approves (default: $USER)");
  ap->add_flag("--force", o->force, "Approve even if the diff against the previous approval has a critical finding");
  auto* ve = app->add_subcommand("verify", "Check lockfiles and node_modules against the approvals; exit 1 on issues");
  ve->add_option("paths", o->paths, "Files or directories (default: .)");
  ve->add_option("--format", o->format, "table | json")->check(CLI::IsMember({"table", "json"}));
  auto* li = app->add_subcommand("list", "List approvals");
  li->add_option("name", o->name, "Only this package");
  return {app, [o, ap, ve](const std::vector<std::string>&) {
            return ap->parsed() ? approve(*o) : ve->parsed() ? verify(*o) : list(*o);
          }};
}

}  // namespace warden::cli
