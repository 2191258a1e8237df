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

}  // namespace warden::supply
