#include "warden/policy/evaluator.h"

#include <algorithm>
#include <climits>
#include <unistd.h>

#include <fmt/format.h>
#include <re2/re2.h>

namespace warden::policy {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

const char* section_name(RuleKind k) {
  switch (k) {
  case RuleKind::tool: return "tools";
  case RuleKind::prompt: return "prompts";
  case RuleKind::resource: return "resources";
  }
  return "tools";
}

const char* json_type_name(element v) {
  switch (v.type()) {
  case element_type::ARRAY: return "a list";
  case element_type::OBJECT: return "an object";
  case element_type::INT64:
  case element_type::UINT64:
  case element_type::DOUBLE: return "a number";
  case element_type::STRING: return "a string";
  case element_type::BOOL: return "a boolean";
  case element_type::NULL_VALUE: return "null";
  }
  return "an unknown value";
}

std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

std::string scalar_text(const Scalar& s) {
  return s.type == Scalar::Type::string ? json_quote(s.string) : s.text;
}

bool scalar_equals(const Scalar& s, element v) {
  switch (s.type) {
  case Scalar::Type::null: return v.is_null();
  case Scalar::Type::boolean: {
    bool b = false;
    return v.get(b) == simdjson::SUCCESS && b == s.boolean;
  }
  case Scalar::Type::integer:
  case Scalar::Type::number: {
    if (v.type() == element_type::INT64) {
      int64_t i = 0;
      if (v.get(i) != simdjson::SUCCESS) return false;
      return s.type == Scalar::Type::integer ? i == s.integer : static_cast<double>(i) == s.number;
    }
    if (v.type() == element_type::UINT64) {
      uint64_t u = 0;
      if (v.get(u) != simdjson::SUCCESS) return false;
      if (s.type == Scalar::Type::integer)
        return s.integer >= 0 && u == static_cast<uint64_t>(s.integer);
      return static_cast<double>(u) == s.number;
    }
    if (v.type() == element_type::DOUBLE) {
      double d = 0;
      return v.get(d) == simdjson::SUCCESS && d == s.number;
    }
    return false;
  }
  case Scalar::Type::string: {
    std::string_view sv;
    return v.get(sv) == simdjson::SUCCESS && sv == s.string;
  }
  }
  return false;
}

std::string evidence_of(element v) {
  std::string_view sv;
  if (v.get(sv) == simdjson::SUCCESS) return truncate_utf8(sv, k_evidence_max_bytes);
  return truncate_utf8(simdjson::minify(v), k_evidence_max_bytes);
}

std::string join_hosts(const std::vector<HostPattern>& hs) {
  std::string out;
  for (const auto& h : hs) {
    if (!out.empty()) out += ", ";
    if (h.subdomains) out += "*.";
    out += h.host;
  }
  return out;
}

std::string join_strings(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool is_unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(c | 0x20);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// A URI that a server could read as another URI than the one the rules were matched against:
// `.`/`..` path segments, a backslash, an uppercase scheme, a malformed percent escape, or a
// percent-encoded unreserved character, '/', '\' or NUL (RFC 3986 never needs those encoded).
// Returns the reason, or nullptr when the URI is canonical enough to match literally.
const char* ambiguous_uri(std::string_view uri) {
  if (uri.find('\\') != std::string_view::npos) return "a backslash";
  size_t colon = uri.find(':');
  if (colon != std::string_view::npos)
    for (char c : uri.substr(0, colon))
      if (c >= 'A' && c <= 'Z') return "an uppercase scheme";
  std::string_view path = uri.substr(0, std::min(uri.size(), uri.find_first_of("?#")));
  size_t i = 0;
  while (i <= path.size()) {
    size_t slash = path.find('/', i);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view seg = path.substr(i, slash - i);
    if (seg == "." || seg == "..") return "'.' or '..' path segments";
    i = slash + 1;
  }
  for (size_t p = uri.find('%'); p != std::string_view::npos; p = uri.find('%', p + 1)) {
    int hi = p + 2 < uri.size() ? hex_value(uri[p + 1]) : -1;
    int lo = p + 2 < uri.size() ? hex_value(uri[p + 2]) : -1;
    if (hi < 0 || lo < 0) return "a malformed percent escape";
    char c = static_cast<char>(hi * 16 + lo);
    if (is_unreserved(c) || c == '/' || c == '\\' || c == '\0')
      return "a percent-encoded character that needs no encoding";
  }
  return nullptr;
}

// True if the set has a rule other than "*", i.e. a literal URI could matter.
bool has_specific_rules(const RuleSet& set) {
  return std::any_of(set.rules().begin(), set.rules().end(),
                     [](const Rule& r) { return r.pattern != "*"; });
}

std::string current_dir() {
  char buf[PATH_MAX];
  if (::getcwd(buf, sizeof buf) == nullptr) return {};
  return buf;
}

} // namespace

struct Evaluator::Violation {
  std::string message; // "argument 'to' ..."
};

Evaluator::Evaluator(std::shared_ptr<const Policy> policy, const ServerPolicy* server,
                     const util::Clock& clock, std::optional<Mode> mode_override, std::string cwd)
    : m_policy(std::move(policy)), m_server(server), m_clock(clock),
      m_mode(mode_override.value_or(m_policy ? m_policy->mode() : Mode::enforce)),
      m_cwd(cwd.empty() ? current_dir() : std::move(cwd)) {
  if (m_server) m_buckets.resize(m_server->rate_slots);
}

Verdict Evaluator::evaluate(const codec::Message& m) {
  try {
    if (m.kind != codec::Kind::request && m.kind != codec::Kind::notification) return {};
    RuleKind kind;
    if (m.method == "tools/call")
      kind = RuleKind::tool;
    else if (m.method == "prompts/get")
      kind = RuleKind::prompt;
    else if (m.method == "resources/read" || m.method == "resources/subscribe")
      kind = RuleKind::resource;
    else
      return {};
    return finish(decide(m, kind));
  } catch (...) {
    // Out of memory or a bug below: fail closed.
    Verdict v;
    v.decision = core::Decision::block;
    v.reason = "internal error while checking the policy; the request is refused (fail closed)";
    v.findings.push_back({k_detector_internal, core::Severity::high, v.reason, {}});
    return finish(std::move(v));
  }
}

Verdict Evaluator::decide(const codec::Message& m, RuleKind kind) {
  Verdict v;
  const char* what = rule_kind_name(kind);
  auto block = [&](const char* detector, core::Severity sev, std::string reason, std::string rule,
                   std::string evidence) {
    v.decision = core::Decision::block;
    v.reason = std::move(reason);
    v.rule = std::move(rule);
    v.findings.push_back({detector, sev, v.reason, std::move(evidence)});
    return std::move(v); // v is captured by reference: move it out
  };

  if (!m_policy || !m_server)
    return block(k_detector_internal, core::Severity::high,
                 fmt::format("no server entry of the policy applies to this session, so {} '{}' "
                             "is refused (fail closed)",
                             what, m.target),
                 {}, truncate_utf8(m.target, k_evidence_max_bytes));

  const RuleSet& set = m_server->rules(kind);
  // Only formatted on the paths that refuse: the allow path does not allocate.
  auto section = [&] { return fmt::format("servers.{}.{}", m_server->name, section_name(kind)); };
  if (m.target.empty())
    return block(k_detector_denied, core::Severity::medium,
                 fmt::format("{} without a {} name on server '{}' is refused", m.method,
                             kind == RuleKind::resource ? "URI" : what, m_server->name),
                 section(), {});

  const Rule* r = set.find(m.target);
  if (!r) {
    std::string reason =
        set.configured()
            ? fmt::format("{} '{}' on server '{}' is denied: no rule in {} matches it (add {} or a "
                          "\"*\" rule), and what the policy does not list is denied",
                          what, m.target, m_server->name, section(),
                          fmt::format("{}.{}", section(), m.target))
            : fmt::format("{} '{}' on server '{}' is denied: the server entry has no {} section "
                          "(add {}.{}), and what the policy does not list is denied",
                          what, m.target, m_server->name, section_name(kind), section(), m.target);
    return block(k_detector_denied, core::Severity::medium, std::move(reason), section(),
                 truncate_utf8(m.target, k_evidence_max_bytes));
  }
  v.matched = r;

  if (r->action == Action::deny)
    return block(k_detector_denied, core::Severity::medium,
                 fmt::format("{} '{}' on server '{}' is denied by the policy ({})", what, m.target,
                             m_server->name, r->path),
                 r->path, truncate_utf8(m.target, k_evidence_max_bytes));

  // A resource rule is matched on the URI as written; a URI the server could read differently
  // (../, %65, FILE:) could reach what a more specific rule denies, so it is refused unless it
  // matched an exact rule or "*" is the only rule.
  if (kind == RuleKind::resource && r->pattern != m.target && has_specific_rules(set)) {
    if (const char* why = ambiguous_uri(m.target))
      return block(k_detector_denied, core::Severity::medium,
                   fmt::format("resource '{}' on server '{}' is refused: its URI has {}, so it "
                               "could reach what another rule in {} decides; use the canonical URI",
                               m.target, m_server->name, why, section()),
                   r->path, truncate_utf8(m.target, k_evidence_max_bytes));
  }

  if (!r->args.empty()) {
    element args;
    bool has_args = false;
    if (m.has_params) {
      auto a = m.params.at_key("arguments");
      if (a.error() == simdjson::SUCCESS) {
        args = a.value_unsafe();
        if (!args.is_null()) {
          if (!args.is_object())
            return block(k_detector_internal, core::Severity::high,
                         fmt::format("{} '{}' on server '{}' is refused: its arguments are {}, "
                                     "not an object",
                                     what, m.target, m_server->name, json_type_name(args)),
                         r->path, evidence_of(args));
          has_args = true;
        }
      } else if (a.error() != simdjson::NO_SUCH_FIELD && a.error() != simdjson::INCORRECT_TYPE) {
        return block(k_detector_internal, core::Severity::high,
                     fmt::format("{} '{}' on server '{}' is refused: its params cannot be read",
                                 what, m.target, m_server->name),
                     r->path, {});
      }
    }
    if (!check_args(*r, m.target, args, has_args, kind, v)) return v;
  }

  if (r->rate && !take_token(*r))
    return block(k_detector_rate_limited, core::Severity::low,
                 fmt::format("{} '{}' on server '{}' exceeded its rate limit of {} ({}.rate); "
                             "retry later",
                             what, m.target, m_server->name, r->rate->text, r->path),
                 r->path + ".rate", r->rate->text);

  // action: approve, or the tool is listed in the server's require_approval.
  auto listed = std::find_if(m_server->require_approval.begin(), m_server->require_approval.end(),
                             [&](const std::string& p) { return glob_match(p, m.target); });
  bool listed_for_approval = kind == RuleKind::tool && listed != m_server->require_approval.end();
  if (r->action == Action::approve || listed_for_approval) {
    v.decision = core::Decision::approve;
    v.reason = fmt::format("requires approval: {} '{}' on server '{}' needs a human decision "
                           "(mcp-warden approvals; `run` has no approval channel: use the gateway, "
                           "or allow or deny it in the policy)",
                           what, m.target, m_server->name);
    v.rule = r->action == Action::approve
                 ? r->path
                 : fmt::format("servers.{}.require_approval", m_server->name);
    v.findings.push_back({k_detector_approval, core::Severity::info, v.reason,
                          truncate_utf8(m.target, k_evidence_max_bytes)});
  }
  return v;
}

bool Evaluator::check_args(const Rule& rule, std::string_view target, element args, bool has_args,
                           RuleKind kind, Verdict& v) {
  const char* what = rule_kind_name(kind);
  simdjson::dom::object obj;
  if (has_args && args.get(obj) != simdjson::SUCCESS) has_args = false;
  bool ok = true;
  for (const ArgMatcher& am : rule.args) {
    Violation bad;
    std::string evidence;
    element value;
    bool present = false;
    if (has_args) {
      auto f = obj.at_key(am.name);
      if (f.error() == simdjson::SUCCESS) {
        value = f.value_unsafe();
        present = true;
      }
    }
    if (!present) {
      if (am.optional) continue;
      bad.message =
          fmt::format("argument '{}' is required by the policy but missing from the call", am.name);
    } else if (check_value(am, value, bad)) {
      continue;
    } else {
      evidence = evidence_of(value);
    }
    std::string message = fmt::format("{} '{}' on server '{}': {} ({})", what, target,
                                      m_server->name, bad.message, am.path);
    if (ok) {
      v.decision = core::Decision::block;
      v.rule = am.path;
      v.reason = message;
      ok = false;
    }
    v.findings.push_back({k_detector_arg_violation, core::Severity::medium, std::move(message),
                          std::move(evidence)});
  }
  return ok;
}

bool Evaluator::check_value(const ArgMatcher& am, element value, Violation& out) {
  if (am.equals && !scalar_equals(*am.equals, value)) {
    out.message = fmt::format("argument '{}' must equal {}", am.name, scalar_text(*am.equals));
    return false;
  }
  if (am.one_of) {
    bool any = std::any_of(am.one_of->begin(), am.one_of->end(),
                           [&](const Scalar& s) { return scalar_equals(s, value); });
    if (!any) {
      std::string list;
      for (const auto& s : *am.one_of) {
        if (!list.empty()) list += ", ";
        list += scalar_text(s);
      }
      out.message = fmt::format("argument '{}' must be one of: {}", am.name, list);
      return false;
    }
  }
  if (am.regex) {
    std::string_view sv;
    if (value.get(sv) != simdjson::SUCCESS) {
      out.message = fmt::format("argument '{}' must be a string to match the regex, got {}",
                                am.name, json_type_name(value));
      return false;
    }
    if (!RE2::FullMatch(re2::StringPiece(sv.data(), sv.size()), *am.regex)) {
      out.message = fmt::format("argument '{}' does not match the regex {}", am.name,
                                json_quote(am.regex_text));
      return false;
    }
  }
  if (am.max_length) {
    uint64_t len = 0;
    const char* unit = "characters";
    std::string_view sv;
    simdjson::dom::array arr;
    if (value.get(sv) == simdjson::SUCCESS) {
      len = utf8_length(sv);
    } else if (value.get(arr) == simdjson::SUCCESS) {
      len = arr.size();
      unit = "elements";
    } else {
      len = simdjson::minify(value).size();
      unit = "bytes of JSON";
    }
    if (len > *am.max_length) {
      out.message = fmt::format("argument '{}' is {} {} long, more than the {} allowed", am.name,
                                len, unit, *am.max_length);
      return false;
    }
  }
  if (am.email_domain || am.path_under || am.url_host) return check_string_list(am, value, out);
  return true;
}

bool Evaluator::check_string_list(const ArgMatcher& am, element value, Violation& out) {
  const char* matcher = am.email_domain ? "email_domain"
                        : am.path_under ? "path_under"
                                        : "url_host";
  auto check_one = [&](std::string_view s) -> bool {
    if (am.email_domain) {
      size_t start = 0;
      while (true) {
        size_t comma = s.find(',', start);
        std::string_view addr = trim(s.substr(
            start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
        const char* why = "";
        if (!parse_email(addr, m_scratch, why)) {
          out.message = fmt::format("argument '{}' holds {}, which is not a plain email address "
                                    "({})",
                                    am.name,
                                    addr.empty() ? std::string("an empty address")
                                                 : "'" + truncate_utf8(addr, 100) + "'",
                                    why);
          return false;
        }
        bool allowed =
            std::any_of(am.email_domain->begin(), am.email_domain->end(),
                        [&](const std::string& d) { return domain_within(m_scratch, d); });
        if (!allowed) {
          out.message =
              fmt::format("argument '{}' sends to '{}', outside the allowed domains ({})", am.name,
                          truncate_utf8(addr, 100), join_strings(*am.email_domain));
          return false;
        }
        if (comma == std::string_view::npos) break;
        start = comma + 1;
      }
    }
    if (am.path_under && !check_path(am, s, out)) return false;
    if (am.url_host) {
      const char* why = "";
      if (!extract_url_host(s, m_scratch, why)) {
        out.message =
            fmt::format("argument '{}' is not a URL the warden can check: {}", am.name, why);
        return false;
      }
      bool allowed = std::any_of(am.url_host->begin(), am.url_host->end(),
                                 [&](const HostPattern& p) { return host_matches(p, m_scratch); });
      if (!allowed) {
        out.message = fmt::format("argument '{}' points to host '{}', which is not allowed ({})",
                                  am.name, m_scratch, join_hosts(*am.url_host));
        return false;
      }
    }
    return true;
  };

  std::string_view sv;
  if (value.get(sv) == simdjson::SUCCESS) return check_one(sv);
  simdjson::dom::array arr;
  if (value.get(arr) == simdjson::SUCCESS) {
    size_t i = 0;
    for (element e : arr) {
      if (e.get(sv) != simdjson::SUCCESS) {
        out.message =
            fmt::format("argument '{}' element {} is {}, not a string ({} checks strings)", am.name,
                        i, json_type_name(e), matcher);
        return false;
      }
      if (!check_one(sv)) return false;
      ++i;
    }
    return true;
  }
  out.message = fmt::format("argument '{}' must be a string or a list of strings for {}, got {}",
                            am.name, matcher, json_type_name(value));
  return false;
}

bool Evaluator::check_path(const ArgMatcher& am, std::string_view s, Violation& out) {
  const char* why = "";
  if (!normalize_path(s, m_cwd, m_scratch, m_parts, why)) {
    out.message = fmt::format("argument '{}' is refused as a path: {}", am.name, why);
    return false;
  }
  for (const std::string& dir : *am.path_under) {
    if (!dir.empty() && dir.front() == '/') {
      if (path_within(m_scratch, dir)) return true;
      continue;
    }
    if (normalize_path(dir, m_cwd, m_scratch_dir, m_parts, why) &&
        path_within(m_scratch, m_scratch_dir))
      return true;
  }
  out.message = fmt::format("argument '{}' resolves to '{}', outside the allowed directories ({})",
                            am.name, truncate_utf8(m_scratch, 150), join_strings(*am.path_under));
  return false;
}

bool Evaluator::take_token(const Rule& rule) {
  if (rule.rate_slot >= m_buckets.size()) return false; // inconsistent policy: fail closed
  const int64_t period = rule.rate->period_us;
  const int64_t cap = static_cast<int64_t>(rule.rate->count) * period;
  const int64_t now = m_clock.now_mono_us();
  Bucket& b = m_buckets[rule.rate_slot];
  if (b.tokens < 0) {
    b.tokens = cap;
  } else {
    int64_t elapsed = std::max<int64_t>(0, now - b.last_us);
    b.tokens = elapsed >= period
                   ? cap
                   : std::min(cap, b.tokens + elapsed * static_cast<int64_t>(rule.rate->count));
  }
  b.last_us = now;
  if (b.tokens < period) return false;
  b.tokens -= period;
  return true;
}

Verdict Evaluator::finish(Verdict v) const {
  if (v.decision == core::Decision::allow) return v;
  if (m_mode == Mode::monitor) {
    v.decision = core::Decision::allow;
    v.would_block = true;
    v.rpc_code = 0;
    v.reason.insert(0, k_monitor_prefix);
    for (auto& f : v.findings)
      f.message.insert(0, k_monitor_prefix);
    return v;
  }
  v.rpc_code = k_rpc_policy_blocked;
  return v;
}

} // namespace warden::policy
