// Fuzz target: the JSONC reader and the config wrapper. Never crashes; whatever wrap produces from
// a config that parsed must parse again, and wrapping it again must change nothing.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "warden/supply/jsonc.h"
#include "warden/supply/wrap.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto r = warden::supply::wrap_config(text, "/usr/bin/mcp-warden", "p.yaml");
  if (!r.ok()) return 0;
  if (!warden::supply::parse_jsonc(r->text).ok()) std::abort();
  auto again = warden::supply::wrap_config(r->text, "/usr/bin/mcp-warden", "p.yaml");
  if (!again.ok() || again->wrapped != 0 || again->text != r->text) std::abort();
  return 0;
}
