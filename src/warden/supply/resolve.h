// Which package a server command runs: `npx -y NAME@VERSION`, or a script inside node_modules.
#pragma once

#include <string>
#include <vector>

#include "warden/util/result.h"

namespace warden::supply {

struct PackageRef {
  std::string name;
  std::string version;  // empty when the command does not pin one (npx -y pkg)
  std::string how;      // "npx argument" | "node_modules/<pkg>/package.json"
};

// Error when the command's package cannot be determined (the caller fails closed).
Result<PackageRef> resolve_package(const std::vector<std::string>& argv);

// `require_approval: true` (DESIGN section 5 of issue 5): the package behind `argv` must be pinned
// and approved in the registry at `registry_path` (empty: the default state directory's). The error
// says which package and version, and how to review and approve it. `run` and `gateway` refuse to
// start the server on an error.
Status check_approved(const std::string& server_name, const std::vector<std::string>& argv,
                      const std::string& registry_path);

}  // namespace warden::supply
