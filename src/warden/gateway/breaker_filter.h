// The circuit breaker's gate (DESIGN.md section 2). Once a server is quarantined every request
// to it is answered with a JSON-RPC error naming the reason and the audit seq of the finding that
// tripped it, and notifications to it are dropped (and recorded). Runs first in the chain.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "warden/gateway/filter.h"

namespace warden::gateway {

inline constexpr int k_quarantined = -32003;  // JSON-RPC error: the server is quarantined

class BreakerFilter : public MessageFilter {
public:
  const char* name() const override { return "breaker"; }
  FilterStatus on_message(MessageContext& ctx) override;

  // Trips the breaker; later requests get `reason` and `seq` in their error.
  void trip(std::string reason, uint64_t seq);
  bool tripped() const { return m_reason.has_value(); }
  // "quarantined by mcp-warden: <reason> (audit seq N)"
  std::string describe() const;

private:
  std::optional<std::string> m_reason;
  uint64_t m_seq = 0;
};

}  // namespace warden::gateway
