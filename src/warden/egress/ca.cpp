#include "warden/egress/ca.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

namespace warden::egress {

namespace {

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return false;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return true;
}

void random_serial(X509* cert) {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof bytes);
  bytes[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(bytes, sizeof bytes, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
  BN_free(bn);
}

}  // namespace

std::string pem_of(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string pem_of(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string CertificateAuthority::system_bundle_path() {
  for (const char* p : {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                        "/etc/ssl/cert.pem"})
    if (::access(p, R_OK) == 0) return p;
  return "";
}

Result<std::unique_ptr<CertificateAuthority>> CertificateAuthority::load_or_create(const std::string& dir) {
  std::unique_ptr<CertificateAuthority> ca(new CertificateAuthority());
  ca->m_dir = dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  ::chmod(dir.c_str(), 0700);
  std::string key_path = dir + "/ca.key", cert_path = dir + "/ca.pem";
  struct stat st {};
  if (::stat(key_path.c_str(), &st) == 0) {
    if ((st.st_mode & 077) != 0)
      return Error{2, fmt::format("{} is readable by others (mode {:o}); run chmod 600 {} or delete it "
                                  "to have a new CA generated", key_path, st.st_mode & 0777, key_path)};
    std::string key_pem = read_file(key_path), cert_pem = read_file(cert_path);
    BioPtr kb(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
    BioPtr cb(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
    ca->m_key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    ca->m_cert.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    if (!ca->m_key || !ca->m_cert || X509_check_private_key(ca->m_cert.get(), ca->m_key.get()) != 1)
      return Error{2, fmt::format("the CA in {} is unreadable or its key does not match; delete {} and "
                                  "{} to have a new one generated", dir, key_path, cert_path)};
  } else {
    ca->m_key.reset(EVP_EC_gen("P-256"));
    X509Ptr cert(X509_new());
    X509_set_version(cert.get(), 2);
    random_serial(cert.get());
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
    char host[256] = "localhost";
    ::gethostname(host, sizeof host - 1);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("mcp-warden"), -1, -1, 0);
    std::string cn = fmt::format("mcp-warden egress CA ({})", host);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    X509_set_pubkey(cert.get(), ca->m_key.get());
    add_ext(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    add_ext(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
    if (X509_sign(cert.get(), ca->m_key.get(), EVP_sha256()) <= 0)
      return Error{2, "cannot sign the CA certificate"};
    ca->m_cert = std::move(cert);
    // Write the key 0600 from the start (umask-independent), then the certificate.
    int fd = ::open(key_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return Error{2, fmt::format("cannot create {}: {}", key_path, std::strerror(errno))};
    std::string key_pem = pem_of(ca->m_key.get());
    bool ok = ::write(fd, key_pem.data(), key_pem.size()) == static_cast<ssize_t>(key_pem.size());
    ::close(fd);
    std::ofstream(cert_path) << pem_of(ca->m_cert.get());
    if (!ok) return Error{2, fmt::format("cannot write {}", key_path)};
  }
  ca->m_cert_pem = pem_of(ca->m_cert.get());
  ca->m_leaf_key.reset(EVP_EC_gen("P-256"));
  return ca;
}

Result<CertificateAuthority::Leaf> CertificateAuthority::leaf_for(const std::string& host,
                                                                  const std::vector<std::string>& also) {
  std::lock_guard lock(m_mu);
  if (auto it = m_leaves.find(host); it != m_leaves.end()) return Leaf{it->second.get(), m_leaf_key.get()};
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  random_serial(cert.get());
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(host.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(m_cert.get()));
  X509_set_pubkey(cert.get(), m_leaf_key.get());
  std::string san;
  std::vector<std::string> names{host};
  names.insert(names.end(), also.begin(), also.end());
  for (const auto& n : names) {
    unsigned char buf[16];
    bool ip = inet_pton(AF_INET, n.c_str(), buf) == 1 || inet_pton(AF_INET6, n.c_str(), buf) == 1;
    san += (san.empty() ? "" : ",") + std::string(ip ? "IP:" : "DNS:") + n;
  }
  if (!add_ext(cert.get(), m_cert.get(), NID_subject_alt_name, san.c_str()))
    return Error{2, fmt::format("cannot make a certificate for '{}'", host)};
  add_ext(cert.get(), m_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), m_cert.get(), NID_key_usage, "critical,digitalSignature");
  add_ext(cert.get(), m_cert.get(), NID_ext_key_usage, "serverAuth");
  add_ext(cert.get(), m_cert.get(), NID_authority_key_identifier, "keyid:always");
  if (X509_sign(cert.get(), m_key.get(), EVP_sha256()) <= 0)
    return Error{2, fmt::format("cannot sign a certificate for '{}'", host)};
  X509* raw = cert.get();
  m_leaves.emplace(host, std::move(cert));
  return Leaf{raw, m_leaf_key.get()};
}

}  // namespace warden::egress
