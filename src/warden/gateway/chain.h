// The standard filter chain of one guarded server, the same for `mcp-warden run` and for every
// server behind `mcp-warden gateway`:
//   breaker -> agent (gateway, with agents:) -> policy -> metadata (detectors, pins) -> intent
//   -> result (secrets, PII, injected instructions in results)
// The intent filter comes before the result filter so that a withheld result still ends its call
// on the intent board. A new filter goes here, once, for both front ends.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "warden/detect/metadata_scanner.h"
#include "warden/detect/pin_store.h"
#include "warden/egress/intent.h"
#include "warden/gateway/breaker_filter.h"
#include "warden/gateway/filter.h"
#include "warden/gateway/policy_filter.h"
#include "warden/policy/policy.h"
#include "warden/util/clock.h"

namespace warden::gateway {

struct ChainOptions {
  std::shared_ptr<const policy::Policy> policy;
  const policy::ServerPolicy* server = nullptr;
  const util::Clock* clock = nullptr;
  std::optional<policy::Mode> mode_override;
  std::shared_ptr<const detect::MetadataScanner> scanner;
  detect::PinStore* pins = nullptr;  // required unless the server's pins are off
  egress::IntentBoard* board = nullptr;
  // The gateway's authenticated agent and the tools it may call (empty name: no agent filter).
  std::string agent;
  std::vector<std::string> agent_tools;
  // The gateway's approval channel for `action: approve` (gateway/policy_filter.h); empty in `run`.
  PolicyFilter::HoldFn hold_for_approval;
};

// The filters a front end talks to later (owned by the chain).
struct StandardChain {
  BreakerFilter* breaker = nullptr;
  PolicyFilter* policy = nullptr;
};

StandardChain build_standard_chain(FilterChain& chain, const ChainOptions& o);

}  // namespace warden::gateway
