// scan --image: docker save and OCI layout tarballs, built here with libarchive.
#include "warden/supply/image.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"
#include "warden/supply/scan.h"

namespace warden::supply {
namespace {

namespace fs = std::filesystem;

struct TarEntry {
  std::string path, content;
  std::string hardlink;  // when set, a hard link to this path
};

la_ssize_t append_out(struct archive*, void* out, const void* buf, size_t n) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

std::string make_tar(const std::vector<TarEntry>& entries, bool gzip = false) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gzip) archive_write_add_filter_gzip(a);
  archive_write_open(a, &out, nullptr, append_out, nullptr);
  for (const auto& e : entries) {
    struct archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.path.c_str());
    archive_entry_set_perm(entry, 0644);
    if (!e.hardlink.empty()) {
      archive_entry_set_filetype(entry, AE_IFREG);
      archive_entry_set_hardlink(entry, e.hardlink.c_str());
      archive_entry_set_size(entry, 0);
    } else {
      archive_entry_set_filetype(entry, AE_IFREG);
      archive_entry_set_size(entry, static_cast<la_int64_t>(e.content.size()));
    }
    archive_write_header(a, entry);
    if (e.hardlink.empty() && !e.content.empty()) archive_write_data(a, e.content.data(), e.content.size());
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

std::string write_temp(const std::string& name, const std::string& bytes) {
  auto p = fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()) + ".tar");
  std::ofstream(p, std::ios::binary) << bytes;
  return p.string();
}

const std::string k_lock =
    "{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {},\n    \"node_modules/postmark-mcp\": {\"version\": \"1.0.16\"}\n  }\n}\n";

std::string pkg(const std::string& name, const std::string& version) {
  return "{\"name\": \"" + name + "\", \"version\": \"" + version + "\"}";
}

// Layer 1 installs things; layer 2 removes some with whiteouts and adds others.
std::string layer1(bool gzip) {
  return make_tar({{"app/package-lock.json", k_lock, ""},
                   {"usr/lib/node_modules/postmark-mcp/package.json", pkg("postmark-mcp", "1.0.16"), ""},
                   {"opt/old/node_modules/claud-code/package.json", pkg("claud-code", "1.0.0"), ""},
                   {"root/.cursor/mcp.json", "{\"mcpServers\": {\"pm\": {\"command\": \"npx\", \"args\": [\"-y\", \"postmark-mcp\"]}}}", ""},
                   {"usr/share/doc/readme.txt", "not wanted", ""}},
                  gzip);
}

std::string layer2(bool gzip) {
  return make_tar({{"usr/lib/node_modules/.wh.postmark-mcp", "", ""},
                   {"opt/old/.wh..wh..opq", "", ""},
                   {"opt/old/node_modules/zod/package.json", pkg("zod", "3.25.0"), ""},
                   {"usr/lib/python3/site-packages/mcp_server_fecth-1.0.dist-info/METADATA",
                    "Name: mcp-server-fecth\nVersion: 1.0\n", ""},
                   {"srv/app2/package-lock.json", "", "app/package-lock.json"}},  // a hard link
                  gzip);
}

std::vector<std::string> keys(const ImageFiles& f) {
  std::vector<std::string> out;
  for (const auto& [k, v] : f.files) out.push_back(k);
  return out;
}

const std::vector<std::string> k_expected_files{
    "app/package-lock.json", "opt/old/node_modules/zod/package.json", "root/.cursor/mcp.json",
    "srv/app2/package-lock.json", "usr/lib/python3/site-packages/mcp_server_fecth-1.0.dist-info/METADATA"};

TEST(Image, DockerSaveLayersAppliedInManifestOrderWithWhiteouts) {
  // The layers are stored in the tarball in the opposite order: the manifest decides.
  std::string tar = write_temp("docker-save", make_tar({
      {"l2/layer.tar", layer2(false), ""},
      {"l1/layer.tar", layer1(false), ""},
      {"cfg.json", "{}", ""},
      {"manifest.json", R"([{"Config":"cfg.json","RepoTags":["agent:1"],"Layers":["l1/layer.tar","l2/layer.tar"]}])", ""}}));
  auto img = read_image(tar, [](std::string_view p) { return Scanner::wanted(p); });
  ASSERT_TRUE(img.ok()) << img.error().message;
  EXPECT_EQ(img->layers, 2u);
  EXPECT_TRUE(img->warnings.empty());
  EXPECT_EQ(keys(*img), k_expected_files);
  EXPECT_EQ(img->files["srv/app2/package-lock.json"], k_lock);

  testing::BundledScanner b;
  ASSERT_TRUE(b.intel_ok);
  ScanReport r;
  b.scanner.scan_image(tar, r);
  sort_findings(r);
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(r.findings[0].rule, "supply.scan.malicious_version");
  EXPECT_EQ(r.findings[0].file, tar + "!/app/package-lock.json");
  EXPECT_EQ(r.findings[0].line, 5);
  ASSERT_EQ(r.servers.size(), 1u);
  EXPECT_EQ(r.servers[0].config, tar + "!/root/.cursor/mcp.json");
  EXPECT_EQ(r.packages, 4u);  // two lockfiles, zod, the dist-info; whiteouts removed the rest
#ifdef WARDEN_BINARY
  std::string out;
  EXPECT_EQ(testing::run_warden("scan --image " + tar + " --format json", &out), 1);
  EXPECT_NE(out.find("!/app/package-lock.json\",\"line\":5"), std::string::npos) << out;
  EXPECT_EQ(testing::run_warden("scan --image /nonexistent.tar"), 0);  // a warning, nothing found
#endif
  fs::remove(tar);
}

TEST(Image, OciLayoutWithGzipLayersAndAnIndex) {
  std::string l1 = layer1(true), l2 = layer2(true);
  std::string manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                         R"("config":{"digest":"sha256:cfg"},"layers":[)"
                         R"({"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:aaa1"},)"
                         R"({"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:bbb2"}]})";
  std::string nested = R"({"schemaVersion":2,"manifests":[{"digest":"sha256:man1"}]})";
  std::string tar = write_temp("oci", make_tar({
      {"oci-layout", R"({"imageLayoutVersion":"1.0.0"})", ""},
      {"index.json", R"({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:idx1"}]})", ""},
      {"blobs/sha256/idx1", nested, ""},
      {"blobs/sha256/bbb2", l2, ""},
      {"blobs/sha256/man1", manifest, ""},
      {"blobs/sha256/cfg", "{}", ""},
      {"blobs/sha256/aaa1", l1, ""}}));
  auto img = read_image(tar, [](std::string_view p) { return Scanner::wanted(p); });
  ASSERT_TRUE(img.ok()) << img.error().message;
  EXPECT_EQ(img->layers, 2u);
  EXPECT_EQ(keys(*img), k_expected_files);
  fs::remove(tar);
}

TEST(Image, BrokenImagesWarnOrFailClearly) {
  auto wanted = [](std::string_view p) { return Scanner::wanted(p); };
  std::string plain = write_temp("plain", make_tar({{"hello.txt", "hi", ""}}));
  auto r1 = read_image(plain, wanted);
  ASSERT_FALSE(r1.ok());
  EXPECT_NE(r1.error().message.find("not a container image (no manifest.json or index.json"), std::string::npos);
  std::string missing = write_temp("missing", make_tar({
      {"l1/layer.tar", layer1(false), ""},
      {"manifest.json", R"([{"Config":"c","Layers":["l1/layer.tar","gone/layer.tar"]}])", ""}}));
  auto r2 = read_image(missing, wanted);
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_EQ(r2->layers, 1u);
  ASSERT_EQ(r2->warnings.size(), 1u);
  EXPECT_NE(r2->warnings[0].find("layer gone/layer.tar is listed but not in the tarball"), std::string::npos);
  std::string corrupt_layer = write_temp("corrupt", make_tar({
      {"l1/layer.tar", layer1(false).substr(0, 1500), ""},
      {"manifest.json", R"([{"Config":"c","Layers":["l1/layer.tar"]}])", ""}}));
  auto r3 = read_image(corrupt_layer, wanted);
  ASSERT_TRUE(r3.ok()) << r3.error().message;
  EXPECT_FALSE(r3->warnings.empty());
  EXPECT_NE(r3->warnings[0].find("layer l1/layer.tar"), std::string::npos) << r3->warnings[0];
  std::string truncated_outer = write_temp("trunc", make_tar({{"manifest.json", "[]", ""}}).substr(0, 700));
  auto r4 = read_image(truncated_outer, wanted);
  EXPECT_FALSE(r4.ok());
  auto r5 = read_image("/nonexistent/image.tar", wanted);
  ASSERT_FALSE(r5.ok());
  EXPECT_NE(r5.error().message.find("cannot open image /nonexistent/image.tar"), std::string::npos);
  for (const auto& p : {plain, missing, corrupt_layer, truncated_outer}) fs::remove(p);
}

}  // namespace
}  // namespace warden::supply
