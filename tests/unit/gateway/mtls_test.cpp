// The mTLS identity helper (src/warden/gateway/auth/mtls.h) on self-signed certificates made here.
#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include "warden/gateway/auth/mtls.h"
#include "warden/gateway/auth/ossl.h"
#include "warden/util/sha256.h"

namespace warden::gateway::auth {
namespace {

using X509Ptr = std::unique_ptr<X509, OsslFree<X509_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, OsslFree<X509_EXTENSION_free>>;

struct CertSpec {
  std::vector<std::pair<std::string, std::string>> subject = {{"CN", "ci-bot"}, {"O", "Example"}};
  std::string san;                 // OpenSSL config syntax: "URI:...,DNS:...,email:..."
  std::string raw_dns;             // a SAN DNS name added byte for byte (may hold a NUL)
};

X509Ptr make_cert(const CertSpec& spec) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  X509Ptr cert(X509_new());
  EXPECT_EQ(X509_set_version(cert.get(), 2), 1);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 42);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const auto& [field, value] : spec.subject)
    EXPECT_EQ(X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_UTF8,
                                         reinterpret_cast<const unsigned char*>(value.data()),
                                         static_cast<int>(value.size()), -1, 0),
              1);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  if (!spec.san.empty()) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, spec.san.c_str()));
    EXPECT_TRUE(ext != nullptr);
    EXPECT_EQ(X509_add_ext(cert.get(), ext.get(), -1), 1);
  }
  if (!spec.raw_dns.empty()) {
    GeneralNamesPtr names(GENERAL_NAMES_new());
    GENERAL_NAME* gn = GENERAL_NAME_new();
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    ASN1_STRING_set(s, spec.raw_dns.data(), static_cast<int>(spec.raw_dns.size()));
    GENERAL_NAME_set0_value(gn, GEN_DNS, s);
    sk_GENERAL_NAME_push(names.get(), gn);
    EXPECT_EQ(X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT), 1);
  }
  EXPECT_GT(X509_sign(cert.get(), key.get(), EVP_sha256()), 0);
  return cert;
}

std::string der_sha256_hex(X509* cert) {
  unsigned char* der = nullptr;
  int n = i2d_X509(cert, &der);
  EXPECT_GT(n, 0);
  std::string hex = util::sha256_hex(std::string_view(reinterpret_cast<char*>(der), static_cast<size_t>(n)));
  OPENSSL_free(der);
  return hex;
}

TEST(Mtls, ReadsSubjectSansAndFingerprint) {
  CertSpec spec;
  spec.san = "URI:spiffe://example.org/agent/ci,DNS:ci.example.org,email:ci@example.org,"
             "IP:127.0.0.1,DNS:ci2.example.org";
  auto cert = make_cert(spec);
  auto id = peer_identity(cert.get());
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->common_name, "ci-bot");
  EXPECT_EQ(id->subject, "O=Example,CN=ci-bot");  // RFC 2253 lists the last RDN first
  EXPECT_EQ(id->issuer, id->subject);             // self-signed
  EXPECT_EQ(id->uris, std::vector<std::string>{"spiffe://example.org/agent/ci"});
  EXPECT_EQ(id->dns_names, (std::vector<std::string>{"ci.example.org", "ci2.example.org"}));
  EXPECT_EQ(id->emails, std::vector<std::string>{"ci@example.org"});
  EXPECT_EQ(id->fingerprint_sha256.size(), 64u);
  EXPECT_EQ(id->fingerprint_sha256, der_sha256_hex(cert.get()));

  // Any usual spelling of the fingerprint matches; another certificate's does not.
  std::string upper_colons;
  for (size_t i = 0; i < 64; i += 2) {
    if (i) upper_colons += ':';
    upper_colons += static_cast<char>(std::toupper(id->fingerprint_sha256[i]));
    upper_colons += static_cast<char>(std::toupper(id->fingerprint_sha256[i + 1]));
  }
  EXPECT_TRUE(fingerprint_matches(*id, id->fingerprint_sha256));
  EXPECT_TRUE(fingerprint_matches(*id, upper_colons));
  EXPECT_EQ(normalize_fingerprint(upper_colons), id->fingerprint_sha256);
  auto other = peer_identity(make_cert(spec).get());
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->fingerprint_sha256, id->fingerprint_sha256);
  EXPECT_FALSE(fingerprint_matches(*id, other->fingerprint_sha256));
  EXPECT_FALSE(fingerprint_matches(*id, id->fingerprint_sha256.substr(0, 62)));
  EXPECT_FALSE(fingerprint_matches(*id, ""));
  EXPECT_FALSE(normalize_fingerprint("zz" + id->fingerprint_sha256.substr(2)).has_value());
}

TEST(Mtls, UnicodeCommonNameAndNoSans) {
  CertSpec spec;
  spec.subject = {{"CN", "agent-\xc3\xa9t\xc3\xa9"}};
  auto cert = make_cert(spec);
  auto id = peer_identity(cert.get());
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->common_name, "agent-\xc3\xa9t\xc3\xa9");
  EXPECT_EQ(id->subject, "CN=agent-\xc3\xa9t\xc3\xa9");
  EXPECT_TRUE(id->uris.empty());
  EXPECT_TRUE(id->dns_names.empty());
  EXPECT_TRUE(id->emails.empty());

  spec.subject = {{"O", "Example"}};
  auto no_cn = peer_identity(make_cert(spec).get());
  ASSERT_TRUE(no_cn.ok()) << no_cn.error().message;
  EXPECT_EQ(no_cn->common_name, "");
}

TEST(Mtls, AmbiguousNamesAreRefused) {
  CertSpec two_cns;
  two_cns.subject = {{"CN", "ci-bot"}, {"CN", "admin"}};
  auto r = peer_identity(make_cert(two_cns).get());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("more than one CN"), std::string::npos) << r.error().message;

  CertSpec nul_cn;
  nul_cn.subject = {{"CN", std::string("ci-bot\0admin", 12)}};
  r = peer_identity(make_cert(nul_cn).get());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("subject CN holds a control character"), std::string::npos)
      << r.error().message;

  CertSpec nul_dns;
  nul_dns.raw_dns = std::string("ci.example.org\0.evil.test", 25);
  r = peer_identity(make_cert(nul_dns).get());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("SAN DNS name holds a control character"), std::string::npos)
      << r.error().message;

  r = peer_identity(nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no client certificate"), std::string::npos);
}

}  // namespace
}  // namespace warden::gateway::auth
