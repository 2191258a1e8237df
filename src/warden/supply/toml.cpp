#include "warden/supply/toml.h"

#include <cctype>

#include <fmt/format.h>

namespace warden::supply {

const TomlValue* TomlValue::get(std::string_view key) const {
  for (const auto& [k, v] : members)
    if (k == key) return v.get();
  return nullptr;
}

std::vector<const TomlValue*> TomlValue::strings() const {
  std::vector<const TomlValue*> out;
  for (const auto& i : items)
    if (i->type == Type::string) out.push_back(i.get());
  return out;
}

namespace {

constexpr int k_max_depth = 64;

class TomlParser {
public:
  explicit TomlParser(std::string_view text) : m_text(text) {}

  Result<std::unique_ptr<TomlValue>> parse() {
    auto root = std::make_unique<TomlValue>();
    root->line = 1;
    root->end = m_text.size();
    TomlValue* current = root.get();
    while (true) {
      skip_blank_lines();
      if (m_pos >= m_text.size()) break;
      if (peek() == '[') {
        size_t start = m_pos;
        int line = m_line;
        bool array = m_text.substr(m_pos, 2) == "[[";
        m_pos += array ? 2 : 1;
        std::vector<std::string> path;
        if (!keys(path)) return fail();
        skip_spaces();
        if (m_text.substr(m_pos, array ? 2 : 1) != (array ? "]]" : "]"))
          return fail(array ? "expected ']]' to close the table header" : "expected ']' to close the table header");
        m_pos += array ? 2 : 1;
        current = root.get();
        for (size_t i = 0; i + 1 < path.size(); ++i) current = descend(*current, path[i]);
        if (array) {
          TomlValue* arr = child(*current, path.back(), TomlValue::Type::array);
          arr->items.push_back(std::make_unique<TomlValue>());
          current = arr->items.back().get();
        } else {
          current = child(*current, path.back(), TomlValue::Type::table);
        }
        current->begin = start;
        current->end = m_pos;
        current->line = line;
        if (!end_of_line()) return fail("unexpected text after the table header");
        continue;
      }
      if (!key_value(*current)) return fail();
      if (!end_of_line()) return fail("unexpected text after the value (one key = value per line)");
    }
    return root;
  }

private:
  char peek(size_t ahead = 0) const { return m_pos + ahead < m_text.size() ? m_text[m_pos + ahead] : '\0'; }
  void advance() {
    if (m_text[m_pos] == '\n') ++m_line;
    ++m_pos;
  }
  void skip_spaces() {
    while (m_pos < m_text.size() && (m_text[m_pos] == ' ' || m_text[m_pos] == '\t')) ++m_pos;
  }
  void skip_comment() {
    if (peek() == '#')
      while (m_pos < m_text.size() && m_text[m_pos] != '\n') ++m_pos;
  }
  void skip_blank_lines() {
    while (m_pos < m_text.size()) {
      skip_spaces();
      skip_comment();
      if (peek() == '\n') advance();
      else if (peek() == '\r' && peek(1) == '\n') m_pos += 1;
      else break;
    }
  }
  // Spaces, newlines and comments (inside arrays).
  void skip_ws_and_comments() {
    while (m_pos < m_text.size()) {
      char c = m_text[m_pos];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') advance();
      else if (c == '#') skip_comment();
      else break;
    }
  }
  bool end_of_line() {
    skip_spaces();
    skip_comment();
    if (peek() == '\r') ++m_pos;
    if (m_pos >= m_text.size()) return true;
    if (peek() != '\n') return false;
    advance();
    return true;
  }

  Result<std::unique_ptr<TomlValue>> fail(std::string what = {}) {
    if (what.empty()) what = m_error;
    size_t line_start = m_text.rfind('\n', m_pos == 0 ? 0 : m_pos - 1);
    size_t col = line_start == std::string_view::npos || m_pos == 0 ? m_pos + 1 : m_pos - line_start;
    if (m_pos > 0 && m_pos <= m_text.size() && m_text[m_pos - 1] == '\n') col = 1;
    return Error{2, fmt::format("line {}, column {}: {}", m_line, col, what)};
  }
  bool error(std::string what) {
    if (m_error.empty()) m_error = std::move(what);
    return false;
  }

  TomlValue* child(TomlValue& t, const std::string& key, TomlValue::Type type) const {
    for (auto& [k, v] : t.members)
      if (k == key && v->type == type) return v.get();
    auto v = std::make_unique<TomlValue>();
    v->type = type;
    v->line = m_line;  // an implicit table ([a.b] creating a) starts where it is first named
    t.members.emplace_back(key, std::move(v));
    return t.members.back().second.get();
  }
  // A table on a dotted path: an existing table, the last table of an array of tables, or new.
  TomlValue* descend(TomlValue& t, const std::string& key) const {
    for (auto& [k, v] : t.members) {
      if (k != key) continue;
      if (v->type == TomlValue::Type::table) return v.get();
      if (v->type == TomlValue::Type::array && !v->items.empty() &&
          v->items.back()->type == TomlValue::Type::table)
        return v->items.back().get();
    }
    return child(t, key, TomlValue::Type::table);
  }

  bool keys(std::vector<std::string>& path) {
    while (true) {
      skip_spaces();
      char c = peek();
      if (c == '"' || c == '\'') {
        TomlValue v;
        if (!string_value(v)) return false;
        path.push_back(v.string);
      } else {
        size_t s = m_pos;
        while (m_pos < m_text.size() && (std::isalnum(static_cast<unsigned char>(m_text[m_pos])) ||
                                         m_text[m_pos] == '-' || m_text[m_pos] == '_'))
          ++m_pos;
        if (s == m_pos) return error("expected a key (bare keys are A-Z a-z 0-9 - _; quote others)");
        path.emplace_back(m_text.substr(s, m_pos - s));
      }
      skip_spaces();
      if (peek() != '.') return true;
      ++m_pos;
    }
  }

  bool key_value(TomlValue& table, int depth = 0) {
    std::vector<std::string> path;
    if (!keys(path)) return false;
    skip_spaces();
    if (peek() != '=') return error("expected '=' after the key");
    ++m_pos;
    skip_spaces();
    TomlValue* t = &table;
    for (size_t i = 0; i + 1 < path.size(); ++i) t = descend(*t, path[i]);
    auto v = std::make_unique<TomlValue>();
    if (!value(*v, depth)) return false;
    t->members.emplace_back(path.back(), std::move(v));
    return true;
  }

  bool value(TomlValue& v, int depth) {
    if (depth > k_max_depth) return error("values nested too deeply");
    v.begin = m_pos;
    v.line = m_line;
    char c = peek();
    bool ok;
    if (c == '"' || c == '\'') ok = string_value(v);
    else if (c == '[') ok = array_value(v, depth);
    else if (c == '{') ok = inline_table(v, depth);
    else ok = other_value(v);
    v.end = m_pos;
    return ok;
  }

  bool other_value(TomlValue& v) {
    v.type = TomlValue::Type::other;
    size_t s = m_pos;
    while (m_pos < m_text.size()) {
      char c = m_text[m_pos];
      if (c == ',' || c == ']' || c == '}' || c == '#' || c == '\n' || c == '\r') break;
      if (c == ' ' || c == '\t') {
        // A date and time may be separated by a space (1979-05-27 07:32:00); nothing else may.
        bool date = m_pos - s == 10 && m_text[s + 4] == '-' && m_text[s + 7] == '-' &&
                    std::isdigit(static_cast<unsigned char>(peek(1)));
        if (!date) break;
      }
      ++m_pos;
    }
    size_t e = m_pos;
    while (e > s && (m_text[e - 1] == ' ' || m_text[e - 1] == '\t')) --e;
    m_pos = e;
    if (s == e) return error("expected a value (a string, number, boolean, date, array or inline table)");
    v.string = std::string(m_text.substr(s, e - s));
    return true;
  }

  bool string_value(TomlValue& v) {
    v.type = TomlValue::Type::string;
    char q = peek();
    bool multi = peek(1) == q && peek(2) == q;
    m_pos += multi ? 3 : 1;
    if (multi && peek() == '\n') advance();
    else if (multi && peek() == '\r' && peek(1) == '\n') m_pos += 1, advance();
    while (true) {
      if (m_pos >= m_text.size()) return error("unterminated string");
      char c = m_text[m_pos];
      if (c == q && (!multi || (peek(1) == q && peek(2) == q))) {
        m_pos += multi ? 3 : 1;
        // """a"""" : up to two quotes may end a multi-line string's content
        for (int extra = 0; multi && extra < 2 && peek() == q; ++extra) {
          v.string += q;
          ++m_pos;
        }
        return true;
      }
      if (c == '\n' && !multi) return error("newline in a single-line string");
      if (c == '\\' && q == '"') {
        ++m_pos;
        char e = peek();
        switch (e) {
          case 'n': v.string += '\n'; break;
          case 't': v.string += '\t'; break;
          case 'r': v.string += '\r'; break;
          case 'b': v.string += '\b'; break;
          case 'f': v.string += '\f'; break;
          case '"': v.string += '"'; break;
          case '\\': v.string += '\\'; break;
          case 'u': {
            unsigned cp = 0;
            for (int i = 1; i <= 4; ++i) {
              char h = peek(static_cast<size_t>(i));
              if (!std::isxdigit(static_cast<unsigned char>(h))) return error("bad \\u escape (four hex digits)");
              cp = cp * 16 + static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
            }
            m_pos += 4;
            if (cp < 0x80) v.string += static_cast<char>(cp);
            else if (cp < 0x800) {
              v.string += static_cast<char>(0xC0 | (cp >> 6));
              v.string += static_cast<char>(0x80 | (cp & 0x3F));
            } else {
              v.string += static_cast<char>(0xE0 | (cp >> 12));
              v.string += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
              v.string += static_cast<char>(0x80 | (cp & 0x3F));
            }
            break;
          }
          default:
            if (multi && (e == '\n' || e == ' ' || e == '\t' || e == '\r')) {  // line-ending backslash
              while (m_pos < m_text.size() && std::isspace(static_cast<unsigned char>(m_text[m_pos]))) advance();
              continue;
            }
            v.string += '\\';
            v.string += e;  // passed through (see the limits)
        }
        if (m_pos < m_text.size()) ++m_pos;
        continue;
      }
      v.string += c;
      advance();
    }
  }

  bool array_value(TomlValue& v, int depth) {
    v.type = TomlValue::Type::array;
    ++m_pos;
    while (true) {
      skip_ws_and_comments();
      if (peek() == ']') {
        ++m_pos;
        return true;
      }
      if (m_pos >= m_text.size()) return error("unterminated array (expected ']')");
      auto item = std::make_unique<TomlValue>();
      if (!value(*item, depth + 1)) return false;
      v.items.push_back(std::move(item));
      skip_ws_and_comments();
      if (m_pos >= m_text.size()) return error("unterminated array (expected ']')");
      if (peek() == ',') ++m_pos;
      else if (peek() != ']') return error("expected ',' or ']' in the array");
    }
  }

  bool inline_table(TomlValue& v, int depth) {
    v.type = TomlValue::Type::table;
    ++m_pos;
    skip_spaces();
    if (peek() == '}') {
      ++m_pos;
      return true;
    }
    while (true) {
      skip_spaces();
      if (!key_value(v, depth + 1)) return false;
      skip_spaces();
      if (peek() == ',') {
        ++m_pos;
        continue;
      }
      if (peek() == '}') {
        ++m_pos;
        return true;
      }
      return error("expected ',' or '}' in the inline table");
    }
  }

  std::string_view m_text;
  size_t m_pos = 0;
  int m_line = 1;
  std::string m_error;
};

}  // namespace

Result<std::unique_ptr<TomlValue>> parse_toml(std::string_view text) { return TomlParser(text).parse(); }

}  // namespace warden::supply
