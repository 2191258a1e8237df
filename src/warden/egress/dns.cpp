#include "warden/egress/dns.h"

#include <cstdio>

namespace warden::egress {

namespace {
uint16_t be16(std::string_view p, size_t i) {
  return static_cast<uint16_t>((static_cast<uint8_t>(p[i]) << 8) | static_cast<uint8_t>(p[i + 1]));
}
void put16(std::string& out, uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xff);
}
}  // namespace

std::optional<DnsQuery> parse_dns_query(std::string_view p) {
  if (p.size() < 12 || p.size() > 4096) return std::nullopt;
  DnsQuery q;
  q.id = be16(p, 0);
  q.flags = be16(p, 2);
  if ((q.flags & 0x8000) != 0 || ((q.flags >> 11) & 0xf) != 0) return std::nullopt;  // QR, opcode
  if (be16(p, 4) != 1) return std::nullopt;
  size_t i = 12;
  for (;;) {
    if (i >= p.size()) return std::nullopt;
    auto len = static_cast<uint8_t>(p[i++]);
    if (len == 0) break;
    if (len > 63 || i + len > p.size()) return std::nullopt;  // no compression in a question
    if (!q.name.empty()) q.name += '.';
    for (size_t k = 0; k < len; ++k) {
      char c = p[i + k];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      q.name += c;
    }
    if (q.name.size() > 253) return std::nullopt;
    i += len;
  }
  if (i + 4 > p.size()) return std::nullopt;
  q.qtype = be16(p, i);
  q.qclass = be16(p, i + 2);
  q.question_end = i + 4;
  return q;
}

std::string build_dns_response(std::string_view packet, const DnsQuery& q, uint8_t rcode,
                               std::optional<uint32_t> ipv4) {
  std::string out;
  out.reserve(q.question_end + 16);
  put16(out, q.id);
  put16(out, static_cast<uint16_t>(0x8000 | (q.flags & 0x0100) | 0x0080 | (rcode & 0xf)));
  put16(out, 1);
  put16(out, ipv4 ? 1 : 0);
  put16(out, 0);
  put16(out, 0);
  out.append(packet.substr(12, q.question_end - 12));
  if (ipv4) {
    put16(out, 0xc00c);  // the name in the question
    put16(out, 1);       // A
    put16(out, 1);       // IN
    put16(out, 0);
    put16(out, 60);  // TTL
    put16(out, 4);
    uint32_t a = *ipv4;  // network order
    out.append(reinterpret_cast<const char*>(&a), 4);
  }
  return out;
}

const char* dns_type_name(uint16_t t) {
  switch (t) {
    case 1: return "A";
    case 2: return "NS";
    case 5: return "CNAME";
    case 12: return "PTR";
    case 15: return "MX";
    case 16: return "TXT";
    case 28: return "AAAA";
    case 33: return "SRV";
    case 65: return "HTTPS";
    case 255: return "ANY";
  }
  thread_local char buf[16];
  std::snprintf(buf, sizeof buf, "TYPE%u", t);
  return buf;
}

}  // namespace warden::egress
