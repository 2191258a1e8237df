// Policy loading: read (yaml-cpp) -> check and collect (this file's PolicyBuilder) -> compile.
// Every error carries the file, the 1-based line and column of the offending key or value, what
// was wrong and how to fix it; all errors of a file are collected (up to k_max_issues) and thrown
// together as one LoadError.
#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <re2/re2.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "warden/gateway/auth/jwks_fetch.h"
#include "warden/gateway/auth/mtls.h"
#include "warden/policy/model.h"

namespace warden::policy {

namespace {

constexpr size_t k_max_issues = 20;
constexpr size_t k_max_nodes = 200'000; // also stops alias ("billion laughs") expansion
constexpr int k_max_depth = 64;
constexpr size_t k_max_file_bytes = 4u << 20;
constexpr uint32_t k_max_rate_count = 1'000'000;

// The built-in default policy, loaded through the same code as a user's file.
constexpr std::string_view k_default_policy_yaml = R"(version: 1
mode: enforce
audit: {path: warden-audit.jsonl, fsync: batch}
alerts: {alert_severity: high, sinks: [stderr]}
servers:
  default:
    tools: {"*": {action: allow}}
    prompts: {"*": {action: allow}}
    resources: {"*": {action: allow}}
)";
constexpr const char* k_default_source = "(built-in default)";

using Keys = std::initializer_list<std::string_view>;

std::string join(Keys keys) {
  std::string out;
  for (auto k : keys) {
    if (!out.empty()) out += ", ";
    out += k;
  }
  return out;
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = lower(c);
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The closest candidate within a small edit distance, or empty.
std::string_view suggest(std::string_view word, Keys candidates) {
  std::string_view best;
  size_t best_d = std::min<size_t>(3, std::max<size_t>(1, word.size() / 2) + 1);
  for (auto c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, Keys candidates) {
  auto s = suggest(word, candidates);
  return s.empty() ? std::string() : fmt::format("Did you mean '{}'? ", s);
}

const char* kind_of(const YAML::Node& n) {
  switch (n.Type()) {
  case YAML::NodeType::Map: return "a mapping";
  case YAML::NodeType::Sequence: return "a list";
  case YAML::NodeType::Scalar: return "a scalar";
  default: return "nothing (null)";
  }
}

bool simple_key(std::string_view k) {
  if (k.empty()) return false;
  return std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '*';
  });
}

std::string child_path(std::string_view parent, std::string_view key) {
  if (simple_key(key)) return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
  std::string quoted = "[\"";
  for (char c : key) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  quoted += "\"]";
  return std::string(parent) + quoted;
}

std::string where_text(const std::string& path) {
  return path.empty() ? std::string("at the top level") : "in " + path;
}

bool is_string_tagged(const YAML::Node& n) {
  return n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str";
}

bool env_name(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool server_name_ok(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(s[0]) || s.find("__") != std::string_view::npos) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return alnum(c) || c == '_' || c == '-' || c == '.'; });
}

// HOST:PORT with a port 0..65535; HOST is a name, an IPv4 address or [IPv6].
bool host_port_ok(std::string_view s) {
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) return false;
  std::string_view host = s.substr(0, colon), port = s.substr(colon + 1);
  if (port.size() > 5) return false;
  unsigned v = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > 65535) return false;
  HostPattern p;
  std::string why;
  return parse_host_pattern(host, p, why) && !p.subdomains;
}

std::optional<Scalar> read_scalar(const YAML::Node& n) {
  Scalar s;
  if (n.IsNull()) {
    s.type = Scalar::Type::null;
    s.text = "null";
    return s;
  }
  if (!n.IsScalar()) return std::nullopt;
  const std::string& t = n.Scalar();
  s.text = t;
  if (is_string_tagged(n)) {
    s.type = Scalar::Type::string;
    s.string = t;
    return s;
  }
  if (t == "null" || t == "Null" || t == "NULL" || t == "~") {
    s.type = Scalar::Type::null;
    return s;
  }
  if (t == "true" || t == "True" || t == "TRUE" || t == "false" || t == "False" || t == "FALSE") {
    s.type = Scalar::Type::boolean;
    s.boolean = lower(t[0]) == 't';
    return s;
  }
  {
    std::string_view v = t;
    if (!v.empty() && v[0] == '+') v.remove_prefix(1);
    int64_t i = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), i);
    if (!v.empty() && ec == std::errc() && p == v.data() + v.size()) {
      s.type = Scalar::Type::integer;
      s.integer = i;
      s.number = static_cast<double>(i);
      return s;
    }
    double d = 0;
    auto [p2, ec2] = std::from_chars(v.data(), v.data() + v.size(), d);
    bool digits = v.find_first_of("0123456789") != std::string_view::npos;
    if (!v.empty() && digits && ec2 == std::errc() && p2 == v.data() + v.size() &&
        std::isfinite(d) && v.find_first_not_of("0123456789.eE+-") == std::string_view::npos) {
      s.type = Scalar::Type::number;
      s.number = d;
      return s;
    }
  }
  s.type = Scalar::Type::string;
  s.string = t;
  return s;
}

// Records where each YAML document starts, and nothing else. Used instead of YAML::LoadAll, which
// in yaml-cpp 0.7 loops forever (growing memory) on inputs such as ",x:\xc1{}}" where the parser
// stops consuming tokens and reports an endless series of empty documents.
class DocumentStarts final : public YAML::EventHandler {
public:
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

struct Presence {
  bool url = false, env = false, secrets = false, sandbox = false, egress = false, pins = false,
       on_finding = false, require_approval = false;
};

struct Deferred { // references checked once the whole file is read
  std::string what, fix;
  YAML::Mark mark;
  std::string server; // must exist
};

} // namespace

class PolicyBuilder {
public:
  explicit PolicyBuilder(std::string file) : m_file(std::move(file)) {}

  std::shared_ptr<const Policy> build(std::string_view text) {
    auto policy = std::make_shared<Policy>();
    policy->m_source = m_file;
    m_policy = policy.get();
    YAML::Node root;
    try {
      // Count the documents first, in a bounded loop that also notices a parser making no
      // progress; then build the tree of the first one (YAML::Load reads one document).
      std::istringstream in{std::string(text)};
      YAML::Parser parser(in);
      DocumentStarts docs;
      for (int i = 0; i < 8 && parser.HandleNextDocument(docs); ++i) {
        size_t n = docs.starts.size();
        if (n >= 2 && docs.starts[n - 1].pos == docs.starts[n - 2].pos) {
          error(docs.starts[n - 1], "YAML syntax error: unexpected character",
                "Check the indentation, colons and quoting at this place");
          throw_if_errors();
        }
      }
      if (docs.starts.size() > 1)
        error(docs.starts[1], "the policy has more than one YAML document",
              "Keep one document (no '---' lines)");
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      error(e.mark, "YAML syntax error: " + e.msg,
            "Check the indentation, colons and quoting at this place");
      throw_if_errors();
    }
    size_t nodes = 0;
    if (!walk_limits(root, 0, nodes)) throw_if_errors();
    check_root(root);
    throw_if_errors();
    compile();
    return policy;
  }

private:
  // ---- errors ----
  void error(const YAML::Mark& m, std::string what, const std::string& fix = {}) {
    if (m_issues.size() >= k_max_issues) {
      ++m_dropped;
      return;
    }
    LoadIssue is;
    is.file = m_file;
    is.line = m.line >= 0 ? m.line + 1 : 1;
    is.column = m.column >= 0 ? m.column + 1 : 1;
    is.message = std::move(what);
    if (!fix.empty()) is.message += ". " + fix;
    m_issues.push_back(std::move(is));
  }
  void throw_if_errors() {
    if (m_issues.empty()) return;
    if (m_dropped) {
      LoadIssue is = m_issues.back();
      is.message = fmt::format("{} more errors not shown. Fix the errors above first", m_dropped);
      m_issues.push_back(std::move(is));
    }
    std::stable_sort(m_issues.begin(), m_issues.end(), [](const LoadIssue& a, const LoadIssue& b) {
      return a.line != b.line ? a.line < b.line : a.column < b.column;
    });
    throw LoadError(std::move(m_issues));
  }
  // Where to point for a value: the value itself, or its key when the value is empty.
  static YAML::Mark at(const YAML::Node& value, const YAML::Node& key) {
    if (!value.IsDefined() || value.IsNull() || value.Mark().line < 0) return key.Mark();
    return value.Mark();
  }

  bool walk_limits(const YAML::Node& n, int depth, size_t& count) {
    if (++count > k_max_nodes) {
      error(n.Mark(),
            fmt::format("the policy has more than {} YAML nodes (aliases count each time "
                        "they are used)",
                        k_max_nodes),
            "Write a smaller policy; do not use YAML aliases to repeat large parts");
      return false;
    }
    if (depth > k_max_depth) {
      error(n.Mark(), fmt::format("the policy nests deeper than {} levels", k_max_depth),
            "Flatten the structure");
      return false;
    }
    const std::string& tag = n.Tag();
    if (!tag.empty() && tag != "?" && tag != "!" && !tag.starts_with("tag:yaml.org,2002:")) {
      error(n.Mark(), fmt::format("unsupported YAML tag '{}'", tag), "Remove the tag");
    }
    if (n.IsMap()) {
      for (auto it = n.begin(); it != n.end(); ++it)
        if (!walk_limits(YAML::Node(it->first), depth + 1, count) ||
            !walk_limits(YAML::Node(it->second), depth + 1, count))
          return false;
    } else if (n.IsSequence()) {
      for (auto it = n.begin(); it != n.end(); ++it)
        if (!walk_limits(*it, depth + 1, count)) return false;
    }
    return true;
  }

  // ---- generic walkers ----
  using Fn = std::function<void(const std::string& key, const YAML::Node& k, const YAML::Node& v)>;

  // Every entry of a mapping with free-form keys. Null counts as empty. False if not a mapping.
  bool each_entry(const YAML::Node& n, const YAML::Node& key, const std::string& path,
                  const char* expected, const char* example, const Fn& fn) {
    if (n.IsNull()) return true;
    if (!n.IsMap()) {
      error(at(n, key), fmt::format("{} must be {}, got {}", path, expected, kind_of(n)),
            fmt::format("Write it as {}", example));
      return false;
    }
    std::map<std::string, int> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      // Copies: yaml-cpp's iterator hands out a temporary pair, so references would dangle.
      const YAML::Node k = it->first;
      const YAML::Node v = it->second;
      if (!k.IsScalar()) {
        error(k.Mark(), fmt::format("a key {} is {}", where_text(path), kind_of(k)),
              "Keys are plain names");
        continue;
      }
      const std::string& name = k.Scalar();
      auto [pos, inserted] = seen.emplace(name, k.Mark().line + 1);
      if (!inserted) {
        error(k.Mark(),
              fmt::format("duplicate key '{}' {} (first at line {})", name, where_text(path),
                          pos->second),
              "Keep only one of them");
        continue;
      }
      fn(name, k, v);
    }
    return true;
  }

  // Every field of a mapping with a fixed set of keys; unknown keys are errors.
  bool each_field(const YAML::Node& n, const YAML::Node& key, const std::string& path, Keys allowed,
                  const char* example, const Fn& fn) {
    return each_entry(
        n, key, path, "a mapping", example,
        [&](const std::string& name, const YAML::Node& k, const YAML::Node& v) {
          if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
            error(k.Mark(), fmt::format("unknown key '{}' {}", name, where_text(path)),
                  fmt::format("{}Allowed keys: {}", did_you_mean(name, allowed), join(allowed)));
            return;
          }
          fn(name, k, v);
        });
  }

  // ---- scalars ----
  std::optional<std::string> string_value(const YAML::Node& v, const YAML::Node& k,
                                          const std::string& path, const char* example,
                                          bool allow_empty = false) {
    if (!v.IsScalar()) {
      error(at(v, k), fmt::format("{} must be a string, got {}", path, kind_of(v)),
            fmt::format("Write it as {}", example));
      return std::nullopt;
    }
    if (!allow_empty && v.Scalar().empty()) {
      error(at(v, k), fmt::format("{} must not be empty", path),
            fmt::format("Write it as {}", example));
      return std::nullopt;
    }
    if (v.Scalar().find('\0') != std::string::npos) {
      error(at(v, k), fmt::format("{} contains a NUL character", path), "Remove it");
      return std::nullopt;
    }
    return v.Scalar();
  }

  std::optional<bool> bool_value(const YAML::Node& v, const YAML::Node& k,
                                 const std::string& path) {
    if (v.IsScalar() && !is_string_tagged(v)) {
      std::string t = to_lower(v.Scalar());
      if (t == "true") return true;
      if (t == "false") return false;
    }
    error(at(v, k),
          fmt::format("{} must be true or false, got {}", path,
                      v.IsScalar() ? "'" + v.Scalar() + "'" : std::string(kind_of(v))),
          "Write true or false");
    return std::nullopt;
  }

  std::optional<uint64_t> uint_value(const YAML::Node& v, const YAML::Node& k,
                                     const std::string& path, uint64_t min, uint64_t max,
                                     uint64_t example) {
    if (v.IsScalar() && !is_string_tagged(v)) {
      const std::string& t = v.Scalar();
      uint64_t x = 0;
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), x);
      if (!t.empty() && ec == std::errc() && p == t.data() + t.size() && x >= min && x <= max)
        return x;
    }
    error(at(v, k),
          fmt::format("{} must be a whole number from {} to {}, got {}", path, min, max,
                      v.IsScalar() ? "'" + v.Scalar() + "'" : std::string(kind_of(v))),
          fmt::format("Write a number like {}", example));
    return std::nullopt;
  }

  // One of `names`; returns its index.
  std::optional<size_t> enum_value(const YAML::Node& v, const YAML::Node& k,
                                   const std::string& path, Keys names) {
    if (v.IsScalar()) {
      size_t i = 0;
      for (auto n : names) {
        if (v.Scalar() == n) return i;
        ++i;
      }
      error(at(v, k), fmt::format("bad value '{}' for {}", v.Scalar(), path),
            fmt::format("{}Use one of: {}", did_you_mean(v.Scalar(), names), join(names)));
      return std::nullopt;
    }
    error(at(v, k), fmt::format("{} must be one of {}, got {}", path, join(names), kind_of(v)),
          fmt::format("Write one of: {}", join(names)));
    return std::nullopt;
  }

  std::optional<core::Severity> severity_value(const YAML::Node& v, const YAML::Node& k,
                                               const std::string& path) {
    static const Keys k_names = {"info", "low", "medium", "high", "critical"};
    if (v.IsScalar()) {
      if (auto s = core::parse_severity(v.Scalar())) return s;
      error(at(v, k), fmt::format("bad severity '{}' for {}", v.Scalar(), path),
            fmt::format("{}Use one of: {}", did_you_mean(v.Scalar(), k_names), join(k_names)));
      return std::nullopt;
    }
    error(at(v, k), fmt::format("{} must be a severity, got {}", path, kind_of(v)),
          fmt::format("Use one of: {}", join(k_names)));
    return std::nullopt;
  }

  // A list of strings; a single string is accepted as a list of one when `scalar_ok`.
  std::optional<std::vector<std::string>> string_list(const YAML::Node& v, const YAML::Node& k,
                                                      const std::string& path, const char* example,
                                                      bool scalar_ok = false,
                                                      bool allow_empty_list = true) {
    std::vector<std::string> out;
    if (scalar_ok && v.IsScalar()) {
      if (auto s = string_value(v, k, path, example))
        out.push_back(*s);
      else
        return std::nullopt;
      return out;
    }
    if (!v.IsSequence()) {
      error(at(v, k), fmt::format("{} must be a list of strings, got {}", path, kind_of(v)),
            fmt::format("Write it as {}", example));
      return std::nullopt;
    }
    bool ok = true;
    size_t i = 0;
    for (auto it = v.begin(); it != v.end(); ++it, ++i) {
      auto s = string_value(*it, k, fmt::format("{}[{}]", path, i), example);
      if (s)
        out.push_back(*s);
      else
        ok = false;
    }
    if (ok && out.empty() && !allow_empty_list) {
      error(at(v, k), fmt::format("{} is an empty list", path),
            fmt::format("List at least one value, e.g. {}", example));
      return std::nullopt;
    }
    if (!ok) return std::nullopt;
    return out;
  }

  // ---- sections ----
  void check_root(const YAML::Node& root) {
    if (!root.IsDefined() || root.IsNull()) {
      error(YAML::Mark(), "the policy is empty",
            "Start it with 'version: 1' and a servers: section");
      return;
    }
    if (!root.IsMap()) {
      error(root.Mark(),
            fmt::format("the policy must be a mapping (version, mode, servers...), got {}",
                        kind_of(root)),
            "Start it with 'version: 1'");
      return;
    }
    bool seen_version = false, seen_servers = false;
    static const Keys k_top = {"version", "mode",    "audit", "alerts",
                               "servers", "gateway", "agents"};
    YAML::Node none;
    each_field(root, none, "", k_top, "{version: 1}",
               [&](const std::string& key, const YAML::Node& k, const YAML::Node& v) {
                 if (key == "version") {
                   seen_version = true;
                   check_version(k, v);
                 } else if (key == "mode") {
                   if (auto i = enum_value(v, k, "mode", {"enforce", "monitor"}))
                     m_policy->m_mode = static_cast<Mode>(*i);
                 } else if (key == "audit") {
                   check_audit(k, v);
                 } else if (key == "alerts") {
                   check_alerts(k, v);
                 } else if (key == "servers") {
                   seen_servers = true;
                   check_servers(k, v);
                 } else if (key == "gateway") {
                   check_gateway(k, v);
                 } else if (key == "agents") {
                   check_agents(k, v);
                 }
               });
    if (!seen_version)
      error(root.Mark(), "missing 'version'", "Add 'version: 1' as the first line of the policy");
    if (!seen_servers)
      error(root.Mark(), "missing 'servers'",
            "Add a servers: section with one entry per MCP server, e.g. "
            "servers: {default: {tools: {\"*\": {action: allow}}}}");
    for (const auto& d : m_deferred)
      if (!m_policy->find_server(d.server)) error(d.mark, d.what, d.fix);
    finish_agents();
    if (m_policy->m_gateway && m_policy->m_gateway->auth_jwt) {
      const JwtVerifierConfig& c = *m_policy->m_gateway->auth_jwt;
      if (c.issuer.empty() || c.audience.empty() || c.jwks.empty())
        error(m_auth_jwt_mark, "gateway.auth.jwt needs issuer, audience and jwks",
              "Write it as jwt: {issuer: https://idp.example.com/, audience: https://gw.example.com/mcp, "
              "jwks: jwks.json}");
    }
  }

  void check_version(const YAML::Node& k, const YAML::Node& v) {
    if (v.IsScalar() && v.Scalar() == "1") return;
    error(at(v, k),
          fmt::format("unsupported policy version {}",
                      v.IsScalar() ? "'" + v.Scalar() + "'" : std::string(kind_of(v))),
          "This mcp-warden reads policy version 1; write 'version: 1'");
  }

  void check_audit(const YAML::Node& key, const YAML::Node& n) {
    each_field(
        n, key, "audit", {"path", "fsync"}, "{path: warden-audit.jsonl, fsync: batch}",
        [&](const std::string& f, const YAML::Node& k, const YAML::Node& v) {
          if (f == "path") {
            if (auto s = string_value(v, k, "audit.path", "path: warden-audit.jsonl"))
              m_policy->m_audit.path = *s;
          } else if (auto i = enum_value(v, k, "audit.fsync", {"always", "batch", "never"})) {
            m_policy->m_audit.fsync = static_cast<FsyncMode>(*i);
          }
        });
  }

  void check_alerts(const YAML::Node& key, const YAML::Node& n) {
    each_field(n, key, "alerts", {"alert_severity", "sinks"},
               "{alert_severity: high, sinks: [stderr]}",
               [&](const std::string& f, const YAML::Node& k, const YAML::Node& v) {
                 if (f == "alert_severity") {
                   if (auto s = severity_value(v, k, "alerts.alert_severity"))
                     m_policy->m_alerts.alert_severity = *s;
                 } else {
                   check_sinks(k, v);
                 }
               });
  }

  void check_sinks(const YAML::Node& k, const YAML::Node& v) {
    static constexpr const char* k_example =
        "[stderr, {webhook: https://hooks.example.com/x}, {syslog: local0}, {file: alerts.jsonl}]";
    if (!v.IsSequence()) {
      error(at(v, k), fmt::format("alerts.sinks must be a list, got {}", kind_of(v)),
            fmt::format("Write it as {}", k_example));
      return;
    }
    m_policy->m_alerts.sinks.clear();
    size_t i = 0;
    for (auto it = v.begin(); it != v.end(); ++it, ++i) {
      std::string path = fmt::format("alerts.sinks[{}]", i);
      const YAML::Node s = *it;
      if (s.IsScalar()) {
        if (s.Scalar() == "stderr") {
          m_policy->m_alerts.sinks.push_back(AlertSink{});
        } else {
          error(s.Mark(), fmt::format("unknown alert sink '{}' in {}", s.Scalar(), path),
                fmt::format("{}A sink is stderr, {{webhook: URL}}, {{syslog: FACILITY}} or "
                            "{{file: PATH}}",
                            did_you_mean(s.Scalar(), {"stderr", "webhook", "syslog", "file"})));
        }
        continue;
      }
      if (!s.IsMap() || s.size() != 1) {
        error(at(s, k),
              fmt::format("{} must be stderr or a mapping with one key, got {}", path,
                          s.IsMap() ? "several keys" : kind_of(s)),
              fmt::format("Write it as {}", k_example));
        continue;
      }
      each_field(s, k, path, {"webhook", "syslog", "file"}, k_example,
                 [&](const std::string& f, const YAML::Node& fk, const YAML::Node& fv) {
                   AlertSink sink;
                   std::string p = child_path(path, f);
                   if (f == "webhook") {
                     auto url = string_value(fv, fk, p, "{webhook: https://hooks.example.com/x}");
                     if (!url) return;
                     std::string host;
                     const char* why = "";
                     bool http = to_lower(*url).starts_with("http");
                     if (!http || !extract_url_host(*url, host, why)) {
                       error(at(fv, fk),
                             fmt::format("{} is not an http(s) URL: {}", p,
                                         http ? why : "the scheme must be http or https"),
                             "Write it as https://host/path");
                       return;
                     }
                     sink.kind = SinkKind::webhook;
                     sink.target = *url;
                   } else if (f == "syslog") {
                     static const Keys k_fac = {"user",   "daemon", "auth",   "authpriv",
                                                "local0", "local1", "local2", "local3",
                                                "local4", "local5", "local6", "local7"};
                     auto i = enum_value(fv, fk, p, k_fac);
                     if (!i) return;
                     sink.kind = SinkKind::syslog;
                     sink.target = std::string(*(k_fac.begin() + *i));
                   } else {
                     auto file = string_value(fv, fk, p, "{file: alerts.jsonl}");
                     if (!file) return;
                     sink.kind = SinkKind::file;
                     sink.target = *file;
                   }
                   m_policy->m_alerts.sinks.push_back(std::move(sink));
                 });
    }
  }

  void check_gateway(const YAML::Node& key, const YAML::Node& n) {
    GatewayConfig g;
    each_field(n, key, "gateway", {"listen", "path", "admin", "namespace", "upstreams", "tls", "auth"},
               "{listen: 127.0.0.1:8080, path: /mcp}",
               [&](const std::string& f, const YAML::Node& k, const YAML::Node& v) {
                 std::string p = "gateway." + f;
                 if (f == "tls") {
                   g.tls = check_tls(k, v);
                 } else if (f == "auth") {
                   each_field(v, k, p, {"jwt"}, "{jwt: {issuer: URL, audience: URL, jwks: FILE}}",
                              [&](const std::string&, const YAML::Node& jk, const YAML::Node& jv) {
                                JwtVerifierConfig c;
                                if (!check_jwt_fields(jk, jv, "gateway.auth.jwt", c, nullptr)) return;
                                g.auth_jwt = std::move(c);
                                m_auth_jwt_mark = jk.Mark();
                              });
                 } else if (f == "listen" || f == "admin") {
                   auto s = string_value(v, k, p, "127.0.0.1:8080");
                   if (!s) return;
                   if (!host_port_ok(*s)) {
                     error(at(v, k), fmt::format("{} must be HOST:PORT, got '{}'", p, *s),
                           "Write it as 127.0.0.1:8080 (or [::1]:8080)");
                     return;
                   }
                   (f == "listen" ? g.listen : g.admin) = *s;
                 } else if (f == "path") {
                   auto s = string_value(v, k, p, "/mcp");
                   if (!s) return;
                   if (s->front() != '/') {
                     error(at(v, k), fmt::format("{} must start with '/', got '{}'", p, *s),
                           "Write it as /mcp");
                     return;
                   }
                   g.path = *s;
                 } else if (f == "upstreams") {
                   if (auto i = enum_value(v, k, p, {"per_session", "shared"}))
                     g.upstreams = static_cast<GatewayConfig::Upstreams>(*i);
                 } else if (auto i = enum_value(v, k, p, {"auto", "always", "never"})) {
                   g.namespacing = static_cast<Namespacing>(*i);
                 }
               });
    m_policy->m_gateway = std::move(g);
  }

  void check_agents(const YAML::Node& key, const YAML::Node& n) {
    each_entry(
        n, key, "agents", "a mapping of agent names to entries",
        "agents: {ci-bot: {api_key_sha256: \"...\", servers: [postmark]}}",
        [&](const std::string& name, const YAML::Node& nk, const YAML::Node& nv) {
          std::string path = child_path("agents", name);
          AgentConfig a;
          a.name = name;
          each_field(
              nv, nk, path, {"api_key_sha256", "jwt", "mtls", "servers", "tools"},
              "{api_key_sha256: \"<64 hex digits>\", servers: [postmark], tools: [sendEmail]}",
              [&](const std::string& f, const YAML::Node& k, const YAML::Node& v) {
                std::string p = child_path(path, f);
                if (f == "jwt") {
                  AgentJwt j;
                  if (check_jwt_fields(k, v, p, j.verifier, &j)) a.jwt = std::move(j);
                } else if (f == "mtls") {
                  if (auto m = check_mtls(k, v, p)) a.mtls = std::move(*m);
                } else if (f == "api_key_sha256") {
                  auto s = string_value(v, k, p, "\"<64 hex digits>\"");
                  if (!s) return;
                  std::string h = to_lower(*s);
                  if (h.size() != 64 ||
                      h.find_first_not_of("0123456789abcdef") != std::string::npos) {
                    error(at(v, k), fmt::format("{} must be 64 hex digits (a SHA-256)", p),
                          "Write the output of: printf %s \"$KEY\" | sha256sum");
                    return;
                  }
                  a.api_key_sha256 = h;
                } else if (f == "servers") {
                  auto l = string_list(v, k, p, "[postmark]");
                  if (!l) return;
                  size_t i = 0;
                  for (auto it = v.begin(); it != v.end(); ++it, ++i)
                    m_deferred.push_back(
                        {fmt::format("{}[{}] names server '{}', which is not defined", p, i,
                                     (*l)[i]),
                         "Add it under servers: or fix the name", it->Mark(), (*l)[i]});
                  a.servers = std::move(*l);
                } else if (auto l = string_list(v, k, p, "[sendEmail]")) {
                  a.tools = std::move(*l);
                }
              });
          if (nv.IsMap()) {
            int kinds = (nv["api_key_sha256"] ? 1 : 0) + (nv["jwt"] ? 1 : 0) + (nv["mtls"] ? 1 : 0);
            if (kinds == 0)
              error(nk.Mark(), fmt::format("{} has no identity", path),
                    "Add one of api_key_sha256 (the hex SHA-256 of the agent's API key), jwt: "
                    "{subject: ...} or mtls: {cn: ...}");
            else if (kinds > 1)
              error(nk.Mark(), fmt::format("{} has more than one of api_key_sha256, jwt and mtls", path),
                    "Give each agent exactly one identity; define another agent for another credential");
          }
          m_agent_marks.push_back(nk.Mark());
          m_policy->m_agents.push_back(std::move(a));
        });
  }

  // gateway.tls
  std::optional<TlsConfig> check_tls(const YAML::Node& key, const YAML::Node& n) {
    TlsConfig t;
    bool client_cert_given = false;
    bool ok = each_field(
        n, key, "gateway.tls", {"cert", "key", "client_ca", "client_cert"},
        "{cert: gateway.pem, key: gateway.key, client_ca: agents-ca.pem, client_cert: required}",
        [&](const std::string& f, const YAML::Node& k, const YAML::Node& v) {
          std::string p = "gateway.tls." + f;
          if (f == "client_cert") {
            client_cert_given = true;
            if (auto i = enum_value(v, k, p, {"required", "optional"}))
              t.client_cert = static_cast<ClientCertMode>(*i);
          } else if (auto s = string_value(v, k, p, "/etc/mcp-warden/gateway.pem")) {
            (f == "cert" ? t.cert : f == "key" ? t.key : t.client_ca) = *s;
          }
        });
    if (!ok) return std::nullopt;
    if (t.cert.empty() || t.key.empty())
      error(at(n, key), "gateway.tls needs both cert and key",
            "Write it as tls: {cert: gateway.pem, key: gateway.key} (PEM files)");
    if (client_cert_given && t.client_ca.empty())
      error(at(n, key), "gateway.tls.client_cert is set but there is no client_ca",
            "Add client_ca: the PEM CA bundle that signs the agents' certificates");
    return t;
  }

  // A duration in whole seconds: 60, 60s, 5m or 1h.
  std::optional<int64_t> seconds_value(const YAML::Node& v, const YAML::Node& k,
                                       const std::string& path, int64_t max) {
    if (v.IsScalar() && !v.Scalar().empty()) {
      std::string t = v.Scalar();
      int64_t mult = 1;
      char unit = t.back();
      if (unit == 's' || unit == 'm' || unit == 'h') {
        mult = unit == 's' ? 1 : unit == 'm' ? 60 : 3600;
        t.pop_back();
      }
      int64_t x = 0;
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), x);
      if (!t.empty() && ec == std::errc() && p == t.data() + t.size() && x >= 0 && x <= max / mult)
        return x * mult;
    }
    error(at(v, k),
          fmt::format("{} must be a duration from 0 to {}s, got {}", path, max,
                      v.IsScalar() ? "'" + v.Scalar() + "'" : std::string(kind_of(v))),
          "Write it as 60s, 5m or 1h");
    return std::nullopt;
  }

  // gateway.auth.jwt (selector == nullptr) or an agent's jwt: (issuer/audience/jwks override the
  // gateway's; subject, client_id and scopes select the agent). False if anything was wrong.
  bool check_jwt_fields(const YAML::Node& key, const YAML::Node& n, const std::string& path,
                        JwtVerifierConfig& c, AgentJwt* selector) {
    static const Keys k_gateway = {"issuer", "audience", "jwks", "jwks_refresh", "jwks_ca", "clock_skew",
                                   "max_token_bytes"};
    static const Keys k_agent = {"issuer", "audience", "jwks", "jwks_refresh", "jwks_ca", "subject", "client_id",
                                 "scopes"};
    size_t issues = m_issues.size() + m_dropped;
    std::optional<YAML::Mark> url_only;  // where jwks_refresh or jwks_ca was given
    std::string url_only_key;
    bool ok = each_field(
        n, key, path, selector ? k_agent : k_gateway,
        selector ? "{subject: ci-app@clients, scopes: [mcp:tools]}"
                 : "{issuer: https://idp.example.com/, audience: https://gw.example.com/mcp, jwks: jwks.json}",
        [&](const std::string& f, const YAML::Node& k, const YAML::Node& v) {
          std::string p = child_path(path, f);
          if (f == "jwks_refresh" || f == "jwks_ca") {
            url_only = k.Mark();
            url_only_key = p;
          }
          if (f == "clock_skew") {
            if (auto x = seconds_value(v, k, p, 3600)) c.clock_skew_s = *x;
          } else if (f == "jwks_refresh") {
            auto x = seconds_value(v, k, p, 86400);
            if (x && *x < gateway::auth::k_jwks_min_refresh.count())
              error(at(v, k), fmt::format("{} must be at least {}s, got '{}'", p, gateway::auth::k_jwks_min_refresh.count(), v.Scalar()),
                    "Write 30s or more (the default is 10m); a rotated key is fetched early anyway, when a "
                    "token names a kid the set lacks");
            else if (x) c.jwks_refresh_s = *x;
          } else if (f == "max_token_bytes") {
            if (auto x = uint_value(v, k, p, 1024, 65536, 8192)) c.max_token_bytes = *x;
          } else if (f == "scopes") {
            if (auto l = string_list(v, k, p, "[mcp:tools]", true, false)) selector->scopes = std::move(*l);
          } else if (auto s = string_value(v, k, p, "https://idp.example.com/")) {
            if (f == "jwks" && gateway::auth::is_jwks_url(*s)) {
              if (auto url = gateway::auth::parse_jwks_url(*s); !url) {
                error(at(v, k), fmt::format("{}: {}", p, url.error().message),
                      "Write it as https://idp.example.com/.well-known/jwks.json (add jwks_ca: FILE for a "
                      "private CA)");
                return;
              }
            }
            if (f == "issuer") c.issuer = *s;
            else if (f == "audience") c.audience = *s;
            else if (f == "jwks") c.jwks = *s;
            else if (f == "jwks_ca") c.jwks_ca = *s;
            else if (f == "subject") selector->subject = *s;
            else selector->client_id = *s;
          }
        });
    if (ok && url_only && !gateway::auth::is_jwks_url(c.jwks))
      error(*url_only, fmt::format("{} applies only to a JWKS URL, and {}", url_only_key,
                                   c.jwks.empty() ? fmt::format("{}.jwks is not set here", path)
                                                  : fmt::format("{}.jwks names a file", path)),
            "Give jwks: https://... in the same block, or remove the key (a JWKS file is read at start and "
            "on reload)");
    return ok && issues == m_issues.size() + m_dropped;
  }

  // An agent's mtls: every field given must match the client certificate.
  std::optional<AgentMtls> check_mtls(const YAML::Node& key, const YAML::Node& n, const std::string& path) {
    AgentMtls m;
    bool any = false;
    size_t issues = m_issues.size() + m_dropped;
    bool ok = each_field(
        n, key, path, {"subject", "cn", "uri", "dns", "email", "fingerprint_sha256"},
        "{cn: deploy-bot, uri: spiffe://example.org/deploy}",
        [&](const std::string& f, const YAML::Node& k, const YAML::Node& v) {
          std::string p = child_path(path, f);
          auto s = string_value(v, k, p, "deploy-bot");
          if (!s) return;
          any = true;
          if (f == "fingerprint_sha256") {
            auto fp = gateway::auth::normalize_fingerprint(*s);
            if (!fp) {
              error(at(v, k), fmt::format("{} must be a SHA-256 fingerprint (64 hex digits, colons allowed)", p),
                    "Write the output of: openssl x509 -in agent.pem -noout -fingerprint -sha256");
              return;
            }
            m.fingerprint_sha256 = *fp;
          } else {
            (f == "subject" ? m.subject : f == "cn" ? m.cn : f == "uri" ? m.uri : f == "dns" ? m.dns : m.email) = *s;
          }
        });
    if (!ok || issues != m_issues.size() + m_dropped) return std::nullopt;
    if (!any) {
      error(at(n, key), fmt::format("{} selects no certificate", path),
            "Give at least one of subject, cn, uri, dns, email, fingerprint_sha256");
      return std::nullopt;
    }
    return m;
  }

  // Once the whole file is read: agents' jwt: entries get gateway.auth.jwt's settings, and the
  // identities must be usable and tell agents apart.
  void finish_agents() {
    const auto& g = m_policy->m_gateway;
    const JwtVerifierConfig* defaults = g && g->auth_jwt ? &*g->auth_jwt : nullptr;
    auto& agents = m_policy->m_agents;
    for (size_t i = 0; i < agents.size(); ++i) {
      AgentConfig& a = agents[i];
      const YAML::Mark& mark = m_agent_marks[i];
      std::string path = child_path("agents", a.name);
      if (a.jwt) {
        JwtVerifierConfig& v = a.jwt->verifier;
        if (defaults) {
          if (v.issuer.empty()) v.issuer = defaults->issuer;
          if (v.audience.empty()) v.audience = defaults->audience;
          if (v.jwks.empty()) {
            v.jwks = defaults->jwks;
            v.jwks_ca = defaults->jwks_ca;
            v.jwks_refresh_s = defaults->jwks_refresh_s;
          }
          v.clock_skew_s = defaults->clock_skew_s;
          v.max_token_bytes = defaults->max_token_bytes;
        }
        for (auto [field, value] : {std::pair{"issuer", &v.issuer}, {"audience", &v.audience}, {"jwks", &v.jwks}})
          if (value->empty())
            error(mark, fmt::format("{}.jwt has no {} (and gateway.auth.jwt gives none)", path, field),
                  "Set gateway.auth.jwt: {issuer: URL, audience: URL, jwks: FILE}, or the agent's own");
        if (a.jwt->subject.empty() && a.jwt->client_id.empty())
          error(mark, fmt::format("{}.jwt selects neither a subject nor a client_id", path),
                "Add subject: (the token's sub) or client_id:; an issuer alone would let every token of "
                "that identity provider in");
      }
      if (a.mtls && !(g && g->tls && !g->tls->client_ca.empty()))
        error(mark, fmt::format("{}.mtls needs client certificates, but gateway.tls.client_ca is not set", path),
              "Add gateway.tls: {cert: ..., key: ..., client_ca: agents-ca.pem}");
      for (size_t j = 0; j < i; ++j) {
        const AgentConfig& b = agents[j];
        bool same = (!a.api_key_sha256.empty() && a.api_key_sha256 == b.api_key_sha256) ||
                    (a.jwt && b.jwt && *a.jwt == *b.jwt) || (a.mtls && b.mtls && *a.mtls == *b.mtls);
        if (same)
          error(mark, fmt::format("{} has the same identity as agents.{}", path, b.name),
                "Each credential must name one agent; merge them or tell them apart");
      }
    }
  }

  void check_servers(const YAML::Node& key, const YAML::Node& n) {
    bool ok = each_entry(n, key, "servers", "a mapping of server names to entries",
                         "servers: {postmark: {command: [npx, -y, postmark-mcp]}}",
                         [&](const std::string& name, const YAML::Node& k, const YAML::Node& v) {
                           check_server(name, k, v);
                         });
    if (ok && (n.IsNull() || n.size() == 0))
      error(at(n, key), "servers is empty",
            "Add one entry per MCP server, e.g. servers: {default: {tools: {\"*\": {action: "
            "allow}}}}");
  }

  void check_server(const std::string& name, const YAML::Node& key, const YAML::Node& n) {
    std::string path = child_path("servers", name);
    if (!server_name_ok(name)) {
      error(key.Mark(), fmt::format("bad server name '{}'", name),
            "Use letters, digits, '-', '_' and '.', starting with a letter or digit, without "
            "'__' (it separates server and tool names), at most 64 characters");
      return;
    }
    ServerPolicy s;
    s.name = name;
    s.where = {key.Mark().line + 1, key.Mark().column + 1};
    Presence pr;
    std::vector<std::pair<std::string, YAML::Mark>> inject_secrets, header_secrets;
    static const Keys k_fields = {"command",          "url",    "headers", "timeout",
                                  "env",              "secrets", "sandbox", "egress",
                                  "pins",             "on_finding", "require_approval", "tools",
                                  "prompts",          "resources", "detectors"};
    YAML::Mark command_mark, url_mark;
    each_field(
        n, key, path, k_fields,
        "{command: [npx, -y, postmark-mcp], tools: {\"*\": {action: allow}}}",
        [&](const std::string& f, const YAML::Node& k, const YAML::Node& v) {
          std::string p = child_path(path, f);
          if (f == "command") {
            command_mark = k.Mark();
            if (auto l = string_list(v, k, p, "[npx, -y, postmark-mcp]", false, false))
              s.command = std::move(*l);
          } else if (f == "url") {
            pr.url = true;
            url_mark = k.Mark();
            auto u = string_value(v, k, p, "https://mcp.example.com/mcp");
            std::string host;
            const char* why = "";
            if (u && !(to_lower(*u).starts_with("http") && extract_url_host(*u, host, why))) {
              error(at(v, k), fmt::format("{} must be an http(s) URL, got '{}'", p, *u),
                    "Write it as https://mcp.example.com/mcp");
            } else if (u) {
              s.url = *u;
            }
          } else if (f == "env") {
            pr.env = true;
            each_entry(v, k, p, "a mapping of variable names to values",
                       "{DEFAULT_SENDER_EMAIL: ops@example.com}",
                       [&](const std::string& var, const YAML::Node& ek, const YAML::Node& ev) {
                         std::string ep = child_path(p, var);
                         if (!env_name(var)) {
                           error(ek.Mark(), fmt::format("bad environment variable name '{}'", var),
                                 "Use letters, digits and '_', not starting with a digit");
                           return;
                         }
                         if (auto val = string_value(ev, ek, ep, "VALUE", true))
                           s.env.emplace_back(var, *val);
                       });
          } else if (f == "headers") {
            check_headers(p, k, v, s, header_secrets);
          } else if (f == "timeout") {
            if (auto x = seconds_value(v, k, p, 86400)) s.timeout_s = *x;
          } else if (f == "secrets") {
            pr.secrets = true;
            check_secrets(p, k, v, s);
          } else if (f == "sandbox") {
            pr.sandbox = true;
            check_sandbox(p, k, v, s);
          } else if (f == "egress") {
            pr.egress = true;
            check_egress(p, k, v, s, inject_secrets);
          } else if (f == "pins") {
            pr.pins = true;
            if (auto i = enum_value(v, k, p, {"tofu", "strict", "off"}))
              s.pins = static_cast<PinMode>(*i);
          } else if (f == "detectors") {
            check_detectors(p, k, v, s.detectors);
          } else if (f == "on_finding") {
            pr.on_finding = true;
            each_field(v, k, p, {"quarantine_at"}, "{quarantine_at: critical}",
                       [&](const std::string&, const YAML::Node& qk, const YAML::Node& qv) {
                         if (auto sev = severity_value(qv, qk, p + ".quarantine_at"))
                           s.quarantine_at = *sev;
                       });
          } else if (f == "require_approval") {
            pr.require_approval = true;
            if (v.IsScalar() && !is_string_tagged(v) &&
                (to_lower(v.Scalar()) == "true" || to_lower(v.Scalar()) == "false")) {
              s.require_registry_approval = to_lower(v.Scalar()) == "true";
            } else if (auto l = string_list(v, k, p, "[sendEmail, \"delete_*\"] or true")) {
              s.require_approval = std::move(*l);
            }
          } else if (f == "tools") {
            check_rules(p, k, v, RuleKind::tool, s.tools);
          } else if (f == "prompts") {
            check_rules(p, k, v, RuleKind::prompt, s.prompts);
          } else {
            check_rules(p, k, v, RuleKind::resource, s.resources);
          }
        });
    if (!s.command.empty() && pr.url)
      error(url_mark, fmt::format("{} has both command and url", path),
            "A server is either a local command or a remote URL; remove one of them");
    for (const auto& [secret, mark] : inject_secrets)
      if (!s.secrets.count(secret))
        error(mark,
              fmt::format("{}.egress injects secret '{}', which is not declared", path, secret),
              fmt::format("Declare it under {}.secrets, e.g. {}: {{from_env: REAL_{}}}", path,
                          secret, secret));
    for (const auto& [secret, mark] : header_secrets)
      if (!s.secrets.count(secret))
        error(mark,
              fmt::format("{}.headers names secret '{}', which is not declared", path, secret),
              fmt::format("Declare it under {}.secrets, e.g. {}: {{from_env: {}}}", path, secret,
                          secret));
    if (!s.headers.empty() && s.url.empty())
      error(key.Mark(), fmt::format("{}.headers needs url", path),
            "headers are sent to a remote upstream (url:); a local command gets env and secrets");
    m_presence.push_back(pr);
    m_policy->m_servers.push_back(std::move(s));
  }

  // headers: {Authorization: "Bearer ${GITHUB_TOKEN}"}: what the gateway sends to a remote
  // upstream; ${NAME} must be a declared secret.
  void check_headers(const std::string& path, const YAML::Node& key, const YAML::Node& n,
                     ServerPolicy& s, std::vector<std::pair<std::string, YAML::Mark>>& secrets) {
    each_entry(n, key, path, "a mapping of HTTP header names to values",
               "{Authorization: \"Bearer ${GITHUB_TOKEN}\"}",
               [&](const std::string& name, const YAML::Node& k, const YAML::Node& v) {
                 std::string p = child_path(path, name);
                 bool token = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
                   return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
                 });
                 std::string lower = to_lower(name);
                 if (!token || lower == "host" || lower == "content-length" ||
                     lower == "mcp-session-id" || lower == "mcp-protocol-version" ||
                     lower == "transfer-encoding" || lower == "connection") {
                   error(k.Mark(), fmt::format("{}: '{}' cannot be set here", path, name),
                         "Use a header name of letters, digits and '-'; the gateway sets Host, "
                         "Content-Length and the MCP headers itself");
                   return;
                 }
                 auto value = string_value(v, k, p, "Bearer ${GITHUB_TOKEN}");
                 if (!value) return;
                 if (value->find_first_of("\r\n") != std::string::npos) {
                   error(at(v, k), fmt::format("{} has a line break", p), "Write it on one line");
                   return;
                 }
                 for (size_t at_ = value->find("${"); at_ != std::string::npos;
                      at_ = value->find("${", at_ + 2)) {
                   size_t end = value->find('}', at_);
                   std::string ref = end == std::string::npos ? "" : value->substr(at_ + 2, end - at_ - 2);
                   if (!env_name(ref)) {
                     error(at(v, k), fmt::format("{}: bad secret reference in '{}'", p, *value),
                           "Write ${NAME} with NAME declared under secrets");
                     return;
                   }
                   secrets.emplace_back(ref, v.Mark());
                 }
                 s.headers.emplace_back(name, *value);
               });
  }

  void check_secrets(const std::string& path, const YAML::Node& key, const YAML::Node& n,
                     ServerPolicy& s) {
    each_entry(n, key, path, "a mapping of secret names to sources",
               "{POSTMARK_SERVER_TOKEN: {from_env: REAL_POSTMARK_TOKEN}}",
               [&](const std::string& name, const YAML::Node& k, const YAML::Node& v) {
                 std::string p = child_path(path, name);
                 if (!env_name(name)) {
                   error(k.Mark(), fmt::format("bad secret name '{}'", name),
                         "Use letters, digits and '_' (it is the variable the server sees)");
                   return;
                 }
                 SecretRef ref;
                 each_field(
                     v, k, p, {"from_env"}, "{from_env: REAL_POSTMARK_TOKEN}",
                     [&](const std::string&, const YAML::Node& fk, const YAML::Node& fv) {
                       auto var = string_value(fv, fk, p + ".from_env", "REAL_POSTMARK_TOKEN");
                       if (var && !env_name(*var))
                         error(at(fv, fk), fmt::format("bad environment variable name '{}'", *var),
                               "Use letters, digits and '_'");
                       else if (var)
                         ref.from_env = *var;
                     });
                 if (v.IsMap() && ref.from_env.empty() && !v["from_env"]) {
                   error(k.Mark(), fmt::format("{} has no source", p),
                         "Write it as {from_env: VARIABLE_HOLDING_THE_REAL_VALUE}");
                   return;
                 }
                 s.secrets[name] = ref;
               });
  }

  // A severity, or `never` (nullopt).
  std::optional<std::optional<core::Severity>> threshold_value(const YAML::Node& v,
                                                               const YAML::Node& k,
                                                               const std::string& path) {
    if (v.IsScalar() && v.Scalar() == "never") return std::optional<core::Severity>{};
    if (v.IsScalar() && !core::parse_severity(v.Scalar())) {
      static const Keys k_names = {"info", "low", "medium", "high", "critical", "never"};
      error(at(v, k), fmt::format("bad threshold '{}' for {}", v.Scalar(), path),
            fmt::format("{}Use one of: {}", did_you_mean(v.Scalar(), k_names), join(k_names)));
      return std::nullopt;
    }
    if (auto sev = severity_value(v, k, path)) return std::optional<core::Severity>{*sev};
    return std::nullopt;
  }

  void check_detectors(const std::string& path, const YAML::Node& key, const YAML::Node& n,
                       DetectorConfig& d) {
    each_field(
        n, key, path, {"metadata", "results"},
        "{metadata: {strip_at: high, block_calls_at: high}, results: {secrets: redact}}",
        [&](const std::string& f, const YAML::Node& k, const YAML::Node& v) {
          std::string p = child_path(path, f);
          if (f == "metadata") {
            each_field(v, k, p, {"strip_at", "block_calls_at"},
                       "{strip_at: high, block_calls_at: high}",
                       [&](const std::string& mf, const YAML::Node& mk, const YAML::Node& mv) {
                         auto t = threshold_value(mv, mk, child_path(p, mf));
                         if (!t) return;
                         (mf == "strip_at" ? d.strip_at : d.block_calls_at) = *t;
                       });
            return;
          }
          each_field(v, k, p, {"secrets", "pii", "injection", "injection_at", "strip_hidden"},
                     "{secrets: redact, pii: record, injection: block, injection_at: high, "
                     "strip_hidden: true}",
                     [&](const std::string& rf, const YAML::Node& rk, const YAML::Node& rv) {
                       std::string rp = child_path(p, rf);
                       if (rf == "injection_at") {
                         if (auto sev = severity_value(rv, rk, rp)) d.injection_at = *sev;
                       } else if (rf == "strip_hidden") {
                         if (auto b = bool_value(rv, rk, rp)) d.strip_hidden = *b;
                       } else if (auto i = enum_value(rv, rk, rp, {"record", "redact", "block"})) {
                         auto a = static_cast<ResultAction>(*i);
                         (rf == "secrets" ? d.secrets : rf == "pii" ? d.pii : d.injection) = a;
                       }
                     });
        });
  }

  void check_sandbox(const std::string& path, const YAML::Node& key, const YAML::Node& n,
                     ServerPolicy& s) {
    SandboxConfig sb;
    each_field(
        n, key, path, {"network", "fs", "limits"},
        "{network: transparent, fs: {read: [.], write: [/tmp]}, limits: {memory_mb: 512}}",
        [&](const std::string& f, const YAML::Node& k, const YAML::Node& v) {
          std::string p = child_path(path, f);
          if (f == "network") {
            if (auto i = enum_value(v, k, p, {"transparent", "proxy-env", "none", "host"}))
              sb.network = static_cast<NetworkMode>(*i);
          } else if (f == "fs") {
            each_field(v, k, p, {"read", "write"}, "{read: [.], write: [/tmp]}",
                       [&](const std::string& rw, const YAML::Node& rk, const YAML::Node& rv) {
                         auto l = string_list(rv, rk, child_path(p, rw), "[., /tmp]");
                         if (l) (rw == "read" ? sb.fs_read : sb.fs_write) = std::move(*l);
                       });
          } else {
            each_field(v, k, p, {"memory_mb", "processes", "open_files"},
                       "{memory_mb: 512, processes: 64, open_files: 256}",
                       [&](const std::string& l, const YAML::Node& lk, const YAML::Node& lv) {
                         auto x = uint_value(lv, lk, child_path(p, l), 1, 1u << 20,
                                             l == "memory_mb"   ? 512
                                             : l == "processes" ? 64
                                                                : 256);
                         if (!x) return;
                         if (l == "memory_mb")
                           sb.memory_mb = x;
                         else if (l == "processes")
                           sb.processes = x;
                         else
                           sb.open_files = x;
                       });
          }
        });
    s.sandbox = std::move(sb);
  }

  void check_egress(const std::string& path, const YAML::Node& key, const YAML::Node& n,
                    ServerPolicy& s, std::vector<std::pair<std::string, YAML::Mark>>& secrets) {
    static constexpr const char* k_example = "[{host: api.postmarkapp.com, port: 443}]";
    s.egress.emplace();
    if (n.IsNull()) return;
    if (!n.IsSequence()) {
      error(at(n, key), fmt::format("{} must be a list of hosts, got {}", path, kind_of(n)),
            fmt::format("Write it as {}", k_example));
      return;
    }
    size_t i = 0;
    for (auto it = n.begin(); it != n.end(); ++it, ++i) {
      std::string p = fmt::format("{}[{}]", path, i);
      EgressRule r;
      r.where = {it->Mark().line + 1, it->Mark().column + 1};
      bool has_host = false;
      each_field(
          *it, key, p,
          {"host", "port", "inspect", "inject", "correlate", "on_violation", "resolve",
           "upstream_ca"},
          "{host: api.postmarkapp.com, port: 443}",
          [&](const std::string& f, const YAML::Node& k, const YAML::Node& v) {
            std::string fp = child_path(p, f);
            if (f == "host") {
              auto h = string_value(v, k, fp, "api.postmarkapp.com");
              std::string why;
              if (h && !parse_host_pattern(*h, r.host, why)) {
                error(at(v, k), fmt::format("bad host '{}' for {}: {}", *h, fp, why),
                      "Write a host name like api.postmarkapp.com or *.example.com");
              } else if (h) {
                r.host_text = *h;
                has_host = true;
              }
            } else if (f == "port") {
              if (auto x = uint_value(v, k, fp, 1, 65535, 443)) r.port = static_cast<uint16_t>(*x);
            } else if (f == "inspect") {
              if (auto b = bool_value(v, k, fp)) r.inspect = *b;
            } else if (f == "inject") {
              EgressInject inj;
              each_field(v, k, fp, {"header", "secret"},
                         "{header: X-Postmark-Server-Token, secret: POSTMARK_SERVER_TOKEN}",
                         [&](const std::string& g, const YAML::Node& gk, const YAML::Node& gv) {
                           auto str = string_value(gv, gk, child_path(fp, g), "NAME");
                           if (!str) return;
                           if (g == "header") {
                             inj.header = *str;
                           } else {
                             inj.secret = *str;
                             secrets.emplace_back(*str, at(gv, gk));
                           }
                         });
              if (v.IsMap() && (inj.header.empty() || inj.secret.empty()))
                error(
                    k.Mark(), fmt::format("{} needs both header and secret", fp),
                    "Write it as {header: X-Postmark-Server-Token, secret: POSTMARK_SERVER_TOKEN}");
              else if (v.IsMap())
                r.inject = inj;
            } else if (f == "correlate") {
              if (!v.IsSequence()) {
                error(at(v, k), fmt::format("{} must be a list, got {}", fp, kind_of(v)),
                      "Write it as [email] (identifiers: email, host, url)");
                return;
              }
              size_t j = 0;
              for (auto c = v.begin(); c != v.end(); ++c, ++j) {
                static const Keys k_ids = {"email", "host", "url"};
                if (auto x = enum_value(*c, k, fmt::format("{}[{}]", fp, j), k_ids))
                  r.correlate.emplace_back(*(k_ids.begin() + *x));
              }
            } else if (f == "on_violation") {
              if (auto x = enum_value(v, k, fp, {"block", "strip"}))
                r.on_violation = static_cast<ViolationAction>(*x);
            } else if (f == "resolve") {
              auto str = string_value(v, k, fp, "127.0.0.1:8443");
              if (str && !host_port_ok(*str))
                error(at(v, k), fmt::format("{} must be HOST:PORT, got '{}'", fp, *str),
                      "Write it as 127.0.0.1:8443");
              else if (str)
                r.resolve = *str;
            } else if (auto str = string_value(v, k, fp, "ca.pem")) {
              r.upstream_ca = *str;
            }
          });
      if (it->IsMap() && !has_host && !it->operator[]("host"))
        error(it->Mark(), fmt::format("{} has no host", p), "Add host: api.example.com");
      if (has_host) s.egress->push_back(std::move(r));
    }
  }

  // ---- rules ----
  void check_rules(const std::string& path, const YAML::Node& key, const YAML::Node& n,
                   RuleKind kind, RuleSet& set) {
    set.configure(path);
    const char* example = kind == RuleKind::resource
                              ? "{\"file:///docs/*\": {action: allow}}"
                              : "{sendEmail: {action: allow}, \"*\": {action: deny}}";
    each_entry(n, key, path,
               kind == RuleKind::resource ? "a mapping of URI patterns to rules"
                                          : "a mapping of names to rules",
               example, [&](const std::string& pattern, const YAML::Node& k, const YAML::Node& v) {
                 if (pattern.empty()) {
                   error(k.Mark(), fmt::format("empty name {}", where_text(path)),
                         "Name the tool, prompt or resource, or use \"*\" for all");
                   return;
                 }
                 Rule r;
                 r.pattern = pattern;
                 r.path = child_path(path, pattern);
                 r.where = {k.Mark().line + 1, k.Mark().column + 1};
                 if (v.IsScalar()) {
                   error(
                       v.Mark(),
                       fmt::format("{} must be a mapping, got the scalar '{}'", r.path, v.Scalar()),
                       fmt::format("Write it as {{action: {}}}",
                                   suggest(v.Scalar(), {"allow", "deny", "approve"}).empty()
                                       ? "allow"
                                       : suggest(v.Scalar(), {"allow", "deny", "approve"})));
                   return;
                 }
                 if (check_rule(r, k, v, kind)) set.add(std::move(r));
               });
  }

  bool check_rule(Rule& r, const YAML::Node& key, const YAML::Node& n, RuleKind kind) {
    size_t before = m_issues.size() + m_dropped;
    static const Keys k_fields = {"action", "args", "rate"};
    each_field(n, key, r.path, k_fields, "{action: allow, rate: 60/min}",
               [&](const std::string& f, const YAML::Node& k, const YAML::Node& v) {
                 std::string p = child_path(r.path, f);
                 if (f == "action") {
                   if (auto i = enum_value(v, k, p, {"allow", "deny", "approve"}))
                     r.action = static_cast<Action>(*i);
                 } else if (f == "rate") {
                   check_rate(p, k, v, r);
                 } else if (kind == RuleKind::resource) {
                   error(k.Mark(), fmt::format("{} is not allowed: resources have no arguments", p),
                         "resources/read and resources/subscribe carry only the URI, which the "
                         "rule's pattern matches; remove args");
                 } else {
                   check_args(p, k, v, r);
                 }
               });
    return m_issues.size() + m_dropped == before;
  }

  void check_rate(const std::string& p, const YAML::Node& k, const YAML::Node& v, Rule& r) {
    auto s = string_value(v, k, p, "60/min");
    if (!s) return;
    size_t slash = s->find('/');
    std::string_view count = std::string_view(*s).substr(0, std::min(slash, s->size()));
    std::string_view unit =
        slash == std::string::npos ? std::string_view() : std::string_view(*s).substr(slash + 1);
    uint32_t n = 0;
    auto [ptr, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
    int64_t period = unit == "sec" || unit == "second"   ? 1'000'000
                     : unit == "min" || unit == "minute" ? 60'000'000
                     : unit == "hour"                    ? 3'600'000'000
                                                         : 0;
    if (count.empty() || ec != std::errc() || ptr != count.data() + count.size() || n == 0 ||
        n > k_max_rate_count || period == 0) {
      error(at(v, k), fmt::format("bad rate '{}' for {}", *s, p),
            fmt::format("Write N/sec, N/min or N/hour with N from 1 to {}, e.g. 60/min",
                        k_max_rate_count));
      return;
    }
    r.rate = RateLimit{n, period, *s};
  }

  void check_args(const std::string& path, const YAML::Node& key, const YAML::Node& n, Rule& r) {
    each_entry(n, key, path, "a mapping of argument names to matchers",
               "{to: {email_domain: [example.com]}, textBody: {max_length: 100000}}",
               [&](const std::string& name, const YAML::Node& k, const YAML::Node& v) {
                 ArgMatcher am;
                 am.name = name;
                 am.path = child_path(path, name);
                 am.where = {k.Mark().line + 1, k.Mark().column + 1};
                 check_matcher(am, k, v);
                 r.args.push_back(std::move(am));
               });
  }

  void check_matcher(ArgMatcher& am, const YAML::Node& key, const YAML::Node& n) {
    static const Keys k_matchers = {"equals",       "one_of",     "regex",    "max_length",
                                    "email_domain", "path_under", "url_host", "optional"};
    each_field(
        n, key, am.path, k_matchers, "{email_domain: [example.com]}",
        [&](const std::string& f, const YAML::Node& k, const YAML::Node& v) {
          std::string p = child_path(am.path, f);
          if (f == "optional") {
            if (auto b = bool_value(v, k, p)) am.optional = *b;
          } else if (f == "equals") {
            if (auto s = read_scalar(v))
              am.equals = std::move(*s);
            else
              error(at(v, k), fmt::format("{} must be a single value, got {}", p, kind_of(v)),
                    "Write a string, number, true/false or null; use one_of for a list");
          } else if (f == "one_of") {
            if (!v.IsSequence() || v.size() == 0) {
              error(at(v, k),
                    v.IsSequence() ? fmt::format("{} is an empty list", p)
                                   : fmt::format("{} must be a list, got {}", p, kind_of(v)),
                    "Write it as [outbound, broadcast]");
              return;
            }
            std::vector<Scalar> values;
            for (auto it = v.begin(); it != v.end(); ++it) {
              auto s = read_scalar(*it);
              if (!s) {
                error(it->Mark(), fmt::format("{} holds {}, not a single value", p, kind_of(*it)),
                      "List strings, numbers, true/false or null");
                return;
              }
              values.push_back(std::move(*s));
            }
            am.one_of = std::move(values);
          } else if (f == "regex") {
            auto s = string_value(v, k, p, "'[a-z0-9-]+'", true);
            if (!s) return;
            RE2::Options opt;
            opt.set_log_errors(false);
            opt.set_encoding(RE2::Options::EncodingUTF8);
            auto re = std::make_shared<const RE2>(*s, opt);
            if (!re->ok()) {
              error(at(v, k), fmt::format("bad regex for {}: {}", p, re->error()),
                    "Fix the pattern (RE2 syntax: no backreferences or lookaround); it must "
                    "match the whole value");
              return;
            }
            am.regex = std::move(re);
            am.regex_text = *s;
          } else if (f == "max_length") {
            am.max_length = uint_value(v, k, p, 0, uint64_t{1} << 40, 1000);
          } else if (f == "email_domain") {
            auto l = string_list(v, k, p, "[example.com]", true, false);
            if (!l) return;
            std::vector<std::string> domains;
            for (const auto& d : *l) {
              std::string why;
              HostPattern hp;
              if (d.starts_with("@") || d.find('@') != std::string::npos) {
                error(at(v, k), fmt::format("bad domain '{}' for {}", d, p),
                      fmt::format("Write the domain without '@': {}", d.substr(d.rfind('@') + 1)));
              } else if (d.starts_with("*.")) {
                error(at(v, k), fmt::format("bad domain '{}' for {}", d, p),
                      fmt::format("Subdomains are always included; write '{}'", d.substr(2)));
              } else if (!parse_host_pattern(d, hp, why) || hp.host.front() == '[') {
                error(at(v, k), fmt::format("bad domain '{}' for {}: {}", d, p, why),
                      "Write a domain like example.com");
              } else {
                domains.push_back(hp.host);
              }
            }
            am.email_domain = std::move(domains);
          } else if (f == "path_under") {
            auto l = string_list(v, k, p, "[/srv/data, ./reports]", true, false);
            if (!l) return;
            std::vector<std::string> dirs;
            std::vector<std::string_view> parts;
            for (const auto& d : *l) {
              std::string norm;
              const char* why = "";
              // Relative directories are resolved against the server's working directory when
              // a call is checked; here they are only validated (against a stand-in root).
              bool absolute = !d.empty() && d.front() == '/';
              if (!normalize_path(d, "/", norm, parts, why)) {
                error(at(v, k), fmt::format("bad directory '{}' for {}: {}", d, p, why),
                      "Write an absolute path like /srv/data, or one relative to the server's "
                      "working directory");
                continue;
              }
              dirs.push_back(absolute ? norm : d);
            }
            am.path_under = std::move(dirs);
          } else if (f == "url_host") {
            auto l = string_list(v, k, p, "[example.com, \"*.example.com\"]", true, false);
            if (!l) return;
            std::vector<HostPattern> hosts;
            for (const auto& h : *l) {
              HostPattern hp;
              std::string why;
              if (!parse_host_pattern(h, hp, why)) {
                std::string fix = "Write a host like example.com or *.example.com";
                std::string host;
                const char* uwhy = "";
                if (extract_url_host(h, host, uwhy))
                  fix = fmt::format("Write the host only: {}", host);
                error(at(v, k), fmt::format("bad host '{}' for {}: {}", h, p, why), fix);
                continue;
              }
              hosts.push_back(std::move(hp));
            }
            am.url_host = std::move(hosts);
          }
        });
  }

  // ---- compile ----
  void compile() {
    std::vector<std::string>& ne = m_policy->m_not_enforced;
    for (size_t i = 0; i < m_policy->m_servers.size(); ++i) {
      ServerPolicy& s = m_policy->m_servers[i];
      size_t slot = 0;
      for (RuleSet* set : {&s.tools, &s.prompts, &s.resources})
        slot = set->build_index(slot);
      s.rate_slots = slot;
    }
    if (m_policy->m_gateway)
      ne.emplace_back("gateway: used by `mcp-warden gateway` only; `run` ignores it");
    if (!m_policy->m_agents.empty())
      ne.emplace_back("agents: used by `mcp-warden gateway` only; `run` ignores it");
  }

  std::string m_file;
  Policy* m_policy = nullptr;
  std::vector<LoadIssue> m_issues;
  size_t m_dropped = 0;
  std::vector<Presence> m_presence;
  std::vector<Deferred> m_deferred;
  std::vector<YAML::Mark> m_agent_marks; // per agent, for checks after the whole file is read
  YAML::Mark m_auth_jwt_mark;
};

std::shared_ptr<const Policy> load_policy_string(std::string_view yaml, const std::string& name) {
  if (yaml.size() > k_max_file_bytes) {
    LoadIssue is{name, 1, 1,
                 fmt::format("the policy is larger than {} bytes. Write a smaller policy",
                             k_max_file_bytes)};
    throw LoadError({is});
  }
  PolicyBuilder b(name);
  return b.build(yaml);
}

std::shared_ptr<const Policy> load_policy_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadIssue is{
        path, 0, 0,
        fmt::format("cannot read the policy file ({}). Check the path", std::strerror(errno))};
    throw LoadError({is});
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    LoadIssue is{path, 0, 0, "cannot read the policy file. Check that it is a readable file"};
    throw LoadError({is});
  }
  return load_policy_string(ss.str(), path);
}

std::shared_ptr<const Policy> Policy::default_policy() {
  static const std::shared_ptr<const Policy> k_default =
      load_policy_string(k_default_policy_yaml, k_default_source);
  return k_default;
}

std::string_view default_policy_yaml() {
  return k_default_policy_yaml;
}

} // namespace warden::policy
