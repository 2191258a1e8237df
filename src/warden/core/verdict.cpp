#include "warden/core/verdict.h"

namespace warden::core {

const char* severity_name(Severity s) {
  switch (s) {
  case Severity::info: return "info";
  case Severity::low: return "low";
  case Severity::medium: return "medium";
  case Severity::high: return "high";
  case Severity::critical: return "critical";
  }
  return "info";
}

std::optional<Severity> parse_severity(std::string_view s) {
  for (auto v : {Severity::info, Severity::low, Severity::medium, Severity::high, Severity::critical})
    if (s == severity_name(v)) return v;
  return std::nullopt;
}

const char* decision_name(Decision d) {
  switch (d) {
  case Decision::allow: return "allow";
  case Decision::block: return "block";
  case Decision::strip: return "strip";
  case Decision::redact: return "redact";
  case Decision::approve: return "approve";
  case Decision::quarantine: return "quarantine";
  }
  return "block";
}

std::optional<Decision> parse_decision(std::string_view s) {
  for (auto v : {Decision::allow, Decision::block, Decision::strip, Decision::redact,
                 Decision::approve, Decision::quarantine})
    if (s == decision_name(v)) return v;
  return std::nullopt;
}

const char* direction_name(Direction d) {
  switch (d) {
  case Direction::c2s: return "c2s";
  case Direction::s2c: return "s2c";
  case Direction::out: return "out";
  }
  return "c2s";
}

}  // namespace warden::core
