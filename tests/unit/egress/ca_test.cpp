#include "warden/egress/ca.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>
#include <openssl/x509v3.h>

namespace warden::egress {
namespace {

TEST(CertificateAuthority, CreatesAPrivateKeyOnceAndMintsLeavesPerHost) {
  auto dir = std::filesystem::temp_directory_path() / ("warden-ca-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto ca = CertificateAuthority::load_or_create(dir.string());
  ASSERT_TRUE(ca) << ca.error().message;
  struct stat st {};
  ASSERT_EQ(::stat((dir / "ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto leaf = (*ca)->leaf_for("api.postmarkapp.com");
  ASSERT_TRUE(leaf);
  EXPECT_EQ(X509_check_host(leaf->cert, "api.postmarkapp.com", 0, 0, nullptr), 1);
  EXPECT_NE(X509_check_host(leaf->cert, "evil.example", 0, 0, nullptr), 1);
  auto again = (*ca)->leaf_for("api.postmarkapp.com");
  EXPECT_EQ(again->cert, leaf->cert);  // cached

  // Reloading gives the same CA; a key readable by others is refused.
  auto reloaded = CertificateAuthority::load_or_create(dir.string());
  ASSERT_TRUE(reloaded);
  EXPECT_EQ((*reloaded)->cert_pem(), (*ca)->cert_pem());
  ::chmod((dir / "ca.key").c_str(), 0644);
  auto loose = CertificateAuthority::load_or_create(dir.string());
  ASSERT_FALSE(loose);
  EXPECT_NE(loose.error().message.find("chmod 600"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace warden::egress
