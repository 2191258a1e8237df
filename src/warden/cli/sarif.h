// SARIF 2.1.0 output shared by the commands that report findings (diff, hunt, scan).
#pragma once

#include <string>
#include <vector>

#include "warden/core/verdict.h"

namespace warden::cli {

struct SarifResult {
  std::string rule;
  core::Severity severity;
  std::string message;
  std::string file;
  int line = 0;  // 0: no region
};

// One SARIF document: a run of mcp-warden, its rules (stable ids), and the results with locations.
std::string render_sarif(const std::vector<SarifResult>& results);

}  // namespace warden::cli
