#include "warden/supply/resolve.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace warden::supply {
namespace {

namespace fs = std::filesystem;

TEST(Resolve, NpxSpecs) {
  auto a = resolve_package({"npx", "-y", "postmark-mcp@1.0.16"});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->name, "postmark-mcp");
  EXPECT_EQ(a->version, "1.0.16");
  auto b = resolve_package({"/usr/bin/npx", "--yes", "@modelcontextprotocol/server-filesystem", "/data"});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->name, "@modelcontextprotocol/server-filesystem");
  EXPECT_EQ(b->version, "");  // unpinned
  auto c = resolve_package({"npx", "-y", "--package=@scope/srv@2.0.0", "srv-bin"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->name, "@scope/srv");
  EXPECT_EQ(c->version, "2.0.0");
  EXPECT_FALSE(resolve_package({"npx", "-y"}).ok());
  EXPECT_FALSE(resolve_package({"python3", "server.py"}).ok());
}

TEST(Resolve, ScriptInsideNodeModules) {
  fs::path dir = fs::temp_directory_path() / ("warden-resolve-" + std::to_string(::getpid()));
  fs::create_directories(dir / "node_modules" / "@acme" / "mail-mcp" / "dist");
  std::ofstream(dir / "node_modules" / "@acme" / "mail-mcp" / "package.json") << R"({"name":"@acme/mail-mcp","version":"3.1.4"})";
  std::ofstream(dir / "node_modules" / "@acme" / "mail-mcp" / "dist" / "index.js") << "process.exit(0)\n";
  auto r = resolve_package({"node", (dir / "node_modules" / "@acme" / "mail-mcp" / "dist" / "index.js").string()});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->name, "@acme/mail-mcp");
  EXPECT_EQ(r->version, "3.1.4");
  fs::remove_all(dir);
}

#ifdef WARDEN_BINARY
int run(const std::string& args) {
  int rc = std::system((std::string(WARDEN_BINARY) + " " + args + " </dev/null >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(Resolve, RunRefusesUnapprovedAndUnpinnedPackagesAndStartsApprovedOnes) {
  fs::path dir = fs::temp_directory_path() / ("warden-reqapp-" + std::to_string(::getpid()));
  fs::create_directories(dir / "node_modules" / "mail-mcp");
  std::ofstream(dir / "node_modules" / "mail-mcp" / "package.json") << R"({"name":"mail-mcp","version":"1.0.16"})";
  std::ofstream(dir / "node_modules" / "mail-mcp" / "index.js") << "process.stdin.resume(); process.stdin.on('end', () => process.exit(0));\n";
  std::ofstream(dir / "p.yaml") << "version: 1\naudit: {path: " << (dir / "a.jsonl").string()
                                << "}\nservers:\n  mail:\n    require_approval: true\n    tools: {\"*\": {action: allow}}\n";
  std::string common = "run --policy " + (dir / "p.yaml").string() + " --server mail --registry " +
                       (dir / "r.sqlite").string() + " -- ";
  std::string script = "node " + (dir / "node_modules" / "mail-mcp" / "index.js").string();
  EXPECT_EQ(run(common + script), 2);                         // not approved
  EXPECT_EQ(run(common + "npx -y mail-mcp"), 2);              // not pinned
  EXPECT_EQ(run(common + "python3 server.py"), 2);            // cannot tell: fail closed
  EXPECT_EQ(run("registry --db " + (dir / "r.sqlite").string() + " approve mail-mcp@1.0.16 --integrity sha512-x"), 0);
  EXPECT_EQ(run(common + script), 0);                         // approved: starts, exits with the server
  fs::remove_all(dir);
}

TEST(Resolve, GatewayRefusesToStartAnUnapprovedServer) {
  fs::path dir = fs::temp_directory_path() / ("warden-gwapp-" + std::to_string(::getpid()));
  fs::create_directories(dir / "node_modules" / "mail-mcp");
  std::ofstream(dir / "node_modules" / "mail-mcp" / "package.json") << R"({"name":"mail-mcp","version":"1.0.16"})";
  std::ofstream(dir / "node_modules" / "mail-mcp" / "index.js") << "\n";
  std::ofstream(dir / "p.yaml") << "version: 1\naudit: {path: " << (dir / "a.jsonl").string()
                                << "}\nservers:\n  mail:\n    command: [node, " << (dir / "node_modules" / "mail-mcp" / "index.js").string()
                                << "]\n    require_approval: true\n    tools: {\"*\": {action: allow}}\n";
  std::string gw = "gateway --config " + (dir / "p.yaml").string() + " --listen 127.0.0.1:0 --state-dir " + (dir / "st").string() +
                   " --registry " + (dir / "r.sqlite").string();
  // Not approved: it refuses before listening (exit 2), naming the version and how to approve it.
  std::string out = (dir / "err.txt").string();
  int rc = std::system((std::string(WARDEN_BINARY) + " " + gw + " </dev/null >/dev/null 2>" + out).c_str());
  EXPECT_EQ(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, 2);
  std::ifstream in(out);
  std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(err.find("mail-mcp@1.0.16"), std::string::npos) << err;
  EXPECT_NE(err.find("mcp-warden registry approve mail-mcp@1.0.16"), std::string::npos) << err;
  fs::remove_all(dir);
}
#endif

}  // namespace
}  // namespace warden::supply
