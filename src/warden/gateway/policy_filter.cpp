#include "warden/gateway/policy_filter.h"

#include "warden/codec/codec.h"
#include "warden/policy/evaluator.h"

namespace warden::gateway {

FilterStatus PolicyFilter::on_message(MessageContext& ctx) {
  if (ctx.direction != core::Direction::c2s || ctx.message.kind != codec::Kind::request)
    return FilterStatus::Continue;
  policy::Verdict v = m_evaluator->evaluate(ctx.message);
  for (auto& f : v.findings) ctx.findings.push_back(std::move(f));
  if (v.decision == core::Decision::allow) return FilterStatus::Continue;
  ctx.rule = v.rule;
  if (v.decision == core::Decision::approve && m_on_hold) {
    auto d = m_decisions.find(ctx.message.id.key());
    if (d == m_decisions.end()) {
      ctx.decision = core::Decision::approve;  // held: neither forwarded nor answered yet
      m_on_hold(ctx.message, v.reason);
      return FilterStatus::Stop;
    }
    Decided decided = std::move(d->second);
    m_decisions.erase(d);
    ctx.findings.push_back({policy::k_detector_approval, core::Severity::info,
                            (decided.approved ? "approved: " : "denied: ") + decided.note, ctx.message.target});
    if (decided.approved) {
      ctx.decision = core::Decision::approve;
      return FilterStatus::Continue;
    }
    ctx.stop_with_error(core::Decision::block, codec::k_policy_blocked,
                        "not approved: " + decided.note + " (" + ctx.message.method + " '" + ctx.message.target + "')");
    return FilterStatus::Stop;
  }
  ctx.stop_with_error(v.decision, v.rpc_code ? v.rpc_code : codec::k_policy_blocked, v.reason);
  return FilterStatus::Stop;
}

}  // namespace warden::gateway
