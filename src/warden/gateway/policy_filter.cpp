#include "warden/gateway/policy_filter.h"

#include "warden/codec/codec.h"

namespace warden::gateway {

FilterStatus PolicyFilter::on_message(MessageContext& ctx) {
  if (ctx.direction != core::Direction::c2s || ctx.message.kind != codec::Kind::request)
    return FilterStatus::Continue;
  policy::Verdict v = m_evaluator->evaluate(ctx.message);
  for (auto& f : v.findings) ctx.findings.push_back(std::move(f));
  if (v.decision == core::Decision::allow) return FilterStatus::Continue;
  ctx.rule = v.rule;
  ctx.stop_with_error(v.decision, v.rpc_code ? v.rpc_code : codec::k_policy_blocked, v.reason);
  return FilterStatus::Stop;
}

}  // namespace warden::gateway
