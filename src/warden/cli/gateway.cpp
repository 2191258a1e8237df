// `mcp-warden gateway --config FILE`: the Streamable HTTP gateway (transport/http_gateway.h).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "warden/alert/alerter.h"
#include "warden/audit/audit_log.h"
#include "warden/cli/cli.h"
#include "warden/cli/commands.h"
#include "warden/detect/metadata_scanner.h"
#include "warden/detect/pin_store.h"
#include "warden/supply/registry.h"
#include "warden/supply/resolve.h"
#include "warden/transport/http_gateway.h"

namespace warden::cli {

namespace {

struct GatewayOptions {
  std::vector<std::string> servers;
  std::string config, audit, mode, listen, state_dir, admin, registry;
  int upstream_timeout_ms = 300000;
  int approval_timeout_s = 120;
  int connection_idle_timeout_s = 60;
  int session_idle_timeout_s = 1800;
};

int gateway(const GatewayOptions& o) {
  std::shared_ptr<const policy::Policy> pol;
  try {
    pol = policy::load_policy_file(o.config);
  } catch (const policy::LoadError& e) {
    std::cerr << "mcp-warden: " << e.what() << "\n";
    return k_exit_usage;
  }
  // Every server entry with a `command` or a `url` (or those named with --server), in policy order.
  std::vector<const policy::ServerPolicy*> servers;
  for (const auto& name : o.servers) {
    const policy::ServerPolicy* sp = pol->find_server(name);
    if (!sp || (sp->command.empty() && sp->url.empty())) {
      std::cerr << fmt::format("mcp-warden: {}: no server entry '{}' with a `command` or `url`\n", o.config, name);
      return k_exit_usage;
    }
    servers.push_back(sp);
  }
  if (o.servers.empty())
    for (const auto& s : pol->servers())
      if (!s.command.empty() || !s.url.empty()) servers.push_back(&s);
  if (servers.empty()) {
    std::cerr << fmt::format("mcp-warden: {}: the gateway needs a server entry with a `command` or a `url`\n", o.config);
    return k_exit_usage;
  }
  // require_approval: true -> each such server's package must be approved in the registry.
  for (const auto* sp : servers)
    if (sp->require_registry_approval)
      if (auto st = supply::check_approved(sp->name, sp->command, o.registry); !st.ok()) {
        std::cerr << "mcp-warden: " << st.error().message << "\n";
        return k_exit_usage;
      }
  for (const auto& line : pol->not_enforced())
    if (line.rfind("gateway", 0) != 0 && line.rfind("agents", 0) != 0)
      std::cerr << "mcp-warden: warning: " << line << "\n";
  policy::GatewayConfig gc = pol->gateway().value_or(policy::GatewayConfig{});

  std::optional<policy::Mode> mode_override;
  if (o.mode == "monitor") mode_override = policy::Mode::monitor;
  else if (o.mode == "enforce") mode_override = policy::Mode::enforce;

  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&mask, s);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const auto& clock = util::SystemClock::instance();
  std::string audit_path = o.audit.empty() ? pol->audit().path : o.audit;
  auto log = audit::AuditLog::open(audit_path, pol->audit().fsync, clock);
  if (!log) {
    std::cerr << "mcp-warden: " << log.error().message << "\n";
    return k_exit_usage;
  }
  auto alerter = alert::Alerter::from_config(pol->alerts());

  // Runtime detectors and definition pins, shared by every session (docs/detectors.md).
  auto scanner = detect::MetadataScanner::with_default_rules();
  if (!scanner) {
    std::cerr << "mcp-warden: " << scanner.error().message << "\n";
    return k_exit_usage;
  }
  std::unique_ptr<detect::PinStore> pins;
  bool any_pins = false;
  for (const auto* sp : servers) any_pins |= sp->pins != policy::PinMode::off;
  if (any_pins) {
    auto store = detect::PinStore::open_for_runtime(o.state_dir);
    if (!store) {
      std::cerr << "mcp-warden: " << store.error().message << "\n";
      return k_exit_usage;
    }
    pins = std::move(*store);
  }

  transport::HttpGatewayOptions ho;
  ho.scanner = std::make_shared<const detect::MetadataScanner>(std::move(*scanner));
  ho.pins = pins.get();
  ho.listen = o.listen.empty() ? gc.listen : o.listen;
  ho.path = gc.path;
  ho.policy = pol;
  ho.servers = servers;
  ho.namespacing = gc.namespacing;
  ho.share_upstreams = gc.upstreams == policy::GatewayConfig::Upstreams::shared;
  ho.mode_override = mode_override;
  ho.state_dir = o.state_dir;
  ho.audit_path = audit_path;
  ho.audit = log->get();
  ho.alerter = alerter.get();
  ho.clock = &clock;
  ho.upstream_timeout_ms = o.upstream_timeout_ms;
  ho.approval_timeout_s = o.approval_timeout_s;
  ho.connection_idle_timeout_s = o.connection_idle_timeout_s;
  ho.session_idle_timeout_s = o.session_idle_timeout_s;
  ho.policy_path = o.config;
  ho.tls = gc.tls;
  ho.admin_listen = !o.admin.empty() ? o.admin : pol->gateway() ? gc.admin : "";
  std::string token_note;
  if (!ho.admin_listen.empty()) {
    if (const char* t = std::getenv("MCP_WARDEN_ADMIN_TOKEN"); t && *t) {
      ho.admin_token = t;
      token_note = "from MCP_WARDEN_ADMIN_TOKEN";
    } else {
      std::random_device rd;
      ho.admin_token = fmt::format("{:08x}{:08x}{:08x}{:08x}", rd(), rd(), rd(), rd());
      std::string dir = o.state_dir.empty() ? supply::default_state_dir() : o.state_dir;
      std::filesystem::create_directories(dir);
      std::string file = dir + "/admin-token";
      int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd < 0 || ::write(fd, ho.admin_token.data(), ho.admin_token.size()) != static_cast<ssize_t>(ho.admin_token.size())) {
        std::cerr << "mcp-warden: cannot write the admin token to " << file << "; set MCP_WARDEN_ADMIN_TOKEN\n";
        if (fd >= 0) ::close(fd);
        return k_exit_usage;
      }
      ::close(fd);
      token_note = "in " + file;
    }
  }
  // No `agents:` means no authentication, which is only acceptable on loopback.
  std::string listen_host = ho.listen.substr(0, ho.listen.rfind(':'));
  bool loopback = listen_host == "127.0.0.1" || listen_host == "localhost" || listen_host == "[::1]" || listen_host == "::1";
  if (pol->agents().empty() && !loopback) {
    std::cerr << fmt::format("mcp-warden: refusing to listen on {} without authentication: add an `agents:` "
                             "section (api_key_sha256, jwt or mtls identities), or listen on 127.0.0.1\n", ho.listen);
    return k_exit_usage;
  }
  transport::HttpGateway gw(ho);
  if (auto st = gw.listen(); !st.ok()) {
    std::cerr << "mcp-warden: " << st.error().message << "\n";
    return k_exit_usage;
  }
  auto host = ho.listen.substr(0, ho.listen.rfind(':'));
  std::string names;
  for (const auto* sp : servers) names += (names.empty() ? "'" : ", '") + sp->name + "'";
  std::cerr << fmt::format("mcp-warden gateway: listening on {}://{}:{}{} (server{} {}{}, audit {})\n",
                           ho.tls ? "https" : "http", host, gw.port(), ho.path, servers.size() > 1 ? "s" : "", names,
                           servers.size() > 1 || gc.namespacing == policy::Namespacing::always
                               ? gc.namespacing == policy::Namespacing::never ? ", names as the servers give them"
                                                                               : ", names as SERVER__NAME"
                               : "",
                           audit_path)
            << std::flush;
  if (gw.admin_port())
    std::cerr << fmt::format("mcp-warden gateway: admin API on http://{}:{} (token {})\n",
                             ho.admin_listen.substr(0, ho.admin_listen.rfind(':')), gw.admin_port(), token_note)
              << std::flush;
  std::thread signals([&] {
    int sig = 0;
    while (sigwait(&mask, &sig) == 0) {
      if (sig == SIGHUP) gw.reload();  // atomic: a broken policy keeps the old one
      if (sig == SIGINT || sig == SIGTERM) break;
    }
    gw.stop();
  });
  gw.run();
  pthread_kill(signals.native_handle(), SIGTERM);
  signals.join();
  (void)(*log)->close();
  if (alerter) alerter->shutdown();
  auto st = gw.stats();
  std::cerr << fmt::format("mcp-warden gateway: stopped ({} sessions, {} HTTP requests, {} rejected)\n",
                           st.sessions_opened, st.http_requests, st.rejected);
  return k_exit_ok;
}

}  // namespace

Command add_gateway_command(CLI::App& root) {
  auto opts = std::make_shared<GatewayOptions>();
  auto* app = root.add_subcommand("gateway", "Serve MCP over Streamable HTTP, each session's servers sandboxed and guarded");
  app->add_option("--config", opts->config, "Policy file with the server entry (and optionally a gateway: section)")
      ->required()
      ->check(CLI::ExistingFile);
  app->add_option("--server", opts->servers, "Server entry to serve; repeat for several (default: every entry with a command)");
  app->add_option("--audit", opts->audit, "Audit log path (overrides the policy's audit.path)");
  app->add_option("--mode", opts->mode, "enforce | monitor")->check(CLI::IsMember({"enforce", "monitor"}));
  app->add_option("--listen", opts->listen, "HOST:PORT (overrides gateway.listen; port 0: any free port)");
  app->add_option("--registry", opts->registry, "Approval registry for require_approval (default: $XDG_STATE_HOME/mcp-warden/registry.sqlite)");
  app->add_option("--state-dir", opts->state_dir, "Where the egress CA and the admin token live");
  app->add_option("--admin", opts->admin, "Admin API HOST:PORT (overrides gateway.admin; default: none without a gateway: section)");
  app->add_option("--upstream-timeout-ms", opts->upstream_timeout_ms, "How long a request may wait for its answer (default 300000)")
      ->check(CLI::Range(100, 3600000));
  app->add_option("--approval-timeout-s", opts->approval_timeout_s,
                  "How long a call under `action: approve` waits for a person before it is denied (default 120)")
      ->check(CLI::Range(1, 86400));
  app->add_option("--connection-idle-timeout-s", opts->connection_idle_timeout_s,
                  "Close a connection whose next request has not fully arrived after this long (default 60)")
      ->check(CLI::Range(1, 86400));
  app->add_option("--session-idle-timeout-s", opts->session_idle_timeout_s,
                  "End a session (and stop its servers) after this long without a request or an open stream (default 1800)")
      ->check(CLI::Range(5, 604800));
  return {app, [opts](const std::vector<std::string>&) { return gateway(*opts); }};
}

}  // namespace warden::cli
