// An alert: one finding at or above the policy's `alerts.alert_severity`, with where it happened
// and the audit record that holds the full context.
#pragma once

#include <cstdint>
#include <string>

#include "warden/core/verdict.h"

namespace warden::alert {

struct Alert {
  core::Finding finding;
  std::string server;
  std::string tool;
  std::string method;
  uint64_t audit_seq = 0; // 0 when there is no audit record
  int64_t ts_us = 0;      // unix microseconds; 0 = filled in by Alerter::raise from its clock
};

// One compact JSON object (what the file sink writes and the webhook POSTs):
// {"ts":"2026-01-01T00:00:00.000000Z","severity":"high","detector":"policy.tool_denied",
//  "message":"...","evidence":"...","server":"postmark","tool":"sendEmail","method":"tools/call",
//  "audit_seq":12}
// tool, method, evidence and audit_seq are omitted when empty/0. Strings are made valid UTF-8.
std::string alert_json(const Alert& a);

// One human line without newline (stderr and syslog):
// "mcp-warden: ALERT high policy.tool_denied server=postmark tool=sendEmail: message (audit seq
// 12)" `method=` stands in for `tool=` when there is no tool. Control bytes are replaced by '?', so
// a hostile server cannot put terminal escapes on the operator's screen.
std::string alert_line(const Alert& a);

} // namespace warden::alert
