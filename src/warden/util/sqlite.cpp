#include "warden/util/sqlite.h"

#include <filesystem>

#include <fmt/format.h>

namespace warden::util {

namespace fs = std::filesystem;

Result<sqlite3*> open_sqlite(const std::string& path, const char* schema_sql, const char* what) {
  std::error_code ec;
  if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path(), ec);
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Error{2, fmt::format("cannot open {} {}: {}", what, path, why)};
  }
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write, ec);
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  std::string sql = std::string("PRAGMA journal_mode=WAL;") + schema_sql;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : "unknown";
    sqlite3_free(err);
    sqlite3_close(db);
    return Error{2, fmt::format("{} {} is not usable: {}", what, path, why)};
  }
  return db;
}

}  // namespace warden::util
