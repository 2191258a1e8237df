// Result inspection (docs/detectors.md, "At runtime"): every string in a tools/call result, a
// resources/read result or a prompts/get result (except base64 `blob`s) is checked for hidden
// Unicode and ANSI/control sequences (stripped by default), secrets (audit/redact.h's formats),
// personal data (detect/pii.h) and instructions aimed at the model (the metadata rules). What
// happens to each family is the server's `detectors.results` policy: record, redact, or block
// (the client gets a JSON-RPC error in place of the result). Rewritten results are re-serialized
// from the checked tree, so they stay valid JSON.
#pragma once

#include <memory>

#include "warden/detect/metadata_scanner.h"
#include "warden/gateway/filter.h"
#include "warden/policy/model.h"

namespace warden::gateway {

class ResultFilter final : public MessageFilter {
public:
  ResultFilter(std::shared_ptr<const detect::MetadataScanner> scanner, policy::DetectorConfig config,
               bool monitor)
      : m_scanner(std::move(scanner)), m_config(config), m_monitor(monitor) {}
  const char* name() const override { return "result"; }
  FilterStatus on_message(MessageContext& ctx) override;

private:
  std::shared_ptr<const detect::MetadataScanner> m_scanner;
  policy::DetectorConfig m_config;
  bool m_monitor;
};

}  // namespace warden::gateway
