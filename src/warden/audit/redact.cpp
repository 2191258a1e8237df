#include "warden/audit/redact.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <memory>

namespace warden::audit {
namespace {

struct Pattern {
  const char* kind;
  const char* regex;    // RE2 syntax, Latin-1 (byte) semantics, ASCII only
  const char* rewrite;  // \1 keeps a context prefix; the secret itself is replaced
};

// Character classes never include `"`, `'` or `\` (the PEM body allows only the `\n`, `\r`, `\t`
// and `\/` escapes), so a replaced span never crosses a JSON string boundary. Order matters where
// kinds overlap: the more specific pattern runs first (anthropic before openai, jwt before bearer).
#define WARDEN_PEM_BEGIN R"(-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY-----)"
#define WARDEN_PEM_BODY R"((?:[A-Za-z0-9+/=:,\- \t\r\n]|\\[nrt/]))"
// A key name, then optional closing quote, `:` or `=`, optional opening quote (raw or escaped).
#define WARDEN_ASSIGN R"((?:\\?"|')?[ \t]*[:=][ \t]*(?:\\?"|')?)"

constexpr Pattern k_patterns[] = {
    {"private_key", WARDEN_PEM_BEGIN WARDEN_PEM_BODY R"(*?-----END[A-Z0-9 ]{0,40} PRIVATE KEY-----)",
     "[REDACTED:private_key]"},
    // A BEGIN line without its END (an excerpt cut short): redact what follows the marker.
    {"private_key", WARDEN_PEM_BEGIN WARDEN_PEM_BODY "*", "[REDACTED:private_key]"},
    {"aws_access_key_id", R"(\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b)",
     "[REDACTED:aws_access_key_id]"},
    {"aws_secret_key",
     R"(((?i:aws[a-z0-9_\-]{0,20}secret[a-z0-9_\-]{0,20}|secret_?access_?key))" WARDEN_ASSIGN
     R"()[A-Za-z0-9/+=]{40,})",
     R"(\1[REDACTED:aws_secret_key])"},
    {"github_token", R"(\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b)",
     "[REDACTED:github_token]"},
    {"slack_token", R"(\bxox[abprs]-[A-Za-z0-9\-]{10,250})", "[REDACTED:slack_token]"},
    {"stripe_key", R"(\b[rs]k_live_[A-Za-z0-9]{20,247}\b)", "[REDACTED:stripe_key]"},
    {"google_api_key", R"(\bAIza[0-9A-Za-z_\-]{35})", "[REDACTED:google_api_key]"},
    {"anthropic_key", R"(\bsk-ant-[A-Za-z0-9_\-]{20,})", "[REDACTED:anthropic_key]"},
    {"openai_key", R"(\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,})",
     "[REDACTED:openai_key]"},
    {"uuid_token",
     R"(((?i:[a-z0-9_\-]{0,40}(?:token|api[_\-]?key|secret|password))" WARDEN_ASSIGN
     R"()[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\b)",
     R"(\1[REDACTED:uuid_token])"},
    {"jwt", R"(\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*)",
     "[REDACTED:jwt]"},
    {"bearer", R"(\b((?i:bearer)[ \t]+)[A-Za-z0-9\-._~+/]{8,}=*)", R"(\1[REDACTED:bearer])"},
    {"npm_token", R"(\bnpm_[A-Za-z0-9]{36}\b)", "[REDACTED:npm_token]"},
};

#undef WARDEN_PEM_BEGIN
#undef WARDEN_PEM_BODY
#undef WARDEN_ASSIGN

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
    for (const auto& p : k_patterns) {
      m_set.Add(p.regex, nullptr);
      m_res.push_back(std::make_unique<RE2>(p.regex, regex_options()));
      if (m_kinds.empty() || m_kinds.back() != p.kind) m_kinds.emplace_back(p.kind);
    }
    m_compiled = m_set.Compile();
  }

  std::string redact(std::string_view text, int* count) const {
    std::string out(text);
    int n = 0;
    std::vector<int> hits;
    re2::RE2::Set::ErrorInfo err{};
    bool any = m_compiled && m_set.Match(re2::StringPiece(text.data(), text.size()), &hits, &err);
    if (!m_compiled || err.kind != re2::RE2::Set::kNoError) {
      // The one-pass matcher ran out of memory or failed to build: fall back to every pattern.
      hits.clear();
      for (size_t i = 0; i < m_res.size(); ++i) hits.push_back(static_cast<int>(i));
      any = true;
    }
    if (any) {
      std::sort(hits.begin(), hits.end());  // apply in table order
      for (int i : hits) {
        const auto& p = k_patterns[static_cast<size_t>(i)];
        if (m_res[static_cast<size_t>(i)]->ok())
          n += RE2::GlobalReplace(&out, *m_res[static_cast<size_t>(i)], p.rewrite);
      }
    }
    if (count) *count = n;
    return out;
  }

  const std::vector<std::string>& kinds() const { return m_kinds; }

private:
  RE2::Set m_set;
  std::vector<std::unique_ptr<RE2>> m_res;
  std::vector<std::string> m_kinds;
  bool m_compiled = false;
};

const Redactor& redactor() {
  static const Redactor k_redactor;
  return k_redactor;
}

}  // namespace

std::string redact_secrets(std::string_view text, int* count) {
  return redactor().redact(text, count);
}

const std::vector<std::string>& redaction_kinds() { return redactor().kinds(); }

}  // namespace warden::audit
