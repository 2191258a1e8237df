// `mcp-warden run`: the stdio gateway. Spawns the server, relays both directions through the
// filter chain, audits every message, and exits with the server's status.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <iostream>
#include <random>

#include <fmt/format.h>

#include "warden/alert/alerter.h"
#include "warden/audit/audit_log.h"
#include "warden/cli/cli.h"
#include "warden/cli/commands.h"
#include "warden/audit/forensics.h"
#include "warden/detect/metadata_scanner.h"
#include "warden/detect/pin_store.h"
#include "warden/gateway/chain.h"
#include "warden/gateway/upstream.h"
#include "warden/gateway/processor.h"
#include "warden/policy/policy.h"
#include "warden/supply/registry.h"
#include "warden/supply/resolve.h"
#include "warden/transport/stdio_relay.h"
#include "warden/util/clock.h"
#include "warden/util/fd.h"
#include "warden/util/json_writer.h"

namespace warden::cli {

namespace {

struct RunOptions {
  std::string policy_path;
  std::string server_name;
  std::string audit_path;
  std::string mode;
  size_t max_message_bytes = 16u << 20;
  int grace_ms = 3000;
  int spin_us = 50;
  std::string registry;
  std::string state_dir;
  std::string forensics_dir;
};

std::string random_session_id() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}", rd(), rd());
}

int run(const RunOptions& o, const std::vector<std::string>& command) {
  if (command.empty()) {
    std::cerr << "mcp-warden: run needs the server command after --, e.g. "
                 "mcp-warden run --policy p.yaml -- npx -y @modelcontextprotocol/server-everything\n";
    return k_exit_usage;
  }
  std::shared_ptr<const policy::Policy> pol;
  try {
    pol = o.policy_path.empty() ? policy::Policy::default_policy()
                                : policy::load_policy_file(o.policy_path);
  } catch (const policy::LoadError& e) {
    std::cerr << "mcp-warden: " << e.what() << "\n";
    return k_exit_usage;
  }
  const policy::ServerPolicy* server = pol->select_server(o.server_name, command);
  if (!server) {
    std::cerr << fmt::format("mcp-warden: no server entry '{}' in {} (add it under servers:, or "
                             "drop --server to use the entry whose command matches)\n",
                             o.server_name, o.policy_path);
    return k_exit_usage;
  }
  // require_approval: true -> the package behind the command must be approved in the registry.
  if (server->require_registry_approval) {
    if (auto st = supply::check_approved(server->name, command, o.registry); !st.ok()) {
      std::cerr << "mcp-warden: " << st.error().message << "\n";
      return k_exit_usage;
    }
  }
  if (!server->url.empty() && server->command.empty())
    std::cerr << fmt::format("mcp-warden: warning: server '{}' is a remote upstream (url:), which `mcp-warden "
                             "gateway` serves; `run` starts the command given on its command line\n",
                             server->name);
  std::optional<policy::Mode> mode_override;
  if (o.mode == "monitor") mode_override = policy::Mode::monitor;
  else if (o.mode == "enforce") mode_override = policy::Mode::enforce;
  policy::Mode mode = mode_override.value_or(pol->mode());

  for (const auto& line : pol->not_enforced())
    std::cerr << "mcp-warden: warning: " << line << "\n";
  if (mode == policy::Mode::monitor)
    std::cerr << "mcp-warden: monitor mode: policy violations are recorded, not blocked\n";

  // Signals arrive through a signalfd; block them before any thread starts.
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&mask, s);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGXFSZ, SIG_IGN);  // a full or capped disk shows up as a failed write, handled below
  util::UniqueFd sigfd(signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));

  const auto& clock = util::SystemClock::instance();
  std::string audit_path = o.audit_path.empty() ? pol->audit().path : o.audit_path;
  audit::FsyncMode fsync = pol->audit().fsync == policy::FsyncMode::always ? audit::FsyncMode::always
                           : pol->audit().fsync == policy::FsyncMode::never ? audit::FsyncMode::never
                                                                             : audit::FsyncMode::batch;
  auto log = audit::AuditLog::open(audit_path, fsync, clock);
  if (!log) {
    std::cerr << "mcp-warden: " << log.error().message << "\n";
    return k_exit_usage;
  }
  auto alerter = alert::Alerter::from_config(pol->alerts());

  const std::string session_id = random_session_id();
  gateway::UpstreamOptions uo;
  uo.session = session_id;
  uo.monitor = mode == policy::Mode::monitor;
  uo.state_dir = o.state_dir;
  uo.audit_path = audit_path;
  uo.audit = log->get();
  uo.alerter = alerter.get();
  uo.clock = &clock;
  auto upstream = gateway::Upstream::start(*server, command, uo);
  if (!upstream) {
    std::cerr << "mcp-warden: " << upstream.error().message << "\n";
    return k_exit_usage;
  }
  gateway::Upstream& up = **upstream;

  // Runtime detectors and definition pins (docs/detectors.md): a store that cannot be opened
  // stops the run rather than letting definitions pass unpinned.
  auto scanner = detect::MetadataScanner::with_default_rules();
  if (!scanner) {
    std::cerr << "mcp-warden: " << scanner.error().message << "\n";
    return k_exit_usage;
  }
  std::unique_ptr<detect::PinStore> pins;
  if (server->pins != policy::PinMode::off) {
    auto store = detect::PinStore::open_for_runtime(o.state_dir);
    if (!store) {
      std::cerr << "mcp-warden: " << store.error().message << "\n";
      return k_exit_usage;
    }
    pins = std::move(*store);
  }
  for (const auto& w : up.warnings()) std::cerr << "mcp-warden: WARNING: " << w << "\n";

  gateway::Session session(server->name, session_id);
  gateway::FilterChain chain;
  gateway::ChainOptions co;
  co.policy = pol;
  co.server = server;
  co.clock = &clock;
  co.mode_override = mode_override;
  co.scanner = std::make_shared<const detect::MetadataScanner>(std::move(*scanner));
  co.pins = pins.get();
  co.board = &up.board();
  gateway::BreakerFilter* breaker = gateway::build_standard_chain(chain, co).breaker;
  codec::Limits limits;
  limits.max_message_bytes = o.max_message_bytes;
  gateway::Processor processor(session, chain, log->get(), alerter.get(), clock, limits);

  const int64_t started_us = clock.now_unix_us();
  std::string start;
  {
    util::JsonWriter w(start);
    w.begin_object();
    w.key("command").begin_array();
    for (const auto& a : command) w.string(a);
    w.end_array();
    w.key("pid").integer(up.child().pid());
    w.key("policy").string(o.policy_path.empty() ? "(built-in default)" : o.policy_path);
    w.key("mode").string(mode == policy::Mode::monitor ? "monitor" : "enforce");
    w.key("version").string(WARDEN_VERSION);
    w.key("sandbox").raw(up.describe_json());
    w.end_object();
  }
  std::vector<core::Finding> start_findings;
  for (const auto& warn : up.warnings())
    start_findings.push_back({"sandbox.weaker_than_asked", core::Severity::medium, warn, {}});
  processor.lifecycle("start", start, start_findings);

  transport::RelayOptions ro;
  ro.grace_ms = o.grace_ms;
  ro.spin_us = o.spin_us;
  ro.max_message_bytes = o.max_message_bytes;
  std::optional<egress::QuarantineEvent> incident;
  int64_t quarantined_us = 0;
  if (up.guard()) {
    ro.quarantine_fd = up.guard()->quarantine_fd();
    ro.on_quarantine = [&] {
      incident = up.guard()->quarantine();
      quarantined_us = clock.now_unix_us();
      std::string reason = incident ? incident->reason : "egress finding";
      breaker->trip(reason, incident ? incident->audit_seq : 0);
      std::string detail;
      util::JsonWriter w(detail);
      w.begin_object().key("reason").string(reason);
      if (incident) w.key("detector").string(incident->detector).key("audit_seq").integer(static_cast<int64_t>(incident->audit_seq));
      w.end_object();
      processor.lifecycle("quarantine", detail);
      std::cerr << "mcp-warden: QUARANTINED server '" << server->name << "': " << reason
                << " (audit seq " << (incident ? incident->audit_seq : 0)
                << "); the server is stopped and every later call is refused\n";
      return "was " + breaker->describe();
    };
  }
  audit::AuditLog* audit_log = log->get();
  // Records of one input chunk are written in one write(2), before that chunk's output leaves.
  audit_log->begin_batch();
  transport::StdioRelay relay(
      processor, up.child(), ro,
      [audit_log] {
        auto st = audit_log->end_batch();
        audit_log->begin_batch();
        if (st.ok()) return true;
        std::cerr << "mcp-warden: audit log write failed: " << st.error().message
                  << "; stopping the server (fail closed: no unaudited traffic)\n";
        return false;
      },
      [audit_log] { audit_log->tick(); });
  int status = relay.run(STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, sigfd.get());
  if (relay.failed_closed()) status = k_exit_usage;
  if (relay.quarantined()) {
    status = k_exit_quarantined;
    audit::Incident inc;
    inc.server = server->name;
    inc.session = session_id;
    inc.command = command;
    inc.audit_path = audit_path;
    inc.started_us = started_us;
    inc.quarantined_us = quarantined_us;
    inc.sandbox_json = up.describe_json();
    if (incident) {
      inc.detector = incident->detector;
      inc.reason = incident->reason;
      inc.evidence = incident->evidence;
      inc.host = incident->host;
      inc.request = incident->request;
      inc.audit_seq = incident->audit_seq;
    }
    if (auto pkg = supply::resolve_package(command)) {
      inc.package_name = pkg->name;
      inc.package_version = pkg->version;
      inc.package_from = pkg->how;
    }
    (void)audit_log->end_batch();
    audit_log->begin_batch();
    std::string root = o.forensics_dir.empty() ? audit_path + ".forensics" : o.forensics_dir;
    if (auto dir = audit::write_forensic_bundle(root, inc))
      std::cerr << "mcp-warden: forensic bundle: " << *dir << "\n";
    else
      std::cerr << "mcp-warden: cannot write the forensic bundle: " << dir.error().message << "\n";
  }

  processor.lifecycle("stop", fmt::format(R"({{"exit_status":{},"forwarded":{},"blocked":{},"invalid":{}}})",
                                          status, processor.stats().forwarded,
                                          processor.stats().blocked, processor.stats().invalid));
  (void)audit_log->end_batch();
  (void)audit_log->close();
  if (alerter) alerter->shutdown();
  return status;
}

}  // namespace

Command add_run_command(CLI::App& root) {
  auto opts = std::make_shared<RunOptions>();
  auto* app = root.add_subcommand(
      "run", "Run a stdio MCP server under guard: mcp-warden run [options] -- CMD [ARGS...]");
  app->add_option("--policy", opts->policy_path, "Policy file (YAML, version 1); default: built-in safe policy")
      ->check(CLI::ExistingFile);
  app->add_option("--server", opts->server_name, "Server entry in the policy (default: the entry whose command matches, else 'default')");
  app->add_option("--audit", opts->audit_path, "Audit log path (overrides the policy's audit.path)");
  app->add_option("--mode", opts->mode, "enforce | monitor (overrides the policy's mode)")
      ->check(CLI::IsMember({"enforce", "monitor"}));
  app->add_option("--max-message-bytes", opts->max_message_bytes, "Largest accepted JSON-RPC message (default 16 MiB)")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30));
  app->add_option("--grace-ms", opts->grace_ms, "Grace period before SIGTERM and before SIGKILL at shutdown (default 3000)")
      ->check(CLI::Range(0, 600000));
  app->add_option("--registry", opts->registry, "Approval registry for require_approval (default: $XDG_STATE_HOME/mcp-warden/registry.sqlite)");
  app->add_option("--state-dir", opts->state_dir, "Where the egress CA and the definition pins (pins.sqlite) live (default: $MCP_WARDEN_STATE_DIR, else $XDG_STATE_HOME/mcp-warden)");
  app->add_option("--forensics-dir", opts->forensics_dir, "Where a quarantine writes its forensic bundle (default: AUDIT.forensics/)");
  app->add_option("--spin-us", opts->spin_us, "Busy-poll this long after traffic before sleeping; lower latency for a little CPU (default 50, 0: off)")
      ->check(CLI::Range(0, 10000));
  return {app, [opts](const std::vector<std::string>& rest) { return run(*opts, rest); }};
}

}  // namespace warden::cli
