// Package manifests and lockfiles that `scan` reads, parsed from text into (ecosystem, name,
// version, line): npm package-lock.json / npm-shrinkwrap.json (v1 to v3), installed
// node_modules/**/package.json, yarn.lock (v1 and berry), pnpm-lock.yaml (v5 to v9),
// requirements.txt, pyproject.toml (PEP 621 and Poetry), uv.lock and site-packages
// *.dist-info/METADATA.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "warden/supply/version.h"

namespace warden::supply {

struct LockedPackage {
  Ecosystem eco = Ecosystem::npm;
  std::string name;
  std::string version;  // exact version, or empty when the file only constrains it
  int line = 0;         // 1-based, 0 when unknown
};

enum class PackageFile {
  none,
  package_lock,   // package-lock.json, npm-shrinkwrap.json (not inside node_modules)
  node_package,   // node_modules/NAME/package.json, node_modules/@scope/NAME/package.json
  yarn_lock,
  pnpm_lock,
  requirements,   // requirements*.txt
  pyproject,
  uv_lock,
  dist_info,      // *.dist-info/METADATA, *.egg-info/PKG-INFO
};

// What kind of package file a path is, by its name and parent directories ('/' separated).
PackageFile package_file_kind(std::string_view path);

struct PackageParse {
  std::vector<LockedPackage> packages;
  // What could not be read, each saying where ("line L: what"): a file that does not parse at
  // all has one problem and no packages; a requirements file keeps its good lines.
  std::vector<std::string> problems;
};

// The packages in a file's text.
PackageParse parse_package_file(PackageFile kind, std::string_view text);

// One PEP 508 requirement ("name[extra] ==1.2 ; markers"): the name and, when it pins a single
// version (== or ===, no wildcard), that version. False when it is not a requirement.
bool parse_requirement(std::string_view text, std::string& name, std::string& exact_version);

}  // namespace warden::supply
