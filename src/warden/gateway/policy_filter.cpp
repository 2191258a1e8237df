#include "warden/gateway/policy_filter.h"

#include <fmt/format.h>

#include "warden/codec/codec.h"
#include "warden/util/json_writer.h"

namespace warden::gateway {

FilterStatus PolicyFilter::on_message(MessageContext& ctx) {
  if (ctx.direction != core::Direction::c2s || ctx.message.kind != codec::Kind::request)
    return FilterStatus::Continue;
  policy::Verdict v = m_evaluator->evaluate(ctx.message);
  for (auto& f : v.findings) ctx.findings.push_back(std::move(f));
  if (v.decision == core::Decision::allow) return FilterStatus::Continue;
  ctx.decision = v.decision;
  std::string data;
  util::JsonWriter w(data);
  w.begin_object();
  w.key("decision").string(core::decision_name(v.decision));
  if (!v.rule.empty()) w.key("rule").string(v.rule);
  w.end_object();
  ctx.reply = codec::make_error_response(ctx.message.id, v.rpc_code ? v.rpc_code : codec::k_policy_blocked,
                                         "mcp-warden: " + v.reason, data);
  return FilterStatus::Stop;
}

}  // namespace warden::gateway
