// The forensic bundle a quarantine leaves behind (DESIGN.md section 2, circuit breaker): a
// directory with incident.json (what tripped, when, the server's command line, the package and
// the hashes of the files it ran), request.txt (the offending request, secrets redacted) and
// audit-slice.jsonl (this session's audit records, verbatim, for `audit show` and diffing).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "warden/util/result.h"

namespace warden::audit {

struct Incident {
  std::string server, session;
  std::vector<std::string> command;
  std::string audit_path;
  std::string detector, reason, evidence, host;
  std::string request;  // already redacted
  uint64_t audit_seq = 0;
  int64_t started_us = 0, quarantined_us = 0;  // unix microseconds
  std::string sandbox_json;                    // Upstream::describe_json()
  // The package behind the command, where it can be resolved (supply::resolve_package).
  std::string package_name, package_version, package_from;
};

// Writes the bundle under `root` (created if needed) and returns its directory.
Result<std::string> write_forensic_bundle(const std::string& root, const Incident& incident);

}  // namespace warden::audit
