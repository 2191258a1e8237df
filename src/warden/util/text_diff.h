// A line diff for people: the lines of `before` and `after` with "- ", "+ " or "  " in front,
// from a longest common subsequence. Inputs over `max_lines` lines each are shown as a whole
// removal and addition instead.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace warden::util {

std::string line_diff(std::string_view before, std::string_view after, size_t max_lines = 4000);

}  // namespace warden::util
