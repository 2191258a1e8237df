#include "warden/supply/resolve.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <simdjson.h>

#include "warden/supply/intel.h"
#include "warden/supply/registry.h"

namespace warden::supply {

namespace fs = std::filesystem;

namespace {

std::string base(const std::string& p) { return fs::path(p).filename().string(); }

}  // namespace

Result<PackageRef> resolve_package(const std::vector<std::string>& argv) {
  if (argv.empty()) return Error{2, "no command"};
  std::string tool = base(argv[0]);
  if (tool == "npx" || tool == "bunx" || tool == "pnpx") {
    for (size_t i = 1; i < argv.size(); ++i) {
      const std::string& a = argv[i];
      if (a == "--") continue;
      if (a.rfind("--package=", 0) == 0 || a.rfind("-p=", 0) == 0) {
        std::string spec = a.substr(a.find('=') + 1);
        PackageRef r{spec, {}, "npx --package"};
        std::string n, v;
        if (split_package_spec(spec, n, v)) r = {n, v, "npx --package"};
        return r;
      }
      if (a == "--package" || a == "-p") {
        if (i + 1 >= argv.size()) break;
        std::string spec = argv[++i];
        std::string n, v;
        if (split_package_spec(spec, n, v)) return PackageRef{n, v, "npx --package"};
        return PackageRef{spec, {}, "npx --package"};
      }
      if (a[0] == '-') continue;  // -y, --yes, --quiet...
      std::string n, v;
      if (split_package_spec(a, n, v)) return PackageRef{n, v, "npx argument"};
      return PackageRef{a, {}, "npx argument"};
    }
    return Error{2, "npx without a package argument"};
  }
  // A script inside node_modules: the nearest package.json whose folder sits in node_modules.
  for (size_t i = 1; i < argv.size(); ++i) {
    std::error_code ec;
    fs::path p = fs::absolute(argv[i], ec);
    if (ec || !fs::exists(p, ec)) continue;
    for (fs::path dir = fs::is_directory(p, ec) ? p : p.parent_path(); dir.has_parent_path() && dir != dir.root_path();
         dir = dir.parent_path()) {
      fs::path pj = dir / "package.json";
      bool in_node_modules = dir.parent_path().filename() == "node_modules" ||
                             dir.parent_path().parent_path().filename() == "node_modules";
      if (!in_node_modules || !fs::exists(pj, ec)) continue;
      std::ifstream in(pj);
      std::stringstream ss;
      ss << in.rdbuf();
      simdjson::dom::parser parser;
      simdjson::dom::element root;
      std::string_view name, version;
      if (parser.parse(ss.str()).get(root) || root["name"].get(name) || root["version"].get(version))
        return Error{2, fmt::format("{} has no readable name and version", pj.string())};
      return PackageRef{std::string(name), std::string(version), pj.string()};
    }
  }
  return Error{2, fmt::format("cannot tell which package '{}' runs (use npx NAME@VERSION or a "
                              "script under node_modules)", fmt::join(argv, " "))};
}

}  // namespace warden::supply

namespace warden::supply {

Status check_approved(const std::string& server_name, const std::vector<std::string>& argv,
                      const std::string& registry_path) {
  auto pkg = resolve_package(argv);
  if (!pkg)
    return Error{2, fmt::format("server entry '{}' requires an approved package, but {}; refusing to start",
                                server_name, pkg.error().message)};
  if (pkg->version.empty())
    return Error{2, fmt::format("server entry '{}' requires an approved package, but '{}' is not pinned to a "
                                "version (npx would run whatever was published last); use {}@VERSION; "
                                "refusing to start",
                                server_name, pkg->name, pkg->name)};
  std::string db = registry_path.empty() ? default_state_dir() + "/registry.sqlite" : registry_path;
  auto reg = Registry::open(db);
  if (!reg) return Error{2, reg.error().message + "; refusing to start"};
  if ((*reg)->find(pkg->name, pkg->version)) return Ok{};
  auto prev = (*reg)->previous(pkg->name, pkg->version);
  return Error{2, fmt::format("{}@{} (from {}) is not approved in {}; refusing to start.\n"
                              "  Review it: mcp-warden diff {}@{} {}@{}\n"
                              "  Approve it: mcp-warden registry approve {}@{}",
                              pkg->name, pkg->version, pkg->how, db, pkg->name, prev ? prev->version : "PREVIOUS",
                              pkg->name, pkg->version, pkg->name, pkg->version)};
}

}  // namespace warden::supply
