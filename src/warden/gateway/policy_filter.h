// The policy filter: client requests (tools/call, prompts/get, resources/read...) against the
// compiled policy of the session's server entry.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "warden/gateway/filter.h"
#include "warden/policy/policy.h"

namespace warden::gateway {

// `action: approve`: without an approval channel (`mcp-warden run`) such a request is refused. With
// one (the HTTP gateway sets `on_hold`), it is held: not forwarded, not answered, audited with
// decision `approve`, and handed to `on_hold`. When a person decides (or the wait times out) the
// gateway calls decide() and feeds the same message through the chain again, which then forwards
// it (decision approve) or refuses it with the reason.
class PolicyFilter final : public MessageFilter {
public:
  using HoldFn = std::function<void(const codec::Message&, const std::string& reason)>;
  explicit PolicyFilter(std::unique_ptr<policy::Evaluator> evaluator, HoldFn on_hold = {})
      : m_evaluator(std::move(evaluator)), m_on_hold(std::move(on_hold)) {}
  const char* name() const override { return "policy"; }
  FilterStatus on_message(MessageContext& ctx) override;
  // The decision on a held request (by its id key); `note` says who decided, or why it was denied.
  void decide(const std::string& id_key, bool approved, std::string note) {
    m_decisions[id_key] = {approved, std::move(note)};
  }

private:
  struct Decided {
    bool approved = false;
    std::string note;
  };
  std::unique_ptr<policy::Evaluator> m_evaluator;
  HoldFn m_on_hold;
  std::map<std::string, Decided> m_decisions;
};

}  // namespace warden::gateway
