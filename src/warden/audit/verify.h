// `mcp-warden audit verify FILE`: checks a log written by AuditLog (docs/audit.md).
//
// Checks, in file order, for each complete line: valid JSON object; `seq` continues from 1;
// only contract keys, in contract order, `hash` last; `hash` = SHA-256 of the canonical bytes;
// `prev` = previous record's hash (64 zeros for seq 1); `ts` is RFC 3339. Then the head file
// (PATH.head, read before the log so a concurrent writer cannot cause a false alarm) must not claim
// more records than the log holds, and its hash must match the record at its seq.
// The FIRST failure is reported with its seq and the likely cause:
//   "seq 7: hash mismatch (record edited)"
//   "seq 5: expected seq 5, found 6 (record removed or reordered)"
//   "truncated: log ends at seq 9 but PATH.head says 12 (records 10..12 removed)"
// A trailing partial line (no newline: an interrupted write, e.g. kill -9) is a warning, not a
// failure, unless the head file says the record it held was complete.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace warden::audit {

enum class VerifyStatus {
  ok,         // every complete record verified (warnings possible)
  failed,     // tampering or corruption found: `error` names the first bad seq (exit code 1)
  unreadable, // the file could not be read at all (exit code 2)
};

struct VerifyReport {
  VerifyStatus status = VerifyStatus::unreadable;
  uint64_t verified = 0;      // complete records that passed every check (before any failure)
  uint64_t last_seq = 0;      // seq of the last verified record
  std::string last_hash;      // its hash
  uint64_t first_bad_seq = 0; // 0 when ok
  std::string error;          // the first failure, one line
  std::vector<std::string> warnings;

  bool ok() const { return status == VerifyStatus::ok; }
  // Human output for the CLI, several lines ending with '\n':
  //   "OK: 12 records verified (last seq 12)" / "FAILED: seq 7: hash mismatch (record edited)",
  //   then "6 records verified before it", then one "warning: ..." line each.
  std::string to_text() const;
  // One JSON object: {"ok":..,"status":"ok|failed|unreadable","verified":..,"last_seq":..,
  // "first_bad_seq":..|null,"error":..|null,"warnings":[..]}
  std::string to_json() const;
};

VerifyReport verify_file(const std::string& path);

} // namespace warden::audit
