// A small, fast JSON writer producing compact, canonical output (no whitespace, minimal escapes,
// UTF-8 passed through). Used for everything the warden serializes: audit records, JSON-RPC
// errors it answers itself, and messages it rewrites.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace warden::util {

// Appends `s` as a JSON string literal (with quotes) to `out`. `s` must be valid UTF-8.
void append_json_string(std::string& out, std::string_view s);

class JsonWriter {
public:
  explicit JsonWriter(std::string& out) : m_out(out) {}

  JsonWriter& begin_object() { sep(); m_out += '{'; m_first = true; return *this; }
  JsonWriter& end_object() { m_out += '}'; m_first = false; return *this; }
  JsonWriter& begin_array() { sep(); m_out += '['; m_first = true; return *this; }
  JsonWriter& end_array() { m_out += ']'; m_first = false; return *this; }
  JsonWriter& key(std::string_view k) {
    sep();
    append_json_string(m_out, k);
    m_out += ':';
    m_first = true;  // the value that follows needs no separator
    return *this;
  }
  JsonWriter& string(std::string_view v) { sep(); append_json_string(m_out, v); return *this; }
  JsonWriter& integer(int64_t v) { sep(); m_out += std::to_string(v); return *this; }
  JsonWriter& boolean(bool v) { sep(); m_out += v ? "true" : "false"; return *this; }
  JsonWriter& null() { sep(); m_out += "null"; return *this; }
  // Appends already-serialized, valid JSON verbatim.
  JsonWriter& raw(std::string_view json) { sep(); m_out += json; return *this; }

private:
  void sep() {
    if (!m_first) m_out += ',';
    m_first = false;
  }
  std::string& m_out;
  bool m_first = true;
};

}  // namespace warden::util
