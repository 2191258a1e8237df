// Continue (YAML), Zed (context_servers) and Codex (TOML) configs, and the macOS/Windows paths.
#include "warden/supply/clients.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "test_util.h"
#include "warden/supply/scan.h"
#include "warden/supply/wrap.h"

namespace warden::supply {
namespace {

namespace fs = std::filesystem;
const std::string k_home = std::string(WARDEN_SOURCE_DIR) + "/tests/fixtures/scan/clients-home";

std::vector<std::string> names_and_lines(const std::vector<ConfigServer>& servers) {
  std::vector<std::string> out;
  for (const auto& s : servers) out.push_back(s.name + ":" + std::to_string(s.line) + ":" + s.command);
  return out;
}

Result<std::vector<ConfigServer>> read(const std::string& rel) {
  return read_config_servers(config_format_for(rel), testing::slurp_file(k_home + "/" + rel));
}

TEST(Clients, ContinueYamlZedAndCodexServers) {
  auto cont = read(".continue/config.yaml");
  ASSERT_TRUE(cont.ok()) << cont.error().message;
  EXPECT_EQ(names_and_lines(*cont), (std::vector<std::string>{"postmark:7:npx", "sqlite:14:uvx", "remote:17:"}));
  EXPECT_EQ((*cont)[0].args, (std::vector<std::string>{"-y", "postmark-mcp@1.0.16"}));
  ASSERT_EQ((*cont)[0].env.size(), 1u);
  EXPECT_EQ((*cont)[0].env[0].line, 13);
  auto zed = read(".config/zed/settings.json");
  ASSERT_TRUE(zed.ok()) << zed.error().message;
  EXPECT_EQ(names_and_lines(*zed), (std::vector<std::string>{"filesystem:5:npx", "github:13:npx"}));
  EXPECT_EQ((*zed)[0].args.back(), "/home/dev");
  auto codex = read(".codex/config.toml");
  ASSERT_TRUE(codex.ok()) << codex.error().message;
  EXPECT_EQ(names_and_lines(*codex),
            (std::vector<std::string>{"postmark:4:npx", "time:9:uvx", "docs:12:", "git:15:"}));
  EXPECT_EQ((*codex)[0].env[0].key, "POSTMARK_SERVER_TOKEN");
}

TEST(Clients, BrokenYamlAndTomlSayWhere) {
  auto y = read_config_servers(ConfigFormat::yaml, "mcpServers:\n  - name: a\n    command: [x\n");
  ASSERT_FALSE(y.ok());
  EXPECT_EQ(y.error().message.rfind("not valid YAML: line ", 0), 0u) << y.error().message;
  auto t = read_config_servers(ConfigFormat::toml, "[mcp_servers.a]\ncommand = \"npx\nargs = []\n");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().message, "not valid TOML: line 2, column 15: newline in a single-line string");
}

TEST(Clients, ScanHomeReadsEveryClientAtLinuxMacAndWindowsPaths) {
  testing::BundledScanner b;
  ASSERT_TRUE(b.intel_ok);
  ScanReport r;
  b.scanner.scan_home(k_home, r);
  EXPECT_TRUE(r.warnings.empty());
  std::vector<std::string> names;
  for (const auto& x : r.servers) names.push_back(x.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"filesystem", "github", "mac-fetch", "postmark", "postmark", "sqlite",
                                             "time", "time", "win-pm"}));
  sort_findings(r);
  std::vector<std::string> top;
  for (const auto& f : r.findings)
    if (f.severity >= core::Severity::high)
      top.push_back(f.rule + " " + fs::path(f.file).filename().string() + ":" + std::to_string(f.line));
  EXPECT_EQ(top, (std::vector<std::string>{
                     "supply.scan.malicious_version config.yaml:7", "supply.scan.unpinned_package config.toml:4",
                     "supply.scope_confusion config.toml:4", "supply.scan.plaintext_secret config.toml:7",
                     "supply.scan.unpinned_package settings.json:5", "supply.scan.plaintext_secret settings.json:17",
                     "supply.scope_confusion config.yaml:7", "supply.scan.plaintext_secret config.yaml:13",
                     "supply.scope_confusion mcp.json:1"}));
}

void expect_wrapped(ConfigFormat format, const std::string& text, const std::string& name,
                    const std::vector<std::string>& args) {
  auto r = wrap_config(format, text, "/usr/bin/mcp-warden", "");
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto again = read_config_servers(format, r->text);
  ASSERT_TRUE(again.ok()) << again.error().message << "\n" << r->text;
  bool found = false;
  for (const auto& s : *again)
    if (s.name == name) {
      found = true;
      EXPECT_EQ(s.command, "/usr/bin/mcp-warden") << r->text;
      EXPECT_EQ(s.args, args) << r->text;
    }
  EXPECT_TRUE(found) << name;
  auto twice = wrap_config(format, r->text, "/usr/bin/mcp-warden", "");
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->wrapped, 0);
  EXPECT_EQ(twice->text, r->text);
}

TEST(Clients, WrapEditsYamlTomlAndZedInPlace) {
  std::string yaml = testing::slurp_file(k_home + "/.continue/config.yaml");
  expect_wrapped(ConfigFormat::yaml, yaml, "postmark",
                 {"run", "--server", "postmark", "--", "npx", "-y", "postmark-mcp@1.0.16"});
  expect_wrapped(ConfigFormat::yaml, yaml, "sqlite",
                 {"run", "--server", "sqlite", "--", "uvx", "mcp-server-sqlite", "--db-path", "/tmp/x.db"});
  expect_wrapped(ConfigFormat::yaml, testing::slurp_file(k_home + "/.continue/mcpServers/time.yaml"), "time",
                 {"run", "--server", "time", "--", "uvx"});
  auto y = wrap_config(ConfigFormat::yaml, yaml, "/usr/bin/mcp-warden", "");
  ASSERT_TRUE(y.ok());
  EXPECT_NE(y->text.find("# mail for the support agent"), std::string::npos);
  EXPECT_NE(y->text.find("POSTMARK_SERVER_TOKEN: 9f1c2b7e"), std::string::npos);
  std::string toml = testing::slurp_file(k_home + "/.codex/config.toml");
  expect_wrapped(ConfigFormat::toml, toml, "postmark", {"run", "--server", "postmark", "--", "npx", "-y", "postmark-mcp"});
  expect_wrapped(ConfigFormat::toml, toml, "time", {"run", "--server", "time", "--", "uvx"});
  expect_wrapped(ConfigFormat::toml, "mcp_servers.x = { command = \"a\", env = { K = \"v\" } }\n", "x",
                 {"run", "--server", "x", "--", "a"});
  std::string zed = testing::slurp_file(k_home + "/.config/zed/settings.json");
  expect_wrapped(ConfigFormat::json, zed, "filesystem",
                 {"run", "--server", "filesystem", "--", "npx", "-y", "@modelcontextprotocol/server-filesystem", "/home/dev"});
  expect_wrapped(ConfigFormat::json, zed, "github",
                 {"run", "--server", "github", "--", "npx", "-y", "@modelcontextprotocol/server-github@2025.4.8"});
}

#ifdef WARDEN_BINARY
TEST(Clients, CliWrapFindsMacAndWindowsPathsAndUnwrapRestores) {
  fs::path home = fs::temp_directory_path() / ("warden-clients-" + std::to_string(::getpid()));
  fs::remove_all(home);
  fs::copy(k_home, home, fs::copy_options::recursive);
  fs::path mac = home / "Library/Application Support/Claude/claude_desktop_config.json";
  std::string original = testing::slurp_file(mac.string());
  EXPECT_EQ(testing::run_warden("wrap --client claude-desktop --home " + home.string()), 0);
  EXPECT_NE(testing::slurp_file(mac.string()).find("mcp-warden"), std::string::npos);
  EXPECT_EQ(testing::run_warden("unwrap --client claude-desktop --home " + home.string()), 0);
  EXPECT_EQ(testing::slurp_file(mac.string()), original);
  std::string codex = testing::slurp_file((home / ".codex/config.toml").string());
  EXPECT_EQ(testing::run_warden("wrap --client codex --home " + home.string()), 0);
  EXPECT_NE(testing::slurp_file((home / ".codex/config.toml").string()).find("args = [\"run\""), std::string::npos);
  EXPECT_EQ(testing::run_warden("unwrap --client codex --home " + home.string()), 0);
  EXPECT_EQ(testing::slurp_file((home / ".codex/config.toml").string()), codex);
  EXPECT_EQ(testing::run_warden("wrap --client continue --home " + home.string()), 0);
  EXPECT_EQ(testing::run_warden("scan --home " + home.string() + " --fail-on critical"), 1);  // postmark-mcp@1.0.16
  fs::remove_all(home);
}
#endif

}  // namespace
}  // namespace warden::supply
