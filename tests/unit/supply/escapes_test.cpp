#include "warden/supply/escapes.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include "test_util.h"
#include "warden/policy/policy.h"

namespace warden::supply {
namespace {

using core::Severity;

// "rule:severity" of each finding, in order.
std::vector<std::string> rules_of(const std::vector<EscapeFinding>& fs) {
  std::vector<std::string> out;
  for (const auto& f : fs) out.push_back(f.rule + ":" + core::severity_name(f.severity));
  return out;
}

std::vector<std::string> cmd(std::initializer_list<const char*> words) { return {words.begin(), words.end()}; }

TEST(SupplyEscapes, ContainerOptionsThatReachTheHost) {
  EXPECT_EQ(rules_of(command_escapes(cmd({"docker", "run", "-i", "--rm", "--privileged", "img"}))),
            (std::vector<std::string>{"supply.scan.privileged_container:critical"}));
  EXPECT_EQ(rules_of(command_escapes(cmd({"docker", "run", "--network", "host", "img"}))),
            (std::vector<std::string>{"supply.scan.host_network:high"}));
  EXPECT_EQ(rules_of(command_escapes(cmd({"podman", "run", "--net=host", "--pid=host", "img"}))),
            (std::vector<std::string>{"supply.scan.host_network:high", "supply.scan.host_namespace:high"}));
  EXPECT_EQ(rules_of(command_escapes(cmd({"docker", "run", "-v", "/:/host", "img"}))),
            (std::vector<std::string>{"supply.scan.host_mount:critical"}));
  EXPECT_EQ(rules_of(command_escapes(cmd({"docker", "run", "-v", "/:/host:ro", "img"}))),
            (std::vector<std::string>{"supply.scan.host_mount:high"}));  // read-only is one step less
  EXPECT_EQ(rules_of(command_escapes(cmd({"docker", "run", "-v", "/var/run/docker.sock:/var/run/docker.sock:ro", "img"}))),
            (std::vector<std::string>{"supply.scan.host_mount:critical"}));  // a socket is not made safe by ro
  EXPECT_EQ(rules_of(command_escapes(cmd({"docker", "run", "-itv", "~/.ssh:/keys", "img"}))),
            (std::vector<std::string>{"supply.scan.host_mount:high"}));
  EXPECT_EQ(rules_of(command_escapes(cmd({"docker", "run", "--mount", "type=bind,source=/home/ann,target=/h", "img"}))),
            (std::vector<std::string>{"supply.scan.host_mount:high"}));
  EXPECT_EQ(rules_of(command_escapes(cmd({"docker", "run", "--cap-add=SYS_ADMIN", "--cap-add", "net_bind_service", "img"}))),
            (std::vector<std::string>{"supply.scan.added_capability:high", "supply.scan.added_capability:medium"}));
  EXPECT_EQ(rules_of(command_escapes(cmd({"docker", "--context", "prod", "container", "run",
                                          "--security-opt", "seccomp=unconfined", "--device", "/dev/kvm", "img"}))),
            (std::vector<std::string>{"supply.scan.unconfined_container:high", "supply.scan.host_device:medium"}));
}

TEST(SupplyEscapes, ContainerHardNegatives) {
  // Flags after the image belong to the server inside; a value that looks like a flag is a value.
  EXPECT_TRUE(command_escapes(cmd({"docker", "run", "-i", "img", "--privileged", "--network", "host"})).empty());
  EXPECT_TRUE(command_escapes(cmd({"docker", "run", "-e", "--privileged", "img"})).empty());
  EXPECT_TRUE(command_escapes(cmd({"docker", "run", "--name", "-v", "img", "-v", "/:/host"})).empty());
  // Ordinary mounts, named volumes, other networks, dropped capabilities, explicit false.
  EXPECT_TRUE(command_escapes(cmd({"docker", "run", "-v", "./data:/data", "-v", "/home/ann/projects/site:/site",
                                   "-v", "cache:/cache", "-v", "/tmp/x:/x", "--network", "bridge", "--cap-drop", "ALL",
                                   "--privileged=false", "--pid", "container:db", "img"}))
                  .empty());
  EXPECT_TRUE(command_escapes(cmd({"docker", "run", "--mount", "type=volume,source=/,target=/v", "img"})).empty());
  EXPECT_TRUE(command_escapes(cmd({"docker", "pull", "--privileged"})).empty());  // not a run
  EXPECT_TRUE(command_escapes(cmd({"npx", "-y", "docker-mcp", "run", "--privileged"})).empty());
}

TEST(SupplyEscapes, PrivilegeWrappers) {
  EXPECT_EQ(rules_of(command_escapes(cmd({"sudo", "-E", "node", "server.js"}))),
            (std::vector<std::string>{"supply.scan.runs_as_root:high"}));
  EXPECT_EQ(rules_of(command_escapes(cmd({"/usr/bin/sudo", "-u", "mcp", "node", "server.js"}))),
            (std::vector<std::string>{"supply.scan.runs_as_root:medium"}));  // another user, not root
  // Looked through: env, sudo, and a shell's -c script, to the docker options behind them.
  EXPECT_EQ(rules_of(command_escapes(cmd({"env", "A=1", "sudo", "docker", "run", "--privileged", "img"}))),
            (std::vector<std::string>{"supply.scan.runs_as_root:high", "supply.scan.privileged_container:critical"}));
  EXPECT_EQ(rules_of(command_escapes(cmd({"bash", "-c", "docker run -i --network host img"}))),
            (std::vector<std::string>{"supply.scan.host_network:high"}));
  EXPECT_EQ(rules_of(command_escapes(cmd({"su", "-c", "node server.js"}))),
            (std::vector<std::string>{"supply.scan.runs_as_root:high"}));
  // Hard negatives: the word in an argument, a package called sudo-something, a plain shell.
  EXPECT_TRUE(command_escapes(cmd({"npx", "-y", "mcp-sudo-helper", "sudo"})).empty());
  EXPECT_TRUE(command_escapes(cmd({"node", "sudo.js"})).empty());
  EXPECT_TRUE(command_escapes(cmd({"bash", "-c", "echo sudo --privileged"})).empty());
  EXPECT_TRUE(command_escapes(cmd({"su"})).empty());
}

TEST(SupplyEscapes, WrapperMode) {
  auto run = warden_run_args(cmd({"mcp-warden", "run", "--policy=p.yaml", "--server", "s", "--mode", "monitor", "--",
                                  "node", "--mode", "enforce"}));
  EXPECT_EQ(run.policy, "p.yaml");
  EXPECT_EQ(run.server, "s");
  EXPECT_EQ(run.mode, "monitor");
  EXPECT_EQ(rules_of(wrapper_escapes(run)), (std::vector<std::string>{"supply.scan.monitor_mode:medium"}));
  // The server's own --mode after `--` is not the warden's.
  auto inner = warden_run_args(cmd({"mcp-warden", "run", "--", "node", "s.js", "--mode", "monitor"}));
  EXPECT_TRUE(wrapper_escapes(inner).empty());
  EXPECT_TRUE(wrapper_escapes(warden_run_args(cmd({"mcp-warden", "run", "--mode=enforce", "--", "x"}))).empty());
}

TEST(SupplyEscapes, PolicySandbox) {
  auto pol = policy::load_policy_string(R"(version: 1
mode: monitor
servers:
  open:
    command: [node, a.js]
    sandbox:
      network: host
      fs: {write: ["~/", /tmp, ~/.ssh, /]}
  advisory:
    command: [node, b.js]
    sandbox: {network: proxy-env}
  tight:
    command: [node, c.js]
    sandbox:
      network: transparent
      fs: {write: [/tmp, ./out, ~/projects/site, /home/ann/work]}
)", "p.yaml");
  EXPECT_EQ(rules_of(policy_escapes(*pol, *pol->find_server("open"), "/home/ann")),
            (std::vector<std::string>{"supply.scan.monitor_mode:medium", "supply.scan.host_network:high",
                                      "supply.scan.sandbox_fs_write:high", "supply.scan.sandbox_fs_write:high",
                                      "supply.scan.sandbox_fs_write:high"}));
  EXPECT_EQ(rules_of(policy_escapes(*pol, *pol->find_server("advisory"), "/home/ann")),
            (std::vector<std::string>{"supply.scan.monitor_mode:medium", "supply.scan.advisory_network:low"}));
  auto enforce = policy::load_policy_string(R"(version: 1
servers:
  tight:
    command: [node, c.js]
    sandbox:
      network: transparent
      fs: {write: [/tmp, ./out, ~/projects/site, /home/ann/work]}
  none:
    command: [node, d.js]
    sandbox: {network: none}
)", "q.yaml");
  EXPECT_TRUE(policy_escapes(*enforce, *enforce->find_server("tight"), "/home/ann").empty());
  EXPECT_TRUE(policy_escapes(*enforce, *enforce->find_server("none"), "/home/ann").empty());
}

TEST(SupplyEscapes, ScanReportsThemAtTheEntryAndThePolicyLine) {
  testing::BundledScanner b;
  ASSERT_TRUE(b.intel_ok);
  b.scanner.set_home("/home/ann");
  ScanReport r;
  const std::string dir = std::string(WARDEN_SOURCE_DIR) + "/tests/fixtures/scan/escapes/";
  b.scanner.scan_path(dir + "mcp.json", r);
  EXPECT_TRUE(r.warnings.empty()) << r.warnings[0];
  std::vector<std::string> got;
  for (const auto& f : r.findings)
    if (f.rule != "supply.scan.not_guarded" && f.rule != "supply.scan.unpinned_package")
      got.push_back(f.rule + "@" + f.file.substr(dir.size()) + ":" + std::to_string(f.line));
  EXPECT_EQ(got, (std::vector<std::string>{
                     "supply.scan.privileged_container@mcp.json:3", "supply.scan.host_network@mcp.json:3",
                     "supply.scan.host_mount@mcp.json:3", "supply.scan.runs_as_root@mcp.json:11",
                     "supply.scan.monitor_mode@mcp.json:15", "supply.scan.host_network@loose.yaml:3",
                     "supply.scan.sandbox_fs_write@loose.yaml:3"}));
  for (const auto& f : r.findings)
    if (f.file.ends_with("loose.yaml")) {
      EXPECT_NE(f.message.find("server 'loose-policy'"), std::string::npos) << f.message;
      EXPECT_NE(f.message.find("mcp.json:19"), std::string::npos) << f.message;
    }
}

TEST(SupplyEscapes, AMissingPolicyIsAWarning) {
  testing::BundledScanner b;
  ScanReport r;
  b.scanner.scan_text("cfg/mcp.json", "cfg/mcp.json",
                      R"({"mcpServers":{"x":{"command":"mcp-warden","args":["run","--policy","/nonexistent/p.yaml","--","node","a.js"]}}})",
                      r);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("/nonexistent/p.yaml"), std::string::npos) << r.warnings[0];
  EXPECT_EQ(r.servers.size(), 1u);
}

TEST(SupplyEscapes, SarifNamesTheRuleAndTheEntryLine) {
  std::string out;
  const std::string cfg = std::string(WARDEN_SOURCE_DIR) + "/tests/fixtures/scan/escapes/mcp.json";
  EXPECT_EQ(testing::run_warden("scan " + cfg + " --format sarif", &out), 1);
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  ASSERT_EQ(p.parse(out).get(doc), simdjson::SUCCESS) << out;
  simdjson::dom::array results;
  ASSERT_EQ(doc["runs"].at(0)["results"].get_array().get(results), simdjson::SUCCESS);
  bool privileged = false;
  for (auto res : results) {
    std::string_view rule, uri;
    int64_t line = 0;
    if (res["ruleId"].get_string().get(rule) != simdjson::SUCCESS || rule != "supply.scan.privileged_container") continue;
    auto loc = res["locations"].at(0)["physicalLocation"];
    ASSERT_EQ(loc["artifactLocation"]["uri"].get_string().get(uri), simdjson::SUCCESS);
    ASSERT_EQ(loc["region"]["startLine"].get_int64().get(line), simdjson::SUCCESS);
    EXPECT_TRUE(uri.ends_with("escapes/mcp.json")) << uri;
    EXPECT_EQ(line, 3);
    privileged = true;
  }
  EXPECT_TRUE(privileged) << out;
}

}  // namespace
}  // namespace warden::supply
