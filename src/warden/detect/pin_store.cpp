#include "warden/detect/pin_store.h"

#include "warden/supply/registry.h"

#include <fmt/format.h>

#include "warden/util/sha256.h"
#include "warden/util/sqlite.h"

namespace warden::detect {

using util::Stmt;

namespace {

constexpr const char* k_schema =
    "CREATE TABLE IF NOT EXISTS pins ("
    " server TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,"
    " approved_hash TEXT NOT NULL DEFAULT '', approved_def TEXT NOT NULL DEFAULT '',"
    " approved_by TEXT NOT NULL DEFAULT '', approved_at INTEGER NOT NULL DEFAULT 0,"
    " pending_hash TEXT NOT NULL DEFAULT '', pending_def TEXT NOT NULL DEFAULT '',"
    " pending_at INTEGER NOT NULL DEFAULT 0, first_seen INTEGER NOT NULL,"
    " PRIMARY KEY (server, kind, name));";

constexpr const char* k_columns =
    "server, kind, name, approved_hash, approved_def, approved_by, approved_at, pending_hash, "
    "pending_def, pending_at, first_seen";

PinRecord row(const Stmt& s) {
  PinRecord r;
  r.server = s.text(0);
  r.kind = s.text(1);
  r.name = s.text(2);
  r.approved_hash = s.text(3);
  r.approved_def = s.text(4);
  r.approved_by = s.text(5);
  r.approved_at = s.integer(6);
  r.pending_hash = s.text(7);
  r.pending_def = s.text(8);
  r.pending_at = s.integer(9);
  r.first_seen = s.integer(10);
  return r;
}

}  // namespace

const char* pin_status_name(PinStatus s) {
  switch (s) {
    case PinStatus::approved: return "approved";
    case PinStatus::recorded: return "recorded";
    case PinStatus::changed: return "changed";
    case PinStatus::unknown: return "unknown";
  }
  return "unknown";
}

std::string pin_hash(std::string_view canonical_definition) {
  return "sha256:" + util::sha256_hex(canonical_definition);
}

std::string PinStore::path_in(const std::string& state_dir) { return state_dir + "/pins.sqlite"; }

Result<std::unique_ptr<PinStore>> PinStore::open_for_runtime(const std::string& state_dir) {
  auto store = open(path_in(state_dir.empty() ? supply::default_state_dir() : state_dir));
  if (!store)
    return Error{store.error().code,
                 store.error().message + " (set --state-dir, or pins: off in the policy); refusing to start"};
  return store;
}

Result<std::unique_ptr<PinStore>> PinStore::open(const std::string& path) {
  auto db = util::open_sqlite(path, k_schema, "pin store");
  if (!db) return db.error();
  return std::unique_ptr<PinStore>(new PinStore(*db));
}

PinStore::~PinStore() { sqlite3_close(m_db); }

std::optional<PinRecord> PinStore::get(const std::string& server, const std::string& kind,
                                       const std::string& name) const {
  Stmt s(m_db, fmt::format("SELECT {} FROM pins WHERE server = ?1 AND kind = ?2 AND name = ?3",
                           k_columns).c_str());
  s.bind(1, server).bind(2, kind).bind(3, name);
  if (s.step() == SQLITE_ROW) return row(s);
  return std::nullopt;
}

std::vector<PinRecord> PinStore::list(const std::string& server) const {
  std::string sql = fmt::format("SELECT {} FROM pins {} ORDER BY server, kind, name", k_columns,
                                server.empty() ? "" : "WHERE server = ?1");
  Stmt s(m_db, sql.c_str());
  if (!server.empty()) s.bind(1, server);
  std::vector<PinRecord> out;
  while (s.step() == SQLITE_ROW) out.push_back(row(s));
  return out;
}

Result<PinCheck> PinStore::check(const std::string& server, const std::string& kind,
                                 const std::string& name, const std::string& canonical_definition,
                                 bool strict, int64_t now_us) {
  PinCheck c;
  c.hash = pin_hash(canonical_definition);
  auto fail = [&](const char* what) {
    return Error{2, fmt::format("pin store: cannot {} the pin of {} '{}': {}", what,
                                            kind, name, sqlite3_errmsg(m_db))};
  };
  std::optional<PinRecord> pin = get(server, kind, name);
  if (!pin || (pin->approved_hash.empty() && !strict)) {
    // First sight (or a strict pin never approved, now under tofu).
    Stmt s(m_db, "INSERT INTO pins (server, kind, name, approved_hash, approved_def, approved_by, "
                 "approved_at, pending_hash, pending_def, pending_at, first_seen) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?7, ?7) "
                 "ON CONFLICT(server, kind, name) DO UPDATE SET approved_hash = ?4, "
                 "approved_def = ?5, approved_by = ?6, approved_at = ?7, pending_hash = ?8, "
                 "pending_def = ?9, pending_at = ?7");
    bool keep = !strict;
    s.bind(1, server).bind(2, kind).bind(3, name);
    s.bind(4, keep ? c.hash : std::string()).bind(5, keep ? canonical_definition : std::string());
    s.bind(6, std::string(keep ? "first sight (tofu)" : "")).bind(7, now_us);
    s.bind(8, keep ? std::string() : c.hash).bind(9, keep ? std::string() : canonical_definition);
    if (s.step() != SQLITE_DONE) return fail("record");
    c.status = keep ? PinStatus::recorded : PinStatus::unknown;
    c.approved_hash = keep ? c.hash : std::string();
    return c;
  }
  c.approved_hash = pin->approved_hash;
  if (pin->approved_hash == c.hash) {
    if (!pin->pending_hash.empty()) {
      // The server is back to the approved definition: nothing waits any more.
      Stmt s(m_db, "UPDATE pins SET pending_hash = '', pending_def = '', pending_at = 0 "
                   "WHERE server = ?1 AND kind = ?2 AND name = ?3");
      s.bind(1, server).bind(2, kind).bind(3, name);
      if (s.step() != SQLITE_DONE) return fail("update");
    }
    c.status = PinStatus::approved;
    return c;
  }
  if (pin->pending_hash != c.hash) {
    Stmt s(m_db, "UPDATE pins SET pending_hash = ?4, pending_def = ?5, pending_at = ?6 "
                 "WHERE server = ?1 AND kind = ?2 AND name = ?3");
    s.bind(1, server).bind(2, kind).bind(3, name).bind(4, c.hash).bind(5, canonical_definition);
    s.bind(6, now_us);
    if (s.step() != SQLITE_DONE) return fail("update");
  }
  c.status = pin->approved_hash.empty() ? PinStatus::unknown : PinStatus::changed;
  return c;
}

Result<bool> PinStore::is_approved(const std::string& server, const std::string& kind,
                                   const std::string& name, const std::string& hash) const {
  Stmt s(m_db, "SELECT approved_hash FROM pins WHERE server = ?1 AND kind = ?2 AND name = ?3");
  s.bind(1, server).bind(2, kind).bind(3, name);
  int rc = s.step();
  if (rc == SQLITE_ROW) return s.text(0) == hash;
  if (rc == SQLITE_DONE) return false;
  return Error{2, fmt::format("pin store: {}", sqlite3_errmsg(m_db))};
}

Status PinStore::approve(const std::string& server, const std::string& kind,
                         const std::string& name, const std::string& by, int64_t now_us) {
  auto pin = get(server, kind, name);
  if (!pin)
    return Error{2, fmt::format("no pin for {} '{}' of server '{}' (see mcp-warden pins list)",
                                kind, name, server)};
  if (pin->pending_hash.empty())
    return Error{2, fmt::format("{} '{}' of server '{}' has no pending change to approve", kind,
                                name, server)};
  Stmt s(m_db, "UPDATE pins SET approved_hash = pending_hash, approved_def = pending_def, "
               "approved_by = ?4, approved_at = ?5, pending_hash = '', pending_def = '', "
               "pending_at = 0 WHERE server = ?1 AND kind = ?2 AND name = ?3 AND pending_hash = ?6");
  s.bind(1, server).bind(2, kind).bind(3, name).bind(4, by).bind(5, now_us).bind(6, pin->pending_hash);
  if (s.step() != SQLITE_DONE)
    return Error{2, fmt::format("pin store: cannot approve: {}", sqlite3_errmsg(m_db))};
  return Ok{};
}

}  // namespace warden::detect
