#include "warden/alert/alert.h"

#include "warden/audit/text.h"
#include "warden/util/clock.h"
#include "warden/util/json_writer.h"

namespace warden::alert {
namespace {

std::string printable(std::string_view s) {
  std::string out = audit::to_valid_utf8(s);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

} // namespace

std::string alert_json(const Alert& a) {
  std::string out;
  util::JsonWriter w(out);
  w.begin_object();
  w.key("ts").string(util::format_rfc3339_us(a.ts_us));
  w.key("severity").string(core::severity_name(a.finding.severity));
  w.key("detector").string(audit::to_valid_utf8(a.finding.detector));
  w.key("message").string(audit::to_valid_utf8(a.finding.message));
  if (!a.finding.evidence.empty())
    w.key("evidence").string(audit::to_valid_utf8(a.finding.evidence));
  w.key("server").string(audit::to_valid_utf8(a.server));
  if (!a.tool.empty()) w.key("tool").string(audit::to_valid_utf8(a.tool));
  if (!a.method.empty()) w.key("method").string(audit::to_valid_utf8(a.method));
  if (a.audit_seq != 0) w.key("audit_seq").integer(static_cast<int64_t>(a.audit_seq));
  w.end_object();
  return out;
}

std::string alert_line(const Alert& a) {
  std::string out = "mcp-warden: ALERT ";
  out += core::severity_name(a.finding.severity);
  out += ' ';
  out += printable(a.finding.detector);
  out += " server=";
  out += printable(a.server);
  if (!a.tool.empty()) {
    out += " tool=";
    out += printable(a.tool);
  } else if (!a.method.empty()) {
    out += " method=";
    out += printable(a.method);
  }
  out += ": ";
  out += printable(a.finding.message);
  if (a.audit_seq != 0) {
    out += " (audit seq ";
    out += std::to_string(a.audit_seq);
    out += ')';
  }
  return out;
}

} // namespace warden::alert
