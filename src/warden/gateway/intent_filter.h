// Tells the egress guard what the agent asked for: every tools/call that is forwarded to the
// server is entered on the IntentBoard with its arguments, and removed when its response passes.
// Runs last in the chain, so only calls that were allowed are entered.
#pragma once

#include "warden/egress/intent.h"
#include "warden/gateway/filter.h"

namespace warden::gateway {

class IntentFilter : public MessageFilter {
public:
  explicit IntentFilter(egress::IntentBoard& board) : m_board(board) {}
  const char* name() const override { return "intent"; }
  FilterStatus on_message(MessageContext& ctx) override;

private:
  egress::IntentBoard& m_board;
};

}  // namespace warden::gateway
