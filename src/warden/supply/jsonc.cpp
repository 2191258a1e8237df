#include "warden/supply/jsonc.h"

#include <fmt/format.h>

namespace warden::supply {

const JsoncValue* JsoncValue::get(std::string_view key) const {
  for (const auto& [k, v] : members)
    if (k == key) return v.get();
  return nullptr;
}

namespace {

class Parser {
public:
  explicit Parser(std::string_view t) : m_t(t) {}

  Result<std::unique_ptr<JsoncValue>> document() {
    auto v = value(0);
    if (!v) return v;
    skip();
    if (m_i != m_t.size()) return fail("unexpected text after the document");
    return v;
  }

private:
  Error fail(const std::string& what) const {
    size_t line = 1, col = 1;
    for (size_t k = 0; k < m_i && k < m_t.size(); ++k) {
      if (m_t[k] == '\n') { ++line; col = 1; } else { ++col; }
    }
    return Error{2, fmt::format("line {}, column {}: {}", line, col, what)};
  }
  void skip() {
    while (m_i < m_t.size()) {
      char c = m_t[m_i];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') { ++m_i; continue; }
      if (c == '/' && m_i + 1 < m_t.size() && m_t[m_i + 1] == '/') {
        while (m_i < m_t.size() && m_t[m_i] != '\n') ++m_i;
        continue;
      }
      if (c == '/' && m_i + 1 < m_t.size() && m_t[m_i + 1] == '*') {
        size_t close = m_t.find("*/", m_i + 2);
        m_i = close == std::string_view::npos ? m_t.size() : close + 2;
        continue;
      }
      break;
    }
  }
  Result<std::string> str() {
    ++m_i;  // opening quote
    std::string out;
    while (m_i < m_t.size() && m_t[m_i] != '"') {
      char c = m_t[m_i++];
      if (c != '\\') { out += c; continue; }
      if (m_i >= m_t.size()) break;
      char e = m_t[m_i++];
      switch (e) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        if (m_i + 4 > m_t.size()) return fail("bad \\u escape");
        unsigned cp = 0;
        for (int k = 0; k < 4; ++k) {
          char h = m_t[m_i + static_cast<size_t>(k)];
          int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
          if (d < 0) return fail("bad \\u escape");
          cp = cp * 16 + static_cast<unsigned>(d);
        }
        m_i += 4;
        if (cp < 0x80) out += static_cast<char>(cp);
        else if (cp < 0x800) { out += static_cast<char>(0xC0 | (cp >> 6)); out += static_cast<char>(0x80 | (cp & 0x3F)); }
        else { out += static_cast<char>(0xE0 | (cp >> 12)); out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)); out += static_cast<char>(0x80 | (cp & 0x3F)); }
        break;
      }
      default: out += e;
      }
    }
    if (m_i >= m_t.size()) return fail("unterminated string");
    ++m_i;
    return out;
  }
  Result<std::unique_ptr<JsoncValue>> value(int depth) {
    if (depth > 256) return fail("nested too deeply");
    skip();
    if (m_i >= m_t.size()) return fail("unexpected end of file");
    auto v = std::make_unique<JsoncValue>();
    v->begin = m_i;
    char c = m_t[m_i];
    if (c == '{' || c == '[') {
      bool obj = c == '{';
      v->type = obj ? JsoncValue::Type::object : JsoncValue::Type::array;
      ++m_i;
      for (;;) {
        skip();
        if (m_i < m_t.size() && m_t[m_i] == (obj ? '}' : ']')) { ++m_i; break; }
        if (obj) {
          if (m_i >= m_t.size() || m_t[m_i] != '"') return fail("expected a quoted key");
          auto key = str();
          if (!key) return key.error();
          skip();
          if (m_i >= m_t.size() || m_t[m_i] != ':') return fail("expected ':'");
          ++m_i;
          auto member = value(depth + 1);
          if (!member) return member;
          v->members.emplace_back(std::move(*key), std::move(*member));
        } else {
          auto item = value(depth + 1);
          if (!item) return item;
          v->items.push_back(std::move(*item));
        }
        skip();
        if (m_i < m_t.size() && m_t[m_i] == ',') { ++m_i; continue; }
        if (m_i < m_t.size() && m_t[m_i] == (obj ? '}' : ']')) { ++m_i; break; }
        return fail(obj ? "expected ',' or '}'" : "expected ',' or ']'");
      }
    } else if (c == '"') {
      v->type = JsoncValue::Type::string;
      auto s = str();
      if (!s) return s.error();
      v->string = std::move(*s);
    } else {
      size_t j = m_i;
      while (j < m_t.size() && (std::isalnum(static_cast<unsigned char>(m_t[j])) || m_t[j] == '-' || m_t[j] == '+' || m_t[j] == '.')) ++j;
      std::string_view word = m_t.substr(m_i, j - m_i);
      if (word == "true" || word == "false") v->type = JsoncValue::Type::boolean;
      else if (word == "null") v->type = JsoncValue::Type::null;
      else if (!word.empty() && (std::isdigit(static_cast<unsigned char>(word[0])) || word[0] == '-')) v->type = JsoncValue::Type::number;
      else return fail("unexpected character");
      m_i = j;
    }
    v->end = m_i;
    return v;
  }

  std::string_view m_t;
  size_t m_i = 0;
};

}  // namespace

Result<std::unique_ptr<JsoncValue>> parse_jsonc(std::string_view text) { return Parser(text).document(); }

}  // namespace warden::supply
