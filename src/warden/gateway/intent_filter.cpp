#include "warden/gateway/intent_filter.h"

#include "warden/codec/codec.h"

namespace warden::gateway {

FilterStatus IntentFilter::on_message(MessageContext& ctx) {
  const codec::Message& m = ctx.message;
  if (ctx.direction == core::Direction::c2s && m.kind == codec::Kind::request &&
      m.method == "tools/call") {
    std::string args = "{}";
    simdjson::dom::element a;
    if (m.has_params && m.params.is_object() && m.params["arguments"].get(a) == simdjson::SUCCESS)
      args = codec::serialize(a);
    m_board.begin_call(m.id.key(), m.target, args);
  } else if (ctx.direction == core::Direction::s2c &&
             (m.kind == codec::Kind::response || m.kind == codec::Kind::error_response)) {
    m_board.end_call(m.id.key());
  }
  return FilterStatus::Continue;
}

}  // namespace warden::gateway
