#include "warden/supply/version.h"

#include <algorithm>
#include <cctype>

namespace warden::supply {

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Parses a decimal number of at most 18 digits.
bool parse_num(std::string_view s, uint64_t& out) {
  if (!all_digits(s) || s.size() > 18) return false;
  out = 0;
  for (char c : s) out = out * 10 + static_cast<uint64_t>(c - '0');
  return true;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    parts.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

int compare_release(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    uint64_t x = i < a.size() ? a[i] : 0, y = i < b.size() ? b[i] : 0;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

template <class T> int cmp(T a, T b) { return a < b ? -1 : a > b ? 1 : 0; }

}  // namespace

std::optional<Ecosystem> parse_ecosystem(std::string_view s) {
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "npm") return Ecosystem::npm;
  if (lower == "pypi") return Ecosystem::pypi;
  return std::nullopt;
}

const char* ecosystem_name(Ecosystem e) { return e == Ecosystem::npm ? "npm" : "PyPI"; }

Version Version::zero(Ecosystem eco) {
  Version v;
  v.m_eco = eco;
  v.m_text.assign(1, '0');  // (not = "0": GCC 12 -Wrestrict false positive under ASan)
  v.m_release = {0};
  if (eco == Ecosystem::npm) v.m_pre = {"0"};  // below 0.0.0 and every 0.0.0 prerelease but "0"
  else v.m_dev = 0;                            // below 0.dev1 and every release
  return v;
}

std::optional<Version> Version::parse(Ecosystem eco, std::string_view text) {
  Version v;
  v.m_eco = eco;
  v.m_text = std::string(text);
  std::string_view s = text;
  if (eco == Ecosystem::npm) {
    if (!s.empty() && (s[0] == 'v' || s[0] == '=')) s.remove_prefix(1);
    if (auto plus = s.find('+'); plus != std::string_view::npos) s = s.substr(0, plus);  // build
    std::string_view pre;
    if (auto dash = s.find('-'); dash != std::string_view::npos) {
      pre = s.substr(dash + 1);
      s = s.substr(0, dash);
      if (pre.empty()) return std::nullopt;
    }
    auto parts = split(s, '.');
    if (parts.size() != 3) return std::nullopt;
    for (auto p : parts) {
      uint64_t n = 0;
      if (!parse_num(p, n) || (p.size() > 1 && p[0] == '0')) return std::nullopt;
      v.m_release.push_back(n);
    }
    if (!pre.empty()) {
      for (auto id : split(pre, '.')) {
        if (id.empty()) return std::nullopt;
        if (!std::all_of(id.begin(), id.end(), [](char c) {
              return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
            }))
          return std::nullopt;
        v.m_pre.emplace_back(id);
      }
    }
    return v;
  }

  // PEP 440, normalised: lower case, optional leading v, epoch "N!", release N(.N)*, then
  // pre (a|b|rc|alpha|beta|c|pre|preview, optional separator and number), post (.postN, -N),
  // dev (.devN), local (+...) ignored.
  std::string t;
  for (char c : s) t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view r = t;
  while (!r.empty() && r.front() == ' ') r.remove_prefix(1);
  while (!r.empty() && r.back() == ' ') r.remove_suffix(1);
  if (!r.empty() && r[0] == 'v') r.remove_prefix(1);
  if (auto plus = r.find('+'); plus != std::string_view::npos) r = r.substr(0, plus);
  if (auto bang = r.find('!'); bang != std::string_view::npos) {
    if (!parse_num(r.substr(0, bang), v.m_epoch)) return std::nullopt;
    r.remove_prefix(bang + 1);
  }
  size_t i = 0;
  auto read_num = [&](uint64_t& out) {
    size_t start = i;
    while (i < r.size() && std::isdigit(static_cast<unsigned char>(r[i]))) ++i;
    return parse_num(r.substr(start, i - start), out);
  };
  for (;;) {
    uint64_t n = 0;
    if (!read_num(n)) return std::nullopt;
    v.m_release.push_back(n);
    if (i < r.size() && r[i] == '.' && i + 1 < r.size() && std::isdigit(static_cast<unsigned char>(r[i + 1]))) {
      ++i;
      continue;
    }
    break;
  }
  auto skip_sep = [&] {
    if (i < r.size() && (r[i] == '.' || r[i] == '-' || r[i] == '_')) ++i;
  };
  auto starts = [&](std::string_view w) { return r.substr(i, w.size()) == w; };
  // Pre-release.
  {
    size_t save = i;
    skip_sep();
    static constexpr std::pair<std::string_view, int> k_pre[] = {
        {"alpha", 0}, {"beta", 1}, {"preview", 2}, {"pre", 2}, {"rc", 2}, {"a", 0}, {"b", 1}, {"c", 2}};
    bool matched = false;
    for (auto [word, kind] : k_pre) {
      if (starts(word)) {
        i += word.size();
        skip_sep();
        v.m_pre_kind = kind;
        if (i < r.size() && std::isdigit(static_cast<unsigned char>(r[i])) && !read_num(v.m_pre_num))
          return std::nullopt;
        matched = true;
        break;
      }
    }
    if (!matched) i = save;
  }
  // Post-release.
  {
    size_t save = i;
    if (i < r.size() && r[i] == '-' && i + 1 < r.size() && std::isdigit(static_cast<unsigned char>(r[i + 1]))) {
      ++i;
      uint64_t n = 0;
      if (!read_num(n)) return std::nullopt;
      v.m_post = static_cast<int64_t>(n);
    } else {
      skip_sep();
      bool matched = false;
      for (std::string_view word : {"post", "rev", "r"}) {
        if (starts(word)) {
          i += word.size();
          skip_sep();
          uint64_t n = 0;
          if (i < r.size() && std::isdigit(static_cast<unsigned char>(r[i])) && !read_num(n)) return std::nullopt;
          v.m_post = static_cast<int64_t>(n);
          matched = true;
          break;
        }
      }
      if (!matched) i = save;
    }
  }
  // Development release.
  {
    size_t save = i;
    skip_sep();
    if (starts("dev")) {
      i += 3;
      uint64_t n = 0;
      if (i < r.size() && std::isdigit(static_cast<unsigned char>(r[i])) && !read_num(n)) return std::nullopt;
      v.m_dev = static_cast<int64_t>(n);
    } else {
      i = save;
    }
  }
  if (i != r.size()) return std::nullopt;
  return v;
}

int Version::compare(const Version& o) const {
  if (m_eco == Ecosystem::npm) {
    if (int c = compare_release(m_release, o.m_release)) return c;
    if (m_pre.empty() || o.m_pre.empty()) return cmp(m_pre.empty(), o.m_pre.empty());
    size_t n = std::min(m_pre.size(), o.m_pre.size());
    for (size_t k = 0; k < n; ++k) {
      const auto &a = m_pre[k], &b = o.m_pre[k];
      bool na = all_digits(a), nb = all_digits(b);
      if (na && nb) {
        if (a.size() != b.size()) return cmp(a.size(), b.size());
        if (int c = a.compare(b)) return c < 0 ? -1 : 1;
      } else if (na != nb) {
        return na ? -1 : 1;  // numeric identifiers sort before alphanumeric ones
      } else if (int c = a.compare(b)) {
        return c < 0 ? -1 : 1;
      }
    }
    return cmp(m_pre.size(), o.m_pre.size());
  }
  if (int c = cmp(m_epoch, o.m_epoch)) return c;
  if (int c = compare_release(m_release, o.m_release)) return c;
  // Within one release: dev-only < pre (with their dev < without) < final < post.
  auto pre_key = [](const Version& v) -> std::pair<int, uint64_t> {
    if (v.m_pre_kind >= 0) return {v.m_pre_kind, v.m_pre_num};
    if (v.m_post < 0 && v.m_dev >= 0) return {-1, 0};  // 1.0.dev1 sorts before 1.0a1
    return {3, 0};                                    // no pre-release
  };
  auto pa = pre_key(*this), pb = pre_key(o);
  if (pa != pb) return pa < pb ? -1 : 1;
  if (int c = cmp(m_post, o.m_post)) return c;
  // A dev release sorts before the same version without one.
  int64_t da = m_dev < 0 ? INT64_MAX : m_dev, db = o.m_dev < 0 ? INT64_MAX : o.m_dev;
  return cmp(da, db);
}

}  // namespace warden::supply
