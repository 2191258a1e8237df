// Small string helpers that know nothing of MCP.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace warden::util {

inline std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace warden::util
