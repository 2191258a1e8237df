#include "warden/gateway/upstream.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include <fmt/format.h>

#include "warden/supply/registry.h"
#include "warden/util/json_writer.h"

namespace warden::gateway {

namespace fs = std::filesystem;

namespace {

std::string home_dir();

// `~/x` is under $HOME; relative paths are under the current directory.
std::string absolute(const std::string& p) {
  std::error_code ec;
  if (p == "~" || p.rfind("~/", 0) == 0) return absolute(home_dir() + p.substr(1));
  fs::path a = fs::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}

std::string home_dir() {
  const char* h = std::getenv("HOME");
  return h && *h ? h : "/root";
}

sandbox::Network network_of(policy::NetworkMode m) {
  switch (m) {
    case policy::NetworkMode::proxy_env: return sandbox::Network::proxy_env;
    case policy::NetworkMode::none: return sandbox::Network::none;
    case policy::NetworkMode::host: return sandbox::Network::host;
    default: return sandbox::Network::transparent;
  }
}

}  // namespace

Result<std::unique_ptr<Upstream>> Upstream::start(const policy::ServerPolicy& server,
                                                  const std::vector<std::string>& command,
                                                  const UpstreamOptions& o) {
  std::unique_ptr<Upstream> up(new Upstream());
  // A private run directory: resolv.conf, the CA bundle, and the server's temp dir.
  char tmpl[] = "/tmp/mcp-warden-run.XXXXXX";
  if (!::mkdtemp(tmpl)) return Error{2, fmt::format("cannot create a run directory: {}", std::strerror(errno))};
  up->m_run_dir = tmpl;
  fs::create_directories(up->m_run_dir + "/tmp");

  policy::SandboxConfig sb = server.sandbox.value_or(policy::SandboxConfig{});
  std::vector<policy::EgressRule> rules = server.egress.value_or(std::vector<policy::EgressRule>{});

  sandbox::Spec spec;
  spec.network = network_of(sb.network);
  spec.read_everywhere = !sb.fs_read.has_value();
  if (sb.fs_read)
    for (const auto& p : *sb.fs_read) spec.read.push_back(absolute(p));
  if (sb.fs_write)
    for (const auto& p : *sb.fs_write) spec.write.push_back(absolute(p));
  spec.write.push_back(up->m_run_dir + "/tmp");
  if (!spec.read_everywhere) spec.read.push_back(up->m_run_dir);  // the CA bundle, resolv.conf
  std::string state_dir = o.state_dir.empty() ? supply::default_state_dir() : o.state_dir;
  spec.deny = sandbox::default_denied_paths(home_dir(), {absolute(state_dir)});
  if (!o.audit_path.empty()) {
    spec.deny.push_back(absolute(o.audit_path));
    spec.deny.push_back(absolute(o.audit_path) + ".head");
  }
  spec.memory_mb = sb.memory_mb;
  spec.processes = sb.processes;
  spec.open_files = sb.open_files;
  for (const auto& r : rules)
    if (std::find(spec.tcp_ports.begin(), spec.tcp_ports.end(), r.port) == spec.tcp_ports.end())
      spec.tcp_ports.push_back(r.port);

  // Environment: the policy's env, placeholders for brokered secrets (the real values are removed),
  // the temp dir, and the CA for clients that verify TLS.
  egress::GuardConfig gc;
  gc.server = server.name;
  gc.session = o.session;
  gc.rules = rules;
  gc.quarantine_at = server.quarantine_at;
  gc.monitor = o.monitor || o.sink;
  gc.sink = o.sink;
  for (const auto& [k, v] : server.env) {
    spec.env.push_back(k + "=" + v);
    up->m_board.allow_always(v);
  }
  for (const auto& [name, ref] : server.secrets) {
    const char* real = std::getenv(ref.from_env.c_str());
    if (!real || !*real)
      return Error{2, fmt::format("secret {} of server '{}' comes from the environment variable {}, "
                                  "which is not set; export it before starting the warden",
                                  name, server.name, ref.from_env)};
    std::string ph = egress::make_placeholder(name);
    gc.secrets[name] = real;
    gc.placeholders[name] = ph;
    spec.env.push_back(name + "=" + ph);
    spec.unset.push_back(ref.from_env);
    up->m_brokered.push_back(name);
  }
  if (!server.secrets.empty()) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);  // no same-uid peeking
  spec.env.push_back("TMPDIR=" + up->m_run_dir + "/tmp");

  bool inspect = o.sink || std::any_of(rules.begin(), rules.end(), [](const auto& r) { return r.inspect; });
  if (inspect && spec.network != sandbox::Network::host && spec.network != sandbox::Network::none) {
    // The HTTP gateway starts servers on several threads; the first creates the CA, the others load it.
    static std::mutex ca_mu;
    std::unique_lock ca_lock(ca_mu);
    auto ca = egress::CertificateAuthority::load_or_create(state_dir + "/ca");
    ca_lock.unlock();
    if (!ca) return ca.error();
    up->m_ca = std::move(*ca);
    std::string ca_pem = up->m_run_dir + "/ca.pem", bundle = up->m_run_dir + "/bundle.pem";
    std::ofstream(ca_pem) << up->m_ca->cert_pem();
    {
      std::ofstream b(bundle);
      std::string sys = egress::CertificateAuthority::system_bundle_path();
      if (!sys.empty()) b << std::ifstream(sys).rdbuf() << "\n";
      b << up->m_ca->cert_pem();
    }
    for (const char* var : {"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"})
      spec.env.push_back(std::string(var) + "=" + bundle);
    spec.env.push_back("NODE_EXTRA_CA_CERTS=" + ca_pem);
    if (std::string sys = egress::CertificateAuthority::system_bundle_path(); !sys.empty())
      spec.binds.emplace_back(bundle, sys);
  }
  if (spec.network == sandbox::Network::transparent) {
    std::ofstream(up->m_run_dir + "/resolv.conf") << "nameserver 127.0.0.1\noptions timeout:2 attempts:1\n";
    spec.binds.emplace_back(up->m_run_dir + "/resolv.conf", "/etc/resolv.conf");
  }
  // Node's fetch ignores HTTP(S)_PROXY unless told; in transparent mode it is caught anyway.
  if (spec.network == sandbox::Network::proxy_env) spec.env.push_back("NODE_USE_ENV_PROXY=1");

  auto launched = sandbox::launch(spec, command);
  if (!launched) return launched.error();
  up->m_launched = std::move(*launched);
  up->m_warnings = up->m_launched.warnings;
  if (up->m_launched.network == sandbox::Network::host)
    up->m_warnings.push_back("network: host: the server uses the host's network; its egress is NOT guarded");
  if (sb.fs_write)
    for (const auto& w : spec.write)
      if (fs::path(absolute(o.audit_path)).parent_path().string().rfind(w, 0) == 0 && !o.audit_path.empty())
        up->m_warnings.push_back(fmt::format(
            "fs.write {} contains the audit log's directory: the server could delete the log "
            "(edits are still detected by audit verify)", w));

  if (!up->m_launched.listeners.empty()) {
    up->m_guard = std::make_unique<egress::Guard>(std::move(gc), up->m_ca.get(), up->m_board, o.audit,
                                                  o.alerter, *o.clock);
    up->m_guard->start(std::move(up->m_launched.listeners));
    up->m_launched.listeners.clear();
  }
  return up;
}

Upstream::~Upstream() {
  if (m_guard) m_guard->stop();
  std::error_code ec;
  if (!m_run_dir.empty()) fs::remove_all(m_run_dir, ec);
}

std::string Upstream::describe_json() const {
  std::string out;
  util::JsonWriter w(out);
  w.begin_object().key("network").string(sandbox::network_name(m_launched.network));
  w.key("in_force").begin_array();
  for (const auto& a : m_launched.achieved) w.string(a);
  w.end_array();
  w.key("weaker_than_asked").begin_array();
  for (const auto& a : m_warnings) w.string(a);
  w.end_array();
  w.key("egress_guard").boolean(m_guard != nullptr);
  w.key("tls_inspection").boolean(m_ca != nullptr);
  w.key("brokered_secrets").begin_array();
  for (const auto& a : m_brokered) w.string(a);
  w.end_array();
  w.key("startup_us").integer(m_launched.startup_us);
  w.end_object();
  return out;
}

}  // namespace warden::gateway
