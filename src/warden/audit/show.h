// `mcp-warden audit show FILE [filters]`: reads an audit log and renders the matching records.
// Reading only: it does not verify the chain (use verify.h); lines that are not records, and a
// trailing partial line, are skipped.
//
//   audit::ShowFilter f;
//   f.server = "postmark"; f.decision = "block"; f.since = "2026-01-01"; f.limit = 20;
//   auto lines = audit::show("warden-audit.jsonl", f, audit::ShowFormat::table);
//   if (!lines) { print(lines.error().message); return 2; }
//   for (auto& l : *lines) puts(l.c_str());
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "warden/util/result.h"

namespace warden::audit {

struct ShowFilter {
  std::string server;   // exact match; empty = any
  std::string tool;     // exact match
  std::string decision; // allow|block|strip|redact|approve|quarantine
  std::string kind;     // request|response|notification|egress|lifecycle|alert
  std::string since;    // RFC 3339 or YYYY-MM-DD (UTC midnight): records with ts >= since
  size_t limit = 0;     // 0 = all; otherwise the LAST `limit` matching records, oldest first
};

enum class ShowFormat {
  table, // a header line, then one aligned line per record:
         //   SEQ TS SERVER KIND DIR METHOD TOOL DECISION FINDINGS
         // FINDINGS is "-" or "high:policy.tool_denied, low:x" (at most 3, then "+N")
  json,  // the stored lines verbatim (JSON Lines), ready for jq
};

// The output lines, without newlines. An error (exit code 2) for an unreadable file, an invalid
// `since`, or an unknown decision/kind value; the message names the bad value.
Result<std::vector<std::string>> show(const std::string& path, const ShowFilter& filter,
                                      ShowFormat format);

} // namespace warden::audit
