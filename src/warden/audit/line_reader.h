// Internal: reads a file as lines without loading it whole. Not part of the audit API.
#pragma once

#include <cstdio>
#include <string>

namespace warden::audit::detail {

class LineReader {
public:
  explicit LineReader(const std::string& path) : m_file(std::fopen(path.c_str(), "rbe")) {}
  ~LineReader() {
    if (m_file) std::fclose(m_file);
  }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  bool is_open() const { return m_file != nullptr; }

  // Sets `line` (without its newline) and returns true for each complete line. At the end, returns
  // false; `partial()` then holds the bytes after the last newline (empty if the file ends with
  // one).
  bool next(std::string& line) {
    for (;;) {
      size_t nl = m_buf.find('\n', m_pos);
      if (nl != std::string::npos) {
        line.assign(m_buf, m_pos, nl - m_pos);
        m_pos = nl + 1;
        return true;
      }
      if (!m_file || m_eof) {
        m_partial.assign(m_buf, m_pos, std::string::npos);
        m_buf.clear();
        m_pos = 0;
        return false;
      }
      m_buf.erase(0, m_pos);
      m_pos = 0;
      char chunk[1 << 16];
      size_t n = std::fread(chunk, 1, sizeof chunk, m_file);
      if (n == 0) m_eof = true;
      m_buf.append(chunk, n);
    }
  }
  const std::string& partial() const { return m_partial; }
  bool read_error() const { return m_file && std::ferror(m_file); }

private:
  std::FILE* m_file;
  std::string m_buf;
  size_t m_pos = 0;
  bool m_eof = false;
  std::string m_partial;
};

} // namespace warden::audit::detail
