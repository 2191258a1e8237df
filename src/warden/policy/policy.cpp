#include <algorithm>

#include <fmt/format.h>

#include "warden/policy/model.h"

namespace warden::policy {

const char* mode_name(Mode m) {
  return m == Mode::monitor ? "monitor" : "enforce";
}

const char* action_name(Action a) {
  switch (a) {
  case Action::allow: return "allow";
  case Action::deny: return "deny";
  case Action::approve: return "approve";
  }
  return "deny";
}

const char* fsync_name(FsyncMode f) {
  switch (f) {
  case FsyncMode::always: return "always";
  case FsyncMode::batch: return "batch";
  case FsyncMode::never: return "never";
  }
  return "always";
}

const char* network_name(NetworkMode n) {
  switch (n) {
  case NetworkMode::transparent: return "transparent";
  case NetworkMode::proxy_env: return "proxy-env";
  case NetworkMode::none: return "none";
  case NetworkMode::host: return "host";
  }
  return "none";
}

const char* pin_name(PinMode p) {
  switch (p) {
  case PinMode::tofu: return "tofu";
  case PinMode::strict: return "strict";
  case PinMode::off: return "off";
  }
  return "strict";
}

const char* result_action_name(ResultAction a) {
  switch (a) {
  case ResultAction::record: return "record";
  case ResultAction::redact: return "redact";
  case ResultAction::block: return "block";
  }
  return "record";
}

const char* violation_name(ViolationAction v) {
  return v == ViolationAction::strip ? "strip" : "block";
}

const char* namespacing_name(Namespacing n) {
  switch (n) {
  case Namespacing::automatic: return "auto";
  case Namespacing::always: return "always";
  case Namespacing::never: return "never";
  }
  return "auto";
}

const char* sink_name(SinkKind k) {
  switch (k) {
  case SinkKind::stderr_sink: return "stderr";
  case SinkKind::webhook: return "webhook";
  case SinkKind::syslog: return "syslog";
  case SinkKind::file: return "file";
  }
  return "stderr";
}

const char* rule_kind_name(RuleKind k) {
  switch (k) {
  case RuleKind::tool: return "tool";
  case RuleKind::prompt: return "prompt";
  case RuleKind::resource: return "resource";
  }
  return "tool";
}

std::string LoadIssue::to_string() const {
  if (line <= 0) return fmt::format("{}: error: {}", file, message);
  return fmt::format("{}:{}:{}: error: {}", file, line, column, message);
}

namespace {
std::string join_issues(const std::vector<LoadIssue>& issues) {
  std::string out;
  for (const auto& is : issues) {
    if (!out.empty()) out += '\n';
    out += is.to_string();
  }
  return out;
}
} // namespace

LoadError::LoadError(std::vector<LoadIssue> issues)
    : std::runtime_error(join_issues(issues)), m_issues(std::move(issues)) {}

size_t RuleSet::build_index(size_t first_slot) {
  m_exact.clear();
  m_globs.clear();
  m_star.reset();
  for (size_t i = 0; i < m_rules.size(); ++i) {
    Rule& r = m_rules[i];
    if (r.rate) r.rate_slot = first_slot++;
    if (r.pattern == "*") {
      if (!m_star) m_star = i;
    } else if (r.pattern.find('*') == std::string::npos) {
      m_exact.emplace(r.pattern, i);
    } else {
      m_globs.push_back(i);
    }
  }
  // Most specific glob first: the one with the most literal characters; file order breaks ties.
  auto literal = [&](size_t i) {
    const auto& p = m_rules[i].pattern;
    return p.size() - static_cast<size_t>(std::count(p.begin(), p.end(), '*'));
  };
  std::stable_sort(m_globs.begin(), m_globs.end(),
                   [&](size_t a, size_t b) { return literal(a) > literal(b); });
  return first_slot;
}

const Rule* RuleSet::find(std::string_view name) const {
  if (auto it = m_exact.find(name); it != m_exact.end()) return &m_rules[it->second];
  for (size_t i : m_globs)
    if (glob_match(m_rules[i].pattern, name)) return &m_rules[i];
  if (m_star) return &m_rules[*m_star];
  return nullptr;
}

const ServerPolicy* Policy::find_server(std::string_view name) const {
  for (const auto& s : m_servers)
    if (s.name == name) return &s;
  return nullptr;
}

const ServerPolicy* Policy::select_server(const std::string& name,
                                          const std::vector<std::string>& argv) const {
  if (!name.empty()) return find_server(name);
  if (!argv.empty())
    for (const auto& s : m_servers)
      if (s.command == argv) return &s;
  if (const ServerPolicy* d = find_server("default")) return d;
  return m_servers.empty() ? nullptr : &m_servers.front();
}

} // namespace warden::policy
