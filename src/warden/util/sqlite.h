// RAII for SQLite: one prepared statement, and opening a database file in the state directory
// with its schema (owner-only permissions, WAL, a busy timeout so two processes can share it).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "warden/util/result.h"

namespace warden::util {

class Stmt {
public:
  Stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &m_stmt, nullptr); }
  ~Stmt() { sqlite3_finalize(m_stmt); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return m_stmt != nullptr; }
  Stmt& bind(int i, const std::string& s) {
    sqlite3_bind_text(m_stmt, i, s.c_str(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(m_stmt, i, v);
    return *this;
  }
  int step() { return m_stmt ? sqlite3_step(m_stmt) : SQLITE_MISUSE; }
  std::string text(int col) const {
    auto* p = sqlite3_column_text(m_stmt, col);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
  int64_t integer(int col) const { return sqlite3_column_int64(m_stmt, col); }

private:
  sqlite3_stmt* m_stmt = nullptr;
};

// Opens (creating parent directories and the file, mode 0600) and runs `schema_sql`. `what` names
// the database in errors ("registry", "pin store").
Result<sqlite3*> open_sqlite(const std::string& path, const char* schema_sql, const char* what);

}  // namespace warden::util
