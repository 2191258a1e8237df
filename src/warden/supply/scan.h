// `mcp-warden scan`: inventory of MCP servers in client configs and of packages in lockfiles,
// node_modules, Python environments and container images, with findings: known-malicious versions, typosquats, unpinned npx packages,
// servers not behind the warden, plaintext secrets in config env, sandbox and host escapes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "warden/core/verdict.h"
#include "warden/supply/clients.h"
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
  std::vector<std::string> launch;  // what --connect starts: the command, looked through mcp-warden run
  std::vector<ConfigEnv> env;
  struct Connect {
    bool tried = false, ok = false;
    size_t tools = 0, prompts = 0, resources = 0, templates = 0;
    std::string problem;  // why it could not be listed
  } connect;
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
  // The home that `~` means in policies named by wrapped entries (default: $HOME).
  void set_home(std::string home) { m_home = std::move(home); }
  // A client config: JSON/JSONC, Continue's YAML or Codex's TOML (by extension).
  void scan_config(const std::string& path, ScanReport& r) const;
  // A directory or file: client configs by name, lockfiles and manifests (lockfiles.h),
  // node_modules/**/package.json and site-packages/*.dist-info/METADATA.
  void scan_path(const std::string& path, ScanReport& r) const;
  // Every known client's config under `home`, at its Linux, macOS and Windows paths.
  void scan_home(const std::string& home, ScanReport& r) const;
  // A container image tarball (`docker save` or OCI layout): its layers applied in order, with
  // whiteouts, in memory; then the files scan_path would read. Files are named TAR!/path.
  void scan_image(const std::string& tar, ScanReport& r) const;

  // Whether a file at `rel_path` ('/' separated) is one scan reads (so callers read only those).
  static bool wanted(std::string_view rel_path);
  // One file's text, judged by its path; `display` names it in findings and warnings.
  void scan_text(const std::string& display, std::string_view rel_path, std::string_view text,
                 ScanReport& r) const;

private:
  void scan_config_text(const std::string& display, ConfigFormat format, std::string_view text,
                        ScanReport& r) const;
  void check_package(Ecosystem eco, const std::string& file, int line, const std::string& name,
                     const std::string& version, ScanReport& r) const;
  // Sandbox and host escapes (escapes.h) of one server entry, and of the policy its wrapper names.
  void check_escapes(const ScanServer& s, const std::vector<std::string>& inner, ScanReport& r) const;
  std::string home() const;
  const IntelDb& m_intel;
  const PopularPackages& m_popular;
  std::string m_home;
};

void sort_findings(ScanReport& r);

// A config env value that is a token or has a secret's name (supply.scan.plaintext_secret).
bool looks_like_secret(const std::string& key, const std::string& value);

}  // namespace warden::supply
