#include "warden/audit/redact.h"

#include <algorithm>
#include <memory>

#include <re2/re2.h>
#include <re2/set.h>

namespace warden::audit {
namespace {

struct Pattern {
  const char* kind;
  const char* regex;   // RE2 syntax, Latin-1 (byte) semantics, ASCII only
  const char* rewrite; // \1 keeps a context prefix; the secret itself is replaced
};

// Character classes never include `"`, `'` or `\` (the PEM body allows only the `\n`, `\r`, `\t`
// and `\/` escapes), so a replaced span never crosses a JSON string boundary. Order matters where
// kinds overlap: the more specific pattern runs first (anthropic before openai, jwt before bearer).
#define WARDEN_PEM_BEGIN R"(-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY-----)"
#define WARDEN_PEM_BODY R"((?:[A-Za-z0-9+/=:,\- \t\r\n]|\\[nrt/]))"
// Where a token may start: the text start, a non-word byte, or right after a JSON escape such as
// `\n` (a plain \b would see "nghp_..." as one word). Captured as \1 and written back.
#define WARDEN_START R"((^|[^A-Za-z0-9_]|\\[nrtbf]|\\u[0-9A-Fa-f]{4}))"
// A key name, then optional closing quote, `:` or `=`, optional opening quote (raw or escaped).
#define WARDEN_ASSIGN R"((?:\\?"|')?[ \t]*[:=][ \t]*(?:\\?"|')?)"

constexpr Pattern k_patterns[] = {
    {"private_key",
     WARDEN_PEM_BEGIN WARDEN_PEM_BODY R"(*?-----END[A-Z0-9 ]{0,40} PRIVATE KEY-----)",
     "[REDACTED:private_key]"},
    // A BEGIN line without its END (an excerpt cut short): redact what follows the marker.
    {"private_key", WARDEN_PEM_BEGIN WARDEN_PEM_BODY "*", "[REDACTED:private_key]"},
    {"aws_access_key_id", WARDEN_START R"((?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b)",
     R"(\1[REDACTED:aws_access_key_id])"},
    {"aws_secret_key",
     R"(((?i:aws[a-z0-9_\-]{0,20}secret[a-z0-9_\-]{0,20}|secret_?access_?key))" WARDEN_ASSIGN
     R"()[A-Za-z0-9/+=]{40,})",
     R"(\1[REDACTED:aws_secret_key])"},
    {"github_token",
     WARDEN_START R"((?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b)",
     R"(\1[REDACTED:github_token])"},
    {"slack_token", WARDEN_START R"(xox[abprs]-[A-Za-z0-9\-]{10,250})",
     R"(\1[REDACTED:slack_token])"},
    {"stripe_key", WARDEN_START R"([rs]k_live_[A-Za-z0-9]{20,247}\b)",
     R"(\1[REDACTED:stripe_key])"},
    {"google_api_key", WARDEN_START R"(AIza[0-9A-Za-z_\-]{35})", R"(\1[REDACTED:google_api_key])"},
    {"anthropic_key", WARDEN_START R"(sk-ant-[A-Za-z0-9_\-]{20,})",
     R"(\1[REDACTED:anthropic_key])"},
    {"openai_key", WARDEN_START R"(sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,})",
     R"(\1[REDACTED:openai_key])"},
    {"uuid_token",
     R"(((?i:[a-z0-9_\-]{0,40}(?:token|api[_\-]?key|secret|password)))" WARDEN_ASSIGN
     R"()[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\b)",
     R"(\1[REDACTED:uuid_token])"},
    {"jwt", WARDEN_START R"(eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*)",
     R"(\1[REDACTED:jwt])"},
    {"bearer", WARDEN_START R"(((?i:bearer)[ \t]+)[A-Za-z0-9\-._~+/]{8,}=*)",
     R"(\1\2[REDACTED:bearer])"},
    {"npm_token", WARDEN_START R"(npm_[A-Za-z0-9]{36}\b)", R"(\1[REDACTED:npm_token])"},
};

#undef WARDEN_PEM_BEGIN
#undef WARDEN_PEM_BODY
#undef WARDEN_ASSIGN
#undef WARDEN_START

RE2::Options regex_options() {
  RE2::Options o;
  o.set_encoding(RE2::Options::EncodingLatin1);
  o.set_log_errors(false);
  o.set_max_mem(64 << 20);
  return o;
}

class Redactor {
public:
  Redactor() : m_set(regex_options(), RE2::UNANCHORED) {
    for (size_t i = 0; i < std::size(k_patterns); ++i) {
      const auto& p = k_patterns[i];
      // Set indices count only the patterns it accepted: keep our own map.
      if (m_set.Add(p.regex, nullptr) >= 0) m_set_to_pattern.push_back(static_cast<int>(i));
      m_res.push_back(std::make_unique<RE2>(p.regex, regex_options()));
      if (m_kinds.empty() || m_kinds.back() != p.kind) m_kinds.emplace_back(p.kind);
    }
    m_compiled = m_set.Compile() && m_set_to_pattern.size() == std::size(k_patterns);
  }

  std::string redact(std::string_view text, int* count, std::vector<std::string>* kinds) const {
    std::string out(text);
    int n = 0;
    std::vector<int> hits;
    re2::RE2::Set::ErrorInfo err{};
    bool any = m_compiled && m_set.Match(re2::StringPiece(text.data(), text.size()), &hits, &err);
    if (!m_compiled || err.kind != re2::RE2::Set::kNoError) {
      // The one-pass matcher ran out of memory or failed to build: fall back to every pattern.
      hits.clear();
      for (size_t i = 0; i < m_res.size(); ++i)
        hits.push_back(static_cast<int>(i));
      any = true;
    } else {
      for (int& h : hits)
        h = m_set_to_pattern[static_cast<size_t>(h)];
    }
    if (any) {
      std::sort(hits.begin(), hits.end()); // apply in table order
      for (int i : hits) {
        const auto& p = k_patterns[static_cast<size_t>(i)];
        int replaced = 0;
        if (m_res[static_cast<size_t>(i)]->ok())
          replaced = RE2::GlobalReplace(&out, *m_res[static_cast<size_t>(i)], p.rewrite);
        n += replaced;
        if (kinds && replaced > 0 && (kinds->empty() || kinds->back() != p.kind))
          kinds->emplace_back(p.kind);
      }
    }
    if (count) *count = n;
    return out;
  }

  const std::vector<std::string>& kinds() const { return m_kinds; }

private:
  RE2::Set m_set;
  std::vector<int> m_set_to_pattern;
  std::vector<std::unique_ptr<RE2>> m_res;
  std::vector<std::string> m_kinds;
  bool m_compiled = false;
};

const Redactor& redactor() {
  static const Redactor k_redactor;
  return k_redactor;
}

} // namespace

std::string redact_secrets(std::string_view text, int* count, std::vector<std::string>* kinds) {
  return redactor().redact(text, count, kinds);
}

const std::vector<std::string>& redaction_kinds() {
  return redactor().kinds();
}

} // namespace warden::audit
