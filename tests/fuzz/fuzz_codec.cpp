// Fuzz target: the strict JSON-RPC codec. Invariants: never crashes; every accepted message has a
// kind consistent with its members; accepted messages re-serialize to JSON the codec accepts again.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "warden/codec/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static warden::codec::Decoder decoder(warden::codec::Limits{1 << 20, 64});
  static warden::codec::Decoder again(warden::codec::Limits{1 << 20, 64});
  std::string line(reinterpret_cast<const char*>(data), size);
  auto r = decoder.decode(line);
  if (!r.ok()) return 0;
  for (const auto& m : r->messages) {
    bool is_req = m.kind == warden::codec::Kind::request || m.kind == warden::codec::Kind::notification;
    if (is_req == m.method.empty()) std::abort();
    std::string re = warden::codec::serialize(m.root);
    auto r2 = again.decode(re);
    if (!r2.ok() || r2->messages.size() != 1 || r2->messages[0].method != m.method ||
        r2->messages[0].target != m.target)
      std::abort();
  }
  return 0;
}
