// The shared vocabulary of decisions: what every filter, detector, audit record and alert speaks.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace warden::core {

enum class Severity { info = 0, low = 1, medium = 2, high = 3, critical = 4 };
const char* severity_name(Severity s);
std::optional<Severity> parse_severity(std::string_view s);

// Audit contract values (DESIGN section 5).
enum class Decision { allow, block, strip, redact, approve, quarantine };
const char* decision_name(Decision d);
std::optional<Decision> parse_decision(std::string_view s);

enum class Direction { c2s, s2c, out };
const char* direction_name(Direction d);

struct Finding {
  std::string detector;  // rule or detector id, e.g. "policy.tool_denied", "codec.duplicate_key"
  Severity severity = Severity::info;
  std::string message;   // one line: what and why
  std::string evidence;  // the matched span or value (redacted before it is logged)
};

}  // namespace warden::core
