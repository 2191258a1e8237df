// Helpers shared by the supply tests: fixture files and the CLI's exit code.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "warden/supply/scan.h"

namespace warden::supply::testing {

inline std::string slurp_file(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A scanner with the bundled intel feed and popular-package list.
struct BundledScanner {
  BundledScanner() {
    intel_ok = intel.add_bundled().ok() && popular.add_bundled().ok();
  }
  IntelDb intel;
  PopularPackages popular;
  bool intel_ok = false;
  Scanner scanner{intel, popular};
};

#ifdef WARDEN_BINARY
// Runs mcp-warden with `args` (a shell fragment) and returns its exit code; stdout goes to `out`
// when given. The intel directory is an empty one, so only the bundled feed and --intel count.
inline int run_warden(const std::string& args, std::string* out = nullptr) {
  std::string capture = "/tmp/warden-cli-out-" + std::to_string(::getpid());
  std::string cmd = "MCP_WARDEN_STATE_DIR=/nonexistent-warden-state " + std::string(WARDEN_BINARY) + " " + args +
                    " >" + capture + " 2>/dev/null </dev/null";
  int rc = std::system(cmd.c_str());
  if (out) *out = slurp_file(capture);
  std::remove(capture.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}
#endif

}  // namespace warden::supply::testing
