// Fuzz target: the egress guard's parsers of what a sandboxed server sends (DNS questions, TLS
// ClientHellos, HTTP bodies) and the strip rewrite. Never crashes; a parsed DNS question always
// gets a well-formed answer; a stripped JSON body is JSON again and no longer holds the address.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <simdjson.h>

#include "warden/egress/dns.h"
#include "warden/egress/identifiers.h"
#include "warden/egress/tls_sni.h"

using namespace warden::egress;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  if (auto q = parse_dns_query(in)) {
    std::string r = build_dns_response(in, *q, k_rcode_noerror, 0x0100007f);
    if (r.size() != q->question_end + 16) std::abort();
  }
  (void)parse_client_hello_sni(in);
  for (const char* ct : {"application/json", "application/x-www-form-urlencoded",
                         "multipart/form-data; boundary=b", ""}) {
    RequestView v;
    v.target = in.size() > 64 ? std::string_view(in).substr(0, 64) : std::string_view(in);
    v.headers = {{"Content-Type", ct}};
    v.body = in;
    auto ids = extract_identifiers(v, true, true);
    std::set<std::string> offending;
    for (const auto& id : ids)
      if (id.kind == IdKind::email) offending.insert(id.value);
    if (offending.empty()) continue;
    if (auto s = strip_json_recipients(in, offending)) {
      simdjson::dom::parser p;
      if (p.parse(s->body).error() != simdjson::SUCCESS) std::abort();
    }
  }
  return 0;
}
