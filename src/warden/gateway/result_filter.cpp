#include "warden/gateway/result_filter.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "warden/audit/redact.h"
#include "warden/codec/codec.h"
#include "warden/codec/json_edit.h"
#include "warden/detect/pii.h"
#include "warden/detect/text_checks.h"

namespace warden::gateway {

using core::Finding;
using core::Severity;
using policy::ResultAction;

namespace {

constexpr size_t k_max_scan_bytes = 1u << 20;  // rules run on the first MiB of each string
constexpr size_t k_max_findings = 64;          // per result

bool inspected(std::string_view method) {
  return method == "tools/call" || method == "resources/read" || method == "prompts/get";
}

bool hidden_rule(std::string_view rule) {
  return rule.starts_with("unicode.") || rule.starts_with("control.");
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Replaces the spans (byte ranges of `text`) by [REMOVED:<rule>], merging overlaps.
std::string remove_spans(std::string_view text, std::vector<detect::Finding> spans) {
  std::sort(spans.begin(), spans.end(),
            [](const auto& a, const auto& b) { return a.begin < b.begin; });
  std::string out;
  size_t at = 0;
  for (const auto& f : spans) {
    size_t b = std::min(f.begin, text.size()), e = std::min(f.end, text.size());
    if (e <= at) continue;
    if (b > at) out.append(text.substr(at, b - at));
    out += "[REMOVED:" + f.rule + "]";
    at = e;
  }
  out.append(text.substr(std::min(at, text.size())));
  return out;
}

// What one result's strings turned up, and what is to be done.
struct Inspection {
  std::vector<Finding> findings;
  bool changed = false, redacted = false;
  std::string block_rule, block_reason;
};

}  // namespace

FilterStatus ResultFilter::on_message(MessageContext& ctx) {
  const codec::Message& m = ctx.message;
  if (ctx.direction != core::Direction::s2c || m.kind != codec::Kind::response || !m.has_result ||
      !inspected(ctx.method))
    return FilterStatus::Continue;
  const auto& cfg = m_config;
  Inspection ins;
  auto note = [&](Finding f) {
    if (ins.findings.size() < k_max_findings) ins.findings.push_back(std::move(f));
  };
  auto act = [&](ResultAction a, const std::string& rule, const std::string& reason) {
    if (a == ResultAction::block && ins.block_rule.empty()) {
      ins.block_rule = rule;
      ins.block_reason = reason;
    }
    return a == ResultAction::redact && !m_monitor;
  };
  const std::string where = fmt::format("in the {} result", ctx.method);

  auto edit = [&](std::string_view key, std::string_view value) -> std::optional<std::string> {
    if (key == "blob" || value.empty()) return std::nullopt;
    std::string text(value);
    bool changed = false, redacted = false;
    // 1. Hidden Unicode, ANSI and control sequences.
    detect::CharScan chars = detect::scan_characters(text);
    for (const auto& issue : chars.issues)
      note({issue.rule, issue.severity,
            fmt::format("{} {} ({} occurrence(s)){}", issue.what, where, issue.count,
                        cfg.strip_hidden && !m_monitor && chars.cut ? ", stripped" : ""),
            detect::printable(std::string_view(text).substr(issue.begin, issue.end - issue.begin))});
    if (cfg.strip_hidden && !m_monitor && chars.cut) {
      text = std::move(chars.cleaned);
      changed = true;
    }
    // 2. Secrets.
    int count = 0;
    std::vector<std::string> kinds;
    std::string without = audit::redact_secrets(text, &count, &kinds);
    if (count > 0) {
      std::string reason = fmt::format("{} secret(s) {}: {}", count, where, join(kinds));
      note({"result.secret", Severity::high, reason, join(kinds)});
      if (act(cfg.secrets, "result.secret", reason)) {
        text = std::move(without);
        changed = redacted = true;
      }
    }
    // 3. Personal data.
    auto pii = detect::find_pii(text);
    if (!pii.empty()) {
      std::map<std::string, int> by_kind;
      for (const auto& h : pii) ++by_kind[h.kind];
      std::vector<std::string> parts;
      for (const auto& [k, n] : by_kind) parts.push_back(fmt::format("{} x{}", k, n));
      std::string reason = fmt::format("personal data {}: {}", where, join(parts));
      note({"result.pii", Severity::medium, reason, join(parts)});
      if (act(cfg.pii, "result.pii", reason)) {
        text = detect::redact_pii(text, pii);
        changed = redacted = true;
      }
    }
    // 4. Instructions aimed at the model (the metadata rules, on the text as it now stands).
    std::vector<detect::Finding> found;
    m_scanner->scan_text(std::string_view(text).substr(0, std::min(text.size(), k_max_scan_bytes)),
                         detect::Field::description, std::string(key), found);
    std::vector<detect::Finding> injected;
    for (auto& f : found) {
      if (hidden_rule(f.rule) || f.severity < std::min(Severity::medium, cfg.injection_at)) continue;
      note({f.rule, f.severity, fmt::format("{} {}", f.reason, where), detect::printable(f.text)});
      if (f.severity >= cfg.injection_at) injected.push_back(f);
    }
    if (!injected.empty() &&
        act(cfg.injection, injected[0].rule,
            fmt::format("an instruction aimed at the model {} ({})", where, injected[0].reason))) {
      // Decoded payloads have spans in the original text: remove the whole encoded run.
      text = remove_spans(text, injected);
      changed = redacted = true;
    }
    if (!changed) return std::nullopt;
    ins.changed = true;
    ins.redacted = ins.redacted || redacted;
    return text;
  };
  std::optional<std::string> result = codec::serialize_if_edited(m.result, edit);
  for (auto& f : ins.findings) ctx.findings.push_back(std::move(f));

  if (!ins.block_rule.empty() && !m_monitor) {
    ctx.rule = ins.block_rule;
    ctx.stop_with_error(core::Decision::block, codec::k_policy_blocked,
                        fmt::format("the result was withheld: {}", ins.block_reason));
    return FilterStatus::Stop;
  }
  if (ins.changed && result) {
    ctx.replacement = codec::with_result(m, *result);
    ctx.decision = ins.redacted ? core::Decision::redact : core::Decision::strip;
  }
  return FilterStatus::Continue;
}

}  // namespace warden::gateway
