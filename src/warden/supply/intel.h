// Threat intel: OSV records (https://ossf.github.io/osv-schema/) of malicious or vulnerable package
// versions, evaluated against NAME@VERSION for npm (SemVer) and PyPI (PEP 440).
//
// Sources, all merged: the feed compiled into the binary (rules/intel/bundled.osv.json, which
// carries MAL-2025-47604 for postmark-mcp >= 1.0.16), and every *.json in the intel directory
// (`intel update --osv DIR` copies validated records there).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "warden/supply/version.h"
#include "warden/util/result.h"

namespace warden::supply {

struct RangeEvent {
  enum class Kind { introduced, fixed, last_affected, limit };
  Kind kind;
  std::optional<Version> version;  // nullopt for introduced "0" (every version)
};

struct AffectedRange {
  std::vector<RangeEvent> events;  // in the record's order
};

struct Advisory {
  std::string id;       // MAL-2025-47604
  std::string summary;
  std::string source;   // file it came from, or "bundled"
  bool malicious = false;  // MAL- ids: the package itself is malicious, not merely vulnerable
  Ecosystem ecosystem = Ecosystem::npm;
  std::string package;
  std::vector<AffectedRange> ranges;
  std::vector<std::string> versions;  // explicitly listed affected versions
  bool affects(const Version& v) const;
};

class IntelDb {
public:
  // Parses one OSV document: a record, or an array of records. Affected entries of other
  // ecosystems are skipped; a malformed record is an error naming the source and the problem.
  Status add_osv_json(std::string_view json, const std::string& source);
  Status add_bundled();
  // Adds every *.json file in `dir` (missing dir: nothing to add).
  Status add_directory(const std::string& dir);

  // The advisories that affect NAME@VERSION.
  std::vector<const Advisory*> check(Ecosystem eco, const std::string& name, const Version& v) const;
  // The advisories for a package at any version (to tell "known package, other versions").
  std::vector<const Advisory*> advisories_for(Ecosystem eco, const std::string& name) const;
  size_t size() const { return m_count; }

private:
  // npm names are case-sensitive; PyPI names are normalised (PEP 503: lower case, runs of -_. -> -).
  static std::string key(Ecosystem eco, std::string_view name);
  std::map<std::string, std::vector<Advisory>> m_by_package;
  size_t m_count = 0;
};

// The directory for imported intel: $MCP_WARDEN_STATE_DIR/intel, else
// $XDG_STATE_HOME/mcp-warden/intel, else ~/.local/state/mcp-warden/intel.
std::string default_intel_dir();

// Splits "name@version" (npm scopes: "@scope/name@1.2.3"; PyPI also "name==version").
bool split_package_spec(std::string_view spec, std::string& name, std::string& version);

}  // namespace warden::supply
