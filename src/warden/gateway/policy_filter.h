// The policy filter: client requests (tools/call, prompts/get, resources/read...) against the
// compiled policy of the session's server entry.
#pragma once

#include <memory>

#include "warden/gateway/filter.h"
#include "warden/policy/policy.h"

namespace warden::gateway {

class PolicyFilter final : public MessageFilter {
public:
  explicit PolicyFilter(std::unique_ptr<policy::Evaluator> evaluator)
      : m_evaluator(std::move(evaluator)) {}
  const char* name() const override { return "policy"; }
  FilterStatus on_message(MessageContext& ctx) override;

private:
  std::unique_ptr<policy::Evaluator> m_evaluator;
};

}  // namespace warden::gateway
