#include "warden/egress/tls_sni.h"

#include <cstdint>

namespace warden::egress {

namespace {
struct Reader {
  std::string_view p;
  size_t i = 0;
  bool ok = true;
  uint32_t n(size_t bytes) {
    if (i + bytes > p.size()) {
      ok = false;
      return 0;
    }
    uint32_t v = 0;
    for (size_t k = 0; k < bytes; ++k) v = (v << 8) | static_cast<uint8_t>(p[i + k]);
    i += bytes;
    return v;
  }
  void skip(size_t bytes) {
    if (i + bytes > p.size()) ok = false;
    else i += bytes;
  }
};
}  // namespace

SniResult parse_client_hello_sni(std::string_view b) {
  SniResult r;
  if (b.size() < 5) {
    if (!b.empty() && static_cast<uint8_t>(b[0]) != 0x16) r.status = SniStatus::not_tls;
    return r;
  }
  if (static_cast<uint8_t>(b[0]) != 0x16 || static_cast<uint8_t>(b[1]) != 0x03) {
    r.status = SniStatus::not_tls;
    return r;
  }
  size_t rec_len = (static_cast<uint8_t>(b[3]) << 8) | static_cast<uint8_t>(b[4]);
  r.record_bytes = rec_len + 5;
  if (rec_len > 16384 + 2048) {
    r.status = SniStatus::not_tls;
    return r;
  }
  if (b.size() < r.record_bytes) return r;  // need_more
  Reader rd{b.substr(5, rec_len)};
  if (rd.n(1) != 1) {  // ClientHello
    r.status = SniStatus::not_tls;
    return r;
  }
  size_t hs_len = rd.n(3);
  if (hs_len > rec_len - 4) {  // split across records: treat what we have
    hs_len = rec_len - 4;
  }
  rd.skip(2 + 32);             // version, random
  rd.skip(rd.n(1));            // session id
  rd.skip(rd.n(2));            // cipher suites
  rd.skip(rd.n(1));            // compression methods
  if (!rd.ok || rd.i >= rd.p.size()) {
    r.status = rd.ok ? SniStatus::no_sni : SniStatus::not_tls;
    return r;
  }
  size_t ext_end = rd.i + rd.n(2);
  while (rd.ok && rd.i + 4 <= ext_end && rd.i + 4 <= rd.p.size()) {
    uint32_t type = rd.n(2), len = rd.n(2);
    if (type != 0) {
      rd.skip(len);
      continue;
    }
    size_t list_end = rd.i + rd.n(2);
    while (rd.ok && rd.i + 3 <= list_end) {
      uint32_t name_type = rd.n(1), name_len = rd.n(2);
      if (!rd.ok || rd.i + name_len > rd.p.size()) break;
      if (name_type == 0) {
        std::string name(rd.p.substr(rd.i, name_len));
        for (char& c : name)
          if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (!name.empty() && name.back() == '.') name.pop_back();
        r.name = std::move(name);
        r.status = SniStatus::found;
        return r;
      }
      rd.skip(name_len);
    }
    break;
  }
  r.status = rd.ok ? SniStatus::no_sni : SniStatus::not_tls;
  return r;
}

}  // namespace warden::egress
