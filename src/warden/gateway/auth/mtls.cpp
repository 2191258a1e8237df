#include "warden/gateway/auth/mtls.h"

#include <memory>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "warden/gateway/auth/ossl.h"
#include "warden/util/sha256.h"

namespace warden::gateway::auth {

namespace {

using BioPtr = std::unique_ptr<BIO, OsslFree<BIO_free>>;

bool has_control(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

Result<std::string> dn_text(const X509_NAME* name, const char* what) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return Error{0, "out of memory"};
  // RFC 2253 with UTF-8 output (not \XX escapes for non-ASCII).
  unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
  if (X509_NAME_print_ex(bio.get(), name, 0, flags) < 0)
    return Error{0, std::string("cannot print the certificate's ") + what};
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  if (n < 0) return Error{0, std::string("cannot print the certificate's ") + what};
  return std::string(data, static_cast<size_t>(n));
}

Result<std::string> utf8_of(const ASN1_STRING* s, const char* what) {
  unsigned char* out = nullptr;
  int n = ASN1_STRING_to_UTF8(&out, s);
  if (n < 0) return Error{0, std::string("the certificate's ") + what + " is not a valid string"};
  std::string text(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  if (has_control(text))
    return Error{0, std::string("the certificate's ") + what + " holds a control character"};
  return text;
}

}  // namespace

Result<PeerIdentity> peer_identity(const X509* cert) {
  if (cert == nullptr) return Error{0, "no client certificate"};
  PeerIdentity id;

  const X509_NAME* subject = X509_get_subject_name(cert);
  auto subject_text = dn_text(subject, "subject");
  if (!subject_text) return subject_text.error();
  id.subject = std::move(*subject_text);
  auto issuer_text = dn_text(X509_get_issuer_name(cert), "issuer");
  if (!issuer_text) return issuer_text.error();
  id.issuer = std::move(*issuer_text);

  int pos = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (pos >= 0) {
    if (X509_NAME_get_index_by_NID(subject, NID_commonName, pos) >= 0)
      return Error{0, "the certificate's subject has more than one CN"};
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(subject, pos);
    auto cn = utf8_of(X509_NAME_ENTRY_get_data(entry), "subject CN");
    if (!cn) return cn.error();
    id.common_name = std::move(*cn);
  }

  GeneralNamesPtr sans(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
      std::vector<std::string>* into = nullptr;
      const char* what = nullptr;
      switch (gn->type) {
      case GEN_URI: into = &id.uris; what = "SAN URI"; break;
      case GEN_DNS: into = &id.dns_names; what = "SAN DNS name"; break;
      case GEN_EMAIL: into = &id.emails; what = "SAN email"; break;
      default: continue;  // IP addresses, directory names, otherName: not used for agents
      }
      const ASN1_IA5STRING* s = gn->d.ia5;
      std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<size_t>(ASN1_STRING_length(s)));
      if (has_control(text))
        return Error{0, std::string("the certificate's ") + what + " holds a control character"};
      into->push_back(std::move(text));
    }
  }

  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &md_len) != 1 || md_len != 32)
    return Error{0, "cannot compute the certificate's SHA-256 fingerprint"};
  id.fingerprint_sha256 = util::to_hex(md, md_len);
  return id;
}

std::optional<std::string> normalize_fingerprint(std::string_view text) {
  std::string out;
  out.reserve(64);
  for (char c : text) {
    if (c == ':') continue;
    if (c >= '0' && c <= '9') out.push_back(c);
    else if (c >= 'a' && c <= 'f') out.push_back(c);
    else if (c >= 'A' && c <= 'F') out.push_back(static_cast<char>(c - 'A' + 'a'));
    else return std::nullopt;
  }
  if (out.size() != 64) return std::nullopt;
  return out;
}

bool fingerprint_matches(const PeerIdentity& peer, std::string_view configured) {
  auto want = normalize_fingerprint(configured);
  if (!want || peer.fingerprint_sha256.size() != want->size()) return false;
  return CRYPTO_memcmp(want->data(), peer.fingerprint_sha256.data(), want->size()) == 0;
}

}  // namespace warden::gateway::auth
