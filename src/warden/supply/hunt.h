// `mcp-warden hunt`: search logs (the warden's audit logs, or any text or JSON Lines logs) for
// indicators of compromise and for hidden recipients (Bcc-like fields) in logged payloads.
#pragma once

#include <map>
#include <memory>
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
  // their recipients are grouped (recipients()). Also understood: postfix logs (the `to=<...>`
  // delivery line of each recipient, grouped by queue id), a Postmark message export as one JSON
  // document ({"Messages": [...]} or an array, pretty-printed or not) and CSV exports (*.csv with
  // To/Cc/Bcc columns).
  Status hunt_file(const std::string& path, std::vector<HuntHit>& hits);
  size_t ioc_count() const { return m_iocs.size(); }
  const std::map<std::string, RecipientGroup>& recipients() const { return m_recipients; }

private:
  struct Message {  // a postfix queue entry, until it is removed
    std::string from;
    std::vector<std::string> to;
    std::string first_seen, last_seen;
  };
  void note_recipients(const std::vector<std::pair<std::string, std::string>>& found,
                       const std::vector<std::string>& to, const std::string& when);
  void postfix_line(std::string_view line);
  void finish_message(Message& m);
  void hunt_json_document(const std::string& path, std::vector<HuntHit>& hits);
  void hunt_csv(const std::string& path, std::vector<HuntHit>& hits);
  bool outside(const std::string& domain, const std::vector<std::string>& to_domains) const;
  std::vector<std::string> m_iocs;  // lower case
  // One multi-pattern pass per line finds which IOCs occur (RE2::Set, built when hunting starts);
  // only those are then checked for token boundaries.
  struct IocMatcher;
  std::shared_ptr<IocMatcher> m_matcher;
  const IocMatcher& matcher();
  std::vector<std::string> m_org;   // lower case
  std::map<std::string, RecipientGroup> m_recipients;
  std::map<std::string, Message> m_queue;                      // postfix queue id -> message
  std::map<std::string, std::vector<std::string>> m_peers;     // postfix: who else each address got mail with
};

}  // namespace warden::supply
