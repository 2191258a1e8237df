#include "warden/supply/escapes.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include <fmt/format.h>


namespace warden::supply {

namespace fs = std::filesystem;
using core::Severity;

namespace {

std::string base(const std::string& p) { return fs::path(p).filename().string(); }

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  for (size_t b = 0;;) {
    size_t e = s.find(sep, b);
    out.emplace_back(s.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b));
    if (e == std::string_view::npos) return out;
    b = e + 1;
  }
}

std::vector<std::string> split_whitespace(std::string_view s) {
  std::vector<std::string> out;
  for (size_t b = 0; b < s.size();) {
    if (std::isspace(static_cast<unsigned char>(s[b]))) {
      ++b;
      continue;
    }
    size_t e = b;
    while (e < s.size() && !std::isspace(static_cast<unsigned char>(s[e]))) ++e;
    out.emplace_back(s.substr(b, e - b));
    b = e;
  }
  return out;
}

std::string to_upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// `--name=value` or `--name value`: the value, and how many words it used (0: not this option).
size_t option_value(const std::vector<std::string>& a, size_t i, std::initializer_list<std::string_view> names,
                    std::string& value) {
  for (auto n : names) {
    if (a[i] == n && i + 1 < a.size()) {
      value = a[i + 1];
      return 2;
    }
    if (a[i].size() > n.size() && starts_with(a[i], n) && a[i][n.size()] == '=') {
      value = a[i].substr(n.size() + 1);
      return 1;
    }
  }
  return 0;
}

Severity lower(Severity s) { return s == Severity::info ? s : static_cast<Severity>(static_cast<int>(s) - 1); }

// How much of the host a bind mount source exposes: nullopt when it is an ordinary directory
// (a project folder, /tmp/x) or a named volume.
struct HostPath {
  Severity severity;
  std::string what;
  bool socket = false;  // read-only does not help: connecting is enough
};

std::optional<HostPath> classify_host_path(std::string src) {
  if (src == "~" || starts_with(src, "~/")) src = "/HOME" + src.substr(1);
  else if (starts_with(src, "$HOME")) src = "/HOME" + src.substr(5);
  else if (starts_with(src, "${HOME}")) src = "/HOME" + src.substr(7);
  if (src.empty() || src[0] != '/') return std::nullopt;  // relative path or a named volume
  std::string p = fs::path(src).lexically_normal().generic_string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  std::string name = base(p);
  if (name == "docker.sock" || name == "podman.sock" || name == "containerd.sock")
    return HostPath{Severity::critical, "the container engine's socket (control of it is root on the host)", true};
  if (p == "/") return HostPath{Severity::critical, "the host's whole file system"};
  static const std::set<std::string, std::less<>> system{"/etc", "/proc", "/sys", "/dev", "/boot", "/var", "/usr",
                                                         "/lib", "/bin", "/sbin", "/run", "/root", "/home"};
  if (system.count(p) > 0) return HostPath{Severity::high, "the host's " + p};
  // A home directory itself, or the secrets in it.
  std::string rest;
  if (p == "/HOME" || starts_with(p, "/HOME/")) rest = p.substr(5);
  else if (auto parts = split(p.substr(1), '/'); parts.size() >= 2 && (parts[0] == "home" || parts[0] == "Users"))
    rest = p.substr(1 + parts[0].size() + 1 + parts[1].size());
  else if (starts_with(p, "/root/")) rest = p.substr(5);
  else return std::nullopt;
  if (rest.empty()) return HostPath{Severity::high, "a home directory (SSH keys, cloud credentials, every client's MCP config)"};
  static const std::set<std::string, std::less<>> secrets{"/.ssh", "/.aws", "/.gnupg", "/.kube", "/.docker",
                                                          "/.config/gcloud", "/.azure", "/.npmrc", "/.netrc"};
  if (secrets.count(rest) > 0) return HostPath{Severity::high, "the credentials in ~" + rest};
  return std::nullopt;
}

void check_mount(const std::string& src, bool read_only, const std::string& shown, std::vector<EscapeFinding>& out) {
  auto hp = classify_host_path(src);
  if (!hp) return;
  Severity sev = read_only && !hp->socket ? lower(hp->severity) : hp->severity;
  out.push_back({"supply.scan.host_mount", sev,
                 fmt::format("`{}` mounts {} into the container{}: the server reaches past any sandbox. "
                             "Mount only the project directory it needs",
                             shown, hp->what, read_only ? " (read-only)" : " read-write")});
}

void check_volume(const std::string& v, std::vector<EscapeFinding>& out) {
  // SRC:DST[:OPTS]; a lone DST is an anonymous volume.
  auto parts = split(v, ':');
  if (parts.size() < 2) return;
  bool ro = false;
  if (parts.size() >= 3)
    for (const auto& o : split(parts[2], ',')) ro = ro || o == "ro" || o == "readonly";
  check_mount(std::string(parts[0]), ro, "-v " + v, out);
}

void check_mount_spec(const std::string& m, std::vector<EscapeFinding>& out) {
  std::string type = "volume", src;
  bool ro = false;
  for (const auto& kv : split(m, ',')) {
    size_t eq = kv.find('=');
    std::string k = kv.substr(0, eq), val = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (k == "type") type = val;
    else if (k == "source" || k == "src") src = val;
    else if ((k == "readonly" || k == "ro") && val != "false" && val != "0") ro = true;
  }
  if (type == "bind") check_mount(src, ro, "--mount " + m, out);
}

bool is_host(const std::string& v) { return v == "host"; }

// `docker|podman|nerdctl [global options] run|create [options] IMAGE [ARGS...]`: the options.
void container_escapes(const std::vector<std::string>& a, std::vector<EscapeFinding>& out) {
  size_t i = 1;
  std::string v;
  for (; i < a.size() && starts_with(a[i], "-"); ++i)  // global options
    if (a[i] == "-H" || a[i] == "--host" || a[i] == "--context" || a[i] == "-c" || a[i] == "--config" ||
        a[i] == "-l" || a[i] == "--log-level")
      ++i;
  if (i < a.size() && a[i] == "container") ++i;
  if (i >= a.size() || (a[i] != "run" && a[i] != "create")) return;
  ++i;
  // Options that take a value (the next word unless written --opt=value); others are flags.
  static const std::set<std::string, std::less<>> valued{
      "--add-host", "--annotation", "--attach", "--blkio-weight", "--cap-add", "--cap-drop", "--cgroup-parent",
      "--cgroupns", "--cidfile", "--cpu-period", "--cpu-quota", "--cpu-shares", "--cpus", "--cpuset-cpus",
      "--cpuset-mems", "--device", "--device-cgroup-rule", "--dns", "--dns-option", "--dns-search", "--domainname",
      "--entrypoint", "--env", "--env-file", "--expose", "--gpus", "--group-add", "--health-cmd",
      "--health-interval", "--health-retries", "--health-timeout", "--hostname", "--ip", "--ip6", "--ipc",
      "--isolation", "--label", "--label-file", "--link", "--log-driver", "--log-opt", "--mac-address", "--memory",
      "--memory-reservation", "--memory-swap", "--mount", "--name", "--net", "--network", "--network-alias",
      "--oom-score-adj", "--pid", "--pids-limit", "--platform", "--publish", "--pull", "--restart", "--runtime",
      "--security-opt", "--shm-size", "--stop-signal", "--stop-timeout", "--storage-opt", "--sysctl", "--tmpfs",
      "--ulimit", "--user", "--userns", "--uts", "--volume", "--volumes-from", "--workdir"};
  static const std::string short_valued = "acehlmpuvw";
  static const std::set<std::string, std::less<>> strong_caps{
      "ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "SYS_BOOT", "DAC_READ_SEARCH", "DAC_OVERRIDE",
      "NET_ADMIN", "BPF", "PERFMON", "SYSLOG"};
  for (; i < a.size(); ++i) {
    const std::string& w = a[i];
    if (w == "--") break;
    if (!starts_with(w, "-") || w == "-") break;  // the image: what follows is the container's own command
    std::string name = w.substr(0, w.find('=')), val;
    bool has_eq = w.find('=') != std::string::npos;
    if (starts_with(w, "--")) {
      if (has_eq) val = w.substr(w.find('=') + 1);
      else if (valued.count(w) > 0 && i + 1 < a.size()) val = a[++i];
      else if (valued.count(w) > 0) break;
    } else {
      // A cluster of short flags: -it, -d, -v SRC:DST, -vSRC:DST.
      name.clear();
      for (size_t k = 1; k < w.size(); ++k)
        if (short_valued.find(w[k]) != std::string::npos) {
          name = std::string("-") + w[k];
          val = k + 1 < w.size() ? w.substr(k + 1) : (i + 1 < a.size() ? a[++i] : "");
          break;
        }
      if (name.empty()) continue;
    }
    if (name == "--privileged" && (!has_eq || val == "true")) {
      out.push_back({"supply.scan.privileged_container", Severity::critical,
                     "`--privileged` gives the container every capability and the host's devices: root on the "
                     "host is one step away. Drop it"});
    } else if ((name == "--network" || name == "--net") && is_host(val)) {
      out.push_back({"supply.scan.host_network", Severity::high,
                     fmt::format("`{} host` shares the host's network: the server reaches every local service "
                                 "and the internet with nothing in between. Use the default bridge network, "
                                 "or run it under mcp-warden run with an egress allowlist", name)});
    } else if ((name == "--pid" || name == "--ipc") && is_host(val)) {
      out.push_back({"supply.scan.host_namespace", Severity::high,
                     fmt::format("`{} host` shares the host's {} namespace: the server sees (and can signal or "
                                 "read the memory of) the host's processes. Drop it", name, name.substr(2))});
    } else if ((name == "--uts" || name == "--userns" || name == "--cgroupns") && is_host(val)) {
      out.push_back({"supply.scan.host_namespace", Severity::medium,
                     fmt::format("`{} host` shares the host's {} namespace with the container", name, name.substr(2))});
    } else if (name == "-v" || name == "--volume") {
      check_volume(val, out);
    } else if (name == "--mount") {
      check_mount_spec(val, out);
    } else if (name == "--cap-add") {
      for (auto c : split(val, ',')) {
        std::string cap = to_upper(c);
        if (starts_with(cap, "CAP_")) cap = cap.substr(4);
        bool strong = strong_caps.count(cap) > 0;
        out.push_back({"supply.scan.added_capability", strong ? Severity::high : Severity::medium,
                       fmt::format("`--cap-add {}` gives the container {} privilege{}. Drop it unless the "
                                   "server cannot work without it", cap, strong ? "a host-level" : "an extra",
                                   strong ? " (enough to break out of it)" : "")});
      }
    } else if (name == "--security-opt") {
      std::string s = val;
      std::replace(s.begin(), s.end(), ':', '=');
      if (s == "seccomp=unconfined" || s == "apparmor=unconfined" || s == "label=disable" ||
          s == "systempaths=unconfined")
        out.push_back({"supply.scan.unconfined_container", Severity::high,
                       fmt::format("`--security-opt {}` turns off a confinement layer of the container", val)});
    } else if (name == "--device") {
      out.push_back({"supply.scan.host_device", Severity::medium,
                     fmt::format("`--device {}` passes a host device into the container", val)});
    }
  }
}

void escapes_of(const std::vector<std::string>& argv, int depth, std::vector<EscapeFinding>& out) {
  size_t i = 0;
  // `env [-i] [VAR=VALUE]... CMD`
  while (i < argv.size() && base(argv[i]) == "env") {
    ++i;
    while (i < argv.size() && (starts_with(argv[i], "-") || argv[i].find('=') != std::string::npos)) ++i;
  }
  if (i >= argv.size()) return;
  std::string tool = base(argv[i]);
  if (tool == "sudo" || tool == "doas" || tool == "pkexec" || tool == "su") {
    std::string user = "root";
    size_t j = i + 1;
    std::string v;
    if (tool == "su") {
      // su [options] [USER] -c COMMAND
      std::vector<std::string> inner;
      for (; j < argv.size(); ++j) {
        if (argv[j] == "-c" && j + 1 < argv.size()) {
          inner = split_whitespace(argv[j + 1]);
          break;
        }
        if (!starts_with(argv[j], "-")) user = argv[j];
      }
      if (inner.empty()) return;  // an interactive su is no server
      out.push_back({"supply.scan.runs_as_root", user == "root" ? Severity::high : Severity::medium,
                     fmt::format("the server is started through `su {}`: it runs as {} on the host, outside the "
                                 "user that the warden's sandbox confines", user, user)});
      if (depth < 2) escapes_of(inner, depth + 1, out);
      return;
    }
    for (; j < argv.size() && starts_with(argv[j], "-"); ++j) {
      if (size_t used = option_value(argv, j, {"-u", "--user"}, v)) {
        user = v;
        j += used - 1;
      } else if (argv[j] == "-g" || argv[j] == "-C" || argv[j] == "-D" || argv[j] == "-h" || argv[j] == "-p" ||
                 argv[j] == "-r" || argv[j] == "-t" || argv[j] == "-U") {
        ++j;
      }
    }
    bool root = user == "root" || user == "0" || user == "#0";
    out.push_back({"supply.scan.runs_as_root", root ? Severity::high : Severity::medium,
                   fmt::format("the server is started through `{}`{}: it runs {} with privileges no MCP server "
                               "needs, outside the user the warden's sandbox confines. Run it as yourself",
                               tool, root ? "" : " -u " + user, root ? "as root" : "as " + user)});
    if (j < argv.size() && depth < 2) escapes_of(std::vector<std::string>(argv.begin() + static_cast<long>(j), argv.end()), depth + 1, out);
    return;
  }
  if (tool == "docker" || tool == "podman" || tool == "nerdctl") {
    container_escapes(std::vector<std::string>(argv.begin() + static_cast<long>(i), argv.end()), out);
    return;
  }
  // `sh -c "..."`: one more look at the words of the script.
  if ((tool == "sh" || tool == "bash" || tool == "zsh" || tool == "dash") && depth < 2)
    for (size_t j = i + 1; j + 1 < argv.size(); ++j)
      if (argv[j] == "-c" || argv[j] == "-lc") {
        escapes_of(split_whitespace(argv[j + 1]), depth + 1, out);
        return;
      }
}

}  // namespace

WardenRunArgs warden_run_args(const std::vector<std::string>& argv) {
  WardenRunArgs r;
  for (size_t i = 1; i < argv.size() && argv[i] != "--"; ++i) {
    size_t used = option_value(argv, i, {"--policy"}, r.policy);
    if (!used) used = option_value(argv, i, {"--server"}, r.server);
    if (!used) used = option_value(argv, i, {"--mode"}, r.mode);
    if (used) i += used - 1;
  }
  return r;
}

std::vector<EscapeFinding> command_escapes(const std::vector<std::string>& argv) {
  std::vector<EscapeFinding> out;
  escapes_of(argv, 0, out);
  return out;
}

std::vector<EscapeFinding> wrapper_escapes(const WardenRunArgs& run) {
  if (run.mode != "monitor") return {};
  return {{"supply.scan.monitor_mode", Severity::medium,
           "the server runs under `mcp-warden run --mode monitor`: findings are recorded and nothing is "
           "blocked (a hidden Bcc like postmark-mcp 1.0.16's would be logged and still sent). Drop --mode "
           "monitor once the policy is tuned"}};
}

std::vector<EscapeFinding> policy_escapes(const policy::Policy& pol, const policy::ServerPolicy& server,
                                          std::string_view home) {
  std::vector<EscapeFinding> out;
  if (pol.mode() == policy::Mode::monitor)
    out.push_back({"supply.scan.monitor_mode", Severity::medium,
                   "the policy says `mode: monitor`: findings are recorded and nothing is blocked. Set `mode: "
                   "enforce` once the policy is tuned"});
  if (!server.sandbox) return out;
  const auto& sb = *server.sandbox;
  if (sb.network == policy::NetworkMode::host)
    out.push_back({"supply.scan.host_network", Severity::high,
                   fmt::format("servers.{}.sandbox.network is `host`: the server shares the host's network, so the "
                               "egress guard, intent correlation and the credential broker see none of its "
                               "traffic. Use `transparent` with egress rules", server.name)});
  else if (sb.network == policy::NetworkMode::proxy_env)
    out.push_back({"supply.scan.advisory_network", Severity::low,
                   fmt::format("servers.{}.sandbox.network is `proxy-env`: the proxy is only advice, a server that "
                               "ignores HTTPS_PROXY goes straight out. Use `transparent`", server.name)});
  if (sb.fs_write) {
    std::string h(home.empty() ? "/root" : home);
    while (h.size() > 1 && h.back() == '/') h.pop_back();
    for (const auto& w : *sb.fs_write) {
      std::string p = w;
      if (p == "~" || starts_with(p, "~/")) p = h + p.substr(1);
      if (p.empty() || p[0] != '/') continue;  // relative: the project directory
      p = fs::path(p).lexically_normal().generic_string();
      while (p.size() > 1 && p.back() == '/') p.pop_back();
      static const std::set<std::string, std::less<>> wide{"/", "/home", "/root", "/etc", "/usr", "/var", "/boot"};
      static const std::set<std::string, std::less<>> secret{"/.ssh", "/.aws", "/.gnupg", "/.kube", "/.config",
                                                             "/.bashrc", "/.profile", "/.zshrc", "/.bash_profile",
                                                             "/.local", "/.npmrc"};
      std::string what;
      if (wide.count(p) > 0) what = p == "/" ? "the whole file system" : p;
      else if (p == h) what = "the home directory";
      else if (starts_with(p, h + "/") && secret.count(p.substr(h.size())) > 0) what = "~" + p.substr(h.size());
      if (what.empty()) continue;
      out.push_back({"supply.scan.sandbox_fs_write", Severity::high,
                     fmt::format("servers.{}.sandbox.fs.write lets the server write to {} (`{}`): it can plant "
                                 "keys, shell start-up files or other servers' configs. Allow only the "
                                 "directories it works in", server.name, what, w)});
    }
  }
  return out;
}

}  // namespace warden::supply
