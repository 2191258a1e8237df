// The string checks behind the argument matchers, as pure functions: no MCP, no YAML, no
// exceptions, no allocation beyond the scratch buffers the caller passes in. The evaluator calls
// them on the message path; the loader uses the same code to validate what the policy lists.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace warden::policy {

// Number of Unicode code points in valid UTF-8 (continuation bytes are not counted).
size_t utf8_length(std::string_view s);

// `s` cut to at most `max_bytes` at a UTF-8 boundary, with "..." appended when it was cut.
std::string truncate_utf8(std::string_view s, size_t max_bytes);

// Glob with `*` only (any run of characters, including none and including '/'). Everything else
// is literal and case-sensitive.
bool glob_match(std::string_view pattern, std::string_view text);

// A host pattern from a policy: `example.com` (that host only) or `*.example.com` (subdomains of
// example.com, not example.com itself). IP literals are written as `127.0.0.1` or `[::1]`.
struct HostPattern {
  std::string host;        // lowercase, without the `*.`
  bool subdomains = false; // written as `*.host`
};
// Parses and validates a pattern; false (with `why`) if it is not one.
bool parse_host_pattern(std::string_view text, HostPattern& out, std::string& why);
// `host` must already be lowercase (as extract_url_host returns it).
bool host_matches(const HostPattern& p, std::string_view host);

// Extracts the host of an http, https, ws or wss URL: userinfo and port are stripped, the host is
// lowercased and one trailing dot removed. Refused (false, with a static reason in `why`):
// other schemes, no `//`, whitespace, control or non-ASCII characters, backslashes, more than one
// `@` in the authority, percent-encoded or otherwise unusual host characters, empty labels, a bad
// port. `host` is written into `out`.
bool extract_url_host(std::string_view url, std::string& out, const char*& why);

// Checks one email address (no list): a bare addr-spec `local@domain`, ASCII only. Refused: display
// names (`Bob <b@x>`), quotes, comments, whitespace, more than one `@`, `%` and `!` routing in the
// local part, empty or malformed domain labels. On success `domain` is the lowercase domain.
bool parse_email(std::string_view addr, std::string& domain, const char*& why);
// True if `domain` (lowercase) equals `allowed` or is a subdomain of it.
bool domain_within(std::string_view domain, std::string_view allowed);

// Lexical path normalisation: resolves `.` and `..`, collapses `//`, and makes a relative `value`
// absolute against `cwd`. Refused (false, with a static reason in `why`): an empty value, a NUL
// byte, a component starting with `~`, a URL (`scheme://`), `..` climbing above `/`, a relative
// value when `cwd` is not an absolute path. `parts` is scratch space; the result is in `out`.
bool normalize_path(std::string_view value, std::string_view cwd, std::string& out,
                    std::vector<std::string_view>& parts, const char*& why);
// True if the normalised absolute `path` is `dir` or inside it (`dir` normalised too).
bool path_within(std::string_view path, std::string_view dir);

} // namespace warden::policy
