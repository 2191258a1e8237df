// Small string helpers that know nothing of MCP.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace warden::util {

// ASCII lower case (bytes >= 0x80 unchanged, whatever the locale): what protocol names, hosts,
// header names and log indicators need, and branch-free enough to run on every log line.
inline std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c + ((static_cast<unsigned char>(c - 'A') < 26) ? 32 : 0));
  return out;
}

// Without leading and trailing spaces and tabs (HTTP optional whitespace, RFC 9110 section 5.5).
inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace warden::util
