#include "warden/policy/matchers.h"

#include <algorithm>
#include <cstdint>

namespace warden::policy {

namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
  return is_alpha(c) || is_digit(c);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// A DNS-style host name: labels of letters, digits, '-' and '_' (seen in real service names),
// 1..63 characters, not starting or ending with '-', no empty labels. Lowercase expected.
bool valid_hostname(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  size_t start = 0;
  while (start <= h.size()) {
    size_t dot = h.find('.', start);
    if (dot == std::string_view::npos) dot = h.size();
    std::string_view label = h.substr(start, dot - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!(is_alnum(c) || c == '-' || c == '_')) return false;
    start = dot + 1;
    if (dot == h.size()) break;
  }
  return true;
}

// An IPv6 literal in brackets, as written in URLs: hex digits, ':' and '.' (embedded IPv4).
bool valid_ipv6_literal(std::string_view h) {
  if (h.size() < 4 || h.front() != '[' || h.back() != ']') return false;
  std::string_view in = h.substr(1, h.size() - 2);
  bool colon = false;
  for (char c : in) {
    if (c == ':')
      colon = true;
    else if (!(is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'f') || c == '.'))
      return false;
  }
  return colon;
}

bool scheme_prefix(std::string_view s, size_t& scheme_len) {
  size_t colon = s.find("://");
  if (colon == std::string_view::npos || colon == 0 || !is_alpha(s[0])) return false;
  for (size_t i = 1; i < colon; ++i)
    if (!(is_alnum(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')) return false;
  scheme_len = colon;
  return true;
}

} // namespace

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

std::string truncate_utf8(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
    --cut;
  std::string out(s.substr(0, cut));
  out += "...";
  return out;
}

bool glob_match(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0;
  size_t star = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_t = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

bool parse_host_pattern(std::string_view text, HostPattern& out, std::string& why) {
  out = {};
  std::string_view h = text;
  if (h.starts_with("*.")) {
    out.subdomains = true;
    h.remove_prefix(2);
  }
  std::string lowered;
  lowered.reserve(h.size());
  for (char c : h)
    lowered += lower(c);
  if (!lowered.empty() && lowered.back() == '.') lowered.pop_back();
  if (lowered.empty()) {
    why = "a host pattern must name a host";
    return false;
  }
  if (lowered.find('*') != std::string::npos) {
    why = "'*' is only allowed as a leading '*.' (subdomains of a host)";
    return false;
  }
  if (lowered.front() == '[') {
    if (out.subdomains || !valid_ipv6_literal(lowered)) {
      why = "an IPv6 host is written in brackets, like [::1]";
      return false;
    }
  } else if (!valid_hostname(lowered)) {
    why = "a host is letters, digits, '-', '_' and dots, without scheme, port, path or user";
    return false;
  }
  out.host = std::move(lowered);
  return true;
}

bool host_matches(const HostPattern& p, std::string_view host) {
  if (!p.subdomains) return host == p.host;
  return host.size() > p.host.size() + 1 && host.ends_with(p.host) &&
         host[host.size() - p.host.size() - 1] == '.';
}

bool extract_url_host(std::string_view url, std::string& out, const char*& why) {
  out.clear();
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      why = "the URL contains whitespace, control or non-ASCII characters";
      return false;
    }
    if (c == '\\') {
      why = "the URL contains a backslash, which URL parsers disagree on";
      return false;
    }
  }
  size_t scheme_len = 0;
  if (!scheme_prefix(url, scheme_len)) {
    why = "not an absolute URL (scheme://host...)";
    return false;
  }
  std::string_view scheme = url.substr(0, scheme_len);
  if (!(iequals(scheme, "http") || iequals(scheme, "https") || iequals(scheme, "ws") ||
        iequals(scheme, "wss"))) {
    why = "the URL scheme must be http, https, ws or wss";
    return false;
  }
  std::string_view rest = url.substr(scheme_len + 3);
  std::string_view authority = rest.substr(0, std::min(rest.size(), rest.find_first_of("/?#")));
  size_t at = authority.find('@');
  if (at != std::string_view::npos) {
    if (authority.find('@', at + 1) != std::string_view::npos) {
      why = "the URL has more than one '@' before its path";
      return false;
    }
    authority.remove_prefix(at + 1);
  }
  std::string_view host, port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      why = "the URL has an unterminated IPv6 host";
      return false;
    }
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        why = "the URL has characters after its IPv6 host";
        return false;
      }
      has_port = true;
      port = after.substr(1);
    }
  } else {
    size_t colon = authority.find(':');
    host = authority.substr(0, std::min(colon, authority.size()));
    if (colon != std::string_view::npos) {
      has_port = true;
      port = authority.substr(colon + 1);
    }
  }
  if (has_port) {
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return is_digit(c); })) {
      why = "the URL has a bad port";
      return false;
    }
    uint32_t v = 0;
    for (char c : port)
      v = v * 10 + static_cast<uint32_t>(c - '0');
    if (v > 65535) {
      why = "the URL has a bad port";
      return false;
    }
  }
  out.reserve(host.size());
  for (char c : host)
    out += lower(c);
  if (!out.empty() && out.back() == '.' && out.front() != '[') out.pop_back();
  if (out.empty()) {
    why = "the URL has no host";
    return false;
  }
  if (out.front() == '[' ? !valid_ipv6_literal(out) : !valid_hostname(out)) {
    why = "the URL host has characters that are not allowed in a host name";
    out.clear();
    return false;
  }
  return true;
}

bool parse_email(std::string_view addr, std::string& domain, const char*& why) {
  domain.clear();
  if (addr.empty()) {
    why = "empty address";
    return false;
  }
  size_t at = addr.find('@');
  if (at == std::string_view::npos) {
    why = "no '@'";
    return false;
  }
  if (addr.find('@', at + 1) != std::string_view::npos) {
    why = "more than one '@'";
    return false;
  }
  std::string_view local = addr.substr(0, at), dom = addr.substr(at + 1);
  if (local.empty() || local.size() > 64) {
    why = "bad local part";
    return false;
  }
  for (char c : local) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || u < 0x20 || u == 0x7f) {
      why = "non-ASCII or control characters";
      return false;
    }
    if (c == '"' || c == '<' || c == '>' || c == '(' || c == ')' || c == ' ' || c == '\t' ||
        c == '\\' || c == ',' || c == ';' || c == ':' || c == '[' || c == ']') {
      why = "display names, quotes, comments and brackets are not allowed, only a bare address";
      return false;
    }
    if (c == '%' || c == '!') {
      why = "'%' and '!' in the local part can route mail to another host";
      return false;
    }
    // What remains must be RFC 5322 atext or '.'.
    if (!(is_alnum(c) || c == '.' ||
          std::string_view("#$&'*+/=?^_`{|}~-").find(c) != std::string_view::npos)) {
      why = "a character not allowed in an address";
      return false;
    }
  }
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    why = "bad dots in the local part";
    return false;
  }
  domain.reserve(dom.size());
  for (char c : dom)
    domain += lower(c);
  if (domain.empty() || domain.front() == '[' || !valid_hostname(domain)) {
    why = "the domain is not a plain host name";
    domain.clear();
    return false;
  }
  return true;
}

bool domain_within(std::string_view domain, std::string_view allowed) {
  if (domain == allowed) return true;
  return domain.size() > allowed.size() + 1 && domain.ends_with(allowed) &&
         domain[domain.size() - allowed.size() - 1] == '.';
}

namespace {

// Pushes the components of `p` onto `parts`. False if `..` climbs above the root or (when
// `check_tilde`) a component starts with '~'.
bool push_components(std::string_view p, std::vector<std::string_view>& parts, bool check_tilde,
                     const char*& why) {
  size_t i = 0;
  while (i < p.size()) {
    size_t slash = p.find('/', i);
    if (slash == std::string_view::npos) slash = p.size();
    std::string_view c = p.substr(i, slash - i);
    i = slash + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (parts.empty()) {
        why = "'..' climbs above the root directory";
        return false;
      }
      parts.pop_back();
      continue;
    }
    if (check_tilde && c.front() == '~') {
      why = "'~' is not expanded by the warden";
      return false;
    }
    parts.push_back(c);
  }
  return true;
}

} // namespace

bool normalize_path(std::string_view value, std::string_view cwd, std::string& out,
                    std::vector<std::string_view>& parts, const char*& why) {
  out.clear();
  parts.clear();
  if (value.empty()) {
    why = "empty path";
    return false;
  }
  if (value.find('\0') != std::string_view::npos) {
    why = "the path contains a NUL byte";
    return false;
  }
  size_t scheme_len = 0;
  if (scheme_prefix(value, scheme_len)) {
    why = "a URL, not a file path";
    return false;
  }
  if (value.front() != '/') {
    if (cwd.empty() || cwd.front() != '/') {
      why = "a relative path, and the server's working directory is unknown";
      return false;
    }
    if (!push_components(cwd, parts, false, why)) return false;
  }
  if (!push_components(value, parts, true, why)) return false;
  if (parts.empty()) {
    out = "/";
    return true;
  }
  for (std::string_view c : parts) {
    out += '/';
    out += c;
  }
  return true;
}

bool path_within(std::string_view path, std::string_view dir) {
  if (dir == "/") return !path.empty() && path.front() == '/';
  if (!path.starts_with(dir)) return false;
  return path.size() == dir.size() || path[dir.size()] == '/';
}

} // namespace warden::policy
