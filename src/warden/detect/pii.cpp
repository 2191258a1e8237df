#include "warden/detect/pii.h"

#include <algorithm>
#include <memory>

#include <re2/re2.h>

namespace warden::detect {

namespace {

struct Pattern {
  const char* kind;
  const char* regex;  // group 1 is the hit
};

constexpr Pattern k_patterns[] = {
    {"email", R"((?:^|[^A-Za-z0-9._%+\-])([A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24}))"},
    {"card_number", R"((?:^|[^0-9\-])((?:[0-9][ \-]?){12,18}[0-9])(?:$|[^0-9\-]))"},
    {"us_ssn", R"((?:^|[^0-9\-])([0-9]{3}-[0-9]{2}-[0-9]{4})(?:$|[^0-9\-]))"},
};

const std::vector<std::unique_ptr<RE2>>& compiled() {
  static const auto k_res = [] {
    std::vector<std::unique_ptr<RE2>> v;
    RE2::Options o;
    o.set_log_errors(false);
    for (const auto& p : k_patterns) v.push_back(std::make_unique<RE2>(p.regex, o));
    return v;
  }();
  return k_res;
}

bool ssn_valid(std::string_view s) {
  std::string_view area = s.substr(0, 3), group = s.substr(4, 2), serial = s.substr(7, 4);
  if (area == "000" || area == "666" || area[0] == '9') return false;
  return group != "00" && serial != "0000";
}

bool card_valid(std::string_view s) {
  size_t digits = static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }));
  if (digits < 13 || digits > 19) return false;
  // A run of one repeated digit passes Luhn for some lengths; it is never a card.
  // Issuer prefixes in use: 2 (Mastercard 2-series), 3 (Amex, Diners, JCB), 4, 5, 6. This also
  // keeps millisecond timestamps and most phone numbers out.
  if (s[0] < '2' || s[0] > '6') return false;
  char first = s[0];
  if (std::all_of(s.begin(), s.end(), [&](char c) { return c == first || c == ' ' || c == '-'; })) return false;
  return luhn_valid(s);
}

}  // namespace

bool luhn_valid(std::string_view s) {
  int sum = 0;
  bool twice = false;
  for (auto it = s.rbegin(); it != s.rend(); ++it) {
    if (*it < '0' || *it > '9') continue;
    int d = *it - '0';
    if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

std::vector<PiiHit> find_pii(std::string_view text) {
  std::vector<PiiHit> hits;
  const auto& res = compiled();
  for (size_t i = 0; i < res.size(); ++i) {
    if (!res[i]->ok()) continue;
    re2::StringPiece input(text.data(), text.size());
    size_t pos = 0;
    // Walk every match: group 1 is the hit, the search resumes at its end.
    re2::StringPiece sub[2];
    while (pos < text.size() && res[i]->Match(input, pos, text.size(), RE2::UNANCHORED, sub, 2)) {
      size_t b = static_cast<size_t>(sub[1].data() - text.data());
      size_t e = b + sub[1].size();
      std::string_view hit = text.substr(b, e - b);
      const char* kind = k_patterns[i].kind;
      bool valid = kind == std::string_view("email")         ? true
                   : kind == std::string_view("card_number") ? card_valid(hit)
                                                             : ssn_valid(hit);
      if (valid) hits.push_back({kind, b, e});
      pos = std::max(e, static_cast<size_t>(sub[0].data() - text.data()) + 1);
    }
  }
  std::sort(hits.begin(), hits.end(), [](const PiiHit& a, const PiiHit& b) { return a.begin < b.begin; });
  std::vector<PiiHit> out;
  for (const auto& h : hits)
    if (out.empty() || h.begin >= out.back().end) out.push_back(h);
  return out;
}

std::string redact_pii(std::string_view text, const std::vector<PiiHit>& hits) {
  std::string out;
  size_t at = 0;
  for (const auto& h : hits) {
    out.append(text.substr(at, h.begin - at));
    out += "[REDACTED:";
    out += h.kind;
    out += ']';
    at = h.end;
  }
  out.append(text.substr(at));
  return out;
}

}  // namespace warden::detect
