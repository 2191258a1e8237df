// `mcp-warden scan`: inventory of MCP servers in client configs and of packages in lockfiles and
// node_modules, with findings: known-malicious versions, typosquats, unpinned npx packages,
// servers not behind the warden, plaintext secrets in config env.
#pragma once

#include <string>
#include <vector>

#include "warden/core/verdict.h"
#include "warden/supply/intel.h"
#include "warden/supply/typosquat.h"

namespace warden::supply {

struct ScanServer {
  std::string config;  // file
  int line = 0;
  std::string name;
  std::vector<std::string> command;
  std::string package, version;  // resolved, if it could be
  bool guarded = false;          // runs under mcp-warden
};

struct ScanFinding {
  std::string rule;
  core::Severity severity;
  std::string file;
  int line = 0;
  std::string message;
};

struct ScanReport {
  std::vector<ScanServer> servers;
  size_t packages = 0;  // lockfile / node_modules entries looked at
  std::vector<ScanFinding> findings;  // most severe first
  std::vector<std::string> warnings;  // unreadable or broken files: reported, the scan goes on
};

class Scanner {
public:
  Scanner(const IntelDb& intel, const PopularPackages& popular) : m_intel(intel), m_popular(popular) {}
  // A client config (JSON/JSONC with mcpServers/servers/...).
  void scan_config(const std::string& path, ScanReport& r) const;
  // A directory or file: configs by name, package-lock.json, node_modules/**/package.json.
  void scan_path(const std::string& path, ScanReport& r) const;
  // Every known client's config under `home`.
  void scan_home(const std::string& home, ScanReport& r) const;

private:
  void check_package(const std::string& file, int line, const std::string& name,
                     const std::string& version, ScanReport& r) const;
  const IntelDb& m_intel;
  const PopularPackages& m_popular;
};

void sort_findings(ScanReport& r);

}  // namespace warden::supply
