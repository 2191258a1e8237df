// DNS wire format, just enough for the egress guard's resolver (RFC 1035): one question in,
// one A answer or an error out. Pure functions over bytes; fuzzed (tests/fuzz/fuzz_egress_parsers).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace warden::egress {

struct DnsQuery {
  uint16_t id = 0;
  uint16_t flags = 0;
  std::string name;        // lowercase, dotted, no trailing dot
  uint16_t qtype = 0;      // 1 A, 28 AAAA, 16 TXT...
  uint16_t qclass = 0;
  size_t question_end = 0;  // offset just past the question
};

// nullopt for anything that is not a standard query with exactly one well-formed question.
std::optional<DnsQuery> parse_dns_query(std::string_view packet);

inline constexpr uint8_t k_rcode_noerror = 0, k_rcode_nxdomain = 3, k_rcode_refused = 5;

// The answer to `q` (whose bytes are `packet`): with `ipv4` (network order) an A record with a
// 60 s TTL, otherwise no answer and `rcode`.
std::string build_dns_response(std::string_view packet, const DnsQuery& q, uint8_t rcode,
                               std::optional<uint32_t> ipv4 = std::nullopt);

const char* dns_type_name(uint16_t qtype);  // "A", "AAAA", "TXT"... or "TYPE<n>"

}  // namespace warden::egress
