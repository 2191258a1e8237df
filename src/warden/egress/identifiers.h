// Identifiers in outbound requests (DESIGN.md section 2, intent correlation): email addresses and
// URL hosts, found in the query string, the headers and the body (JSON, form, multipart or text),
// each with where it was found. Also the `strip` rewrite: offending addresses removed from the
// recipient fields (To/Cc/Bcc-like) of a JSON body. Pure functions; fuzzed.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace warden::egress {

enum class IdKind { email, host };
const char* id_kind_name(IdKind k);  // "email", "host"

struct Identifier {
  IdKind kind = IdKind::email;
  std::string value;  // lowercase
  std::string where;  // "body.Bcc", "body.personalizations[0].to[1].email", "query.to", "header.X-Cc"
};

struct RequestView {
  std::string_view method, target;  // target: origin-form path?query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;
};

// Every identifier of the kinds asked for. Headers that carry credentials or the destination
// (Authorization, Cookie, Host and the `skip_header` the broker injects) are not searched.
std::vector<Identifier> extract_identifiers(const RequestView& r, bool emails, bool hosts,
                                            std::string_view skip_header = {});

// Identifiers in free text (appends; `where` names the field).
void scan_text(std::string_view text, const std::string& where, bool emails, bool hosts,
               std::vector<Identifier>& out);
// Every identifier in every string (keys included) of a JSON document; falls back to the raw text
// when it is not JSON.
void scan_json(std::string_view json, const std::string& where, bool emails, bool hosts,
               std::vector<Identifier>& out);

struct StripResult {
  std::string body;                  // the re-serialized JSON
  std::vector<std::string> removed;  // the addresses taken out
  std::vector<Identifier> remaining; // offending addresses outside recipient fields (not stripped)
};
// nullopt when the body is not JSON.
std::optional<StripResult> strip_json_recipients(std::string_view body,
                                                 const std::set<std::string>& offending);

std::string percent_decode(std::string_view s, bool plus_is_space);

}  // namespace warden::egress
