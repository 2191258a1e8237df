#include "warden/cli/cli.h"

#include <algorithm>
#include <cstring>
#include <iostream>

#include "warden/cli/commands.h"
#include "warden/sandbox/sandbox.h"

namespace warden::cli {

int main(int argc, char** argv) {
  // The sandbox's init step (sandbox/init.cpp), run by the warden itself between spawn and exec.
  if (argc > 1 && std::strcmp(argv[1], "__sandbox-init") == 0)
    return sandbox::init_main(std::vector<std::string>(argv + 2, argv + argc));
  // Words after the first bare `--` belong to the server command, untouched by option parsing.
  std::vector<std::string> rest;
  int cli_argc = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) {
      cli_argc = i;
      for (int j = i + 1; j < argc; ++j) rest.emplace_back(argv[j]);
      break;
    }
  }

  CLI::App app{"mcp-warden: a zero-trust runtime for MCP servers", "mcp-warden"};
  app.set_version_flag("--version", std::string("mcp-warden ") + WARDEN_VERSION);
  app.require_subcommand(1);
  std::vector<Command> commands{add_run_command(app), add_audit_command(app), add_intel_command(app), add_diff_command(app), add_hunt_command(app), add_registry_command(app),
                               add_wrap_command(app), add_unwrap_command(app), add_scan_command(app), add_check_tools_command(app), add_demo_command(app), add_probe_command(app), add_gateway_command(app),
                               add_pins_command(app), add_approvals_command(app)};

  try {
    app.parse(cli_argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    bool known = std::any_of(commands.begin(), commands.end(),
                             [&](const Command& c) { return cli_argc > 1 && c.app->get_name() == argv[1]; });
    if (cli_argc > 1 && argv[1][0] != '-' && !known) {
      std::string names;
      for (const auto& c : commands) names += (names.empty() ? "" : ", ") + c.app->get_name();
      std::cerr << "mcp-warden: unknown command '" << argv[1] << "' (commands: " << names
                << "; see mcp-warden --help)\n";
      return k_exit_usage;
    }
    std::cerr << "mcp-warden: " << e.what() << " (see mcp-warden --help)\n";
    return k_exit_usage;
  }
  for (auto& c : commands) {
    if (c.app->parsed()) {
      try {
        return c.run(rest);
      } catch (const std::exception& e) {
        std::cerr << "mcp-warden: " << e.what() << "\n";
        return k_exit_usage;
      }
    }
  }
  return k_exit_usage;
}

}  // namespace warden::cli
