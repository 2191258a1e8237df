#include "warden/sandbox/sandbox.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace warden::sandbox {
namespace {

namespace fs = std::filesystem;

// Everything the child writes to stdout, until EOF.
std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) break;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

struct TempHome {
  fs::path dir = fs::temp_directory_path() / ("warden-sbx-" + std::to_string(::getpid()));
  TempHome() {
    fs::create_directories(dir / ".ssh");
    fs::create_directories(dir / "project");
    std::ofstream(dir / ".ssh" / "id_rsa") << "PRIVATE KEY\n";
    std::ofstream(dir / "project" / "notes.txt") << "hello\n";
  }
  ~TempHome() { fs::remove_all(dir); }
};

Spec base_spec() {
  Spec s;
  s.init_binary = WARDEN_BINARY;
  return s;
}

TEST(ReadEverywhereExcept, SplitsOnlyTheAncestorsOfDeniedPaths) {
  TempHome h;
  auto home = h.dir.string();
  auto allowed = read_everywhere_except(home, {home + "/.ssh"});
  EXPECT_NE(std::find(allowed.begin(), allowed.end(), home + "/project"), allowed.end());
  EXPECT_EQ(std::find(allowed.begin(), allowed.end(), home + "/.ssh"), allowed.end());
  for (const auto& p : allowed) EXPECT_NE(p.rfind(home + "/.ssh", 0), 0u) << p;
}

TEST(Sandbox, SecretsAreUnreadableAndTheRestIsReadable) {
  TempHome h;
  Spec s = base_spec();
  s.network = Network::none;
  s.deny = default_denied_paths(h.dir.string());
  auto l = launch(s, {"sh", "-c", "cat " + h.dir.string() + "/.ssh/id_rsa 2>&1; echo rc=$?; cat " +
                                       h.dir.string() + "/project/notes.txt"});
  ASSERT_TRUE(l) << l.error().message;
  std::string out = read_all(l->child->stdout_fd().get());
  EXPECT_NE(out.find("Permission denied"), std::string::npos) << out;
  EXPECT_EQ(out.find("PRIVATE KEY"), std::string::npos) << out;
  EXPECT_NE(out.find("hello"), std::string::npos) << out;
  bool landlock = std::any_of(l->achieved.begin(), l->achieved.end(),
                              [](const std::string& a) { return a.rfind("landlock", 0) == 0; });
  EXPECT_TRUE(landlock) << "warnings: " << (l->warnings.empty() ? "" : l->warnings[0]);
}

TEST(Sandbox, ExplicitReadListDeniesEverythingElse) {
  TempHome h;
  Spec s = base_spec();
  s.network = Network::none;
  s.read_everywhere = false;
  s.read = {(h.dir / "project").string()};
  auto l = launch(s, {"sh", "-c", "cat " + h.dir.string() + "/project/notes.txt; ls " +
                                       h.dir.string() + " 2>&1; echo rc=$?"});
  ASSERT_TRUE(l) << l.error().message;
  std::string out = read_all(l->child->stdout_fd().get());
  EXPECT_NE(out.find("hello"), std::string::npos) << out;
  EXPECT_NE(out.find("Permission denied"), std::string::npos) << out;
}

TEST(Sandbox, TransparentModeHandsOverTheListenersAndIsolatesTheNetwork) {
  Spec s = base_spec();
  s.filesystem = false;
  auto l = launch(s, {"sh", "-c", "cat /proc/net/dev | grep -c :; echo proxy=$HTTPS_PROXY"});
  ASSERT_TRUE(l) << l.error().message;
  std::vector<std::string> names;
  for (const auto& x : l->listeners) names.push_back(x.name);
  for (const char* want : {"dns-udp", "dns-tcp", "tcp:80", "tcp:443", "proxy"})
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  std::string out = read_all(l->child->stdout_fd().get());
  EXPECT_NE(out.find("1\n"), std::string::npos) << "only loopback inside: " << out;
  EXPECT_NE(out.find("proxy=http://127.0.0.1:3128"), std::string::npos) << out;
}

TEST(Sandbox, AMissingCommandIsAClearError) {
  Spec s = base_spec();
  auto l = launch(s, {"/nonexistent/server"});
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message.find("cannot start /nonexistent/server"), std::string::npos)
      << l.error().message;
}

}  // namespace
}  // namespace warden::sandbox

namespace warden::sandbox {
namespace {

TEST(Sandbox, WithoutUserNamespacesItFallsBackToTheProxyAndSaysSoLoudly) {
  ::setenv("MCP_WARDEN_TEST_NO_USERNS", "1", 1);
  Spec s;
  s.init_binary = WARDEN_BINARY;
  s.filesystem = false;
  auto l = launch(s, {"sh", "-c", "echo proxy=$HTTPS_PROXY"});
  ::unsetenv("MCP_WARDEN_TEST_NO_USERNS");
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->network, Network::proxy_env);
  ASSERT_FALSE(l->warnings.empty());
  EXPECT_NE(l->warnings[0].find("NOT network-isolated"), std::string::npos) << l->warnings[0];
  ASSERT_EQ(l->listeners.size(), 1u);  // only the proxy, on the host's loopback
  EXPECT_EQ(l->listeners[0].name, "proxy");
  std::string out = read_all(l->child->stdout_fd().get());
  EXPECT_NE(out.find("proxy=http://127.0.0.1:"), std::string::npos) << out;
  EXPECT_EQ(out.find("proxy=http://127.0.0.1:3128"), std::string::npos) << "a free host port, not 3128";
}

}  // namespace
}  // namespace warden::sandbox
