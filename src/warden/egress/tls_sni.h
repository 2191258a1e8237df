// The server name (SNI) of a TLS ClientHello, read from the first bytes of a connection without
// consuming them, so that the guard can decide before it either terminates TLS (inspect) or
// passes the bytes through. Pure; fuzzed.
#pragma once

#include <string>
#include <string_view>

namespace warden::egress {

enum class SniStatus { need_more, found, no_sni, not_tls };

struct SniResult {
  SniStatus status = SniStatus::need_more;
  std::string name;  // lowercase, when found
  size_t record_bytes = 0;  // size of the whole first record, when known
};

SniResult parse_client_hello_sni(std::string_view bytes);

}  // namespace warden::egress
