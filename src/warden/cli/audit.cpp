// `mcp-warden audit verify FILE` and `mcp-warden audit show FILE [filters]`.
#include <iostream>

#include "warden/audit/show.h"
#include "warden/audit/verify.h"
#include "warden/cli/cli.h"
#include "warden/cli/commands.h"

namespace warden::cli {

namespace {

struct AuditOptions {
  std::string file;
  std::string format = "table";
  audit::ShowFilter filter;
};

}  // namespace

Command add_audit_command(CLI::App& root) {
  auto verify_opts = std::make_shared<AuditOptions>();
  auto show_opts = std::make_shared<AuditOptions>();
  auto* app = root.add_subcommand("audit", "Verify or show a hash-chained audit log");
  app->require_subcommand(1);

  auto* verify = app->add_subcommand(
      "verify", "Check every record's hash and chain; exit 1 naming the first bad seq");
  verify->add_option("file", verify_opts->file, "Audit log (JSON Lines)")->required();
  verify->add_option("--format", verify_opts->format, "table | json")
      ->check(CLI::IsMember({"table", "json"}));

  auto* show = app->add_subcommand("show", "Print audit records, filtered");
  show->add_option("file", show_opts->file, "Audit log (JSON Lines)")->required();
  show->add_option("--server", show_opts->filter.server, "Only this server");
  show->add_option("--tool", show_opts->filter.tool, "Only this tool, prompt or resource");
  show->add_option("--decision", show_opts->filter.decision,
                   "allow | block | strip | redact | approve | quarantine");
  show->add_option("--kind", show_opts->filter.kind,
                   "request | response | notification | egress | lifecycle | alert");
  show->add_option("--since", show_opts->filter.since, "RFC 3339 time or YYYY-MM-DD (UTC)");
  show->add_option("--limit", show_opts->filter.limit, "Only the last N matching records");
  show->add_option("--format", show_opts->format, "table | json (JSON Lines)")
      ->check(CLI::IsMember({"table", "json"}));

  return {app, [=](const std::vector<std::string>&) {
            if (verify->parsed()) {
              auto report = audit::verify_file(verify_opts->file);
              std::cout << (verify_opts->format == "json" ? report.to_json() + "\n"
                                                          : report.to_text());
              switch (report.status) {
              case audit::VerifyStatus::ok: return k_exit_ok;
              case audit::VerifyStatus::failed: return k_exit_findings;
              case audit::VerifyStatus::unreadable: return k_exit_usage;
              }
              return k_exit_usage;
            }
            auto lines = audit::show(show_opts->file, show_opts->filter,
                                     show_opts->format == "json" ? audit::ShowFormat::json
                                                                 : audit::ShowFormat::table);
            if (!lines) {
              std::cerr << "mcp-warden: " << lines.error().message << "\n";
              return k_exit_usage;
            }
            for (const auto& l : *lines) std::cout << l << "\n";
            return k_exit_ok;
          }};
}

}  // namespace warden::cli
