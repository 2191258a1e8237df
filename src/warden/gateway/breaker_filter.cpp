#include "warden/gateway/breaker_filter.h"

#include <fmt/format.h>

#include "warden/gateway/session.h"

namespace warden::gateway {

void BreakerFilter::trip(std::string reason, uint64_t seq) {
  if (m_reason) return;
  m_reason = std::move(reason);
  m_seq = seq;
}

std::string BreakerFilter::describe() const {
  return fmt::format("quarantined by mcp-warden: {} (audit seq {})", m_reason.value_or(""), m_seq);
}

FilterStatus BreakerFilter::on_message(MessageContext& ctx) {
  if (!m_reason || ctx.direction != core::Direction::c2s) return FilterStatus::Continue;
  if (ctx.message.kind != codec::Kind::request && ctx.message.kind != codec::Kind::notification)
    return FilterStatus::Continue;  // answers to the server's requests: nowhere to go, harmless
  ctx.rule = "breaker";
  ctx.stop_with_error(core::Decision::quarantine, k_quarantined,
                      fmt::format("the server '{}' is {}", ctx.session.server(), describe()));
  return FilterStatus::Stop;
}

}  // namespace warden::gateway
