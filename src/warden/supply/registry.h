// The approval registry: which package versions a person reviewed and approved, with the tarball's
// integrity (npm's SRI form, "sha512-<base64>"), who, when, and what changed since the previous
// approval. Kept in SQLite in the state directory. `registry verify` checks lockfiles and
// node_modules trees against it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "warden/util/result.h"

struct sqlite3;

namespace warden::supply {

struct Approval {
  std::string name, version, integrity, approved_by, approved_at, diff_summary;
};

struct VerifyIssue {
  std::string severity;  // critical (integrity mismatch) | high (unapproved version)
  std::string rule;      // supply.registry.integrity_mismatch | supply.registry.unapproved_version
  std::string file;      // the lockfile or package.json that declares it
  std::string name, version;
  std::string message;
};

class Registry {
public:
  static Result<std::unique_ptr<Registry>> open(const std::string& path);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Status approve(const Approval& a);
  std::vector<Approval> list(const std::string& name = {}) const;
  std::optional<Approval> find(const std::string& name, const std::string& version) const;
  // The most recent approval of `name` other than `version` (the base for a diff summary).
  std::optional<Approval> previous(const std::string& name, const std::string& version) const;

  // Checks every package-lock.json / npm-shrinkwrap.json and node_modules/**/package.json under
  // `path` (a file or a directory). Packages with no approval at any version are not judged.
  Status verify(const std::string& path, std::vector<VerifyIssue>& issues, size_t& checked) const;

private:
  explicit Registry(sqlite3* db) : m_db(db) {}
  sqlite3* m_db;
};

// npm's integrity string of a file: "sha512-" + base64(SHA-512(bytes)).
Result<std::string> sri_sha512_of_file(const std::string& path);
// $MCP_WARDEN_STATE_DIR, else $XDG_STATE_HOME/mcp-warden, else ~/.local/state/mcp-warden.
std::string default_state_dir();

}  // namespace warden::supply
