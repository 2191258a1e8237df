// What an authenticated agent may use (the policy's `agents:` section): the tools it may call.
// The HTTP gateway authenticates the agent (API key) and checks the server at session start;
// this filter, first after the breaker, refuses tools/call of a tool outside the agent's list.
#pragma once

#include <string>
#include <vector>

#include "warden/gateway/filter.h"

namespace warden::gateway {

class AgentFilter : public MessageFilter {
public:
  // `tools` empty: every tool the policy allows.
  AgentFilter(std::string agent, std::vector<std::string> tools)
      : m_agent(std::move(agent)), m_tools(std::move(tools)) {}
  const char* name() const override { return "agent"; }
  FilterStatus on_message(MessageContext& ctx) override;

private:
  std::string m_agent;
  std::vector<std::string> m_tools;
};

}  // namespace warden::gateway
