#include "warden/gateway/chain.h"

#include "warden/gateway/agent_filter.h"
#include "warden/gateway/intent_filter.h"
#include "warden/gateway/metadata_filter.h"
#include "warden/gateway/result_filter.h"
#include "warden/policy/evaluator.h"

namespace warden::gateway {

StandardChain build_standard_chain(FilterChain& chain, const ChainOptions& o) {
  const bool monitor = o.mode_override.value_or(o.policy->mode()) == policy::Mode::monitor;
  auto breaker = std::make_unique<BreakerFilter>();
  StandardChain built;
  built.breaker = breaker.get();
  chain.add(std::move(breaker));
  if (!o.agent.empty()) chain.add(std::make_unique<AgentFilter>(o.agent, o.agent_tools));
  auto pf = std::make_unique<PolicyFilter>(
      std::make_unique<policy::Evaluator>(o.policy, o.server, *o.clock, o.mode_override), o.hold_for_approval);
  built.policy = pf.get();
  chain.add(std::move(pf));
  MetadataFilterOptions mo;
  mo.scanner = o.scanner;
  mo.config = o.server->detectors;
  mo.pins = o.server->pins;
  mo.store = o.pins;
  mo.monitor = monitor;
  mo.clock = o.clock;
  chain.add(std::make_unique<MetadataFilter>(std::move(mo)));
  if (o.board) chain.add(std::make_unique<IntentFilter>(*o.board));  // null for remote servers
  chain.add(std::make_unique<ResultFilter>(o.scanner, o.server->detectors, monitor));
  return built;
}

}  // namespace warden::gateway
