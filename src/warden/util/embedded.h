// The data files under rules/ (default detector rules, the bundled intel feed), compiled into the
// binary by cmake/embed.cmake so an installed mcp-warden needs no data directory.
#pragma once

#include <string_view>
#include <vector>

namespace warden::util {

// The content of rules/<path> (e.g. "intel/bundled.osv.json"), or empty if there is none.
std::string_view embedded_file(std::string_view path);
// The paths of the embedded files that start with `prefix`, sorted.
std::vector<std::string_view> embedded_files(std::string_view prefix);

}  // namespace warden::util
