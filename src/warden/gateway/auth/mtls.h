// Identity of a TLS client from its certificate, for mapping mutual-TLS peers to agents.
//
// The certificate must already be verified by OpenSSL against the gateway's client CA (the
// listener's SSL_CTX with SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT); this only reads it.
// Names that could be read two ways are refused: a subject with several CNs, and any CN or SAN
// holding a NUL or another control character ("ci.example.org\0.evil.test").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509.h>

#include "warden/util/result.h"

namespace warden::gateway::auth {

struct PeerIdentity {
  std::string subject;      // RFC 2253 distinguished name, e.g. "CN=ci-bot,O=Example"
  std::string common_name;  // the subject's CN, UTF-8 ("" if the subject has none)
  std::string issuer;       // the issuer's RFC 2253 distinguished name
  std::vector<std::string> uris;       // SAN URIs (SPIFFE IDs: spiffe://trust-domain/path)
  std::vector<std::string> dns_names;  // SAN DNS names
  std::vector<std::string> emails;     // SAN rfc822 names
  std::string fingerprint_sha256;      // lowercase hex SHA-256 of the DER certificate
};

// The identity in `cert` (not owned; e.g. SSL_get0_peer_certificate()).
Result<PeerIdentity> peer_identity(const X509* cert);

// A configured fingerprint in any common spelling ("AB:CD:...", "abcd...", with or without
// colons, any case) as 64 lowercase hex digits; nullopt if it is not a SHA-256 fingerprint.
std::optional<std::string> normalize_fingerprint(std::string_view text);

// Whether the peer's fingerprint equals `configured` (any spelling above), in constant time.
bool fingerprint_matches(const PeerIdentity& peer, std::string_view configured);

}  // namespace warden::gateway::auth
