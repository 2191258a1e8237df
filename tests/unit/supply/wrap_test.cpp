#include "warden/supply/wrap.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "warden/supply/jsonc.h"

namespace warden::supply {
namespace {

namespace fs = std::filesystem;
const std::string k_dir = std::string(WARDEN_SOURCE_DIR) + "/tests/fixtures/clients/";

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> args_of(const JsoncValue& server) {
  std::vector<std::string> out;
  for (const auto& i : server.get("args")->items) out.push_back(i->string);
  return out;
}

TEST(Wrap, ClaudeDesktopServersRunUnderTheWardenAndTheRestIsKept) {
  auto r = wrap_config(slurp(k_dir + "claude_desktop_config.json"), "/usr/bin/mcp-warden", "/etc/w.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->wrapped, 2);
  EXPECT_EQ(r->skipped, 1);  // the remote url entry
  auto doc = parse_jsonc(r->text);
  ASSERT_TRUE(doc.ok()) << doc.error().message << "\n" << r->text;
  const auto* pm = (*doc)->get("mcpServers")->get("postmark");
  EXPECT_EQ(pm->get("command")->string, "/usr/bin/mcp-warden");
  EXPECT_EQ(args_of(*pm), (std::vector<std::string>{"run", "--policy", "/etc/w.yaml", "--server", "postmark",
                                                    "--", "npx", "-y", "postmark-mcp@1.0.15"}));
  EXPECT_EQ(pm->get("env")->get("POSTMARK_SERVER_TOKEN")->string, "placeholder");
  EXPECT_EQ((*doc)->get("globalShortcut")->string, "Ctrl+Space");
  // Idempotent: a second wrap changes nothing.
  auto again = wrap_config(r->text, "/usr/bin/mcp-warden", "/etc/w.yaml");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->wrapped, 0);
  EXPECT_EQ(again->already, 2);
  EXPECT_EQ(again->text, r->text);
}

TEST(Wrap, JsoncCommentsAndTrailingCommasSurvive) {
  auto r = wrap_config(slurp(k_dir + "vscode_mcp.jsonc"), "mcp-warden", "");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->wrapped, 2);
  EXPECT_NE(r->text.find("// VS Code MCP servers (JSON with comments)"), std::string::npos);
  EXPECT_NE(r->text.find("/* the GitHub server */"), std::string::npos);
  EXPECT_NE(r->text.find("// unpinned on purpose"), std::string::npos);
  auto doc = parse_jsonc(r->text);
  ASSERT_TRUE(doc.ok()) << doc.error().message << "\n" << r->text;
  EXPECT_EQ(args_of(*(*doc)->get("servers")->get("time")),
            (std::vector<std::string>{"run", "--server", "time", "--", "uvx"}));  // args inserted
}

TEST(Wrap, ClaudeCodeProjectServersToo) {
  auto r = wrap_config(slurp(k_dir + "claude.json"), "mcp-warden", "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->wrapped, 2);
  auto doc = parse_jsonc(r->text);
  ASSERT_TRUE(doc.ok());
  const auto* db = (*doc)->get("projects")->get("/home/dev/app")->get("mcpServers")->get("db");
  EXPECT_EQ(args_of(*db), (std::vector<std::string>{"run", "--server", "db", "--", "/usr/local/bin/pg-mcp", "--ro"}));
}

TEST(Wrap, BrokenConfigsAreRefusedWithAPlace) {
  auto r = wrap_config("{\n  \"mcpServers\": {\"a\": {\"command\": \"x\",,}}\n}", "mcp-warden", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "not valid JSON/JSONC: line 2, column 39: expected a quoted key");
}

#ifdef WARDEN_BINARY
int run(const std::string& args) {
  int rc = std::system((std::string(WARDEN_BINARY) + " " + args + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(Wrap, CliWrapsWithABackupAndUnwrapRestoresExactly) {
  fs::path home = fs::temp_directory_path() / ("warden-wrap-" + std::to_string(::getpid()));
  fs::create_directories(home / ".cursor");
  std::string original = slurp(k_dir + "claude_desktop_config.json");
  std::ofstream(home / ".cursor" / "mcp.json", std::ios::binary) << original;
  std::string common = " --client cursor --home " + home.string();
  EXPECT_EQ(run("wrap" + common), 0);
  std::string wrapped = slurp((home / ".cursor" / "mcp.json").string());
  EXPECT_NE(wrapped, original);
  EXPECT_NE(wrapped.find("\"--server\", \"postmark\""), std::string::npos);
  EXPECT_EQ(slurp((home / ".cursor" / "mcp.json.mcp-warden-backup").string()), original);
  EXPECT_EQ(run("wrap" + common), 0);  // idempotent
  EXPECT_EQ(slurp((home / ".cursor" / "mcp.json").string()), wrapped);
  EXPECT_EQ(run("unwrap" + common), 0);
  EXPECT_EQ(slurp((home / ".cursor" / "mcp.json").string()), original);
  EXPECT_EQ(run("unwrap" + common), 2);  // nothing to restore
  EXPECT_EQ(run("wrap --client nosuch --home " + home.string()), 2);
  fs::remove_all(home);
}
#endif

}  // namespace
}  // namespace warden::supply
