// `mcp-warden hunt`: search logs (the warden's audit logs, or any text or JSON Lines logs) for
// indicators of compromise and for hidden recipients (Bcc-like fields) in logged payloads.
#pragma once

#include <map>
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

// Everyone who received mail as Bcc/Cc across the logs, grouped by address.
struct RecipientGroup {
  std::string address;  // lower case
  std::string field;    // the field it was first seen in (Bcc, Cc, ...)
  size_t count = 0;
  std::string first_seen, last_seen;  // the record's time if it has one, else file:line
  bool outside = false;  // outside the organisation (--org), or, without --org, not a To domain
};

class Hunter {
public:
  // IOCs: domains (match the domain and its subdomains, in hosts, URLs and email addresses), email
  // addresses, IPs, or any other string (case-insensitive substring).
  void add_ioc(std::string ioc);
  // One IOC per line; '#' comments and blank lines ignored.
  Status add_ioc_file(const std::string& path);
  // The organisation's own mail domains: Bcc/Cc recipients outside them are flagged.
  void add_org_domain(std::string domain);
  // Searches a file line by line (any size). JSON lines are also walked for Bcc-like keys, and
  // their recipients are grouped (recipients()).
  Status hunt_file(const std::string& path, std::vector<HuntHit>& hits);
  size_t ioc_count() const { return m_iocs.size(); }
  const std::map<std::string, RecipientGroup>& recipients() const { return m_recipients; }

private:
  std::vector<std::string> m_iocs;  // lower case
  std::vector<std::string> m_org;   // lower case
  std::map<std::string, RecipientGroup> m_recipients;
};

}  // namespace warden::supply
