// Runtime metadata defences (docs/detectors.md, "At runtime"): every tools/list, prompts/list,
// resources/list, resources/templates/list and initialize result from the server goes through the
// MetadataScanner and the definition pins. Per the server's policy an item is recorded, stripped
// from the list (its calls refused too), or kept with its calls refused; a definition that changed
// since it was pinned (tofu) or was never approved (strict) is stripped and blocked until a person
// approves it with `mcp-warden pins approve`. Client calls (tools/call, prompts/get,
// resources/read) of a blocked item get a JSON-RPC error naming the reason.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "warden/detect/metadata_scanner.h"
#include "warden/detect/pin_store.h"
#include "warden/gateway/filter.h"
#include "warden/policy/model.h"
#include "warden/util/clock.h"

namespace warden::gateway {

struct MetadataFilterOptions {
  std::shared_ptr<const detect::MetadataScanner> scanner;
  policy::DetectorConfig config;
  policy::PinMode pins = policy::PinMode::tofu;
  detect::PinStore* store = nullptr;  // required unless pins is off
  bool monitor = false;               // record findings, never strip or block
  const util::Clock* clock = nullptr;
};

class MetadataFilter final : public MessageFilter {
public:
  explicit MetadataFilter(MetadataFilterOptions o) : m_o(std::move(o)) {}
  const char* name() const override { return "metadata"; }
  FilterStatus on_message(MessageContext& ctx) override;

  // Whether calls of (kind, name) are refused now (for tests and the gateway).
  bool blocked(const std::string& kind, const std::string& name) const {
    return m_blocked.count(kind + '\n' + name) > 0;
  }

private:
  struct Block {
    std::string rule;      // detector rule or pins.changed / pins.unknown
    std::string reason;    // one line
    std::string pin_hash;  // set when the pin decided: approval lifts the block
  };
  FilterStatus on_call(MessageContext& ctx, const char* kind);
  FilterStatus on_list(MessageContext& ctx, const char* list_key, const char* kind,
                       const char* id_key);

  MetadataFilterOptions m_o;
  std::map<std::string, Block> m_blocked;  // kind + '\n' + name
};

}  // namespace warden::gateway
