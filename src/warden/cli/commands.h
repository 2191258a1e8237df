#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace warden::cli {

// Each command adds its subcommand and returns a function that runs it once parsed.
// `rest` holds the words after a bare `--` (the server command for `run`).
struct Command {
  CLI::App* app = nullptr;
  std::function<int(const std::vector<std::string>& rest)> run;
};

Command add_run_command(CLI::App& root);
Command add_audit_command(CLI::App& root);
Command add_intel_command(CLI::App& root);
Command add_diff_command(CLI::App& root);
Command add_hunt_command(CLI::App& root);
Command add_registry_command(CLI::App& root);
Command add_wrap_command(CLI::App& root);
Command add_unwrap_command(CLI::App& root);
Command add_scan_command(CLI::App& root);
Command add_demo_command(CLI::App& root);
Command add_probe_command(CLI::App& root);
Command add_gateway_command(CLI::App& root);
Command add_check_tools_command(CLI::App& root);
Command add_pins_command(CLI::App& root);
Command add_approvals_command(CLI::App& root);

}  // namespace warden::cli
