#include "warden/supply/registry.h"

#include <openssl/evp.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <simdjson.h>

#include "warden/util/sqlite.h"

namespace warden::supply {

namespace fs = std::filesystem;

namespace {

using util::Stmt;

Approval row(const Stmt& s) {
  return {s.text(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5)};
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string default_state_dir() {
  if (const char* s = std::getenv("MCP_WARDEN_STATE_DIR"); s && *s) return s;
  if (const char* s = std::getenv("XDG_STATE_HOME"); s && *s) return std::string(s) + "/mcp-warden";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/state/mcp-warden";
}

Result<std::string> sri_sha512_of_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{2, fmt::format("cannot read {}", path)};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha512(), nullptr);
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) EVP_DigestUpdate(ctx, buf, static_cast<size_t>(in.gcount()));
  unsigned char md[64];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  unsigned char b64[128];
  int n = EVP_EncodeBlock(b64, md, static_cast<int>(len));
  return "sha512-" + std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
}

Result<std::unique_ptr<Registry>> Registry::open(const std::string& path) {
  auto db = util::open_sqlite(path,
                              "CREATE TABLE IF NOT EXISTS approvals ("
                              " name TEXT NOT NULL, version TEXT NOT NULL, integrity TEXT NOT NULL,"
                              " approved_by TEXT NOT NULL, approved_at TEXT NOT NULL, diff_summary TEXT NOT NULL,"
                              " PRIMARY KEY (name, version));",
                              "registry");
  if (!db) return db.error();
  return std::unique_ptr<Registry>(new Registry(*db));
}

Registry::~Registry() { sqlite3_close(m_db); }

Status Registry::approve(const Approval& a) {
  Stmt s(m_db, "INSERT INTO approvals VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
               "ON CONFLICT(name, version) DO UPDATE SET integrity=?3, approved_by=?4, "
               "approved_at=?5, diff_summary=?6");
  if (!s.ok()) return Error{2, sqlite3_errmsg(m_db)};
  s.bind(1, a.name).bind(2, a.version).bind(3, a.integrity).bind(4, a.approved_by).bind(5, a.approved_at).bind(6, a.diff_summary);
  if (s.step() != SQLITE_DONE) return Error{2, fmt::format("cannot record approval: {}", sqlite3_errmsg(m_db))};
  return Ok{};
}

std::vector<Approval> Registry::list(const std::string& name) const {
  Stmt s(m_db, name.empty() ? "SELECT * FROM approvals ORDER BY name, approved_at"
                            : "SELECT * FROM approvals WHERE name = ?1 ORDER BY approved_at");
  if (!name.empty()) s.bind(1, name);
  std::vector<Approval> out;
  while (s.step() == SQLITE_ROW) out.push_back(row(s));
  return out;
}

std::optional<Approval> Registry::find(const std::string& name, const std::string& version) const {
  Stmt s(m_db, "SELECT * FROM approvals WHERE name = ?1 AND version = ?2");
  s.bind(1, name).bind(2, version);
  if (s.step() == SQLITE_ROW) return row(s);
  return std::nullopt;
}

std::optional<Approval> Registry::previous(const std::string& name, const std::string& version) const {
  Stmt s(m_db, "SELECT * FROM approvals WHERE name = ?1 AND version != ?2 ORDER BY approved_at DESC LIMIT 1");
  s.bind(1, name).bind(2, version);
  if (s.step() == SQLITE_ROW) return row(s);
  return std::nullopt;
}

Status Registry::verify(const std::string& path, std::vector<VerifyIssue>& issues, size_t& checked) const {
  struct Declared {
    std::string file, name, version, integrity;
  };
  std::vector<Declared> declared;
  simdjson::dom::parser parser;
  auto scan_lock = [&](const fs::path& p) -> Status {
    std::string text = read_file(p);
    simdjson::dom::element root;
    if (parser.parse(text).get(root)) return Error{2, fmt::format("{}: not valid JSON", p.string())};
    simdjson::dom::object packages;
    if (!root["packages"].get(packages)) {  // lockfile v2/v3
      for (auto f : packages) {
        std::string_view key = f.key;
        auto at = key.rfind("node_modules/");
        if (at == std::string_view::npos) continue;
        std::string name(key.substr(at + 13));
        std::string_view version, integrity;
        if (f.value["version"].get(version)) continue;
        if (f.value["integrity"].get(integrity)) integrity = "";
        declared.push_back({p.string(), name, std::string(version), std::string(integrity)});
      }
    } else if (simdjson::dom::object deps; !root["dependencies"].get(deps)) {  // lockfile v1
      for (auto f : deps) {
        std::string_view version, integrity;
        if (f.value["version"].get(version)) continue;
        if (f.value["integrity"].get(integrity)) integrity = "";
        declared.push_back({p.string(), std::string(f.key), std::string(version), std::string(integrity)});
      }
    }
    return Ok{};
  };
  auto scan_installed = [&](const fs::path& p) {
    std::string text = read_file(p);
    simdjson::dom::element root;
    std::string_view name, version, integrity;
    if (parser.parse(text).get(root) || root["name"].get(name) || root["version"].get(version)) return;
    if (root["_integrity"].get(integrity)) integrity = "";
    declared.push_back({p.string(), std::string(name), std::string(version), std::string(integrity)});
  };
  std::error_code ec;
  fs::path root(path);
  if (fs::is_regular_file(root, ec)) {
    auto st = scan_lock(root);
    if (!st.ok()) return st;
  } else if (fs::is_directory(root, ec)) {
    for (auto it = fs::recursive_directory_iterator(root, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      const auto& p = it->path();
      std::string fname = p.filename().string();
      std::string parent = p.parent_path().parent_path().filename().string();
      std::string grand = p.parent_path().parent_path().parent_path().filename().string();
      if (fname == "package-lock.json" || fname == "npm-shrinkwrap.json") {
        if (p.string().find("/node_modules/") != std::string::npos) continue;
        auto st = scan_lock(p);
        if (!st.ok()) return st;
      } else if (fname == "package.json" && (parent == "node_modules" || grand == "node_modules")) {
        scan_installed(p);
      }
    }
  } else {
    return Error{2, fmt::format("{}: no such file or directory", path)};
  }
  for (const auto& d : declared) {
    if (list(d.name).empty()) continue;  // never reviewed: not ours to judge here
    ++checked;
    auto a = find(d.name, d.version);
    if (!a) {
      issues.push_back({"high", "supply.registry.unapproved_version", d.file, d.name, d.version,
                        fmt::format("{}@{} is not approved (approve it with: mcp-warden registry approve {}@{} --tarball FILE)",
                                    d.name, d.version, d.name, d.version)});
    } else if (!d.integrity.empty() && d.integrity != a->integrity) {
      issues.push_back({"critical", "supply.registry.integrity_mismatch", d.file, d.name, d.version,
                        fmt::format("{}@{} has integrity {} but {} was approved", d.name, d.version,
                                    d.integrity, a->integrity)});
    }
  }
  return Ok{};
}

}  // namespace warden::supply
