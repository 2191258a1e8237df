// Definition pinning (rug-pull defence): the canonical hash of every tool, prompt, resource and
// resource template definition and of the initialize `instructions`, kept per server in SQLite.
//
// Each pin has an approved definition (what a person, or first sight under `tofu`, accepted) and
// at most one pending definition (the latest one seen that differs). An item whose current
// definition is not the approved one is blocked until `mcp-warden pins approve` makes the pending
// definition the approved one.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "warden/util/result.h"

struct sqlite3;

namespace warden::detect {

struct PinRecord {
  std::string server, kind, name;  // kind: tool | prompt | resource | resource_template | instructions
  std::string approved_hash, approved_def, approved_by;  // empty hash: never approved (strict)
  int64_t approved_at = 0;                               // unix microseconds
  std::string pending_hash, pending_def;                 // empty: nothing waiting
  int64_t pending_at = 0, first_seen = 0;
};

enum class PinStatus {
  approved,  // the current definition is the approved one
  recorded,  // first sight under tofu: recorded and approved
  changed,   // differs from the approved definition: blocked
  unknown,   // strict and never approved: blocked
};
const char* pin_status_name(PinStatus s);

struct PinCheck {
  PinStatus status = PinStatus::approved;
  std::string hash;           // of the current definition
  std::string approved_hash;  // empty when there is none
};

// "sha256:<hex>" of a canonical definition (codec::canonical_json).
std::string pin_hash(std::string_view canonical_definition);

class PinStore {
public:
  // The pins database in a state directory: DIR/pins.sqlite.
  static std::string path_in(const std::string& state_dir);
  static Result<std::unique_ptr<PinStore>> open(const std::string& path);
  // The store `run` and `gateway` use: in `state_dir` (empty: the default state directory), with
  // an error that says how to get going when it cannot be opened.
  static Result<std::unique_ptr<PinStore>> open_for_runtime(const std::string& state_dir);
  ~PinStore();
  PinStore(const PinStore&) = delete;
  PinStore& operator=(const PinStore&) = delete;

  // Compares `canonical_definition` with the pin of (server, kind, name) and records what it saw.
  Result<PinCheck> check(const std::string& server, const std::string& kind, const std::string& name,
                         const std::string& canonical_definition, bool strict, int64_t now_us);
  // Whether `hash` is now the approved definition (a person may have approved it meanwhile).
  Result<bool> is_approved(const std::string& server, const std::string& kind,
                           const std::string& name, const std::string& hash) const;
  std::vector<PinRecord> list(const std::string& server = {}) const;
  std::optional<PinRecord> get(const std::string& server, const std::string& kind,
                               const std::string& name) const;
  // Makes the pending definition the approved one. Errors when nothing is pending.
  Status approve(const std::string& server, const std::string& kind, const std::string& name,
                 const std::string& by, int64_t now_us);

private:
  explicit PinStore(sqlite3* db) : m_db(db) {}
  sqlite3* m_db;
};

}  // namespace warden::detect
