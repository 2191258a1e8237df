#include "warden/gateway/agent_filter.h"

#include <algorithm>

#include <fmt/format.h>

#include "warden/codec/codec.h"

namespace warden::gateway {

FilterStatus AgentFilter::on_message(MessageContext& ctx) {
  if (m_tools.empty() || ctx.direction != core::Direction::c2s ||
      ctx.message.kind != codec::Kind::request || ctx.message.method != "tools/call")
    return FilterStatus::Continue;
  if (std::find(m_tools.begin(), m_tools.end(), ctx.message.target) != m_tools.end())
    return FilterStatus::Continue;
  ctx.rule = "agents." + m_agent + ".tools";
  ctx.findings.push_back({"agent.tool_not_allowed", core::Severity::medium,
                          fmt::format("agent '{}' may not call tool '{}'", m_agent, ctx.message.target),
                          ctx.message.target});
  ctx.stop_with_error(core::Decision::block, codec::k_policy_blocked,
                      fmt::format("agent '{}' may not call tool '{}' (policy agents.{}.tools)", m_agent,
                                  ctx.message.target, m_agent));
  return FilterStatus::Stop;
}

}  // namespace warden::gateway
