#include "warden/util/text_diff.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace warden::util {

namespace {

std::vector<std::string_view> split_lines(std::string_view s) {
  std::vector<std::string_view> out;
  size_t at = 0;
  while (at < s.size()) {
    size_t nl = s.find('\n', at);
    if (nl == std::string_view::npos) nl = s.size();
    out.push_back(s.substr(at, nl - at));
    at = nl + 1;
  }
  return out;
}

}  // namespace

std::string line_diff(std::string_view before, std::string_view after, size_t max_lines) {
  auto a = split_lines(before), b = split_lines(after);
  std::string out;
  auto emit = [&](char mark, std::string_view line) {
    out += mark;
    out += ' ';
    out.append(line);
    out += '\n';
  };
  if (a.size() > max_lines || b.size() > max_lines) {
    for (auto l : a) emit('-', l);
    for (auto l : b) emit('+', l);
    return out;
  }
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  std::vector<std::vector<uint32_t>> lcs(a.size() + 1, std::vector<uint32_t>(b.size() + 1, 0));
  for (size_t i = a.size(); i-- > 0;)
    for (size_t j = b.size(); j-- > 0;)
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) {
      emit(' ', a[i++]);
      ++j;
    } else if (i < a.size() && (j == b.size() || lcs[i + 1][j] >= lcs[i][j + 1])) {
      emit('-', a[i++]);
    } else {
      emit('+', b[j++]);
    }
  }
  return out;
}

}  // namespace warden::util
