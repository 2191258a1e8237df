// `mcp-warden hunt`: search logs (the warden's audit logs, or any text or JSON Lines logs) for
// indicators of compromise and for hidden recipients (Bcc-like fields) in logged payloads.
#pragma once

#include <string>
#include <vector>

#include "warden/core/verdict.h"
#include "warden/util/result.h"

namespace warden::supply {

struct HuntHit {
  std::string rule;  // supply.hunt.ioc | supply.hunt.hidden_recipient
  core::Severity severity;
  std::string file;
  size_t line = 0;
  std::string indicator;  // the IOC or the field name
  std::string excerpt;    // around the match, capped
};

class Hunter {
public:
  // IOCs: domains (match the domain and its subdomains, in hosts, URLs and email addresses), email
  // addresses, IPs, or any other string (case-insensitive substring).
  void add_ioc(std::string ioc);
  // One IOC per line; '#' comments and blank lines ignored.
  Status add_ioc_file(const std::string& path);
  // Searches a file line by line (any size). JSON lines are also walked for Bcc-like keys.
  Status hunt_file(const std::string& path, std::vector<HuntHit>& hits) const;
  size_t ioc_count() const { return m_iocs.size(); }

private:
  std::vector<std::string> m_iocs;  // lower case
};

}  // namespace warden::supply
