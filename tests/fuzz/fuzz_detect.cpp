// Fuzz target: the tool-metadata detectors. Invariants: never crashes, whatever the document or
// text (invalid UTF-8 included); every finding's span lies inside its text and carries a rule id
// and reason; scanning is deterministic.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "warden/detect/metadata_scanner.h"

namespace {

const warden::detect::MetadataScanner& scanner() {
  static auto s = warden::detect::MetadataScanner::with_default_rules();
  if (!s.ok()) std::abort();
  return *s;
}

void check(const std::vector<warden::detect::Finding>& fs, size_t text_size) {
  for (const auto& f : fs) {
    if (f.rule.empty() || f.reason.empty() || f.begin > f.end) std::abort();
    if (text_size != 0 && f.end > text_size) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  auto r = scanner().scan_json(input);
  if (r.ok()) {
    auto again = scanner().scan_json(input);
    if (!again.ok() || again->finding_count() != r->finding_count()) std::abort();
    for (const auto& it : r->items) check(it.findings, 0);
  }
  // The raw bytes as one text, in two field kinds.
  for (auto field : {warden::detect::Field::description, warden::detect::Field::param_name}) {
    std::vector<warden::detect::Finding> out;
    scanner().scan_text(input, field, "fuzz", out);
    check(out, input.size());
    for (const auto& f : out) (void)warden::detect::printable(f.text);
  }
  return 0;
}
