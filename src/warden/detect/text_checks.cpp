#include "warden/detect/text_checks.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace warden::detect {

using core::Severity;

uint32_t decode_utf8(std::string_view s, size_t i, size_t& len) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  len = 1;
  if (c < 0x80) return c;
  size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
  if (n == 0 || n > 4 || i + n > s.size()) return 0xFFFD;
  uint32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0xFFFD;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  len = n;
  return cp;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

namespace {

enum IssueKind : size_t { k_tag, k_zero_width, k_bidi, k_ansi, k_control, k_selector, k_issue_kinds };

const std::array<CharIssue, k_issue_kinds> k_issue_templates = {{
    {"unicode.tag_chars", Severity::critical, "Unicode tag characters (invisible text the model reads)"},
    {"unicode.zero_width", Severity::medium, "zero-width or invisible formatting characters"},
    {"unicode.bidi_control", Severity::high, "bidirectional control characters (text shown in another order than read)"},
    {"control.ansi_escape", Severity::high, "ANSI escape sequences (can hide or rewrite text in a terminal)"},
    {"control.chars", Severity::medium, "control characters"},
    {"unicode.variation_selectors", Severity::high, "runs of variation selectors (a known way to smuggle bytes)"},
}};

bool is_rtl_letter(uint32_t cp) {
  return (cp >= 0x0590 && cp <= 0x08FF) || (cp >= 0xFB1D && cp <= 0xFDFF) || (cp >= 0xFE70 && cp <= 0xFEFC);
}
bool is_pictograph(uint32_t cp) {
  return (cp >= 0x1F000 && cp <= 0x1FAFF) || (cp >= 0x2600 && cp <= 0x27BF) || (cp >= 0x2B00 && cp <= 0x2BFF);
}
// Scripts whose orthography uses ZWJ/ZWNJ (Arabic, Indic, ...): joiners next to them are legitimate.
bool uses_joiners(uint32_t cp) { return cp >= 0x0600 && cp <= 0x0DFF; }

bool is_zero_width(uint32_t cp) {
  switch (cp) {
    case 0x00AD: case 0x034F: case 0x115F: case 0x1160: case 0x17B4: case 0x17B5: case 0x180E:
    case 0x200B: case 0x200C: case 0x200D: case 0x2060: case 0x2061: case 0x2062: case 0x2063:
    case 0x2064: case 0x3164: case 0xFEFF: case 0xFFA0:
      return true;
    default:
      return false;
  }
}

}  // namespace

CharScan scan_characters(std::string_view text) {
  CharScan out;
  std::array<CharIssue, k_issue_kinds> found = k_issue_templates;
  bool has_rtl = false;
  // Quick path: pure printable ASCII has nothing to find.
  bool plain = true;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80 || (c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7F) {
      plain = false;
      break;
    }
  }
  if (plain) return out;

  struct Cp {
    uint32_t cp;
    size_t at, len;
  };
  std::vector<Cp> cps;
  cps.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t len = 1;
    uint32_t cp = decode_utf8(text, i, len);
    cps.push_back({cp, i, len});
    has_rtl = has_rtl || is_rtl_letter(cp);
    i += len;
  }
  std::vector<bool> strip(cps.size(), false);
  std::vector<std::pair<size_t, size_t>> cuts;  // byte ranges the cleaned text leaves out
  auto note = [&](IssueKind k, size_t begin, size_t end) {
    if (k != k_selector) cuts.emplace_back(begin, end);
    auto& f = found[k];
    if (f.count++ == 0) {
      f.begin = begin;
      f.end = end;
    }
  };
  size_t selector_run = 0;
  for (size_t k = 0; k < cps.size(); ++k) {
    uint32_t cp = cps[k].cp;
    size_t at = cps[k].at, end = at + cps[k].len;
    uint32_t prev = k > 0 ? cps[k - 1].cp : 0, next = k + 1 < cps.size() ? cps[k + 1].cp : 0;
    if (cp >= 0xE0000 && cp <= 0xE007F) {
      strip[k] = true;
      if (cp >= 0xE0020 && cp <= 0xE007E) {
        if (out.tag_text.empty()) out.tag_begin = at;
        out.tag_text += static_cast<char>(cp - 0xE0000);
        out.tag_end = end;
      }
      note(k_tag, at, end);
    } else if (is_zero_width(cp)) {
      strip[k] = true;
      bool joiner = cp == 0x200C || cp == 0x200D;
      bool legit = joiner && (is_pictograph(prev) || is_pictograph(next) || uses_joiners(prev) || uses_joiners(next) ||
                              (cp == 0x200D && (next == 0x2640 || next == 0x2642)));
      if (cp == 0xFEFF && at == 0) legit = true;  // a byte-order mark at the start
      if (!legit) note(k_zero_width, at, end);
    } else if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) {
      strip[k] = true;
      note(k_bidi, at, end);
    } else if (cp == 0x200E || cp == 0x200F || cp == 0x061C) {
      strip[k] = true;
      if (!has_rtl) note(k_zero_width, at, end);  // directional marks in text with no RTL script
    } else if (cp == 0x1B || cp == 0x9B) {
      // ESC [ ... final byte (CSI), ESC ] ... BEL/ST (OSC), or a lone ESC.
      size_t e = end;
      if (cp == 0x1B && e < text.size() && (text[e] == '[' || text[e] == ']')) {
        bool osc = text[e] == ']';
        ++e;
        while (e < text.size()) {
          auto c = static_cast<unsigned char>(text[e]);
          ++e;
          if (osc ? (c == 0x07 || c == 0x1B) : (c >= 0x40 && c <= 0x7E)) break;
        }
      }
      note(k_ansi, at, e);
    } else if ((cp < 0x20 && cp != '\n' && cp != '\t' && cp != '\r') || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
      note(k_control, at, end);
    }
    bool selector = (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0100 && cp <= 0xE01EF);
    if (selector) {
      if (++selector_run == 3) note(k_selector, cps[k - 2].at, end);
      if (cp >= 0xE0100) {
        strip[k] = true;
        cuts.emplace_back(at, end);
      }
    } else {
      selector_run = 0;
    }
  }
  for (auto& f : found)
    if (f.count > 0) out.issues.push_back(f);
  if (!cuts.empty()) {
    out.cut = true;
    std::sort(cuts.begin(), cuts.end());
    size_t at = 0;
    for (auto [b, e] : cuts) {
      if (b > at) out.cleaned.append(text.substr(at, b - at));
      at = std::max(at, e);
    }
    if (at < text.size()) out.cleaned.append(text.substr(at));
  }
  if (std::find(strip.begin(), strip.end(), true) != strip.end()) {
    out.stripped.reserve(text.size());
    for (size_t k = 0; k < cps.size(); ++k) {
      if (strip[k]) continue;
      for (size_t b = 0; b < cps[k].len; ++b) {
        out.stripped += text[cps[k].at + b];
        out.offsets.push_back(static_cast<uint32_t>(cps[k].at + b));
      }
    }
    out.offsets.push_back(static_cast<uint32_t>(text.size()));
  }
  return out;
}

namespace {

bool is_b64(unsigned char c) { return std::isalnum(c) || c == '+' || c == '/' || c == '-' || c == '_'; }
bool is_hex(unsigned char c) { return std::isxdigit(c) != 0; }

int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

// Readable: valid UTF-8, almost no control bytes, and some letters and spaces (words).
bool readable(std::string_view s) {
  if (s.size() < 8) return false;
  size_t letters = 0, spaces = 0, bad = 0;
  for (size_t i = 0; i < s.size();) {
    size_t len = 1;
    uint32_t cp = decode_utf8(s, i, len);
    if (cp == 0xFFFD) ++bad;
    else if (cp < 0x20 && cp != '\n' && cp != '\t' && cp != '\r') ++bad;
    else if (cp == ' ') ++spaces;
    else if (cp >= 0x80 || std::isalpha(static_cast<unsigned char>(cp))) ++letters;
    i += len;
  }
  return bad * 20 <= s.size() && spaces >= 1 && letters * 2 >= s.size();
}

constexpr size_t k_min_b64 = 16;
constexpr size_t k_min_hex = 16;
constexpr size_t k_max_payloads = 16;

}  // namespace

std::vector<Payload> find_payloads(std::string_view text) {
  std::vector<Payload> out;
  size_t i = 0;
  while (i < text.size() && out.size() < k_max_payloads) {
    auto c = static_cast<unsigned char>(text[i]);
    if (!is_b64(c)) {
      ++i;
      continue;
    }
    size_t b = i;
    bool all_hex = true, mixed = false, lower = false, upper = false, digit = false;
    while (i < text.size() && is_b64(static_cast<unsigned char>(text[i]))) {
      auto x = static_cast<unsigned char>(text[i]);
      all_hex = all_hex && is_hex(x);
      lower = lower || std::islower(x);
      upper = upper || std::isupper(x);
      digit = digit || std::isdigit(x);
      ++i;
    }
    size_t e = i;
    while (i < text.size() && text[i] == '=' && i - e < 2) ++i;
    mixed = (lower && upper) || digit;
    std::string_view run = text.substr(b, e - b);
    if (all_hex && run.size() >= k_min_hex && run.size() % 2 == 0) {
      std::string d;
      for (size_t k = 0; k + 1 < run.size(); k += 2) {
        auto v = [](char h) { return std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10); };
        d += static_cast<char>(v(run[k]) * 16 + v(run[k + 1]));
      }
      if (readable(d)) out.push_back({"hex", b, e, std::move(d)});
      continue;
    }
    if (run.size() >= k_min_b64 && mixed) {
      std::string d;
      uint32_t acc = 0;
      int bits = 0;
      for (char ch : run) {
        acc = (acc << 6) | static_cast<uint32_t>(b64_value(static_cast<unsigned char>(ch)));
        bits += 6;
        if (bits >= 8) {
          bits -= 8;
          d += static_cast<char>((acc >> bits) & 0xFF);
        }
      }
      if (readable(d)) out.push_back({"base64", b, i, std::move(d)});
    }
  }
  return out;
}

namespace {

// Homoglyphs of ASCII letters in Cyrillic, Greek and other blocks (a practical subset of UTS #39).
struct Glyph {
  uint32_t cp;
  char ascii;
};
constexpr Glyph k_glyphs[] = {
    {0x0430, 'a'}, {0x0410, 'a'}, {0x0432, 'b'}, {0x0412, 'b'}, {0x0441, 'c'}, {0x0421, 'c'}, {0x0501, 'd'},
    {0x0435, 'e'}, {0x0415, 'e'}, {0x0451, 'e'}, {0x04BB, 'h'}, {0x041D, 'h'}, {0x0456, 'i'}, {0x0406, 'i'},
    {0x0458, 'j'}, {0x0408, 'j'}, {0x043A, 'k'}, {0x041A, 'k'}, {0x04CF, 'l'}, {0x041C, 'm'}, {0x043E, 'o'},
    {0x041E, 'o'}, {0x0440, 'p'}, {0x0420, 'p'}, {0x051B, 'q'}, {0x0455, 's'}, {0x0405, 's'}, {0x0422, 't'},
    {0x0443, 'y'}, {0x0423, 'y'}, {0x0445, 'x'}, {0x0425, 'x'}, {0x051D, 'w'}, {0x0461, 'w'}, {0x0261, 'g'},
    {0x03B1, 'a'}, {0x0391, 'a'}, {0x0392, 'b'}, {0x03B5, 'e'}, {0x0395, 'e'}, {0x0396, 'z'}, {0x0397, 'h'},
    {0x03B9, 'i'}, {0x0399, 'i'}, {0x03BA, 'k'}, {0x039A, 'k'}, {0x039C, 'm'}, {0x03BD, 'v'}, {0x039D, 'n'},
    {0x03BF, 'o'}, {0x039F, 'o'}, {0x03C1, 'p'}, {0x03A1, 'p'}, {0x03C4, 't'}, {0x03A4, 't'}, {0x03C5, 'u'},
    {0x03A5, 'y'}, {0x03C7, 'x'}, {0x03A7, 'x'}, {0x0131, 'i'}, {0x2113, 'l'}, {0x0269, 'i'}, {0x13A0, 'd'},
    {0x13A1, 'r'}, {0x13A2, 't'}, {0x13AA, 'a'}, {0x13AC, 'e'}, {0x13B3, 'w'}, {0x13C3, 'z'}, {0x13D2, 'r'},
};

enum Script { k_latin, k_greek, k_cyrillic, k_other_letters, k_scripts };

int script_of(uint32_t cp) {
  if ((cp < 0x80 && std::isalpha(static_cast<int>(cp))) || (cp >= 0xC0 && cp <= 0x24F) || (cp >= 0x1E00 && cp <= 0x1EFF))
    return k_latin;
  if (cp >= 0x370 && cp <= 0x3FF) return k_greek;
  if (cp >= 0x400 && cp <= 0x52F) return k_cyrillic;
  if (cp >= 0x13A0 && cp <= 0x13FF) return k_other_letters;  // Cherokee: many Latin look-alikes
  if (cp >= 0xFF21 && cp <= 0xFF5A) return k_other_letters;  // fullwidth Latin
  return -1;
}

}  // namespace

NameShape name_shape(std::string_view name) {
  NameShape s;
  std::array<bool, k_scripts> scripts{};
  std::string folded;
  for (size_t i = 0; i < name.size();) {
    size_t len = 1;
    uint32_t cp = decode_utf8(name, i, len);
    i += len;
    if (cp >= 0x80) s.non_ascii = true;
    int sc = script_of(cp);
    if (sc >= 0) scripts[static_cast<size_t>(sc)] = true;
    if (cp < 0x80) {
      auto c = static_cast<unsigned char>(cp);
      if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '/')) s.invalid_chars = true;
      char f = static_cast<char>(std::tolower(c));
      if (f == '-' || f == '.' || f == ' ') f = '_';
      if (f == '0') f = 'o';
      if (f == '1') f = 'l';
      folded += f;
      continue;
    }
    if (cp >= 0xFF01 && cp <= 0xFF5E) {
      folded += static_cast<char>(std::tolower(static_cast<int>(cp - 0xFEE0)));
      continue;
    }
    auto it = std::find_if(std::begin(k_glyphs), std::end(k_glyphs), [&](const Glyph& g) { return g.cp == cp; });
    if (it != std::end(k_glyphs)) folded += it->ascii;
    else if (!(cp >= 0x200B && cp <= 0x200F) && cp != 0xFEFF && cp != 0x2060 && !(cp >= 0xE0000 && cp <= 0xE007F))
      append_utf8(folded, cp);  // invisible characters fold away
  }
  int n = 0;
  for (bool b : scripts) n += b ? 1 : 0;
  s.mixed_script = n >= 2;
  // rn -> m, vv -> w
  for (size_t p = 0; (p = folded.find("rn", p)) != std::string::npos;) folded.replace(p, 2, "m");
  for (size_t p = 0; (p = folded.find("vv", p)) != std::string::npos;) folded.replace(p, 2, "w");
  s.skeleton = std::move(folded);
  return s;
}

}  // namespace warden::detect
