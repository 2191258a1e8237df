// The per-install certificate authority for TLS interception of `inspect: true` hosts.
// Generated on first use in the state directory (ca.key mode 0600 in a 0700 directory, ca.pem),
// it signs one leaf certificate per host, minted on demand and cached in memory. The sandbox
// trusts it through a CA bundle (system roots + this CA) that run writes to its private run
// directory; the key itself never enters the sandbox (the state directory is Landlock-denied).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "warden/util/result.h"

namespace warden::egress {

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

std::string pem_of(X509* cert);
std::string pem_of(EVP_PKEY* key);  // unencrypted PKCS#8

class CertificateAuthority {
public:
  // Loads DIR/ca.key and DIR/ca.pem, or creates them. Refuses a key file readable by others.
  static Result<std::unique_ptr<CertificateAuthority>> load_or_create(const std::string& dir);

  const std::string& cert_pem() const { return m_cert_pem; }
  const std::string& dir() const { return m_dir; }
  // The leaf for `host` (a DNS name or an IP literal), signed by this CA; cached by `host`.
  // `also`: more names for the same certificate (the demo's fake API answers on 127.0.0.1 too).
  struct Leaf {
    X509* cert;      // owned by the CA
    EVP_PKEY* key;   // shared by all leaves, owned by the CA
  };
  Result<Leaf> leaf_for(const std::string& host, const std::vector<std::string>& also = {});

  // The system's CA bundle followed by this CA, for the sandbox (SSL_CERT_FILE, the bind mount).
  static std::string system_bundle_path();  // "" if none is found

private:
  CertificateAuthority() = default;
  std::string m_dir, m_cert_pem;
  X509Ptr m_cert;
  PkeyPtr m_key, m_leaf_key;
  std::mutex m_mu;
  std::map<std::string, X509Ptr> m_leaves;
};

}  // namespace warden::egress
