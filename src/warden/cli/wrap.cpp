// `mcp-warden wrap --client NAME [--config PATH]` and `mcp-warden unwrap --client NAME [--config PATH]`
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "warden/cli/cli.h"
#include "warden/cli/commands.h"
#include "warden/supply/wrap.h"

namespace warden::cli {

namespace fs = std::filesystem;

namespace {

struct WrapOptions {
  std::string client, config, warden, policy, home;
};

Result<std::string> config_path(const WrapOptions& o) {
  if (!o.config.empty()) return o.config;
  const auto* c = supply::find_client(o.client);
  if (!c) {
    std::string names;
    for (const auto& k : supply::known_clients()) names += (names.empty() ? "" : ", ") + k.name;
    return Error{2, fmt::format("unknown client '{}' (known: {}; or give --config PATH)", o.client, names)};
  }
  const char* home = std::getenv("HOME");
  std::string h = !o.home.empty() ? o.home : (home ? home : ".");
  std::error_code ec;
  for (const auto& rel : c->paths())  // Linux, macOS, Windows: the first that exists
    if (fs::is_regular_file(fs::path(h) / rel, ec)) return (fs::path(h) / rel).string();
  return (fs::path(h) / c->config_path).string();
}

std::string self_path() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "mcp-warden" : p.string();
}

int wrap(const WrapOptions& o) {
  auto path = config_path(o);
  if (!path) {
    std::cerr << "mcp-warden: " << path.error().message << "\n";
    return k_exit_usage;
  }
  std::ifstream in(*path, std::ios::binary);
  if (!in) {
    std::cerr << "mcp-warden: cannot read " << *path << " (give --config PATH)\n";
    return k_exit_usage;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  auto outcome = supply::wrap_config(supply::config_format_for(*path), text, o.warden.empty() ? self_path() : o.warden, o.policy);
  if (!outcome) {
    std::cerr << "mcp-warden: " << *path << ": " << outcome.error().message << " (nothing changed)\n";
    return k_exit_usage;
  }
  for (const auto& n : outcome->notes) std::cout << "  " << n << "\n";
  if (outcome->wrapped == 0) {
    std::cout << fmt::format("{}: nothing to wrap ({} already under mcp-warden, {} skipped)\n", *path,
                             outcome->already, outcome->skipped);
    return k_exit_ok;
  }
  std::string backup = supply::backup_path_for(*path);
  std::error_code ec;
  if (!fs::exists(backup, ec)) {  // the first backup is the original: keep it across re-wraps
    fs::copy_file(*path, backup, ec);
    if (ec) {
      std::cerr << "mcp-warden: cannot back up " << *path << ": " << ec.message() << " (nothing changed)\n";
      return k_exit_usage;
    }
  }
  std::string tmp = *path + ".mcp-warden-tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << outcome->text;
    if (!out) {
      std::cerr << "mcp-warden: cannot write " << tmp << "\n";
      return k_exit_usage;
    }
  }
  fs::permissions(tmp, fs::status(*path, ec).permissions(), ec);
  fs::rename(tmp, *path, ec);
  if (ec) {
    std::cerr << "mcp-warden: cannot replace " << *path << ": " << ec.message() << "\n";
    return k_exit_usage;
  }
  std::cout << fmt::format("{}: wrapped {} server(s); backup at {} (mcp-warden unwrap restores it)\n",
                           *path, outcome->wrapped, backup);
  return k_exit_ok;
}

int unwrap(const WrapOptions& o) {
  auto path = config_path(o);
  if (!path) {
    std::cerr << "mcp-warden: " << path.error().message << "\n";
    return k_exit_usage;
  }
  std::string backup = supply::backup_path_for(*path);
  std::error_code ec;
  if (!fs::exists(backup, ec)) {
    std::cerr << "mcp-warden: no backup " << backup << ": this config was not wrapped by mcp-warden\n";
    return k_exit_usage;
  }
  fs::rename(backup, *path, ec);
  if (ec) {
    std::cerr << "mcp-warden: cannot restore " << *path << ": " << ec.message() << "\n";
    return k_exit_usage;
  }
  std::cout << *path << ": restored from " << backup << "\n";
  return k_exit_ok;
}

void add_common(CLI::App* app, WrapOptions& o) {
  app->add_option("--client", o.client, "claude-desktop | claude-code | cursor | vscode | windsurf | gemini | cline | zed | continue | codex");
  app->add_option("--config", o.config, "The config file (default: the client's usual path under $HOME)");
  app->add_option("--home", o.home, "Home directory to find the client's config in (default: $HOME)");
}

}  // namespace

Command add_wrap_command(CLI::App& root) {
  auto o = std::make_shared<WrapOptions>();
  auto* app = root.add_subcommand("wrap", "Put every stdio server of a client's MCP config behind mcp-warden run");
  add_common(app, *o);
  app->add_option("--warden", o->warden, "Path of mcp-warden to write into the config (default: this binary)");
  app->add_option("--policy", o->policy, "Policy file each wrapped server runs under");
  return {app, [o](const std::vector<std::string>&) {
            if (o->client.empty() && o->config.empty()) {
              std::cerr << "mcp-warden: wrap needs --client NAME or --config PATH\n";
              return k_exit_usage;
            }
            return wrap(*o);
          }};
}

Command add_unwrap_command(CLI::App& root) {
  auto o = std::make_shared<WrapOptions>();
  auto* app = root.add_subcommand("unwrap", "Restore a client's MCP config from the backup wrap made");
  add_common(app, *o);
  return {app, [o](const std::vector<std::string>&) {
            if (o->client.empty() && o->config.empty()) {
              std::cerr << "mcp-warden: unwrap needs --client NAME or --config PATH\n";
              return k_exit_usage;
            }
            return unwrap(*o);
          }};
}

}  // namespace warden::cli
